"""Completion: command names, theaters, events of the chosen theater, free seats, seat ranges
and counts of best free seats of the chosen event, the tickets this user booked, and for the
operator the ``admin`` commands, their options and the data clusters.

One completer class serves both the command line (where the parameter is found from the words
before the cursor) and the guided prompts (where the parameter is fixed). It only reads the
`Metadata` cache; a cluster that does not answer means no suggestions, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import Pyro5.errors
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from ticketing.client.commands import ADMIN_SPECS, SPECS, Param, param_at
from ticketing.client.metadata import Metadata
from ticketing.client.seat_spec import parse_seats, split_label
from ticketing.client.seat_states import SeatStates
from ticketing.domain.seats import row_label
from ticketing.errors import TicketingError
from ticketing.settings import DEFAULT_MAX_SEATS_PER_BOOKING

Context = dict[Param, str]
"""Arguments already chosen (theater, event) that narrow the suggestions."""


class TicketingCompleter(Completer):
    """Completes a whole command line."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        before = document.text_before_cursor
        spec, param, earlier = param_at(before)
        if spec is None:
            if " " in before.lstrip():
                return
            word = before.lstrip().lower()
            for name, command in SPECS.items():
                if name.startswith(word):
                    yield Completion(name, -len(word), display_meta=command.summary)
            return
        if param is None:
            word = before.split(" ")[-1]
            for flag in spec.options:
                if flag.startswith(word):
                    yield Completion(flag, -len(word), display_meta=spec.usage)
            return
        word = _last_word(before, param)
        context = {p: w for p, w in zip(spec.params, earlier, strict=False) if p is not Param.SEATS}
        if param is Param.SEATS:
            current = before.split(" ")[-1]
            seat_words = [*earlier[spec.params.index(Param.SEATS) :], current[: -len(word) or None]]
            context[Param.SEATS] = " ".join(seat_words)
        yield from complete_param(self.metadata, param, word, context)


class ParamCompleter(Completer):
    """Completes the answer to one guided prompt, such as "event:" once the theater is known."""

    def __init__(self, metadata: Metadata, param: Param, context: Callable[[], Context]) -> None:
        self.metadata = metadata
        self.param = param
        self.context = context

    def get_completions(self, document: Document, event: CompleteEvent) -> Iterator[Completion]:
        word = _last_word(document.text_before_cursor, self.param)
        earlier = document.text_before_cursor[: len(document.text_before_cursor) - len(word)]
        context = dict(self.context())
        if self.param is Param.SEATS:
            context[Param.SEATS] = earlier
        yield from complete_param(self.metadata, self.param, word, context)


def complete_param(
    metadata: Metadata, param: Param, word: str, context: Context
) -> Iterator[Completion]:
    source = _SOURCES.get(param)
    if source is None:  # free text: a new id, a title, a date, a file name
        return
    try:
        yield from source(metadata, word, context)
    except (TicketingError, Pyro5.errors.PyroError):
        return


def _last_word(text: str, param: Param) -> str:
    """The word being completed; in a seat list a comma also ends a word."""
    cut = max(text.rfind(" "), text.rfind(",") if param is Param.SEATS else -1)
    return text[cut + 1 :]


def _theaters(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    for theater in metadata.theaters():
        if theater["theater"].lower().startswith(word.lower()):
            meta = f"{theater['name']}, {theater['city']}"
            yield Completion(theater["theater"], -len(word), display_meta=meta)


def _events(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    theater = context.get(Param.THEATER)
    if theater is None:
        return
    for event in metadata.events(theater):
        if event["event"].lower().startswith(word.lower()):
            meta = f"{event['title']}  {event['starts_at']}"
            if event.get("sales", "open") != "open":
                meta += f"  [{event['sales']}]"
            yield Completion(event["event"], -len(word), display_meta=meta)


BIG_VENUE = 1000
"""Above this many seats the menu offers rows first, then the seats of the row typed: a menu of
every free seat of a stadium helps nobody, and building it costs a keystroke 100 ms."""


def _seats(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    """Counts for the best free seats, then free seats not yet typed (at a big venue: rows, then
    the free seats of the row typed); after a free seat (or `A3-`) the free runs from there."""
    theater, event = context.get(Param.THEATER), context.get(Param.EVENT)
    if theater is None or event is None:
        return
    states = metadata.seat_states(theater, event)
    typed = _typed_seats(context.get(Param.SEATS, ""))
    if not typed and (not word or word.isdigit()):
        yield from _counts(word, states.free_count())
    upper = word.upper()
    start, dash, _ = upper.partition("-")
    letters = start.rstrip("0123456789")
    number = start[len(letters) :]
    big = len(states) > BIG_VENUE
    if not dash:
        if big and not number:
            yield from _rows(states, letters, word)
        for seat in _free_seats(states, letters, big):
            if seat.startswith(upper) and seat not in typed:
                yield Completion(seat, -len(word), display_meta="free")
    row = states.row_of(letters)
    if row is not None and number.isdigit() and not number.startswith("0"):
        if not states.is_free(row, int(number)):
            return
        for run_end in _free_run(states, row, int(number)):
            text = f"{start}-{run_end}"
            if text.startswith(upper):
                yield Completion(text, -len(word), display_meta=f"{_count(start, run_end)} seats")


def _free_seats(states: SeatStates, letters: str, big: bool) -> list[str]:
    """Every free seat; at a big venue only those of the row ``letters`` names, if it does."""
    if not big:
        return states.free_seats()
    row = states.row_of(letters)
    return [] if row is None else states.free_in_row(row)


def _rows(states: SeatStates, letters: str, word: str) -> Iterator[Completion]:
    """The rows whose label starts with the letters typed, with their free seats."""
    for row in range(states.rows):
        label = row_label(row)
        if label.startswith(letters):
            free = states.free_count(row)
            meta = f"row {label}: {free} free" if free else f"row {label}: full"
            yield Completion(label, -len(word), display_meta=meta)


def _row_ranges(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    """``map THEATER EVENT A-F``: the rows, with their free seats, at either end of the range."""
    theater, event = context.get(Param.THEATER), context.get(Param.EVENT)
    if theater is None or event is None:
        return
    first, dash, last = word.upper().rpartition("-")
    for completion in _rows(metadata.seat_states(theater, event), last, word):
        text = f"{first}{dash}{completion.text}"
        yield Completion(text, -len(word), display_meta=completion.display_meta_text)


def _counts(word: str, free: int) -> Iterator[Completion]:
    """`hold THEATER EVENT 3` holds the 3 best free seats: offered first, as the quick way."""
    for count in range(1, min(free, DEFAULT_MAX_SEATS_PER_BOOKING) + 1):
        if str(count).startswith(word):
            meta = "the best free seat" if count == 1 else f"the {count} best free seats"
            yield Completion(str(count), -len(word), display_meta=meta)


def _free_run(states: SeatStates, row: int, number: int) -> list[str]:
    """The seats after seat ``number`` of ``row`` that are free without a gap, up to the
    booking limit."""
    label = row_label(row)
    run = []
    for next_number in range(number + 1, number + DEFAULT_MAX_SEATS_PER_BOOKING):
        if not states.is_free(row, next_number):
            break
        run.append(f"{label}{next_number}")
    return run


def _count(first: str, last: str) -> int:
    return split_label(last)[1] - split_label(first)[1] + 1


def _typed_seats(text: str) -> set[str]:
    seats: set[str] = set()
    for part in text.replace(",", " ").split():
        try:
            seats.update(parse_seats(part))
        except TicketingError:
            continue
    return seats


def _tickets(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    for ticket in reversed(metadata.tickets(context.get(Param.THEATER))):
        number = str(ticket.get("ticket_no", ""))
        if number.startswith(word):
            seats = " ".join(ticket.get("seats", []))
            meta = f"{ticket.get('theater')} {ticket.get('event')} {seats}"
            yield Completion(number, -len(word), display_meta=meta)


def _subcommands(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    for name, spec in ADMIN_SPECS.items():
        if name.startswith(word.lower()):
            yield Completion(name, -len(word), display_meta=spec.summary)


def _topics(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    """``help`` explains any command; ``admin`` lists the operator's."""
    for name, spec in SPECS.items():
        if name.startswith(word.lower()):
            meta = "the operator's commands" if name == "admin" else spec.summary
            yield Completion(name, -len(word), display_meta=meta)


def _clusters(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    """From the last ``admin clusters`` answer (asked once if there was none)."""
    for cluster in metadata.clusters():
        if cluster["cluster"].lower().startswith(word.lower()):
            theaters = " ".join(cluster.get("theaters", [])) or "no theaters yet"
            yield Completion(cluster["cluster"], -len(word), display_meta=theaters)


def _known(key: str) -> Callable[[Metadata, str, Context], Iterator[Completion]]:
    """Names and e-mails used on earlier tickets: a returning user types them once."""

    def source(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
        seen = dict.fromkeys(str(t.get(key)) for t in reversed(metadata.tickets()) if t.get(key))
        for value in seen:
            if value.lower().startswith(word.lower()):
                yield Completion(value, -len(word))

    return source


_SOURCES: dict[Param, Callable[[Metadata, str, Context], Iterator[Completion]]] = {
    Param.THEATER: _theaters,
    Param.EVENT: _events,
    Param.SEATS: _seats,
    Param.ROW_RANGE: _row_ranges,
    Param.TICKET: _tickets,
    Param.NAME: _known("name"),
    Param.EMAIL: _known("email"),
    Param.SUBCOMMAND: _subcommands,
    Param.TOPIC: _topics,
    Param.CLUSTER: _clusters,
}

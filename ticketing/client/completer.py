"""Completion: command names, theaters, events of the chosen theater, free seats, seat ranges
and counts of best free seats of the chosen event, the tickets this user booked, and for the
operator the ``admin`` commands, their options and the data clusters.

One completer class serves both the command line (where the parameter is found from the words
before the cursor) and the guided prompts (where the parameter is fixed). It only reads the
`Metadata` cache; a cluster that does not answer means no suggestions, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import Pyro5.errors
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from ticketing.client.commands import ADMIN_SPECS, SPECS, Param, param_at
from ticketing.client.metadata import Metadata
from ticketing.client.seat_spec import parse_seats, split_label
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


def _seats(metadata: Metadata, word: str, context: Context) -> Iterator[Completion]:
    """Counts for the best free seats, then free seats not yet typed; after a free seat (or
    `A3-`) the free runs that start there."""
    theater, event = context.get(Param.THEATER), context.get(Param.EVENT)
    if theater is None or event is None:
        return
    free = metadata.free_seats(theater, event)
    typed = _typed_seats(context.get(Param.SEATS, ""))
    if not typed and (not word or word.isdigit()):
        yield from _counts(word, len(free))
    upper = word.upper()
    start, dash, _ = upper.partition("-")
    if not dash:
        for seat in free:
            if seat.startswith(upper) and seat not in typed:
                yield Completion(seat, -len(word), display_meta="free")
    if start in free:
        for run_end in _free_run(start, free):
            text = f"{start}-{run_end}"
            if text.startswith(upper) and text != start:
                yield Completion(text, -len(word), display_meta=f"{_count(start, run_end)} seats")


def _counts(word: str, free: int) -> Iterator[Completion]:
    """`hold THEATER EVENT 3` holds the 3 best free seats: offered first, as the quick way."""
    for count in range(1, min(free, DEFAULT_MAX_SEATS_PER_BOOKING) + 1):
        if str(count).startswith(word):
            meta = "the best free seat" if count == 1 else f"the {count} best free seats"
            yield Completion(str(count), -len(word), display_meta=meta)


def _free_run(start: str, free: Iterable[str]) -> list[str]:
    """The seats after `start` in its row that are free without a gap, up to the booking limit."""
    free_set = set(free)
    row, number = split_label(start)
    run = []
    for next_number in range(number + 1, number + DEFAULT_MAX_SEATS_PER_BOOKING):
        label = f"{row}{next_number}"
        if label not in free_set:
            break
        run.append(label)
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
    Param.TICKET: _tickets,
    Param.NAME: _known("name"),
    Param.EMAIL: _known("email"),
    Param.SUBCOMMAND: _subcommands,
    Param.TOPIC: _topics,
    Param.CLUSTER: _clusters,
}

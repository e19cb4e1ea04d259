"""The client's command language: each line becomes one command object.

A line may leave out arguments (`hold`, `hold AMC`); parsing then yields a `PartialCommand` that
names what is missing, so the interactive loop can ask for it one prompt at a time and a script
can refuse it with the usage line.

Where `hold` takes its seats, a bare number asks for that many of the best free seats
(`hold AMC dune-1900 3`): the system picks them, so buyers in a rush do not collide.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ticketing.client.admin_commands import ADMIN_SPECS, AdminCommand, build_admin
from ticketing.client.command_spec import CommandSpec, Param
from ticketing.client.seat_spec import parse_seats
from ticketing.errors import InvalidRequest

ADMIN_TOPIC = "admin"
"""The topic of the operator's commands; ``help`` also explains each command (``help hold``)."""

ALIASES = {"exit": "quit"}
"""Other words people type for a command."""


@dataclass(frozen=True, slots=True)
class Theaters:
    pass


@dataclass(frozen=True, slots=True)
class ShowMap:
    theater: str
    event: str
    rows: str | None = None
    """Rows to draw, such as "A-F"; None draws the whole hall if it fits the screen."""


@dataclass(frozen=True, slots=True)
class Hold:
    theater: str
    event: str
    seats: tuple[str, ...]

    def as_line(self) -> str:
        """The command a person would type for it, such as an alternative offered instead."""
        return shlex.join(["hold", self.theater, self.event, *self.seats])


@dataclass(frozen=True, slots=True)
class HoldBest:
    """Hold the `count` best free seats, as the system chooses them."""

    theater: str
    event: str
    count: int


@dataclass(frozen=True, slots=True)
class Release:
    pass


@dataclass(frozen=True, slots=True)
class Book:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class ShowTicket:
    """`ticket` alone shows the latest ticket of the local list."""

    theater: str | None = None
    ticket_no: str | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    theater: str
    ticket_no: str


@dataclass(frozen=True, slots=True)
class ListTickets:
    pass


@dataclass(frozen=True, slots=True)
class Status:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None = None
    """None: every command; "admin": the operator's commands, with an example; a command's
    name: that command alone."""


@dataclass(frozen=True, slots=True)
class Quit:
    pass


Command = (
    Theaters
    | ShowMap
    | Hold
    | HoldBest
    | Release
    | Book
    | ShowTicket
    | Cancel
    | ListTickets
    | Status
    | Help
    | Quit
    | AdminCommand
)


SPECS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec("theaters", (), "theaters", "list theaters and their events"),
        CommandSpec(
            "map",
            (Param.THEATER, Param.EVENT, Param.ROW_RANGE),
            "map THEATER EVENT [ROWS]",
            "show the seat map: . free, h held, X booked (ROWS: A-F draws those rows)",
            optional=(Param.ROW_RANGE,),
        ),
        CommandSpec(
            "hold",
            (Param.THEATER, Param.EVENT, Param.SEATS),
            "hold THEATER EVENT SEATS|N",
            "hold seats for a few minutes (SEATS: A1 A2, A1-A4, A1,A3; N: the N best free)",
        ),
        CommandSpec("release", (), "release", "give back the seats you hold"),
        CommandSpec(
            "book", (Param.NAME, Param.EMAIL), "book NAME EMAIL", "book the seats you hold"
        ),
        CommandSpec(
            "ticket",
            (Param.THEATER, Param.TICKET),
            "ticket [THEATER TICKET_NO]",
            "show a ticket (alone: your latest one)",
            all_optional=True,
        ),
        CommandSpec(
            "cancel", (Param.THEATER, Param.TICKET), "cancel THEATER TICKET_NO", "cancel a ticket"
        ),
        CommandSpec("tickets", (), "tickets", "list the tickets booked from this computer"),
        CommandSpec("status", (), "status", "show every component of the cluster"),
        CommandSpec(
            "admin",
            (Param.SUBCOMMAND,),
            "admin COMMAND ...",
            "change the catalog (operators: cluster secret); help admin lists them",
            all_optional=True,
        ),
        CommandSpec(
            "help",
            (Param.TOPIC,),
            "help [COMMAND|admin]",
            "show this list (help hold: one command; help admin: the operator's)",
            all_optional=True,
        ),
        CommandSpec("quit", (), "quit | exit", "leave (an open hold is released)"),
    )
}


Value = str | tuple[str, ...] | int
"""An argument as parsed: text, seat labels, or a number of seats (best available)."""

_COUNT = re.compile(r"[0-9]+")
_COUNT_DIGITS = 9
"""Longer numbers are no count of seats anyone means; refused here rather than sent."""
_SIZE_DIGITS = 6
"""Rows or seats a row longer than this are no theater; refused here rather than sent."""


@dataclass(slots=True)
class PartialCommand:
    """A command with the arguments given so far; `missing` lists the ones still to ask for."""

    spec: CommandSpec
    values: dict[Param, Value] = field(default_factory=dict)

    @property
    def missing(self) -> list[Param]:
        if self.spec.all_optional and not self.values:
            return []
        return [
            param
            for param in self.spec.params
            if param not in self.values and param not in self.spec.optional
        ]

    def supply(self, param: Param, text: str) -> None:
        """Take the answer to a guided prompt; InvalidRequest leaves the value unset."""
        self.values[param] = _convert(param, text)

    def as_line(self) -> str:
        """The command as one line, to store in history or offer again after a failure."""
        words = [self.spec.name]
        for param in self.spec.params:
            words.extend(_quoted(self.values.get(param)))
        for flag, param in self.spec.options.items():
            if param in self.values:
                words.extend([flag, *_quoted(self.values[param])])
        return " ".join(words)

    def build(self) -> Command:
        if self.missing:
            needed = " ".join(param.upper().replace(" ", "_") for param in self.missing)
            raise InvalidRequest(f"{self.spec.name} needs {needed}; usage: {self.spec.usage}")
        return _build(self.spec.name, self.values)


def _quoted(value: Value | None) -> list[str]:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, int):
        return [str(value)]
    return [] if value is None else [shlex.quote(value)]


def words_of(line: str) -> list[str]:
    """Split a line like a shell does, so a quoted name stays one word.

    A lone apostrophe is part of a word (``book Grace O'Hopper ...``): a line whose quotes do
    not pair up is split again with only double quotes quoting.
    """
    try:
        return shlex.split(line)
    except ValueError:
        pass
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise InvalidRequest(f"cannot read that line ({exc}); close the quote and retry") from exc


def command_names() -> list[str]:
    """Every word that starts a command: the commands and their aliases."""
    return [*SPECS, *ALIASES]


def parse(line: str, defaults: Mapping[str, str] | None = None) -> PartialCommand | None:
    """Parse one line; None for a blank line or a comment.

    ``defaults`` fills what ``book`` leaves out (name, e-mail: the config file's).
    """
    words = words_of(line)
    if not words or words[0].startswith("#"):
        return None
    name, args = words[0].lower(), words[1:]
    spec = SPECS.get(ALIASES.get(name, name))
    if spec is None:
        raise InvalidRequest(
            f"unknown command {words[0]!r}{did_you_mean(name, command_names())}; "
            "type help to see the commands"
        )
    if spec.name == "admin" and args:
        spec, args = _admin_spec(args[0], args[1:])
    partial = PartialCommand(spec)
    for param, text in _assign(spec, args):
        partial.supply(param, text)
    if spec.name == "book" and defaults:
        for param in partial.missing:
            if defaults.get(param):
                partial.supply(param, defaults[param])
    return partial


def did_you_mean(word: str, choices: list[str]) -> str:
    """`` (did you mean hold?)`` for the nearest choice to a mistyped word, else ``""``."""
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _admin_spec(word: str, args: list[str]) -> tuple[CommandSpec, list[str]]:
    """The spec of ``admin <word>`` and its arguments; ``admin help`` is ``help admin``."""
    if word.lower() == "help":
        return SPECS["help"], [ADMIN_TOPIC, *args]
    spec = ADMIN_SPECS.get(word.lower())
    if spec is None:
        raise InvalidRequest(
            f"unknown admin command {word!r}{did_you_mean(word, list(ADMIN_SPECS))}; "
            f"help admin lists them ({', '.join(ADMIN_SPECS)})"
        )
    return spec, args


def _assign(spec: CommandSpec, args: list[str]) -> list[tuple[Param, str]]:
    """Pair the words of a line with the parameters of its command."""
    if spec.name == "book":
        return _assign_book(args)
    flagged, args = _options(spec, args)
    return flagged + _positional(spec, args)


def _options(spec: CommandSpec, args: list[str]) -> tuple[list[tuple[Param, str]], list[str]]:
    """Take the ``--flag VALUE`` pairs of ``spec.options`` out of ``args``."""
    flagged: list[tuple[Param, str]] = []
    rest: list[str] = []
    words = iter(args)
    for word in words:
        param = spec.options.get(word)
        if param is None:
            if word.startswith("--") and len(word) > 2:
                known = ", ".join(spec.options) or "none"
                raise InvalidRequest(f"unknown option {word} (options: {known}); {spec.usage}")
            rest.append(word)
            continue
        value = next(words, None)
        if value is None:
            raise InvalidRequest(f"{word} needs a value; usage: {spec.usage}")
        flagged.append((param, value))
    return flagged, rest


def _positional(spec: CommandSpec, args: list[str]) -> list[tuple[Param, str]]:
    params = spec.params
    if not params and args:
        raise InvalidRequest(f"{spec.name} takes no arguments; usage: {spec.usage}")
    if params and params[-1] is Param.SEATS and len(args) > len(params):
        args = [*args[: len(params) - 1], " ".join(args[len(params) - 1 :])]
    if len(args) > len(params):
        raise InvalidRequest(f"too many arguments; usage: {spec.usage}")
    return list(zip(params, args, strict=False))


def _assign_book(args: list[str]) -> list[tuple[Param, str]]:
    """`book Ada Lovelace ada@example.org`: the e-mail is the last word with an @."""
    if not args:
        return []
    if "@" in args[-1]:
        pairs = [(Param.EMAIL, args[-1])]
        if len(args) > 1:
            pairs.insert(0, (Param.NAME, " ".join(args[:-1])))
        return pairs
    return [(Param.NAME, " ".join(args))]


def _convert(param: Param, text: str) -> Value:
    text = text.strip()
    if param is Param.SEATS:
        return _seats_or_count(text)
    if not text:
        raise InvalidRequest(f"the {param} cannot be empty")
    if param in (Param.ROWS, Param.SEATS_PER_ROW):
        return _size(param, text)
    if param is Param.STARTS_AT:
        return _date_time(text)
    if param is Param.TOPIC:
        return _topic(text)
    if param is Param.EMAIL and ("@" not in text or " " in text):
        raise InvalidRequest(f"{text!r} is not an e-mail address; write it like ada@example.org")
    return text


def _topic(text: str) -> str:
    """A command to explain (an alias stands for its command), or the admin topic."""
    word = text.lower()
    word = ALIASES.get(word, word)
    if word not in SPECS:
        raise InvalidRequest(
            f"no help on {text!r}{did_you_mean(word, command_names())}; "
            "help COMMAND explains one of: " + ", ".join(SPECS)
        )
    return word


def _seats_or_count(text: str) -> tuple[str, ...] | int:
    """Seat labels, or a bare number: how many of the best free seats to hold."""
    if _COUNT.fullmatch(text):
        if len(text) > _COUNT_DIGITS:
            raise InvalidRequest(f"{text[:_COUNT_DIGITS]}... seats? a booking holds a few, like 2")
        count = int(text)
        if count < 1:
            raise InvalidRequest(
                "hold at least 1 seat; hold THEATER EVENT 2 holds the 2 best free seats"
            )
        return count
    words = text.replace(",", " ").split()
    if any(_COUNT.fullmatch(word) for word in words):
        raise InvalidRequest("give either seat labels (A1 A2) or a number of seats (2), not both")
    return parse_seats(text)


def _size(param: Param, text: str) -> int:
    if not _COUNT.fullmatch(text) or len(text) > _SIZE_DIGITS or int(text) < 1:
        raise InvalidRequest(f"{param} must be a whole number of at least 1, got {text!r}")
    return int(text)


def _date_time(text: str) -> str:
    """A local date and time as the catalog writes them, checked here to ask again at once."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest(
            f"{text!r} is not a date and time; write it like 2027-01-01T20:00 (local time)"
        ) from None
    if "T" not in text and " " not in text:
        raise InvalidRequest(f"{text!r} needs a time of day too, like {text}T20:00")
    return text


def _build(name: str, values: dict[Param, Value]) -> Command:
    def text(param: Param) -> str:
        value = values[param]
        assert isinstance(value, str)
        return value

    if name.startswith("admin "):
        admin_values = {p: v for p, v in values.items() if not isinstance(v, tuple)}
        return build_admin(name.removeprefix("admin "), admin_values)
    match name:
        case "theaters":
            return Theaters()
        case "map":
            rows = values.get(Param.ROW_RANGE)
            return ShowMap(text(Param.THEATER), text(Param.EVENT), str(rows) if rows else None)
        case "hold":
            seats = values[Param.SEATS]
            if isinstance(seats, int):
                return HoldBest(text(Param.THEATER), text(Param.EVENT), seats)
            assert isinstance(seats, tuple)
            return Hold(text(Param.THEATER), text(Param.EVENT), seats)
        case "release":
            return Release()
        case "book":
            return Book(text(Param.NAME), text(Param.EMAIL))
        case "ticket":
            if not values:
                return ShowTicket()
            return ShowTicket(text(Param.THEATER), text(Param.TICKET))
        case "cancel":
            return Cancel(text(Param.THEATER), text(Param.TICKET))
        case "tickets":
            return ListTickets()
        case "status":
            return Status()
        case "help":
            return Help(text(Param.TOPIC) if values else None)
        case "admin":
            return Help(ADMIN_TOPIC)
        case _:
            return Quit()


def param_at(line_before_cursor: str) -> tuple[CommandSpec | None, Param | None, list[str]]:
    """Which parameter the word under the cursor is, for completion.

    Returns (spec, param, earlier positional words); spec None means the command name itself is
    being typed; param None past the last parameter (where ``spec.options`` may be offered).
    Plain whitespace splitting is enough here: completion never needs quoted words.
    """
    words = line_before_cursor.split()
    if line_before_cursor and line_before_cursor[-1].isspace():
        words.append("")
    if len(words) <= 1:
        return None, None, []
    spec = SPECS.get(words[0].lower())
    if spec is not None and spec.name == "admin" and len(words) > 2:
        spec, words = ADMIN_SPECS.get(words[1].lower()), words[1:]
    if spec is None or not spec.params:
        return spec, None, words[1:-1]
    if len(words) > 2 and words[-2] in spec.options:
        return spec, spec.options[words[-2]], []
    earlier = _without_options(spec, words[1:-1])
    index = len(earlier)
    if spec.name == "book":
        param = Param.EMAIL if index > 0 or "@" in words[-1] else Param.NAME
    elif index < len(spec.params):
        param = spec.params[index]
    elif spec.params[-1] is Param.SEATS:
        param = Param.SEATS
    else:
        param = None
    return spec, param, earlier


def _without_options(spec: CommandSpec, words: list[str]) -> list[str]:
    """The positional words: each ``--flag VALUE`` pair of ``spec.options`` left out."""
    kept: list[str] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in spec.options:
            skip = True
        else:
            kept.append(word)
    return kept

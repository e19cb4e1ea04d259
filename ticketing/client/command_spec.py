"""What a command looks like: the kinds of its arguments and its usage line.

Kept apart from the parser so that the buyer's commands (``commands``) and the operator's
(``admin_commands``) can both describe themselves with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Param(StrEnum):
    """What an argument is; the completer and the guided prompts key on it."""

    THEATER = "theater"
    EVENT = "event"
    SEATS = "seats"
    NAME = "name"
    EMAIL = "email"
    TICKET = "ticket number"
    TOPIC = "topic"
    SUBCOMMAND = "admin command"
    NEW_THEATER = "new theater id"
    NEW_EVENT = "new event id"
    CLUSTER = "cluster"
    THEATER_NAME = "theater name"
    CITY = "city"
    ROWS = "rows"
    SEATS_PER_ROW = "seats per row"
    TITLE = "title"
    STARTS_AT = "starts at"
    CSV = "csv file"


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    params: tuple[Param, ...]
    usage: str
    summary: str
    all_optional: bool = False
    """True when the command also runs with no argument at all (`ticket`)."""
    options: dict[str, Param] = field(default_factory=dict)
    """Optional ``--flag VALUE`` arguments, never asked for (``admin report ... --csv FILE``)."""

"""Long output in a terminal goes through a pager, so the screen does not scroll past it.

``$PAGER`` if set, else ``less`` (pydoc's choice); scripts never page. The text is plain: a
pager shows it the same in every terminal.
"""

from __future__ import annotations

import pydoc
from collections.abc import Callable

from ticketing.client.style import Fragments, plain

Pager = Callable[[str], None]


def terminal_pager(text: str) -> None:
    pydoc.pager(text)


def too_long(fragments: Fragments, lines: int) -> bool:
    return plain(fragments).count("\n") > lines

"""Colours of the client's output, and the same output without them.

Everything the client shows is a list of (style, text) fragments; the terminal gets them styled,
a pipe gets the bare text, so every view must read well without colour.
"""

from __future__ import annotations

from prompt_toolkit.styles import Style

Fragments = list[tuple[str, str]]

STYLE = Style.from_dict(
    {
        "seat.free": "ansigreen",
        "seat.held": "ansiyellow",
        "seat.booked": "ansired",
        "seat.mine": "ansicyan bold",
        "screen": "reverse",
        "label": "bold",
        "heading": "bold underline",
        "error": "ansired bold",
        "note": "ansibrightblack",
        "ticket": "ansicyan bold",
        "bottom-toolbar": "noreverse bg:ansiblue fg:ansiwhite",
    }
)


def plain(fragments: Fragments) -> str:
    return "".join(text for _, text in fragments)

"""Plain text tables: left-aligned columns, wide enough for their longest cell."""

from __future__ import annotations

from collections.abc import Sequence

from ticketing.client.style import Fragments


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Fragments:
    cells = [[str(value) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"

    out: Fragments = [("class:heading", line(headers))]
    out.extend(("", line(row)) for row in cells)
    return out

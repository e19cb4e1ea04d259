"""The charts: throughput and latency against users (PNG), and the scale levels (text).

The PNG is drawn with matplotlib, an optional extra (``pip install
ticketing[bench]``): a chart people read needs axes, ticks, labels and a
legend, i.e. text rendering, which a hand-rolled PNG writer would have to
reinvent (fonts, layout) for a worse result. Without matplotlib the JSON and
the table are still written, and the chart is skipped with a note.

The scale chart (bookings/s and projected ceiling against the lock groups)
is text, printed under the scale table: a few levels read well as bars, and
it is there whether or not matplotlib is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCALE_BAR = 40  # characters of the longest bar of the scale chart


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write_chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    figure, (throughput, latency) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
    levels = sorted({level["users"] for run in results["runs"] for level in run["levels"]})
    for index, run in enumerate(results["runs"]):
        color = f"C{index}"
        users = [level["users"] for level in run["levels"]]
        rates = [level["bookings_per_s"] for level in run["levels"]]
        throughput.plot(users, rates, marker="o", color=color, label=run["label"])
        for quantile, style in (("p50", "-"), ("p99", "--")):
            values = [level["latency_ms"]["booking"].get(quantile) for level in run["levels"]]
            latency.plot(
                users, values, style, marker="o", color=color, label=f"{run['label']}, {quantile}"
            )
    for axes, title, unit in (
        (throughput, "Complete bookings (hold + book) per second", "bookings/s"),
        (latency, "Booking latency (hold + book)", "ms"),
    ):
        axes.set_xscale("log", base=2)
        axes.set_xticks(levels, [str(n) for n in levels])
        axes.minorticks_off()
        axes.set_xlabel("concurrent users")
        axes.set_ylabel(unit)
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
        axes.set_ylim(bottom=0)
    figure.suptitle(results.get("title", "ticketing benchmark"))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def scale_text(rows: Sequence[dict[str, Any]]) -> str:
    """Bookings/s and projected ceiling of each scale row, as bars on one scale."""
    values = [
        v
        for r in rows
        for v in (r["bookings_per_s"], r["projected_ceiling_bookings_per_s"])
        if v is not None
    ]
    top = max(values, default=0.0) or 1.0
    labels = [
        f"{_count(r['lock_groups'], 'group')}, {_count(r['clusters'], 'cluster')}, "
        f"{r['users']} users"
        for r in rows
    ]
    width = max(map(len, labels), default=0)
    lines = ["bookings/s (#) and projected ceiling (=) against the lock groups:"]
    for label, r in zip(labels, rows, strict=True):
        for name, key, mark in (
            ("bookings/s", "bookings_per_s", "#"),
            ("ceiling", "projected_ceiling_bookings_per_s", "="),
        ):
            value = r[key]
            bar = "" if value is None else mark * round(SCALE_BAR * value / top)
            shown = "-" if value is None else f"{value:.1f}"
            lines.append(f"{label:<{width}}  {name:<10} |{bar:<{SCALE_BAR}}| {shown}")
            label = ""
    return "\n".join(lines)


def _count(number: int | None, noun: str) -> str:
    if number is None:
        return f"? {noun}s"
    return f"{number} {noun}{'' if number == 1 else 's'}"

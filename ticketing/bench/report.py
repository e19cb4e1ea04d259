"""The results as a table for people and JSON for tools."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ticketing.names import ROOT

COLUMNS = (  # title, key of row_values, decimals
    ("users", "users", 0),
    ("bookings/s", "bookings_per_s", 1),
    ("book p50", "booking_p50_ms", 1),
    ("book p99", "booking_p99_ms", 1),
    ("flow p99", "flow_p99_ms", 1),
    ("calls/bk", "calls_per_booking", 1),
    ("syncs/bk", "syncs_per_booking", 1),
    ("cpu ms/bk", "cpu_ms_per_booking", 1),
    ("ceiling/s", "ceiling_calls_per_s", 0),
    ("ratio", "ratio", 3),
    ("conflicts", "conflicts", 0),
    ("refused/bk", "refused_per_booking", 2),
    ("views/bk", "views_per_booking", 2),
    ("errors", "error_count", 0),
    ("load 1min", "load_average_1min", 1),
)

RUSH_COLUMNS = (  # the rush's table: goodput, refusals by kind of buyer, whole-attempt latency
    ("users", "users", 0),
    ("goodput/s", "bookings_per_s", 1),
    ("flow p50", "flow_p50_ms", 1),
    ("flow p99", "flow_p99_ms", 1),
    ("refused/bk", "refused_per_booking", 2),
    ("best ref/bk", "best_refused_per_booking", 2),
    ("expl ref/bk", "explicit_refused_per_booking", 2),
    ("views/bk", "views_per_booking", 2),
    ("calls/bk", "calls_per_booking", 1),
    ("cpu ms/bk", "cpu_ms_per_booking", 1),
    ("errors", "error_count", 0),
    ("load 1min", "load_average_1min", 1),
)

RUSH_LEGEND = (
    "goodput/s: bookings completed per second; flow p50/p99: ms from an attempt's first call "
    "to its ticket (looks again and refused holds included); refused/bk: refused holds per "
    "booking, all buyers; best ref/bk and expl ref/bk: the same among best-available and "
    "explicit-seat buyers (best ref/bk must be 0: the venue never fills, so the system always "
    "finds the seats); views/bk: looks at the seat map per booking"
)

HOTTEST_SHOWN = 3  # processes named under the table; the JSON has them all

SEAT_MAP_METHODS = (  # key of a run's latencies, the method measured
    ("seat_map_ms", "get_seat_map"),
    ("seat_states_ms", "get_seat_states"),
)


def row_values(level: dict[str, Any]) -> dict[str, Any]:
    """The table's columns of one level (latencies in ms, CPU in ms per booking)."""
    latency = level["latency_ms"]
    cpu = level["per_booking"]["cpu_seconds"]
    return {
        "users": level["users"],
        "bookings_per_s": level["bookings_per_s"],
        "booking_p50_ms": latency["booking"].get("p50"),
        "booking_p99_ms": latency["booking"].get("p99"),
        "flow_p99_ms": latency["flow"].get("p99"),
        "calls_per_booking": level["per_booking"]["calls_served"],
        "syncs_per_booking": level["per_booking"]["disk_syncs"],
        "cpu_ms_per_booking": None if cpu is None else 1000 * cpu,
        "ceiling_calls_per_s": level["ceiling_calls_per_s"],
        "ratio": level["ratio"],
        "conflicts": level["conflicts"],
        "refused_per_booking": level.get("refused_per_booking"),
        "views_per_booking": level.get("views_per_booking"),
        "error_count": sum(level["errors"].values()),
        "load_average_1min": level.get("load_average_1min"),
        "flow_p50_ms": latency["flow"].get("p50"),
        **_buyer_values(level.get("rush")),
    }


def _buyer_values(rush: dict[str, Any] | None) -> dict[str, Any]:
    buyers = (rush or {}).get("by_buyer", {})
    return {
        f"{short}_refused_per_booking": buyers.get(kind, {}).get("refused_per_booking")
        for short, kind in (("best", "best_available"), ("explicit", "explicit"))
    }


def table(run: dict[str, Any]) -> str:
    """One run's levels as a fixed-width table, with its one-booking probe under it."""
    columns = RUSH_COLUMNS if run.get("rush") else COLUMNS
    header = "  ".join(f"{title:>{_width(title)}}" for title, _, _ in columns)
    lines = [f"== {run['label']}" + (f", rush on {run['targets'][0]}" if run.get("rush") else "")]
    lines.append(header)
    for level in run["levels"]:
        values = row_values(level)
        lines.append(
            "  ".join(_cell(values[key], places, _width(title)) for title, key, places in columns)
        )
    if run.get("rush"):
        lines.append(RUSH_LEGEND)
        lines += [_rush_line(level) for level in run["levels"] if level.get("rush")]
    for level in run["levels"]:
        kinds = level.get("cpu_ms_per_booking_by_kind")
        if kinds:
            parts = ", ".join(f"{kind} {ms:.1f}" for kind, ms in kinds.items())
            lines.append(f"cpu ms/bk by component at {level['users']} users: {parts}")
        kinds = level.get("calls_per_booking_by_kind")
        if kinds:
            parts = ", ".join(f"{kind} {calls:.1f}" for kind, calls in kinds.items())
            lines.append(f"calls/bk served by component at {level['users']} users: {parts}")
        lines += projection_lines(level)
        ceilings = level.get("ceiling_by_serializer")
        if ceilings:
            ratios = level["ratio_by_serializer"]
            parts = ", ".join(
                f"{name} {rate:.0f}/s (ratio {ratios.get(name, 0):.3f})"
                for name, rate in ceilings.items()
            )
            lines.append(f"empty-call ceiling at {level['users']} users: {parts}")
    probe = run.get("probe")
    if probe:
        short = " (the event was nearly full: fewer)" if probe.get("short_of_seats") else ""
        lines.append(
            f"one booking alone (hold + book, 1 user, idle traffic subtracted): "
            f"{_num(probe['calls_per_booking'])} remote calls, "
            f"{_num(probe['syncs_per_booking'])} disk syncs{short}"
        )
    for key, method in SEAT_MAP_METHODS:
        if run.get(key):
            sm = run[key]
            lines.append(
                f"seat map of {run['big_venue']} at the load balancer, idle, {method}: "
                f"p50 {sm['p50']} ms, p95 {sm['p95']} ms ({sm['count']} calls)"
            )
    if run.get("replica_rss_mb"):
        rss = run["replica_rss_mb"]
        lines.append(f"replica memory (RSS): max {max(rss.values())} MB over {len(rss)} replicas")
    return "\n".join(lines)


def projection_lines(level: dict[str, Any]) -> list[str]:
    """The hottest processes of one level and the ceiling they project (none: nothing)."""
    ceiling = level.get("projected_ceiling_bookings_per_s")
    if ceiling is None:
        return []
    hottest = list(level["cpu_ms_per_booking_by_process"].items())[:HOTTEST_SHOWN]
    parts = ", ".join(f"{name.removeprefix(ROOT)} {ms:.2f}" for name, ms in hottest)
    lines = [
        f"projected ceiling at {level['users']} users, one core per process: {ceiling:.1f} "
        f"bookings/s (1000 / {level['hottest_cpu_ms_per_booking']:.2f} cpu ms/bk of the hottest)",
        f"  hottest processes, cpu ms/bk: {parts}",
    ]
    calls = level.get("calls_per_booking_by_process", {})
    syncs = level.get("syncs_per_booking_by_process", {})
    served = [
        f"{name.removeprefix(ROOT)} {calls[name]:.1f} calls, {syncs.get(name, 0):.1f} syncs"
        for name, _ in hottest
        if name in calls
    ]
    if served:
        lines.append(f"  what they served per booking: {', '.join(served)}")
    return lines


def _rush_line(level: dict[str, Any]) -> str:
    """What the best-available buyers of one rush level were refused, which must be nothing."""
    rush = level["rush"]
    best = rush["by_buyer"]["best_available"]
    explicit = rush["by_buyer"]["explicit"]
    if not best["users"]:
        verdict = "no best-available buyers"
    elif best["refused_holds"] == 0:
        verdict = f"0 refused holds in {best['bookings']} bookings (must be 0: yes)"
    else:
        why = (
            "this many users can fill the venue"
            if rush["can_sell_out"]
            else "the venue could not fill: look for a fault"
        )
        verdict = (
            f"{best['refused_holds']} refused holds in {best['bookings']} bookings "
            f"(must be 0: NO; {why})"
        )
    lines = [
        f"rush at {level['users']} users: best-available buyers ({best['users']}): {verdict}; "
        f"explicit-seat buyers ({explicit['users']}): {explicit['refused_holds']} refused holds, "
        f"{explicit['alternative_holds']} holds on an offered alternative, "
        f"{explicit['bookings']} bookings; each user kept at most {_tickets(rush['keep_tickets'])}"
    ]
    if rush.get("tickets_left_uncancelled"):
        lines.append(
            f"  {rush['tickets_left_uncancelled']} tickets could not be cancelled after the "
            "level: the next level starts on a fuller venue"
        )
    return "\n".join(lines)


def _tickets(count: int) -> str:
    return _count(count, "ticket")


def _count(count: int | None, noun: str) -> str:
    return f"{'?' if count is None else count} {noun}{'' if count == 1 else 's'}"


def _width(title: str) -> int:
    return max(10, len(title))


def _cell(value: Any, places: int, width: int = 10) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>{width}}"
    return f"{value:>{width}.{places}f}"


def _num(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1f}"


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")
    tmp.replace(path)


SCALE_COLUMNS = (  # title, key of a scale row, decimals; the hottest process's name comes last
    ("clusters", "clusters", 0),
    ("groups", "lock_groups", 0),
    ("balancers", "load_balancers", 0),
    ("users", "users", 0),
    ("bookings/s", "bookings_per_s", 1),
    ("book p99", "booking_p99_ms", 1),
    ("lock ms/bk", "lock_side_cpu_ms_per_booking", 2),
    ("hot ms/bk", "hottest_cpu_ms_per_booking", 2),
    ("hot/lock", "hottest_share_of_lock_side", 2),
    ("ceiling/s", "projected_ceiling_bookings_per_s", 1),
)

SCALE_LEGEND = (
    "lock ms/bk: CPU ms per booking of every lock server and lock coordinator together; "
    "hot ms/bk: the hottest process's (named on the right); hot/lock: the one over the other; "
    "ceiling/s: projected bookings/s with a core per process, 1000 / hot ms/bk; "
    "events/group: the booked events each lock group decides"
)


def scale_table(rows: list[dict[str, Any]], verdicts: list[dict[str, Any]]) -> str:
    """The scale levels side by side, a row per cluster layout and users, and the verdicts."""
    header = "  ".join(f"{title:>{_width(title)}}" for title, _, _ in SCALE_COLUMNS)
    lines = ["== scale: data clusters and lock groups", f"{header}  {'events/group':>12}  hottest"]
    for values in rows:
        cells = "  ".join(
            _cell(values[key], places, _width(title)) for title, key, places in SCALE_COLUMNS
        )
        spread = values.get("events_per_lock_group") or {}
        events = "/".join(str(count) for count in spread.values()) or "-"
        hottest = (values["hottest_process"] or "-").removeprefix(ROOT)
        lines.append(f"{cells}  {events:>12}  {hottest}")
    lines.append(SCALE_LEGEND)
    lines += [verdict_line(v) for v in verdicts]
    return "\n".join(lines)


def verdict_line(verdict: dict[str, Any]) -> str:
    """Issue 13's Done-when for one number of users, each criterion with its figures."""
    level, base, checks = verdict["level"], verdict["baseline"], verdict["checks"]

    def said(ok: bool) -> str:
        return "yes" if ok else "NO"

    def ratio(value: float | None, places: int) -> str:
        return "unknown" if value is None else f"{value:.{places}f}"

    hottest = (verdict["hottest_process"] or "no process").removeprefix(ROOT)
    return (
        f"verdict at {verdict['users']} users, {_count(level['clusters'], 'data cluster')} and "
        f"{_count(level['lock_groups'], 'lock group')} against {base['clusters']} and "
        f"{base['lock_groups']}: hottest ({hottest}) / lock side "
        f"{ratio(verdict['hottest_share_of_lock_side'], 3)} (needs <= "
        f"{verdict['hottest_share_limit']:.3f}): {said(checks['hottest_share'])}; projected "
        f"ceiling x{ratio(verdict['ceiling_gain'], 2)} (needs >= "
        f"x{verdict['ceiling_gain_needed']:.2f}): {said(checks['ceiling_gain'])}; bookings/s "
        f"{verdict['bookings_per_s']:.1f} against {verdict['baseline_bookings_per_s']:.1f} "
        f"(needs not lower): {said(checks['bookings_per_s'])} => "
        f"{'MET' if verdict['met'] else 'NOT MET'}"
    )

"""The results as a table for people and JSON for tools."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

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
    ("errors", "error_count", 0),
    ("load 1min", "load_average_1min", 1),
)

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
        "error_count": sum(level["errors"].values()),
        "load_average_1min": level.get("load_average_1min"),
    }


def table(run: dict[str, Any]) -> str:
    """One run's levels as a fixed-width table, with its one-booking probe under it."""
    header = "  ".join(f"{title:>10}" for title, _, _ in COLUMNS)
    lines = [f"== {run['label']}", header]
    for level in run["levels"]:
        values = row_values(level)
        lines.append("  ".join(_cell(values[key], places) for _, key, places in COLUMNS))
    for level in run["levels"]:
        kinds = level.get("cpu_ms_per_booking_by_kind")
        if kinds:
            parts = ", ".join(f"{kind} {ms:.1f}" for kind, ms in kinds.items())
            lines.append(f"cpu ms/bk by component at {level['users']} users: {parts}")
        kinds = level.get("calls_per_booking_by_kind")
        if kinds:
            parts = ", ".join(f"{kind} {calls:.1f}" for kind, calls in kinds.items())
            lines.append(f"calls/bk served by component at {level['users']} users: {parts}")
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
        lines.append(
            f"one booking alone (hold + book, 1 user, idle traffic subtracted): "
            f"{_num(probe['calls_per_booking'])} remote calls, "
            f"{_num(probe['syncs_per_booking'])} disk syncs"
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


def _cell(value: Any, places: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'-':>10}"
    return f"{value:>10.{places}f}"


def _num(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.1f}"


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(results, indent=2, allow_nan=False) + "\n")
    tmp.replace(path)

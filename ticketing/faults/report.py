"""What a fault run prints below its heading: the figures, each fault, the anomalies
with their evidence."""

from __future__ import annotations

from ticketing.faults.anomaly import Anomaly
from ticketing.faults.evidence import evidence_lines
from ticketing.faults.history import History
from ticketing.faults.run import RunResult


def report_lines(result: RunResult) -> list[str]:
    """The report of ``result``, indented under the run's heading line."""
    lines = [f"  {line}" for line in result.figures.lines()]
    for fault in result.history.faults:
        took = "never" if fault.recovered is None else f"{fault.recovered - fault.healed:.1f}s"
        held = fault.healed - fault.start
        lines.append(
            f"  fault {fault.kind:20} {fault.target:30} {held:4.1f}s, answered {took} after healing"
        )
    return lines + anomaly_lines(result.history, result.anomalies)


def anomaly_lines(history: History, anomalies: list[Anomaly]) -> list[str]:
    """How many anomalies, then each with its evidence (``evidence``)."""
    lines = [f"  anomalies: {len(anomalies)}"]
    return lines + [f"    {line}" for line in evidence_lines(history, anomalies)]

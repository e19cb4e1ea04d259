"""The evidence printed under an anomaly: the operations and faults it names."""

from __future__ import annotations

from ticketing.faults.anomaly import Anomaly
from ticketing.faults.checker import check
from ticketing.faults.evidence import EXPLAINED, evidence_lines
from ticketing.faults.history import CANCEL, HOLD, OK, READ, Fault, FinalState, History, Operation

T, E = "AMC", "dune"


def op(kind: str, start: float, end: float, client: int = 1, **kw) -> Operation:
    return Operation(client, kind, T, E, start, end, OK, **kw)


def test_a_double_hold_shows_both_holds_the_seats_neighbours_and_the_fault() -> None:
    first = op(HOLD, 100.0, 101.0, seats=("A1", "A2"), hold_id="h1", expires_at=110.0)
    second = op(HOLD, 102.0, 103.0, client=2, seats=("A2",), hold_id="h2", expires_at=112.0)
    near = op(CANCEL, 104.0, 104.5, client=3, seats=("A2",), ticket_no="t9")
    far = op(READ, 200.0, 200.1, client=4, seats=("A2",))
    other_seat = op(HOLD, 102.5, 102.6, client=5, seats=("B7",), hold_id="h5", expires_at=1e9)
    fault = Fault("pause", "lock_server-2", 101.5, 105.0, 105.1)
    late_fault = Fault("kill", "load_balancer-1", 150.0, 152.0, 152.5)
    history = History(
        (first, second, near, far, other_seat),
        FinalState(300.0),
        (fault, late_fault),
    )
    anomalies = [a for a in check(history) if a.kind == "double-hold"]
    assert anomalies, "the history is a double hold"
    lines = evidence_lines(history, anomalies[:1])
    text = "\n".join(lines)
    assert lines[0].startswith("double-hold: AMC/dune/A2 held by h1 and h2")
    assert "hold=h1" in text and "hold=h2" in text
    assert "ticket=t9" in text, "an operation on the seat within a few seconds"
    assert "200.000" not in text and "h5" not in text, "not a later one, nor another seat's"
    assert "fault pause lock_server-2 1.500-5.000" in text, "times from the first operation"
    assert "load_balancer-1" not in text


def test_a_detail_that_names_nothing_in_the_history_says_so() -> None:
    history = History((op(READ, 0.0, 1.0),), FinalState(300.0))
    lines = evidence_lines(history, [Anomaly("digests-differ", "cluster east replicas differ")])
    assert lines == [
        "digests-differ: cluster east replicas differ",
        "  (no operation names it)",
    ]


def test_only_the_first_anomalies_get_their_evidence() -> None:
    history = History((op(READ, 0.0, 1.0, seats=("A1",)),), FinalState(300.0))
    detail = "AMC/dune seat A1 is booked by no ticket"
    anomalies = [Anomaly("phantom-seat", f"{detail} {n}") for n in range(7)]
    lines = evidence_lines(history, anomalies)
    assert sum(line.startswith("phantom-seat") for line in lines) == 7
    assert sum("client 1 read ok" in line for line in lines) == EXPLAINED

"""What a fault run recorded: client operations, faults, and the state read at the end.

Plain frozen records, so a checker can be fed a history built by hand in a
unit test as easily as one recorded from a real cluster. Times are seconds on
one clock (the harness's wall clock), so they compare with the ``expires_at``
the system itself reports for holds: the checker assumes that clock and the
coordinators' agree within its ``HOLD_MARGIN`` (they are one host's clock in a
local run) and are not stepped during the run. The harness's own waits and
deadlines are on ``time.monotonic()`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

OK, REFUSED, UNKNOWN = "ok", "refused", "unknown"
"""Outcomes: acknowledged; refused by the system (nothing happened); reply lost."""

HOLD, RELEASE, BOOK, CANCEL, READ = "hold", "release", "book", "cancel", "read"

# The operator's catalog changes (the manager's ``admin_*`` calls), recorded
# like the clients' calls; ``client`` is ``OPERATOR``.
ADD_EVENT, UPDATE_EVENT = "add-event", "update-event"
STOP_SALES, RESUME_SALES, CANCEL_EVENT = "stop-sales", "resume-sales", "cancel-event"
CATALOG_KINDS = (ADD_EVENT, UPDATE_EVENT, STOP_SALES, RESUME_SALES, CANCEL_EVENT)
OPERATOR = -1


@dataclass(frozen=True, slots=True)
class Operation:
    """One client call, from just before it was sent to just after its answer.

    ``seats`` are the seats the call is about (for ``read``: the seats booked
    in the answer). ``hold_id`` and ``ticket_no`` identify what it acted on or
    created; ``expires_at`` is a hold's expiry as the system reported it.

    A best-available hold (``block_best_available``) has the ``count`` of seats
    it asked for; its ``seats`` are those the system chose, known only when it
    was acknowledged (empty otherwise). An explicit hold has ``count`` 0 and
    the seats it asked for.

    A catalog change (``CATALOG_KINDS``) names its event by ``theater`` and
    ``event``; an acknowledged ``cancel-event`` has the ``refunds`` it
    answered (ticket numbers).
    """

    client: int
    kind: str
    theater: str
    event: str
    start: float
    end: float
    outcome: str
    seats: tuple[str, ...] = ()
    hold_id: str | None = None
    ticket_no: str | None = None
    expires_at: float | None = None
    error: str = ""
    count: int = 0
    refunds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault the nemesis injected: ``kind`` on ``target`` from ``start`` to ``healed``."""

    kind: str
    target: str
    start: float
    healed: float
    recovered: float | None = None  # when the hurt component answered again


@dataclass(frozen=True, slots=True)
class FinalState:
    """The system as read after every fault was healed.

    ``live`` maps ticket numbers found live to their seats; ``unknown_books``
    maps the hold id of every book with an unknown outcome to the ticket it
    turned out to have made (None if none), and of a refused book that a
    refund shows made one (``catalog_rules.retry_refused``); ``booked`` the booked seats of
    each ``(theater, event)``; ``digests`` each cluster's replicas'
    ``(applied_index, digest)``.

    ``sales`` is each event's sales at the end (``open``, ``stopped`` or
    ``cancelled``), for every event the run used; ``refunds`` maps each ticket
    listed for a refund (of a cancelled event) to its seats, as ``live`` does.
    """

    at: float
    live: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)
    unknown_books: dict[str, str | None] = field(default_factory=dict)
    booked: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)
    digests: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    sales: dict[tuple[str, str], str] = field(default_factory=dict)
    refunds: dict[str, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class History:
    """``lock_labels`` names, for each ``(theater, event)``, the fault targets of
    the lock group that decides its holds (every lock component with one group).
    An event not in it is judged as if every lock component were its own.
    """

    operations: tuple[Operation, ...]
    final: FinalState
    faults: tuple[Fault, ...] = ()
    lock_labels: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

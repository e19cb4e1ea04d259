"""The lock table: seat holds as leases, a deterministic replicated state machine.

A hold reserves seats of one event for ``ttl`` seconds. Time comes only from
the ``now`` each command is applied at (the coordinator's stamp in the log),
so every replica expires the same holds at the same slot. Each hold carries
a fencing token, the log slot that granted it: tokens only grow, so the data
store can refuse a booking from a hold that a newer one has since replaced.

Booked seats live in the data store, but the lock table keeps a *sold mark*
for each booked hold (``settle``) until its ticket is cancelled (``free``).
With them the table alone knows which seats can still be had, so a hold,
explicit or best-available, needs only the lock store: no read of the data
store first, and a refusal needs no remote call at all. The marks are the
load balancer's report of what the data store decided, sent after the fact;
the data store's conditional book stays the final word, so a mark that is
late or lost (a balancer that died between booking and settling) can cost a
buyer a refused booking, never a seat sold twice.

A hold is a lease: once granted it ends only at its expiry, by its release,
or by its own booking; nothing else takes it back. A late mark that finds a
seat under a newer hold waits behind that hold (the seat passes to the mark
when the hold ends), for the mark may be stale: its ticket may be cancelled
already, its cancel's ``free`` still on the way, and the newer hold may then
book the seat.
"""

from __future__ import annotations

import contextlib
import dataclasses
import heapq
from dataclasses import dataclass
from typing import Any

from ticketing.domain import lock_commands, seat_chooser
from ticketing.domain.digest import state_digest
from ticketing.domain.lock_commands import Acquire, AcquireBest, Free, Release, Settle
from ticketing.domain.seats import SeatMap
from ticketing.errors import InvalidRequest, SeatsUnavailable, TicketingError, to_result

# How long a freed (cancelled) hold id is remembered, so that its settle, if it
# arrives after the cancel, does not mark the seats sold again. Load balancers
# give up re-sending a settle long before this.
FREED_MEMORY = 600.0


@dataclass(frozen=True, slots=True)
class Hold:
    hold_id: str
    theater: str
    event: str
    seats: tuple[str, ...]
    expires_at: float
    fence: int

    def to_plain(self) -> dict[str, Any]:
        return _plain(self)


@dataclass(frozen=True, slots=True)
class Sold:
    """The seats a booked hold made unavailable until its ticket is cancelled."""

    hold_id: str
    theater: str
    event: str
    seats: tuple[str, ...]

    def to_plain(self) -> dict[str, Any]:
        return _plain(self)


def _plain(record: Hold | Sold) -> dict[str, Any]:
    """A record's fields as plain data (seats as a list, as the wire and snapshots carry them)."""
    plain = {field.name: getattr(record, field.name) for field in dataclasses.fields(record)}
    plain["seats"] = list(record.seats)
    return plain


class LockTable:
    """Holds and sold marks by hold id, and the owner of each taken seat, per (theater, event).

    Its commands are the records of ``lock_commands`` (``Acquire``, ``AcquireBest``,
    ``Release``, ``Settle``, ``Free``), applied in the plain form the log holds.
    A settle whose hold is gone (it lapsed between booking and settling) marks
    the seats all the same: free ones at once, ones a newer hold has claimed
    since when that hold ends (a *waiting* mark; the data store refuses that
    hold's booking while the ticket lives). Once the hold id was freed it does
    nothing: a cancel decided before a late settle wins. When the newer hold
    is booked after all, the data store found the seat free, so the waiting
    mark was stale and loses the seat.

    The table trusts the servers to have checked theater, event and seat
    labels against the catalog; it only needs them to be text.
    """

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        self._holds: dict[str, Hold] = {}
        self._sold: dict[str, Sold] = {}
        # The hold id (of a hold or a sold mark) owning each taken seat.
        self._owners: dict[tuple[str, str], dict[str, str]] = {}
        # Seats a late sold mark claims behind the live hold that owns them:
        # seat -> the mark's hold id. Derived from holds and marks (a mark's seat
        # owned by a hold), kept for O(1) hand-overs.
        self._waiting: dict[tuple[str, str], dict[str, str]] = {}
        # (expires_at, hold_id) of every hold granted; entries of holds released
        # early stay until their time comes and are skipped then.
        self._expiry: list[tuple[float, str]] = []
        # Freed hold ids, until when they are remembered, and the same as a heap.
        self._freed: dict[str, float] = {}
        self._freed_expiry: list[tuple[float, str]] = []
        # Derived, not state: a taken-seat grid per event for the seat chooser,
        # built on first use and kept up to date by every change.
        self._grids: dict[tuple[str, str], tuple[SeatMap, bytearray]] = {}
        self._digest: str | None = None

    # -- the state machine -------------------------------------------------

    def apply(self, payload: Any, slot: int, now: float) -> dict[str, Any]:
        """Expire what is due at ``now``, then run the command; refusals are results."""
        self._expire(now)
        try:
            match lock_commands.from_plain(payload):
                case Acquire() as acquire:
                    return self._acquire(acquire, slot, now)
                case AcquireBest() as best:
                    return self._acquire_best(best, slot, now)
                case Release(hold_id):
                    return self._release(hold_id)
                case Settle() as settle:
                    return self._settle(settle)
                case Free(hold_id):
                    return self._free(hold_id, now)
        except TicketingError as exc:
            return to_result(exc)

    def snapshot(self) -> dict[str, Any]:
        holds = sorted(self._holds.values(), key=lambda hold: hold.hold_id)
        sold = sorted(self._sold.values(), key=lambda mark: mark.hold_id)
        return {
            "holds": [hold.to_plain() for hold in holds],
            "sold": [mark.to_plain() for mark in sold],
            "freed": sorted([hold_id, until] for hold_id, until in self._freed.items()),
        }

    def restore(self, snapshot: Any) -> None:
        """Replace the state; raises ValueError when ``snapshot`` is not one of ours."""
        try:
            holds = [
                Hold(
                    str(h["hold_id"]),
                    str(h["theater"]),
                    str(h["event"]),
                    tuple(str(seat) for seat in h["seats"]),
                    float(h["expires_at"]),
                    int(h["fence"]),
                )
                for h in snapshot["holds"]
            ]
            # Snapshots from before sold marks have neither "sold" nor "freed".
            sold = [
                Sold(
                    str(m["hold_id"]),
                    str(m["theater"]),
                    str(m["event"]),
                    tuple(str(seat) for seat in m["seats"]),
                )
                for m in snapshot.get("sold", [])
            ]
            freed = {str(hold_id): float(until) for hold_id, until in snapshot.get("freed", [])}
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a lock table snapshot: {exc!r}") from exc
        self._clear()
        for entry in [*holds, *sold]:
            key = (entry.theater, entry.event)
            owners = self._owners.get(key, {})
            waiting = self._waiting.get(key, {})
            repeated = len(set(entry.seats)) != len(entry.seats)
            known = entry.hold_id in self._holds or entry.hold_id in self._sold
            # A mark may wait behind a hold, never share a seat with another mark.
            clash = [
                s
                for s in entry.seats
                if s in waiting
                or (s in owners and (isinstance(entry, Hold) or owners[s] in self._sold))
            ]
            if repeated or known or clash:
                self._clear()
                raise ValueError(f"not a lock table snapshot: hold {entry.hold_id} overlaps")
            if isinstance(entry, Hold):
                self._add(entry)
            else:
                self._add_sold(entry)
        for hold_id, until in freed.items():
            self._remember_freed(hold_id, until)

    def digest(self) -> str:
        if self._digest is None:
            self._digest = state_digest(self.snapshot())
        return self._digest

    # -- reads (served by one replica, not through the log) ------------------

    def hold(self, hold_id: str, now: float) -> dict[str, Any] | None:
        """The hold as plain data, or None when unknown or expired at ``now``."""
        hold = self._holds.get(hold_id)
        if hold is None or hold.expires_at <= now:
            return None
        return hold.to_plain()

    def held_seats(self, theater: str, event: str, now: float) -> set[str]:
        """Seats of the event under a hold that is still live at ``now``."""
        owners = self._owners.get((theater, event), {})
        holds = self._holds
        return {
            seat for seat, hid in owners.items() if hid in holds and holds[hid].expires_at > now
        }

    def held_among(
        self, theater: str, event: str, seats: list[str], hold_id: str, now: float
    ) -> list[str]:
        """Those of ``seats`` sold, or under a hold other than ``hold_id`` live at ``now``."""
        owners = self._owners.get((theater, event), {})
        waiting = self._waiting.get((theater, event), {})
        return [
            seat
            for seat in seats
            if (owner := owners.get(seat)) is not None
            and owner != hold_id
            and (owner in self._sold or self._holds[owner].expires_at > now or seat in waiting)
        ]

    def best_free(self, theater: str, event: str, seat_map: SeatMap, count: int) -> list[str]:
        """The seats ``acquire_best`` would pick now, or ``[]`` when too few are free.

        Holds that ended since the last command still count as taken: this is
        advice (the alternative offered with a refusal), the log decides.
        """
        grid = self._grid((theater, event), seat_map)
        chosen = seat_chooser.choose(grid, seat_map.seats_per_row, count)
        return [seat_map.label(index) for index in chosen or ()]

    def free_count(self, theater: str, event: str, seat_map: SeatMap) -> int:
        """Seats neither held nor sold (as of the last command applied)."""
        return self._grid((theater, event), seat_map).count(seat_chooser.FREE)

    def __len__(self) -> int:
        return len(self._holds) + len(self._sold)

    # -- commands ------------------------------------------------------------

    def _acquire(self, command: Acquire, slot: int, now: float) -> dict[str, Any]:
        existing = self._holds.get(command.hold_id)
        if existing is not None:  # a retry: answer what was granted
            return {"ok": True, **existing.to_plain()}
        self._check_unused(command.hold_id)
        owners = self._owners.get((command.theater, command.event), {})
        taken = [seat for seat in command.seats if seat in owners]
        if taken:
            raise seats_taken(taken)
        hold = Hold(
            command.hold_id,
            command.theater,
            command.event,
            command.seats,
            now + command.ttl,
            slot,
        )
        self._add(hold)
        return {"ok": True, **hold.to_plain()}

    def _acquire_best(self, command: AcquireBest, slot: int, now: float) -> dict[str, Any]:
        existing = self._holds.get(command.hold_id)
        if existing is not None:
            return {"ok": True, **existing.to_plain()}
        self._check_unused(command.hold_id)
        seat_map = SeatMap(command.rows, command.seats_per_row)
        grid = self._grid((command.theater, command.event), seat_map)
        chosen = seat_chooser.choose(grid, command.seats_per_row, command.count)
        if chosen is None:
            raise too_few_free(grid.count(seat_chooser.FREE), command.count)
        seats = tuple(map(seat_map.label, chosen))
        hold = Hold(command.hold_id, command.theater, command.event, seats, now + command.ttl, slot)
        self._add(hold)
        return {"ok": True, **hold.to_plain()}

    def _check_unused(self, hold_id: str) -> None:
        """A booked or cancelled hold's id is not granted again (ids are random: a bug)."""
        if hold_id in self._sold or hold_id in self._freed:
            raise InvalidRequest(f"hold id {hold_id} was booked already; hold under a new id")

    def _release(self, hold_id: str) -> dict[str, Any]:
        if hold_id in self._holds:
            self._drop(hold_id)
        return {"ok": True}

    def _settle(self, command: Settle) -> dict[str, Any]:
        hold_id, theater, event = command.hold_id, command.theater, command.event
        if hold_id in self._freed or hold_id in self._sold:
            return {"ok": True}
        hold = self._holds.get(hold_id)
        if hold is not None:  # the usual case: the booked hold is still live
            self._drop_stale_waiting(hold)
            self._drop(hold_id)
            self._add_sold(Sold(hold_id, hold.theater, hold.event, hold.seats))
            return {"ok": True}
        # The hold lapsed before its settle: the seats are booked all the same.
        key = (theater, event)
        for seat in command.seats:
            # Looked up afresh: each drop may replace these maps.
            owner = self._owners.get(key, {}).get(seat)
            stale = self._waiting.get(key, {}).get(seat)
            if owner in self._sold:
                self._drop_seat_of_sold(owner, seat)  # a mark whose free was lost
            elif stale is not None:
                self._drop_seat_of_sold(stale, seat)  # the same, behind a hold
        self._add_sold(Sold(hold_id, theater, event, command.seats))
        return {"ok": True}

    def _free(self, hold_id: str, now: float) -> dict[str, Any]:
        if hold_id in self._sold:
            self._drop_sold(hold_id)
        elif hold_id in self._holds:  # booked and cancelled before its settle came
            self._drop_stale_waiting(self._holds[hold_id])
            self._drop(hold_id)
        self._remember_freed(hold_id, now + FREED_MEMORY)
        return {"ok": True}

    # -- state changes ---------------------------------------------------------

    def _add(self, hold: Hold) -> None:
        self._holds[hold.hold_id] = hold
        self._own(hold.theater, hold.event, hold.seats, hold.hold_id)
        heapq.heappush(self._expiry, (hold.expires_at, hold.hold_id))

    def _drop(self, hold_id: str) -> None:
        """End a hold: its seats pass to the marks waiting behind it, the rest are free."""
        hold = self._holds.pop(hold_id)
        key = (hold.theater, hold.event)
        waiting = self._waiting.get(key, {})
        handed = tuple(seat for seat in hold.seats if seat in waiting)
        for seat in handed:
            self._own(hold.theater, hold.event, (seat,), waiting.pop(seat))
        if handed and not waiting:
            del self._waiting[key]
        self._disown(hold.theater, hold.event, tuple(s for s in hold.seats if s not in handed))

    def _drop_stale_waiting(self, hold: Hold) -> None:
        """The hold was booked: the data store found its seats free, so marks
        waiting behind it are stale (their tickets cancelled) and lose those seats."""
        key = (hold.theater, hold.event)
        for seat in hold.seats:
            stale = self._waiting.get(key, {}).get(seat)  # afresh: each drop may replace it
            if stale is not None:
                self._drop_seat_of_sold(stale, seat)

    def _add_sold(self, mark: Sold) -> None:
        """Mark seats sold: free ones at once, ones under a hold once it ends."""
        self._sold[mark.hold_id] = mark
        key = (mark.theater, mark.event)
        owners = self._owners.get(key, {})
        behind = tuple(seat for seat in mark.seats if owners.get(seat) in self._holds)
        if behind:
            waiting = self._waiting.setdefault(key, {})
            for seat in behind:
                waiting[seat] = mark.hold_id
            self._digest = None
        self._own(
            mark.theater, mark.event, tuple(s for s in mark.seats if s not in behind), mark.hold_id
        )

    def _drop_sold(self, hold_id: str) -> None:
        mark = self._sold.pop(hold_id)
        key = (mark.theater, mark.event)
        owners = self._owners.get(key, {})
        waiting = self._waiting.get(key, {})
        for seat in mark.seats:
            if waiting.get(seat) == hold_id:
                del waiting[seat]
        if key in self._waiting and not waiting:
            del self._waiting[key]
        self._disown(
            mark.theater, mark.event, tuple(s for s in mark.seats if owners.get(s) == hold_id)
        )
        self._digest = None

    def _drop_seat_of_sold(self, hold_id: str, seat: str) -> None:
        mark = self._sold[hold_id]
        self._drop_sold(hold_id)
        rest = tuple(s for s in mark.seats if s != seat)
        if rest:
            self._add_sold(Sold(hold_id, mark.theater, mark.event, rest))

    def _own(self, theater: str, event: str, seats: tuple[str, ...], hold_id: str) -> None:
        owners = self._owners.setdefault((theater, event), {})
        for seat in seats:
            owners[seat] = hold_id
        self._mark((theater, event), seats, seat_chooser.TAKEN)
        self._digest = None

    def _disown(self, theater: str, event: str, seats: tuple[str, ...]) -> None:
        if not seats:
            return
        key = (theater, event)
        owners = self._owners[key]
        for seat in seats:
            del owners[seat]
        if not owners:
            del self._owners[key]
        self._mark(key, seats, seat_chooser.FREE)
        self._digest = None

    def _remember_freed(self, hold_id: str, until: float) -> None:
        self._freed[hold_id] = until
        heapq.heappush(self._freed_expiry, (until, hold_id))
        self._digest = None

    # -- the seat chooser's grid (derived from ``_owners``) --------------------

    def _grid(self, key: tuple[str, str], seat_map: SeatMap) -> bytearray:
        """The event's taken-seat grid for ``seat_map``, built now if not kept yet."""
        kept = self._grids.get(key)
        if kept is not None and kept[0] == seat_map:
            return kept[1]
        grid = bytearray(len(seat_map))
        self._grids[key] = (seat_map, grid)
        self._mark(key, tuple(self._owners.get(key, {})), seat_chooser.TAKEN)
        return grid

    def _mark(self, key: tuple[str, str], seats: tuple[str, ...], value: int) -> None:
        kept = self._grids.get(key)
        if kept is None:
            return
        seat_map, grid = kept
        for seat in seats:
            # A seat outside this map is not one the chooser can pick.
            with contextlib.suppress(TicketingError):
                grid[seat_map.index(seat)] = value

    def _expire(self, now: float) -> None:
        """Drop every hold whose lease ended at or before ``now``: O(log n) each."""
        expiry = self._expiry
        while expiry and expiry[0][0] <= now:
            expires_at, hold_id = heapq.heappop(expiry)
            hold = self._holds.get(hold_id)
            if hold is not None and hold.expires_at == expires_at:
                self._drop(hold_id)
        freed = self._freed_expiry
        while freed and freed[0][0] <= now:
            until, hold_id = heapq.heappop(freed)
            if self._freed.get(hold_id) == until:
                del self._freed[hold_id]
                self._digest = None


def seats_taken(taken: list[str]) -> SeatsUnavailable:
    """The refusal of a hold on ``taken`` seats, from the log or from a lock server's own look."""
    return SeatsUnavailable(f"seats already held or booked: {', '.join(taken)}", taken)


def too_few_free(free: int, count: int) -> SeatsUnavailable:
    """The refusal of a best-available hold of ``count`` seats when only ``free`` are."""
    if free == 0:
        return SeatsUnavailable("no seats are free for this event: it is sold out or all on hold")
    return SeatsUnavailable(f"only {free} seats are free for this event, fewer than {count}")

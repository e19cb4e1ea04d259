"""SqliteStorage and SqliteProposerStorage on real SQLite files.

The reference for behaviour is MemoryStorage: the same saves and flushes must
load the same state, which the hypothesis test checks on random sequences.
"""

from __future__ import annotations

import math
import sqlite3
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.messages import Snapshot
from ticketing.consensus.storage import DurableState, MemoryStorage
from ticketing.consensus.values import NOOP, Batch, Command
from ticketing.storage import SqliteProposerStorage, SqliteStorage, StorageError
from ticketing.storage.schema import MIGRATIONS


def batch(stamp: float, *payloads: object) -> Batch:
    return Batch(stamp, tuple(Command(f"r{i}", p) for i, p in enumerate(payloads)))


SNAP = Snapshot(5, {"seats": {"A1": "alice"}, "list": [1, 2.5, None, True]}, {"r1": [3, "ok"]}, 9.5)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "replica.db"


def reopened(path: Path) -> DurableState:
    with SqliteStorage(path) as store:
        return store.load()


# --- round trips ---------------------------------------------------------------


def test_fresh_file_loads_empty_state(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        assert store.load() == DurableState()


def test_every_kind_of_save_round_trips_through_the_file(db_path: Path) -> None:
    value = batch(1712.25, {"op": "book", "seats": ["A1", "A2"]}, "cancel", None, 3, [1.5])
    with SqliteStorage(db_path) as store:
        store.save_promised(Ballot(4, "coord-1"))
        store.save_accepted(7, Ballot(4, "coord-1"), value)
        store.save_accepted(8, Ballot(3, "coord-2"), NOOP)
        store.save_decided(7, value)
        store.save_decided(9, batch(2.0, "ü ✓ \udc80"))
        store.flush()
        expected = DurableState(
            Ballot(4, "coord-1"),
            {7: (Ballot(4, "coord-1"), value), 8: (Ballot(3, "coord-2"), NOOP)},
            {7: value, 9: batch(2.0, "ü ✓ \udc80")},
            None,
        )
        assert store.load() == expected
    assert reopened(db_path) == expected


def test_snapshot_round_trips(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.save_snapshot(SNAP)
        store.flush()
    assert reopened(db_path).snapshot == SNAP


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_stamps_round_trip_bit_for_bit(stamp: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, SqliteStorage(Path(tmp) / "r.db") as store:
        store.save_decided(1, Batch(stamp))
        store.save_snapshot(Snapshot(0, stamp, {}, stamp))
        store.flush()
        state = store.load()
    assert math.copysign(1, state.decided[1].stamp) == math.copysign(1, stamp)
    assert state.decided[1].stamp.hex() == stamp.hex()
    assert state.snapshot is not None and state.snapshot.clock.hex() == stamp.hex()


def test_promised_ballot_only_grows(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.save_promised(Ballot(5, "b"))
        store.save_promised(Ballot(5, "a"))
        store.flush()
        store.save_promised(Ballot(4, "z"))
        store.flush()
        assert store.load().promised == Ballot(5, "b")
        store.save_promised(Ballot(6, ""))
        store.flush()
    assert reopened(db_path).promised == Ballot(6, "")


def test_later_save_of_a_slot_replaces_the_earlier_one(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.save_accepted(1, Ballot(1, "a"), batch(1.0, "x"))
        store.flush()
        store.save_accepted(1, Ballot(2, "b"), batch(2.0, "y"))
        store.flush()
        assert store.load().accepted == {1: (Ballot(2, "b"), batch(2.0, "y"))}


# --- flush ---------------------------------------------------------------------


def test_saves_are_invisible_and_lost_until_flushed(db_path: Path) -> None:
    store = SqliteStorage(db_path)
    store.save_promised(Ballot(1, "a"))
    store.save_decided(1, NOOP)
    assert store.load() == DurableState()
    store.close()
    assert reopened(db_path) == DurableState()


def test_a_failed_flush_writes_nothing_and_keeps_its_saves(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.save_decided(1, NOOP)
        store.flush()
        store.save_promised(Ballot(2, "a"))
        store.save_decided(2, NOOP)
        store.save_decided(2**63, NOOP)  # SQLite integers stop at 2**63 - 1
        with pytest.raises(OverflowError):
            store.flush()
        assert store.load() == DurableState(decided={1: NOOP})
        with pytest.raises(OverflowError):
            store.flush()
    assert reopened(db_path) == DurableState(decided={1: NOOP})


def test_flush_with_nothing_pending_is_a_no_op(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.flush()
        assert store.load() == DurableState()


# --- snapshots truncate --------------------------------------------------------


def test_snapshot_drops_accepted_and_decided_at_or_below_its_index(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        for slot in range(1, 9):
            store.save_accepted(slot, Ballot(1, "a"), batch(float(slot)))
            store.save_decided(slot, batch(float(slot)))
        store.flush()
        store.save_snapshot(SNAP)  # index 5
        store.flush()
        state = store.load()
    assert sorted(state.accepted) == [6, 7, 8]
    assert sorted(state.decided) == [6, 7, 8]
    assert reopened(db_path) == state


def test_snapshot_truncates_in_the_order_saves_were_made(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.save_decided(3, NOOP)
        store.save_snapshot(SNAP)
        store.save_decided(4, NOOP)  # after the snapshot: kept, as MemoryStorage does
        store.flush()
        assert store.load().decided == {4: NOOP}


def test_older_snapshot_is_ignored_and_truncates_nothing(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.save_snapshot(SNAP)
        store.flush()
        store.save_decided(2, NOOP)
        store.flush()
        store.save_snapshot(Snapshot(3, "older", {}, 1.0))
        store.save_snapshot(Snapshot(5, "same index", {}, 1.0))
        store.flush()
        state = store.load()
    assert state.snapshot == SNAP
    assert state.decided == {2: NOOP}


# --- values JSON cannot carry unchanged ----------------------------------------


@pytest.mark.parametrize(
    "payload",
    [(1, 2), {1: "int key"}, {"nested": [("tuple",)]}, float("nan"), float("inf"), object()],
)
def test_values_json_would_change_are_refused_when_saved(db_path: Path, payload: object) -> None:
    with SqliteStorage(db_path) as store:
        with pytest.raises(ValueError, match="slot 3"):
            store.save_decided(3, batch(1.0, payload))
        with pytest.raises(ValueError, match="slot 3"):
            store.save_accepted(3, Ballot(1, "a"), batch(1.0, payload))
        with pytest.raises(ValueError, match="snapshot"):
            store.save_snapshot(Snapshot(3, payload, {}, 1.0))
        store.flush()
        assert store.load() == DurableState()


# --- the file ------------------------------------------------------------------


def test_file_is_in_wal_mode_at_the_latest_schema_version(db_path: Path) -> None:
    SqliteStorage(db_path).close()
    raw = sqlite3.connect(db_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    finally:
        raw.close()


def test_reopening_does_not_migrate_again(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:
        store.save_decided(1, NOOP)
        store.flush()
    assert reopened(db_path) == DurableState(decided={1: NOOP})


def test_a_file_from_a_newer_program_is_refused(db_path: Path) -> None:
    SqliteStorage(db_path).close()
    raw = sqlite3.connect(db_path)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    raw.close()
    with pytest.raises(StorageError, match="newer"):
        SqliteStorage(db_path)


def test_a_file_that_is_not_a_database_is_refused(db_path: Path) -> None:
    db_path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(StorageError, match="not a usable ticketing database"):
        SqliteStorage(db_path)


def test_a_missing_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="directory exists"):
        SqliteStorage(tmp_path / "missing" / "replica.db")


def test_calls_from_several_threads_are_serialized(db_path: Path) -> None:
    with SqliteStorage(db_path) as store:

        def writer(first: int) -> None:
            for slot in range(first, first + 50):
                store.save_decided(slot, batch(float(slot), slot))
                store.flush()

        threads = [threading.Thread(target=writer, args=(i * 100,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(store.load().decided) == [i * 100 + j for i in range(4) for j in range(50)]


# --- same behaviour as MemoryStorage ---------------------------------------------

ballots = st.builds(Ballot, st.integers(0, 4), st.sampled_from(["", "a", "b"]))
plain_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
plain = st.recursive(
    plain_scalars | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)
batches = st.builds(
    Batch,
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.builds(Command, st.text(max_size=4), plain), max_size=3).map(tuple),
)
slots = st.integers(1, 12)
snapshots = st.builds(
    Snapshot,
    st.integers(0, 12),
    plain,
    st.dictionaries(st.text(max_size=3), st.tuples(slots, plain).map(list), max_size=2),
    st.floats(allow_nan=False, allow_infinity=False),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("promised"), ballots),
        st.tuples(st.just("accepted"), slots, ballots, batches),
        st.tuples(st.just("decided"), slots, batches),
        st.tuples(st.just("snapshot"), snapshots),
        st.just(("flush",)),
        st.just(("crash",)),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(operations)
def test_same_behaviour_as_memory_storage(ops: list[tuple]) -> None:
    memory = MemoryStorage()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.db"
        sqlite = SqliteStorage(path)
        try:
            for kind, *args in ops:
                if kind == "flush":
                    memory.flush()
                    sqlite.flush()
                    assert sqlite.load() == memory.load()
                elif kind == "crash":
                    memory.crash()
                    sqlite.close()
                    sqlite = SqliteStorage(path)
                    assert sqlite.load() == memory.load()
                else:
                    for store in (memory, sqlite):
                        getattr(store, f"save_{kind}")(*args)
            memory.flush()
            sqlite.flush()
            assert sqlite.load() == memory.load()
        finally:
            sqlite.close()


# --- the coordinator's round ---------------------------------------------------


def test_proposer_round_starts_at_zero_and_only_grows(db_path: Path) -> None:
    with SqliteProposerStorage(db_path) as rounds:
        assert rounds.load_round() == 0
        rounds.save_round(3)
        rounds.save_round(2)
        assert rounds.load_round() == 3
    with SqliteProposerStorage(db_path) as rounds:
        assert rounds.load_round() == 3


def test_proposer_round_and_replica_state_can_share_a_file(db_path: Path) -> None:
    with SqliteStorage(db_path) as store, SqliteProposerStorage(db_path) as rounds:
        rounds.save_round(7)
        store.save_promised(Ballot(7, "c"))
        store.flush()
        assert store.load().promised == Ballot(7, "c")
        assert rounds.load_round() == 7
    assert reopened(db_path).promised == Ballot(7, "c")

"""SIGKILL a replica process over a real SQLite file; what it told survives the restart.

The child (replica_crash_child.py) runs one ``Replica`` on a ``SqliteStorage``
and answers consensus messages on stdin with JSON lines on stdout, flushing
before each answer. This test plays the coordinator: Prepares and Accepts with
growing ballots (and now and then a stale one), random values for random
slots, and Decides (sometimes out of order, leaving gaps). It remembers only
what the child *told* it, in replies it read, and kills the child

(a) right after reading a reply: the child has persisted and replied, nothing more;
(b) at a random seeded instant while a burst of messages is in flight; the
    replies already in the pipe still count as told, the rest never arrived.

Each kill is followed by a restart on the same file, which must keep:

- every promise told: a Prepare below the highest ballot told is rejected;
- every acceptance told: the next Promise reports it (same ballot and value,
  or a newer ballot for that slot), unless the slot is decided and applied;
- every applied slot: the learner's digest after the restart is the digest of
  the decided values up to its applied index, which did not go back.

The same checks run on every reply, not only after restarts.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from replica_crash_child import SNAPSHOT_EVERY

from ticketing.consensus.ballot import ZERO, Ballot
from ticketing.consensus.codec import decode, encode
from ticketing.consensus.messages import (
    Accept,
    Accepted,
    CatchupRequest,
    Decide,
    Message,
    Prepare,
    Promise,
    Rejected,
)
from ticketing.consensus.simulator import AppendLog
from ticketing.consensus.values import Batch, Command

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "replica_crash_child.py"
NODE = "r1"
PROPOSER = "p"


@dataclass(slots=True)
class Stats:
    kills: int = 0
    restarts_rejecting_stale: int = 0  # restarts where a stale Prepare was checked
    acceptances_checked: int = 0  # told acceptances found again in a Promise after a restart
    applied: int = 0  # the child's applied index at the end


class Coordinator:
    """The parent's side: sends messages and keeps what the child told it."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.round = 0  # highest round sent
        self.proposals: dict[Ballot, dict[int, Batch]] = {}  # one value per slot per ballot
        self.chosen: dict[int, Batch] = {}  # what Decide sent, fixed per slot
        self.next_decide = 1
        self.gaps: list[int] = []  # slots skipped by a Decide, to be decided later
        self.requests = 0
        # What the child told.
        self.promised = ZERO
        self.accepted: dict[int, tuple[Ballot, Batch]] = {}
        self.applied = 0
        self.stats = Stats()
        self._digests = {0: AppendLog().digest()}

    # --- messages to send ------------------------------------------------------------

    def fresh_prepare(self, from_slot: int = 1) -> Prepare:
        self.round += 1
        return Prepare(Ballot(self.round, PROPOSER), from_slot)

    def stale_prepare(self) -> Prepare | None:
        if self.promised.round < 2:
            return None
        return Prepare(Ballot(self.rng.randrange(1, self.promised.round), PROPOSER), 1)

    def missing_decides(self) -> Decide | None:
        """The decided slots the child has not applied, as a coordinator resends them."""
        entries = tuple((s, v) for s, v in sorted(self.chosen.items()) if s > self.applied)
        return Decide(entries) if entries else None

    def random_message(self) -> Message:
        rng = self.rng
        pick = rng.random()
        if self.round == 0 or pick < 0.12:
            return self.fresh_prepare(rng.randint(1, self.next_decide + 2))
        if pick < 0.2:
            stale = self.stale_prepare()
            if stale is not None:
                return stale if rng.random() < 0.5 else Accept(stale.ballot, ())
        if pick < 0.6:
            ballot = Ballot(self.round, PROPOSER)
            values = self.proposals.setdefault(ballot, {})
            low = max(1, self.next_decide - 3)
            slots = sorted(rng.sample(range(low, low + 16), rng.randint(1, 4)))
            return Accept(ballot, tuple((s, values.setdefault(s, self._value())) for s in slots))
        slots = [self.next_decide + i for i in range(rng.randint(1, 3))]
        self.next_decide = slots[-1] + 1
        if len(slots) > 1 and rng.random() < 0.3:
            self.gaps.append(slots.pop(0))  # decided by a later Decide
        elif self.gaps and rng.random() < 0.6:
            slots.append(self.gaps.pop())
        if rng.random() < 0.1:
            slots.append(rng.randrange(1, self.next_decide))  # a repeat
        return Decide(tuple((s, self.chosen.setdefault(s, self._value())) for s in slots))

    def _value(self) -> Batch:
        commands = []
        for _ in range(self.rng.randint(0, 3)):
            self.requests += 1
            commands.append(Command(f"q{self.requests}", self.requests))
        return Batch(float(self.requests), tuple(commands))

    # --- what the child says -----------------------------------------------------------

    def on_status(self, line: str, sent: Message | None, after_restart: bool = False) -> None:
        """Check one status line of the child, answering ``sent`` (None: the start-up line)."""
        status = json.loads(line)
        applied = status["applied"]
        assert applied >= self.applied, f"applied index went back from {self.applied} to {applied}"
        assert status["digest"] == self.digest(applied), f"wrong state at applied index {applied}"
        self.applied = applied
        for to, plain in status["replies"]:
            reply = decode(plain)
            if isinstance(reply, CatchupRequest):
                continue  # to a peer that does not exist here
            assert to == PROPOSER and sent is not None
            self._on_reply(reply, sent, applied, after_restart)

    def _on_reply(self, reply: Message, sent: Message, applied: int, after_restart: bool) -> None:
        assert isinstance(sent, Prepare | Accept), f"{reply} answers {sent}"
        assert reply.ballot == sent.ballot
        if sent.ballot < self.promised:
            assert isinstance(reply, Rejected), f"{sent} accepted below promised {self.promised}"
        match reply:
            case Rejected(promised=promised):
                assert promised >= self.promised, f"promise {self.promised} lost: {reply}"
                assert promised > sent.ballot, f"{sent} refused for no reason: {reply}"
                self.promised = promised
            case Promise():
                assert isinstance(sent, Prepare) and reply.decided_below == applied + 1
                self._check_promise(reply, max(sent.from_slot, reply.decided_below), after_restart)
                self.promised = reply.ballot
            case Accepted():
                assert isinstance(sent, Accept) and reply.decided_below == applied + 1
                self.promised = reply.ballot
                for slot in reply.slots:
                    if slot >= reply.decided_below:
                        assert self.accepted.get(slot, (ZERO,))[0] <= reply.ballot
                        self.accepted[slot] = (reply.ballot, self.proposals[reply.ballot][slot])
            case _:
                raise AssertionError(f"unexpected reply {reply}")

    def _check_promise(self, promise: Promise, start: int, after_restart: bool) -> None:
        reported = {slot: (ballot, value) for slot, ballot, value in promise.accepted}
        for slot, (ballot, value) in reported.items():
            assert value == self.proposals[ballot][slot], f"slot {slot}: a value never proposed"
        for slot, (ballot, value) in self.accepted.items():
            if slot < start:
                continue
            assert slot in reported, f"acceptance of slot {slot} in {ballot} was lost"
            now_ballot, now_value = reported[slot]
            assert now_ballot >= ballot, f"slot {slot}: {now_ballot} reported, {ballot} was told"
            if now_ballot == ballot:
                assert now_value == value, f"slot {slot}: value changed within {ballot}"
            if after_restart:
                self.stats.acceptances_checked += 1
        self.accepted.update(reported)

    def digest(self, applied: int) -> str:
        """The AppendLog digest after applying the decided slots 1..``applied``."""
        if applied not in self._digests:
            log = AppendLog()
            for slot in range(1, applied + 1):
                assert slot in self.chosen, f"applied slot {slot} that was never decided"
                for command in self.chosen[slot].commands:
                    log.apply(command.payload, slot, 0.0)
            self._digests[applied] = log.digest()
        return self._digests[applied]


class Child:
    """One run of the replica process on the database file."""

    def __init__(self, path: Path, log: Path) -> None:
        self.log = log
        with open(log, "ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD), str(path), NODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=ROOT,
            )
        self.in_flight: deque[Message] = deque()

    def send(self, msg: Message) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(encode(msg)) + "\n")
        self.proc.stdin.flush()
        self.in_flight.append(msg)

    def read_line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.endswith("\n"):
            self.proc.wait()
            raise AssertionError(f"child died on its own:\n{self.log.read_text()}")
        return line

    def kill(self) -> list[str]:
        """SIGKILL; the complete lines the child had written before it died."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        assert self.proc.returncode == -signal.SIGKILL
        assert self.proc.stdout is not None and self.proc.stdin is not None
        rest = self.proc.stdout.read()
        self.proc.stdout.close()
        with contextlib.suppress(BrokenPipeError):  # unread input, lost with the child
            self.proc.stdin.close()
        return [line for line in rest.splitlines(keepends=True) if line.endswith("\n")]


def exchange(child: Child, coord: Coordinator, msg: Message, after_restart: bool = False) -> None:
    child.send(msg)
    coord.on_status(child.read_line(), child.in_flight.popleft(), after_restart)


def restart_and_check(path: Path, log: Path, coord: Coordinator) -> Child:
    child = Child(path, log)
    coord.on_status(child.read_line(), None)
    stale = coord.stale_prepare()
    if stale is not None:
        exchange(child, coord, stale, after_restart=True)  # must be rejected
        coord.stats.restarts_rejecting_stale += 1
    exchange(child, coord, coord.fresh_prepare(), after_restart=True)  # must report acceptances
    decide = coord.missing_decides()  # those lost in flight, so that the log moves on
    if decide is not None:
        exchange(child, coord, decide)
    return child


def run_kills(tmp_path: Path, kills: int, seed: int, in_flight: bool) -> Stats:
    path, log = tmp_path / "replica.db", tmp_path / "child.log"
    coord = Coordinator(seed)
    rng = random.Random(seed + 1000)
    for _ in range(kills):
        child = restart_and_check(path, log, coord)
        try:
            if in_flight:
                for _ in range(rng.randint(3, 20)):
                    child.send(coord.random_message())
                # Not waiting for a condition: this picks the instant of the kill,
                # somewhere inside the burst (a step with its sync takes ~1 ms).
                time.sleep(rng.uniform(0, 0.006))
            else:
                for _ in range(rng.randint(1, 8)):
                    exchange(child, coord, coord.random_message())
        finally:
            lines = child.kill()
        coord.stats.kills += 1
        for line in lines:  # written before the kill: told, even if read only now
            coord.on_status(line, child.in_flight.popleft())
    restart_and_check(path, log, coord).kill()
    coord.stats.applied = coord.applied
    return coord.stats


def test_kill_right_after_a_reply(tmp_path: Path) -> None:
    stats = run_kills(tmp_path, kills=20, seed=1, in_flight=False)
    assert stats.kills == 20
    assert stats.restarts_rejecting_stale > 10 and stats.acceptances_checked > 20
    assert stats.applied > 3 * SNAPSHOT_EVERY  # kills also landed around snapshots


def test_kill_at_random_instants_with_messages_in_flight(tmp_path: Path) -> None:
    stats = run_kills(tmp_path, kills=20, seed=2, in_flight=True)
    assert stats.kills == 20
    assert stats.restarts_rejecting_stale > 10 and stats.acceptances_checked > 20
    assert stats.applied > 3 * SNAPSHOT_EVERY  # kills also landed around snapshots

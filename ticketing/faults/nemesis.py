"""The nemesis: a fault plan carried out against a running cluster, each fault recorded."""

from __future__ import annotations

import logging
import threading
import time

from ticketing.faults.history import Fault
from ticketing.faults.schedule import PARTITION, PAUSE, PlannedFault
from ticketing.faults.spread import SpreadTarget
from ticketing.faults.target import LocalTarget

log = logging.getLogger(__name__)

RECOVERY_TIMEOUT = 60.0  # seconds a healed component gets to answer again


class Nemesis:
    """Carries out a fault plan against a target and records what it did."""

    def __init__(
        self, target: LocalTarget | SpreadTarget, plan: list[PlannedFault], t0: float
    ) -> None:
        """``t0`` is ``time.monotonic()`` at the start of the run; ``plan`` is timed from it."""
        self.target = target
        self.plan = plan
        self.t0 = t0
        self.faults: list[Fault] = []
        self.stop = threading.Event()

    def run(self) -> None:
        for planned in self.plan:
            if self.stop.wait(max(0.0, self.t0 + planned.at - time.monotonic())):
                return
            try:
                self.faults.append(self._inject(planned))
            except Exception:  # one fault that cannot be injected must not end the run
                log.exception("could not inject %s", planned)

    def _inject(self, planned: PlannedFault) -> Fault:
        label = planned.target
        start = time.time()  # wall time, the history's clock; deadlines are monotonic
        log.info("fault: %s %s for %.1fs", planned.kind, label, planned.hold)
        if planned.kind == PAUSE:
            pid = self.target.pause(label)
            time.sleep(planned.hold)
            self.target.resume(pid)
        elif planned.kind == PARTITION:
            self.target.cut(label)
            time.sleep(planned.hold)
            self.target.heal(label)
        else:
            self.target.kill(label)
            time.sleep(planned.hold)
            self.target.restart(label)
        healed = time.time()
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        recovered = None
        while time.monotonic() < deadline:
            if self.target.answers(label):
                recovered = time.time()
                break
            time.sleep(0.1)
        return Fault(planned.kind, label, start, healed, recovered)

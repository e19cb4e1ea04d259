"""``ticketing-lock-coordinator`` (``run/lock_coordinator.py``): the lock coordinator."""

import sys

from ticketing.server.coordinator_cli import lock_main as main

if __name__ == "__main__":
    sys.exit(main())

"""``ticketing-lock-server`` (``run/lock_server.py``): a lock server (lock store replica)."""

import sys

from ticketing.server.lock_server import main

if __name__ == "__main__":
    sys.exit(main())

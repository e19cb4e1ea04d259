"""``ticketing-datastore-coordinator`` (``run/datastore_coordinator.py``): a data coordinator."""

import sys

from ticketing.server.coordinator_cli import datastore_main as main

if __name__ == "__main__":
    sys.exit(main())

"""``ticketing-torture`` (``run/torture.py``): a fault run against a local cluster."""

import sys

from ticketing.faults.cli import main

if __name__ == "__main__":
    sys.exit(main())

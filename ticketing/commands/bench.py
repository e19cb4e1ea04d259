"""``ticketing-bench`` (``run/bench.py``): the load benchmark: simulated users against a cluster."""

import sys

from ticketing.bench.cli import main

if __name__ == "__main__":
    sys.exit(main())

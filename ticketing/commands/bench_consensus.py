"""``ticketing-bench-consensus`` (``run/bench_consensus.py``): consensus throughput, no servers."""

import sys

from ticketing.bench.consensus import main

if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Consensus throughput: `python run/bench_consensus.py --seconds 5 --storage both`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ticketing.bench.consensus import main

if __name__ == "__main__":
    sys.exit(main())

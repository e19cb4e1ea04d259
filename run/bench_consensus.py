#!/usr/bin/env python3
"""Consensus throughput: `python run/bench_consensus.py --seconds 5 --storage both`."""

import sys

from ticketing.commands.bench_consensus import main

if __name__ == "__main__":
    sys.exit(main())

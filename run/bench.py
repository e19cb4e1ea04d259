#!/usr/bin/env python3
"""Load benchmark: `python run/bench.py --users 1,8,32,128 --seconds 10 --out bench.json`."""

import sys

from ticketing.commands.bench import main

if __name__ == "__main__":
    sys.exit(main())

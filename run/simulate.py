#!/usr/bin/env python3
"""Run the seeded consensus simulator: `python run/simulate.py --seeds 10000`."""

import sys

from ticketing.commands.simulate import main

if __name__ == "__main__":
    sys.exit(main())

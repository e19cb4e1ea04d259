#!/usr/bin/env python3
"""The lock coordinator. See --help."""

import sys

from ticketing.commands.lock_coordinator import main

if __name__ == "__main__":
    sys.exit(main())

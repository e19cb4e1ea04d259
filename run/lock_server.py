#!/usr/bin/env python3
"""A lock server (replica of the lock store). See --help."""

import sys

from ticketing.commands.lock_server import main

if __name__ == "__main__":
    sys.exit(main())

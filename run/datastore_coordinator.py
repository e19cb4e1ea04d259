#!/usr/bin/env python3
"""The coordinator of one data cluster. See --help."""

import sys

from ticketing.commands.datastore_coordinator import main

if __name__ == "__main__":
    sys.exit(main())

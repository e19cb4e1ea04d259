#!/usr/bin/env python3
"""A data store replica of one data cluster. See --help."""

import sys

from ticketing.commands.datastore import main

if __name__ == "__main__":
    sys.exit(main())

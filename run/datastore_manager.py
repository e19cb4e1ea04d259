#!/usr/bin/env python3
"""Serve the data store manager (ticketing.datastore.manager): routes calls by theater."""

import sys

from ticketing.commands.datastore_manager import main

if __name__ == "__main__":
    sys.exit(main())

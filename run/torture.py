#!/usr/bin/env python3
"""A fault run against a local cluster: clients, a seeded nemesis, a history checker."""

import sys

from ticketing.commands.torture import main

if __name__ == "__main__":
    sys.exit(main())

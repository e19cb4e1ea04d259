#!/usr/bin/env python3
"""Start a local cluster: name server + every component; READY line; stop on SIGINT/SIGTERM."""

import sys

from ticketing.commands.cluster import main

if __name__ == "__main__":
    sys.exit(main())

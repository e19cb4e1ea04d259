#!/usr/bin/env python3
"""A lock server (replica of the lock store). See --help."""

from ticketing.server.lock_server import main

if __name__ == "__main__":
    main()

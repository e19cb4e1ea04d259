#!/usr/bin/env python3
"""The lock coordinator. See --help."""

from ticketing.server.coordinator import lock_main

if __name__ == "__main__":
    lock_main()

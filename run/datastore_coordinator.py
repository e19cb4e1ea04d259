#!/usr/bin/env python3
"""The coordinator of one data cluster. See --help."""

from ticketing.server.coordinator import datastore_main

if __name__ == "__main__":
    datastore_main()

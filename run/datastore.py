#!/usr/bin/env python3
"""A data store replica of one data cluster. See --help."""

from ticketing.server.datastore import main

if __name__ == "__main__":
    main()

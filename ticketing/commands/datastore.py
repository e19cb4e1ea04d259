"""``ticketing-datastore`` (``run/datastore.py``): a data store replica of one data cluster."""

import sys

from ticketing.server.datastore import main

if __name__ == "__main__":
    sys.exit(main())

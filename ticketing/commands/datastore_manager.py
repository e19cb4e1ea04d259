"""``ticketing-datastore-manager`` (``run/datastore_manager.py``): the data store manager."""

import sys

from ticketing.server.manager import main

if __name__ == "__main__":
    sys.exit(main())

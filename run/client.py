"""The interactive ticketing client (``ticketing-client``). See --help."""

import sys

from ticketing.commands.client import main

if __name__ == "__main__":
    sys.exit(main())

"""``python -m nameserver``: how the launcher starts the name server. See --help."""

import sys

from nameserver.cli import main

if __name__ == "__main__":
    sys.exit(main())

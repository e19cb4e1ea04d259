"""Start the Pyro5 name server on --host:--ns-port, entries kept in <data-dir>/nameserver.sqlite."""

import sys
from pathlib import Path

# This file's directory comes first on the path and this file is nameserver.py:
# the repository root takes its place, so that `nameserver` is the package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from nameserver.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

"""``ticketing-cluster`` (``run/cluster.py``): a whole local cluster, supervised."""

import sys

from ticketing.cluster.cli import main

if __name__ == "__main__":
    sys.exit(main())

"""``ticketing-simulate`` (``run/simulate.py``): the seeded consensus simulator."""

import sys

from ticketing.simulation_pool import main

if __name__ == "__main__":
    sys.exit(main())

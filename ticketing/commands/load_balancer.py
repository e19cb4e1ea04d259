"""``ticketing-load-balancer`` (``run/load_balancer.py``): a load balancer, the API clients call."""

import sys

from ticketing.server.load_balancer import main

if __name__ == "__main__":
    sys.exit(main())

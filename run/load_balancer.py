#!/usr/bin/env python3
"""Serve a load balancer (ticketing.loadbalancer.<id>): the API clients call."""

import sys

from ticketing.commands.load_balancer import main

if __name__ == "__main__":
    sys.exit(main())

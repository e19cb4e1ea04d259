#!/usr/bin/env python3
"""Make the cluster's TLS certificates (``ticketing-certs``). See --help."""

import sys

from ticketing.commands.certs import main

if __name__ == "__main__":
    sys.exit(main())

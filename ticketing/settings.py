"""Limits and defaults that are not the catalog's to set.

The caps on input sizes keep any one request cheap to check, log and store:
a bad or hostile argument is refused as ``InvalidRequest`` long before it
could grow a log entry or a snapshot.
"""

from __future__ import annotations

# Input sizes (characters).
MAX_NAME_LENGTH = 100
MAX_EMAIL_LENGTH = 254  # the longest address SMTP allows (RFC 5321 path limit)
MAX_ID_LENGTH = 64  # theater, event, cluster, hold and ticket ids
MAX_SEAT_LABEL_LENGTH = 16
MAX_SEAT_SPEC_LENGTH = 1000  # a typed seat list such as "A1-A4, B2"

# Catalog defaults and sanity caps.
DEFAULT_HOLD_TTL = 300.0  # seconds
DEFAULT_MAX_SEATS_PER_BOOKING = 5
MAX_SEATS_PER_THEATER = 200_000  # a very large stadium; beyond that a typo is likelier

# Remote calls.
PROXY_TIMEOUT = 5.0  # seconds before a call to a peer counts as failed

# Fair use of a load balancer (``ticketing.security.fairness``).
MAX_HELD_SEATS_PER_CLIENT = 10  # seats of one event one client may hold at once
MAX_BOOKED_SEATS_PER_CLIENT = 20  # seats of one event one client may book within the window
BOOKING_QUOTA_WINDOW = 3600.0  # seconds a booking counts against its client's quota
# Calls one balancer serves at once; the rest are refused at once. On 2 cores more in
# flight only lengthen the queues inside the cluster (README, Security).
LB_MAX_CONCURRENT_CALLS = 24

# A load balancer's connections (``ticketing.server.multiplexer``).
LB_WORKERS = 96  # threads that run requests: the admitted calls, and room to refuse the rest
LB_MAX_QUEUED_REQUESTS = 64  # requests waiting for a worker before new ones are refused
LB_MAX_CONNECTIONS = 8192  # open connections (within the process's open-file limit)
LB_MAX_CONNECTIONS_PER_ADDRESS = 256  # from one IP address (0: no cap); loopback is exempt
LB_MESSAGE_DEADLINE = 10.0  # seconds to connect (TLS, Pyro5 hello), send a request, take a reply
LB_MAX_REQUEST_BYTES = 64 * 1024  # the largest legitimate call is under 2 KB (measured)
MAX_HELLO_BYTES = 4 * 1024  # a Pyro5 connect message, read before anything is trusted (~300 B)
HELLO_DEADLINE = 5.0  # seconds from connecting to a hello read, on members and the name server
NS_WORKERS = 4  # the name server's threads: its calls are short SQLite reads and writes
NS_MAX_REQUEST_BYTES = 64 * 1024  # a registration or lookup is a few hundred bytes
MEMBERS_HELLO_PER_ADDRESS = 16  # connections from one address still saying hello to a member

"""The contract's user flow over TLS, as its own process (Pyro5's SSL is per process).

Run with the ``PYRO_SSL*`` variables set; argv: ns-port [internal-name]. Prints
``FLOW OK`` after holding, booking, reading and cancelling a ticket through a
load balancer; with an internal name, then calls its ``status()`` without the
cluster secret and prints how it was refused.
"""

import sys

from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError

from ticketing import names
from ticketing.server import pyro_config
from ticketing.server.proxies import name_server_uri


def main() -> None:
    pyro_config.configure()
    port = int(sys.argv[1])
    with Proxy(name_server_uri("127.0.0.1", port)) as ns:
        balancer_uri = ns.lookup(names.load_balancer(1))
        internal_uri = ns.lookup(sys.argv[2]) if len(sys.argv) > 2 else None
    with Proxy(balancer_uri) as lb:
        lb._pyroTimeout = 15.0
        seats = lb.get_available_seats("AMC", "dune")[:2]
        hold = lb.block_seats("AMC", "dune", seats)
        ticket = lb.book_ticket(hold["hold_id"], "Ada Lovelace", "ada@example.org")
        assert lb.get_ticket_details("AMC", ticket["ticket_no"]) == ticket
        assert lb.delete_ticket("AMC", ticket["ticket_no"]) is True
    print("FLOW OK", flush=True)
    if internal_uri is not None:
        with Proxy(internal_uri) as internal:
            internal._pyroTimeout = 15.0
            try:
                internal.status()
                print("INTERNAL SERVED", flush=True)
            except CommunicationError as exc:
                print(f"INTERNAL REFUSED {exc}", flush=True)


if __name__ == "__main__":
    main()

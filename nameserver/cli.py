"""Start the Pyro5 name server on --host:--ns-port, entries kept in <data-dir>/nameserver.sqlite."""

from nameserver.service import run_name_server
from ticketing.server.cli import common_parser


def main(argv: list[str] | None = None) -> None:
    """``ticketing-nameserver``, ``python -m nameserver``, ``run/nameserver.py``."""
    args = common_parser(__doc__).parse_args(argv)
    run_name_server(args.host, args.ns_port, args.data_dir)

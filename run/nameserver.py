"""Start the Pyro5 name server on --host:--ns-port, entries kept in <data-dir>/nameserver.sqlite."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the nameserver/ package

from nameserver import run_name_server
from ticketing.server.cli import common_parser


def main() -> None:
    parser = common_parser(__doc__)
    args = parser.parse_args()
    run_name_server(args.host, args.ns_port, args.data_dir)


if __name__ == "__main__":
    main()

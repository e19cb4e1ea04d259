"""The interactive ticketing client: commands from a terminal, a pipe, or --command.

The command history is kept in <data-dir>/client_history; your tickets in --tickets-file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ticketing.client.launch import ClientOptions, main
from ticketing.server.cli import common_parser


def parse_args(argv: list[str] | None = None) -> ClientOptions:
    parser = common_parser(__doc__)
    parser.add_argument("--command", "-c", help='run one command, e.g. "map AMC dune-1900"')
    parser.add_argument(
        "--tickets-file",
        type=Path,
        help="your local ticket list (default $XDG_DATA_HOME/ticketing/tickets.json)",
    )
    args = parser.parse_args(argv)
    return ClientOptions(
        args.ns_host, args.ns_port, Path(args.data_dir), args.command, args.tickets_file
    )


if __name__ == "__main__":
    sys.exit(main(parse_args()))

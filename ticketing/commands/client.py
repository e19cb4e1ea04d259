"""The interactive ticketing client: commands from a terminal, a pipe, or --command.

The command history is kept in <data-dir>/client_history; your tickets in --tickets-file.
Only load balancers that prove they are the cluster's are used: give the cluster's public key
with --cluster-key FILE (default <data-dir>/cluster.pub, written by run/cluster.py).
Defaults come from the config file $XDG_CONFIG_HOME/ticketing/client.toml (keys ns_host,
ns_port, data_dir, cluster_key, name, email, colours); flags win over it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ticketing.client import launch
from ticketing.client.launch import ClientOptions
from ticketing.client.script import EXIT_CODES
from ticketing.server.cli import common_parser

FROM_CONFIG = ("ns_host", "ns_port", "data_dir")
"""Flags whose default the config file may change: None here means "not given"."""


def parse_args(argv: list[str] | None = None) -> ClientOptions:
    parser = common_parser(__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXIT_CODES
    for action in parser._actions:
        if action.dest in FROM_CONFIG:
            action.help = str(action.help).replace(
                "(default %(default)s)", f"(default: the config file's, else {action.default})"
            )
            action.default = None
    parser.add_argument("--command", "-c", help='run one command, e.g. "map AMC dune-1900"')
    parser.add_argument(
        "--tickets-file",
        type=Path,
        help="your local ticket list (default $XDG_DATA_HOME/ticketing/tickets.json)",
    )
    parser.add_argument(
        "--cluster-key",
        metavar="FILE",
        type=Path,
        help="the cluster's public key that load balancers must prove they hold "
        "(default <data-dir>/cluster.pub; copy it from the cluster's data directory)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="the config file (default $XDG_CONFIG_HOME/ticketing/client.toml, if it exists)",
    )
    args = parser.parse_args(argv)
    return ClientOptions(
        args.ns_host,
        args.ns_port,
        Path(args.data_dir) if args.data_dir else None,
        args.command,
        args.tickets_file,
        args.cluster_key,
        args.config,
    )


def main(argv: list[str] | None = None) -> int:
    """``ticketing-client``, ``run/client.py``: run the client with these flags."""
    return launch.main(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

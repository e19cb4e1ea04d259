"""The command-line flags every entry script shares.

The contract fixes these flags and their defaults for every script under
``run/``; building them here keeps the scripts to argparse plus one call, and
keeps the launcher's command lines in step with what the scripts accept.
"""

from __future__ import annotations

import argparse

DEFAULT_NS_HOST = "127.0.0.1"
DEFAULT_NS_PORT = 9090
DEFAULT_HOST = "127.0.0.1"
DEFAULT_DATA_DIR = "./data"


def common_parser(description: str, catalog: bool = False) -> argparse.ArgumentParser:
    """A parser with ``--ns-host``, ``--ns-port``, ``--host``, ``--data-dir``.

    With ``catalog`` it also takes ``--catalog FILE`` (default: the catalog
    shipped in the package, given as ``None``).
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--ns-host", default=DEFAULT_NS_HOST, help="name server host (default %(default)s)"
    )
    parser.add_argument(
        "--ns-port",
        type=port_number,
        default=DEFAULT_NS_PORT,
        help="name server port (default %(default)s)",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)"
    )
    parser.add_argument(
        "--data-dir",
        default=DEFAULT_DATA_DIR,
        help="directory for state and logs (default %(default)s)",
    )
    if catalog:
        parser.add_argument(
            "--catalog",
            metavar="FILE",
            default=None,
            help="catalog TOML file (default: the built-in catalog)",
        )
    return parser


def replica_parser(
    description: str, cluster: bool = False, catalog: bool = False
) -> argparse.ArgumentParser:
    """``common_parser`` plus ``--id N`` and ``--recover-from NAME ...``.

    ``cluster`` adds the data store's required ``--cluster NAME``.
    """
    parser = common_parser(description, catalog=catalog)
    parser.add_argument("--id", type=positive_int, required=True, help="replica id (1, 2, ...)")
    if cluster:
        parser.add_argument("--cluster", required=True, help="data cluster this replica belongs to")
    parser.add_argument(
        "--recover-from",
        nargs="+",
        default=[],
        metavar="NAME",
        help="name-server names of running replicas to copy state from",
    )
    return parser


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1..65535."""
    value = _int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 1 and 65535, not {value}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None

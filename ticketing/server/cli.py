"""The command-line flags every entry script shares.

The contract fixes these flags and their defaults for every script under
``run/``; building them here keeps the scripts to argparse plus one call, and
keeps the launcher's command lines in step with what the scripts accept.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from ticketing.catalog import Catalog, CatalogError, load_catalog
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.settings import MAX_ID_LENGTH

_IDENT = re.compile(r"[A-Za-z0-9_-]+")

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
        parser.add_argument(
            "--cluster", required=True, type=cluster_name, help="data cluster this replica is of"
        )
    parser.add_argument(
        "--recover-from",
        nargs="+",
        default=[],
        metavar="NAME",
        help="name-server names of running replicas to copy state from",
    )
    return parser


def cluster_name(value: str) -> str:
    """A data cluster's name, as the names and the data directory spell it."""
    if not _IDENT.fullmatch(value) or len(value) > MAX_ID_LENGTH:
        raise argparse.ArgumentTypeError(
            f"{value!r}: letters, digits, '-' and '_' only, at most {MAX_ID_LENGTH}"
        )
    return value


def lock_groups_flag(parser: argparse.ArgumentParser, group: bool = False) -> None:
    """``--lock-groups K`` (default 1) and, with ``group``, ``--group G`` (1..K).

    Every load balancer and lock server must be given the same K: it decides
    which group keeps each event's holds (``lock_placement``).
    """
    parser.add_argument(
        "--lock-groups",
        type=positive_int,
        default=1,
        metavar="K",
        help="lock groups the cluster runs, the same for every process (default 1)",
    )
    if group:
        parser.add_argument(
            "--group",
            type=positive_int,
            default=None,
            metavar="G",
            help="the lock group this process belongs to, 1..K (only with --lock-groups > 1)",
        )


def load_placement(args: argparse.Namespace) -> tuple[Catalog, LockPlacement]:
    """The catalog of ``--catalog`` and its placement over ``--lock-groups``, K pinned.

    Every load balancer and lock server needs both, and must stop at start,
    with the reason, rather than run on a placement other processes disagree with.
    """
    try:
        catalog = load_catalog(args.catalog)
        placement = LockPlacement(catalog, args.lock_groups)
        pin_lock_groups(Path(args.data_dir), args.lock_groups)
    except (CatalogError, PlacementError, LockGroupsChanged) as exc:
        raise SystemExit(str(exc)) from None
    return catalog, placement


def lock_group_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int | None:
    """The checked ``--group``: ``None`` for the one group of a one-group store."""
    if args.lock_groups == 1:
        if args.group not in (None, 1):
            parser.error(f"--group {args.group}: the store has one lock group (--lock-groups 1)")
        return None
    if args.group is None or args.group > args.lock_groups:
        parser.error(f"--group must be 1..{args.lock_groups} with --lock-groups {args.lock_groups}")
    return args.group


def lock_data_dir(data_dir: Path, group: int | None) -> Path:
    """Where a lock group keeps its files: ``lock/`` for the only group, else ``lock/<group>/``."""
    return data_dir / "lock" if group is None else data_dir / "lock" / str(group)


LOCK_GROUPS_FILE = "lock-groups"


class LockGroupsChanged(ValueError):
    """A data directory is started with another ``--lock-groups`` than it first was."""


def pin_lock_groups(data_dir: Path, groups: int) -> None:
    """Record ``groups`` in ``data_dir`` on its first start; refuse another K later.

    The number of lock groups decides where every event's holds and sold
    marks live (``lock_placement``): started with another K, a data directory
    would look for them in the wrong group. The file is created atomically
    (a hard link of a finished file), so processes starting at once agree.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_GROUPS_FILE
    draft = data_dir / f".{LOCK_GROUPS_FILE}.{os.getpid()}"
    draft.write_text(f"{groups}\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    pinned = path.read_text().strip()
    if pinned != str(groups):
        raise LockGroupsChanged(
            f"{data_dir} was first started with --lock-groups {pinned}, which placed every "
            f"event's holds; start it with --lock-groups {pinned} again, or use a new --data-dir"
        )


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

"""Putting the client together from its command-line options; `run/client.py` calls `main`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ticketing.client.actions import Actions
from ticketing.client.admin_actions import AdminActions
from ticketing.client.connection import Connection
from ticketing.client.metadata import Metadata
from ticketing.client.operator_link import OperatorLink
from ticketing.client.repl import Repl
from ticketing.client.script import run_lines
from ticketing.client.state import ClientState
from ticketing.client.tickets_file import TicketsFile, default_tickets_path
from ticketing.security.cluster_key import ClusterKeyError, find_cluster_key
from ticketing.security.secret import SecretError, load_secret
from ticketing.server import pyro_config

HISTORY_FILE = "client_history"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    ns_host: str = "127.0.0.1"
    ns_port: int = 9090
    data_dir: Path = Path("data")
    """Holds the command history (`client_history`)."""
    command: str | None = None
    tickets_file: Path | None = None
    """Defaults to $XDG_DATA_HOME/ticketing/tickets.json."""
    cluster_key: Path | None = None
    """The cluster's public key; defaults to <data-dir>/cluster.pub (see `find_cluster_key`)."""


def main(
    options: ClientOptions,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """Run one command, a script from a pipe, or the interactive loop on a terminal."""
    pyro_config.configure()  # serpent, and errors arrive as their own classes
    try:
        key = find_cluster_key(options.cluster_key, options.data_dir)
    except ClusterKeyError as exc:
        print(f"client: {exc}", file=stderr)
        return 2
    secret = _operator_secret(options)
    connection = Connection(options.ns_host, options.ns_port, secret=secret, cluster_key=key)
    operator = OperatorLink(options.ns_host, options.ns_port, secret)
    tickets = TicketsFile(options.tickets_file or default_tickets_path())
    metadata = Metadata(connection, tickets, operator=operator)
    admin = AdminActions(operator, connection, metadata)
    actions = Actions(
        connection, ClientState(), tickets, metadata, connection.cluster_status, admin=admin
    )
    try:
        if options.command is not None:
            return run_lines([options.command], actions, stdout, stderr)
        if stdin.isatty() and stdout.isatty():
            repl = Repl(
                actions,
                metadata,
                lambda: connection.current,
                history_path=options.data_dir / HISTORY_FILE,
            )
            return repl.run()
        return run_lines(stdin, actions, stdout, stderr)
    finally:
        operator.close()
        connection.close()


def _operator_secret(options: ClientOptions) -> str | None:
    """The cluster secret if this user can read it (an operator on a member host), else None.

    ``status`` uses it to ask the members-only components how they are, and ``admin`` to
    change the catalog through the data store manager.
    """
    try:
        return load_secret(options.data_dir)
    except SecretError:
        return None

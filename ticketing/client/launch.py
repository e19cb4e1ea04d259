"""Putting the client together from its command-line options; `run/client.py` calls `main`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ticketing.client.actions import Actions
from ticketing.client.admin_actions import AdminActions
from ticketing.client.config import ClientConfig, ConfigError, load_config
from ticketing.client.connection import Connection
from ticketing.client.metadata import Metadata
from ticketing.client.operator_link import OperatorLink
from ticketing.client.repl import Repl
from ticketing.client.script import USAGE, run_lines
from ticketing.client.state import ClientState
from ticketing.client.tickets_file import TicketsFile, default_tickets_path
from ticketing.security.cluster_key import ClusterKeyError, find_cluster_key
from ticketing.security.secret import SecretError, load_secret
from ticketing.server import pyro_config
from ticketing.server.cli import DEFAULT_DATA_DIR, DEFAULT_NS_HOST, DEFAULT_NS_PORT

HISTORY_FILE = "client_history"


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """The command line; None is "not given": the config file's value, else the default."""

    ns_host: str | None = None
    ns_port: int | None = None
    data_dir: Path | None = None
    """Holds the command history (`client_history`)."""
    command: str | None = None
    tickets_file: Path | None = None
    """Defaults to $XDG_DATA_HOME/ticketing/tickets.json."""
    cluster_key: Path | None = None
    """The cluster's public key; defaults to <data-dir>/cluster.pub (see `find_cluster_key`)."""
    config: Path | None = None
    """The config file; defaults to $XDG_CONFIG_HOME/ticketing/client.toml (if it exists)."""


@dataclass(frozen=True, slots=True)
class Settings:
    """What the client runs with: the flags, over the config file, over the defaults."""

    ns_host: str
    ns_port: int
    data_dir: Path
    cluster_key: Path | None
    identity: dict[str, str]
    colours: bool


def settle(options: ClientOptions, config: ClientConfig) -> Settings:
    identity = {"name": config.name, "email": config.email}
    return Settings(
        ns_host=options.ns_host or config.ns_host or DEFAULT_NS_HOST,
        ns_port=options.ns_port or config.ns_port or DEFAULT_NS_PORT,
        data_dir=options.data_dir or config.data_dir or Path(DEFAULT_DATA_DIR),
        cluster_key=options.cluster_key or config.cluster_key,
        identity={key: value for key, value in identity.items() if value},
        colours=config.colours,
    )


def main(
    options: ClientOptions,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    """Run one command, a script from a pipe, or the interactive loop on a terminal."""
    pyro_config.configure()  # serpent, and errors arrive as their own classes
    try:
        config = load_config(options.config, required=options.config is not None)
        settings = settle(options, config)
        key = find_cluster_key(settings.cluster_key, settings.data_dir)
    except (ConfigError, ClusterKeyError) as exc:
        print(f"client: {exc}", file=stderr)
        return USAGE
    secret = _operator_secret(settings.data_dir)
    connection = Connection(settings.ns_host, settings.ns_port, secret=secret, cluster_key=key)
    operator = OperatorLink(settings.ns_host, settings.ns_port, secret)
    # Tickets are tagged with the cluster they were booked on (see TicketsFile).
    cluster = key.fingerprint() if key is not None else None
    tickets = TicketsFile(options.tickets_file or default_tickets_path(), cluster)
    metadata = Metadata(connection, tickets, operator=operator)
    admin = AdminActions(operator, connection, metadata)
    state = ClientState(identity=settings.identity)
    actions = Actions(connection, state, tickets, metadata, connection.cluster_status, admin=admin)
    try:
        if options.command is not None:
            return run_lines([options.command], actions, stdout, stderr)
        if stdin.isatty() and stdout.isatty():
            repl = Repl(
                actions,
                metadata,
                lambda: connection.current,
                history_path=settings.data_dir / HISTORY_FILE,
                colours=settings.colours,
            )
            return repl.run()
        return run_lines(stdin, actions, stdout, stderr)
    finally:
        operator.close()
        connection.close()


def _operator_secret(data_dir: Path) -> str | None:
    """The cluster secret if this user can read it (an operator on a member host), else None.

    ``status`` uses it to ask the members-only components how they are, and ``admin`` to
    change the catalog through the data store manager.
    """
    try:
        return load_secret(data_dir)
    except SecretError:
        return None

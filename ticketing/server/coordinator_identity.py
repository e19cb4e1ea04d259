"""Who a coordinator is: its identity in ballots, kept on disk, and the name a standby takes."""

from __future__ import annotations

import secrets
from pathlib import Path

STANDBY_SUFFIX = ".standby"  # a standby registers as "<coordinator name>.standby"


def proposer_id(data_dir: Path, name: str) -> str:
    """This coordinator's identity in ballots: its name plus a token kept on disk.

    Two coordinators of one cluster (a standby beside the old one) get
    different tokens from their different data files, so their ballots never
    tie; a restart on the same files keeps the identity and the round.
    """
    token_file = data_dir / "proposer-id"
    if not token_file.exists():
        token_file.write_text(secrets.token_hex(4))
    return f"{name}#{token_file.read_text().strip()}"


def standby_name(name: str) -> str:
    """Where a standby of coordinator ``name`` registers (replicas try it when ``name`` fails)."""
    return f"{name}{STANDBY_SUFFIX}"

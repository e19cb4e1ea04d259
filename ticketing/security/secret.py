"""The cluster secret: what makes a process a member of the cluster.

Internal components (lock servers, coordinators, data store replicas, the
manager) serve only callers that prove they know it (``handshake``). It lives
in ``<data-dir>/cluster.secret`` (mode 0600, created by the launcher when there
is none) or in the ``TICKETING_SECRET`` environment variable, which wins; it is
never put on a command line, where ``ps`` would show it to every local user.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

ENV_VAR = "TICKETING_SECRET"
FILE_NAME = "cluster.secret"
MIN_LENGTH = 16  # characters; a shorter secret is a typo or a placeholder


class SecretError(Exception):
    """The secret is missing, unreadable, too short or readable by others."""


def secret_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / FILE_NAME


def ensure_secret(data_dir: str | Path) -> Path:
    """Create a random secret in ``data_dir`` (mode 0600) unless one is there; its path.

    ``O_EXCL`` makes two launchers racing on one directory agree on one secret.
    """
    path = secret_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    return path


def load_secret(data_dir: str | Path | None) -> str:
    """The secret from ``TICKETING_SECRET`` or from ``data_dir``; ``SecretError`` if none fits."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        return _checked(value.strip(), f"${ENV_VAR}")
    if data_dir is None:
        raise SecretError(f"no cluster secret: set ${ENV_VAR}")
    path = secret_path(data_dir)
    try:
        mode = path.stat().st_mode
        text = path.read_text()
    except FileNotFoundError:
        raise SecretError(
            f"no cluster secret in {path}: start the cluster with ticketing-cluster or "
            f"run/cluster.py (which creates it), copy the file from a member host, or set "
            f"${ENV_VAR}"
        ) from None
    except OSError as exc:
        raise SecretError(f"cannot read the cluster secret {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(f"{path} is readable by other users; run: chmod 600 {path}")
    return _checked(text.strip(), str(path))


def _checked(value: str, where: str) -> str:
    if len(value) < MIN_LENGTH:
        raise SecretError(f"the cluster secret in {where} is shorter than {MIN_LENGTH} characters")
    return value


def require_secret(data_dir: str | Path | None) -> str:
    """``load_secret`` for entry scripts: a missing or unsafe secret stops the process."""
    try:
        return load_secret(data_dir)
    except SecretError as exc:
        raise SystemExit(str(exc)) from None

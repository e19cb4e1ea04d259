"""The client's config file, ``$XDG_CONFIG_HOME/ticketing/client.toml``, as pgcli and litecli
have one: the name server to use, who books (``book`` without a name or an e-mail takes them
from here), and colours on or off. Command-line flags win over it.

Every key is optional and flat::

    ns_host = "127.0.0.1"
    ns_port = 9090
    data_dir = "/home/ada/ticketing"   # history, and the cluster's cluster.pub / secret
    cluster_key = "/home/ada/cluster.pub"
    name = "Ada Lovelace"
    email = "ada@example.org"
    colours = false

A file that cannot be read, is not TOML, or has an unknown key or a value of the wrong kind is
refused with the file, the key and the reason (``ConfigError``), as the catalog's reader does:
a client that quietly ignored a typo would book under the wrong name.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_NAME = Path("ticketing") / "client.toml"
MAX_PORT = 65535


class ConfigError(ValueError):
    """A config file the client refuses; its message names the file, the key and why."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    ns_host: str | None = None
    ns_port: int | None = None
    data_dir: Path | None = None
    cluster_key: Path | None = None
    name: str | None = None
    email: str | None = None
    colours: bool = True


def default_config_path() -> Path:
    """$XDG_CONFIG_HOME/ticketing/client.toml, with XDG's own fallback ~/.config."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / CONFIG_NAME


def load_config(path: Path | None = None, *, required: bool = False) -> ClientConfig:
    """The config at ``path`` (default: ``default_config_path``); no file gives the defaults,
    unless ``required`` (a file named on the command line must exist)."""
    path = path or default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise ConfigError(f"{path}: no such config file") from None
        return ClientConfig()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc}") from exc
    return parse_config(text, str(path))


def parse_config(text: str, source: str) -> ClientConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    values: dict[str, Any] = {}
    for key, value in data.items():
        check = _CHECKS.get(key)
        if check is None:
            raise ConfigError(f"{source}: {key}: unknown key{_did_you_mean(key)}")
        reason, converted = check(value)
        if reason:
            raise ConfigError(f"{source}: {key}: {reason}, got {value!r}")
        values[key] = converted
    return ClientConfig(**values)


def _text(value: Any) -> tuple[str, Any]:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string", None
    return "", value.strip()


def _email(value: Any) -> tuple[str, Any]:
    reason, text = _text(value)
    if reason or "@" not in text or " " in text:
        return "must be an e-mail address like ada@example.org", None
    return "", text


def _port(value: Any) -> tuple[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PORT:
        return f"must be a port number from 1 to {MAX_PORT}", None
    return "", value


def _path(value: Any) -> tuple[str, Any]:
    reason, text = _text(value)
    return (reason, None) if reason else ("", Path(text).expanduser())


def _flag(value: Any) -> tuple[str, Any]:
    if not isinstance(value, bool):
        return "must be true or false", None
    return "", value


_CHECKS = {
    "ns_host": _text,
    "ns_port": _port,
    "data_dir": _path,
    "cluster_key": _path,
    "name": _text,
    "email": _email,
    "colours": _flag,
}


def _did_you_mean(key: str) -> str:
    close = difflib.get_close_matches(key, list(_CHECKS), n=1)
    expected = ", ".join(_CHECKS)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{hint} (keys: {expected})"

"""The client's config file (issue 16, item 5): read from $XDG_CONFIG_HOME, flags win over it,
and a bad file is refused with the file, the key and the reason, never a traceback."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, NameServer
from contract_lb import ServedBalancers, serve_balancers

from ticketing.client.config import (
    ClientConfig,
    ConfigError,
    default_config_path,
    load_config,
    parse_config,
)
from ticketing.client.launch import ClientOptions, main, settle

GOOD = """
ns_host = "10.0.0.5"
ns_port = 9999
data_dir = "~/ticketing"
name = "Grace O'Hopper"
email = "grace@example.org"
colours = false
"""


def test_a_good_file_gives_every_setting() -> None:
    config = parse_config(GOOD, "client.toml")
    assert config == ClientConfig(
        ns_host="10.0.0.5",
        ns_port=9999,
        data_dir=Path("~/ticketing").expanduser(),
        name="Grace O'Hopper",
        email="grace@example.org",
        colours=False,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colors = false", r"f: colors: unknown key; did you mean colours\? \(keys: ns_host, "),
        ("ns_port = 'x'", r"f: ns_port: must be a port number from 1 to 65535, got 'x'"),
        ("ns_port = 70000", r"f: ns_port: must be a port number"),
        ("email = 'ada'", r"f: email: must be an e-mail address like ada@example.org, got 'ada'"),
        ("colours = 'no'", r"f: colours: must be true or false, got 'no'"),
        ("name = ''", r"f: name: must be a non-empty string"),
        ("ns_host = ", r"f: not valid TOML: "),
    ],
)
def test_a_bad_file_names_the_key_and_the_reason(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "f")


def test_the_file_is_found_under_xdg_config_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_config_path() == tmp_path / "ticketing" / "client.toml"
    assert load_config() == ClientConfig()  # no file: the defaults
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "named.toml", required=True)
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_config_path() == Path.home() / ".config" / "ticketing" / "client.toml"


def test_flags_win_over_the_file_which_wins_over_the_defaults() -> None:
    config = parse_config(GOOD, "client.toml")
    settings = settle(ClientOptions(ns_port=1234), config)
    assert (settings.ns_host, settings.ns_port) == ("10.0.0.5", 1234)
    assert settings.identity == {"name": "Grace O'Hopper", "email": "grace@example.org"}
    assert settings.colours is False
    defaults = settle(ClientOptions(), ClientConfig())
    assert (defaults.ns_host, defaults.ns_port, defaults.data_dir) == (
        "127.0.0.1",
        9090,
        Path("./data"),
    )
    assert defaults.identity == {}


@pytest.fixture
def served(nameserver: NameServer) -> Iterator[ServedBalancers]:
    with serve_balancers(nameserver.host, nameserver.port, count=1) as served:
        yield served


def client(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "run" / "client.py"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "xdg-config" / "ticketing" / "client.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_client_runs_on_its_config_and_books_under_its_name(
    served: ServedBalancers, tmp_path: Path
) -> None:
    write_config(
        tmp_path,
        f'ns_port = {served.ns_port}\nname = "Grace O\'Hopper"\nemail = "grace@example.org"\n',
    )
    result = client(tmp_path, stdin="hold AMC dune-1900 A1\nbook\n")
    assert (result.returncode, result.stderr) == (0, "")
    assert "name     Grace O'Hopper <grace@example.org>" in result.stdout


def run_main(options: ClientOptions) -> tuple[int, str]:
    """The client in this process, as run/client.py runs it: (exit status, stderr)."""
    err = io.StringIO()
    code = main(options, stdin=io.StringIO(""), stdout=io.StringIO(), stderr=err)
    return code, err.getvalue()


def test_a_bad_config_file_stops_the_client_with_one_line(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    path = write_config(tmp_path, "ns_port = 'ninety'\n")
    code, err = run_main(ClientOptions(command="theaters"))
    assert code == 2
    assert err == f"client: {path}: ns_port: must be a port number from 1 to 65535, got 'ninety'\n"
    code, err = run_main(ClientOptions(command="theaters", config=tmp_path / "none.toml"))
    assert code == 2
    assert err == f"client: {tmp_path / 'none.toml'}: no such config file\n"

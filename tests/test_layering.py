"""The architecture guards itself: pure layers import no I/O, threads or clocks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ticketing"
PURE = ["consensus", "domain"]
FORBIDDEN = {"Pyro5", "serpent", "sqlite3", "socket", "threading", "time", "asyncio", "os"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
            if node.module.startswith("ticketing.") and node.module.split(".")[1] in (
                "server",
                "storage",
                "client",
            ):
                names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path",
    [p for layer in PURE for p in sorted((PACKAGE / layer).glob("*.py"))],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_pure_module_imports_no_io(path: Path) -> None:
    bad = {n for n in _imports(path) if n in FORBIDDEN or n.startswith("ticketing.")}
    assert not bad, f"{path.name} imports {sorted(bad)}: pure layers must stay free of I/O"

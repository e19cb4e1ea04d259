"""The architecture guards itself: pure layers import no I/O, threads or clocks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ticketing"
PURE = ["consensus", "domain"]
FORBIDDEN = {"Pyro5", "serpent", "sqlite3", "socket", "threading", "time", "asyncio", "os"}


def _imports(path: Path) -> set[str]:
    return _imported(ast.parse(path.read_text()))


def _imported(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
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


def _package_modules(path: Path) -> set[Path]:
    """The files of the ``ticketing`` modules ``path`` imports (``from ticketing.x import y``
    counts ``ticketing/x/y.py`` when that is a module, else ``ticketing/x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            if module.split(".")[0] != "ticketing":
                continue
            base = PACKAGE.parent.joinpath(*module.split("."))
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    found.add(candidate)
                    break
    return found


def test_what_pure_layers_import_is_pure_too() -> None:
    """A pure module may use shared ones (the catalog's reader, the errors, the settings);
    those must stay free of I/O libraries and servers as well, or the guard above is hollow."""
    todo = [p for layer in PURE for p in (PACKAGE / layer).glob("*.py")]
    seen: set[Path] = set(todo)
    while todo:
        for module in _package_modules(todo.pop()) - seen:
            seen.add(module)
            todo.append(module)
    shared = sorted(p for p in seen if p.parent.name not in PURE)
    assert PACKAGE / "catalog.py" in shared
    for path in shared:
        bad = {n for n in _imports_on_load(path) if n in FORBIDDEN or n.startswith("ticketing.")}
        assert not bad, f"{path.name}, used by a pure layer, imports {sorted(bad)} on load"


def _imports_on_load(path: Path) -> set[str]:
    """``_imports`` of what runs when the module loads: not a function's late import (as
    ``errors.register_with_pyro``'s of Pyro5, which only a server calls)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.body = []
    return _imported(tree)

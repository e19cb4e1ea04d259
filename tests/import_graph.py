"""Every import a source tree makes, resolved to the module it names.

``tests/unit/test_layering.py`` holds these against the layer table
(``tests/layer_rules.py``). A layering check is only as good as the imports
it sees, so this reads every form Python offers, in every function and branch
(an import inside a function, or under ``if TYPE_CHECKING:``, couples the
layers as much as one at the top): ``import a.b.c`` and ``import a.b as c``;
``from a.b import c``, where ``c`` may itself be a module (``from ticketing
import server`` names the server package, not the root); relative imports
(``from . import x``, ``from ..x import y``), resolved against the importing
module's package; and ``importlib.import_module("a.b")`` or
``__import__("a.b")`` with a literal name (also when ``importlib`` or
``import_module`` is bound under another name). A dynamic import whose name
is not a literal cannot be checked, so it comes back as a ``Problem`` instead
of slipping by.

It also reports how a module uses ``random``, which the pure layers may use
only through a seeded ``random.Random``: what the module draws from the hidden
global generator (``random.random()``, ``from random import choice``) or an
unseeded ``Random()`` depends on the run, not on the seed the caller passed.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

MODULE_SCOPE = ""  # the scope of an import at a module's top level (not in a function)
DYNAMIC = "<dynamic>"  # the target of an import whose name is computed at run time


@dataclass(frozen=True, slots=True)
class Source:
    """One Python file of the tree and the dotted name it is imported as."""

    name: str
    path: Path
    is_package: bool  # an ``__init__.py``: relative imports start from itself

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


@dataclass(frozen=True, slots=True)
class Import:
    """One module an importer names, as Python would resolve it."""

    importer: str
    target: str  # a dotted module name; ``DYNAMIC`` when it is not a literal
    line: int
    scope: str  # the enclosing function's (or class's) qualified name, or MODULE_SCOPE
    form: str  # how it was written: "import", "from", "relative", "import_module", "__import__"


@dataclass(frozen=True, slots=True)
class RandomUse:
    """A use of ``random`` other than a seeded ``random.Random``."""

    module: str
    line: int
    what: str


def sources(root: Path, top_levels: tuple[str, ...]) -> list[Source]:
    """Every ``.py`` file under each top-level package or script directory, recursively.

    A top level may also be a single script (``dev.py``); a directory without
    ``__init__.py`` (``run/``) holds scripts named ``run.<stem>``.
    """
    found = []
    for top in top_levels:
        base = root / top
        paths = [base] if base.suffix == ".py" else sorted(base.rglob("*.py"))
        for path in paths:
            if not path.is_file():
                continue
            parts = path.relative_to(root).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            found.append(Source(name, path, is_package))
    return found


def stdlib_or_future(top: str) -> bool:
    return top in sys.stdlib_module_names or top == "__future__"


class Problem(ValueError):
    """An import the checker cannot resolve: it must be rewritten or allowed by name."""


def imports_of(source: Source, known: set[str]) -> tuple[list[Import], list[RandomUse]]:
    """The imports ``source`` makes and its uses of ``random``.

    ``known`` is every module name of the tree: ``from a import b`` names the
    module ``a.b`` when there is one, else ``a`` (``b`` is then an attribute).
    Raises ``Problem`` for a relative import that climbs above the top level.
    """
    tree = ast.parse(source.path.read_text(encoding="utf-8"), filename=str(source.path))
    visitor = _Visitor(source, known)
    visitor.visit(tree)
    return visitor.imports, visitor.random_uses


class _Visitor(ast.NodeVisitor):
    def __init__(self, source: Source, known: set[str]) -> None:
        self.source = source
        self.known = known
        self.scope: list[str] = []
        self.imports: list[Import] = []
        self.random_uses: list[RandomUse] = []
        # Names bound in this module to importlib, to its import_module, to random, and to
        # random.Random; collected over the whole file whatever the scope, which can only
        # make the checker stricter.
        self.importlib_names: set[str] = set()
        self.import_module_names: set[str] = set()
        self.random_names: set[str] = set()
        self.random_class_names: set[str] = set()

    # -- scopes ---------------------------------------------------------------

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped
    visit_ClassDef = _scoped

    def _add(self, node: ast.AST, target: str, form: str) -> None:
        scope = ".".join(self.scope) or MODULE_SCOPE
        self.imports.append(Import(self.source.name, target, node.lineno, scope, form))

    # -- statements -----------------------------------------------------------

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(node, alias.name, "import")
            bound = alias.asname or alias.name.partition(".")[0]
            if alias.name == "importlib":
                self.importlib_names.add(bound)
            elif alias.name == "random":
                self.random_names.add(bound)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self._relative_base(node)
            module = f"{base}.{node.module}" if node.module else base
            form = "relative"
        else:
            module = node.module or ""
            form = "from"
        for alias in node.names:
            child = f"{module}.{alias.name}"
            self._add(node, child if child in self.known else module, form)
            bound = alias.asname or alias.name
            if module == "importlib" and alias.name == "import_module":
                self.import_module_names.add(bound)
            elif module == "random":
                if alias.name == "Random":
                    self.random_class_names.add(bound)
                else:
                    self._random_use(node, f"from random import {alias.name}")

    def _relative_base(self, node: ast.ImportFrom) -> str:
        parts = self.source.package.split(".") if self.source.package else []
        if node.level - 1 >= len(parts):
            raise Problem(
                f"{self.source.path}:{node.lineno}: relative import of level {node.level} "
                f"climbs above the top of {self.source.name!r}"
            )
        return ".".join(parts[: len(parts) - (node.level - 1)])

    # -- expressions ----------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if self._is_import_module(func):
            self._add(node, self._literal_name(node), "import_module")
        elif isinstance(func, ast.Name) and func.id == "__import__":
            self._add(node, self._literal_name(node), "__import__")
        elif self._is_random_class(func) and not node.args and not node.keywords:
            self._random_use(node, "Random() without a seed")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if isinstance(value, ast.Name) and value.id in self.random_names and node.attr != "Random":
            self._random_use(node, f"random.{node.attr}")
        self.generic_visit(node)

    def _is_import_module(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in self.import_module_names
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "import_module"
            and isinstance(func.value, ast.Name)
            and func.value.id in self.importlib_names
        )

    def _is_random_class(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in self.random_class_names
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "Random"
            and isinstance(func.value, ast.Name)
            and func.value.id in self.random_names
        )

    def _literal_name(self, call: ast.Call) -> str:
        """The module a dynamic import names, or ``DYNAMIC`` if it is not a literal.

        ``import_module(".x", package="a")`` resolves like ``from a import x``
        would, when ``package`` is a literal too.
        """
        first = call.args[0] if call.args else None
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            return DYNAMIC
        name = first.value
        if not name.startswith("."):
            return name
        package = next((k.value for k in call.keywords if k.arg == "package"), None)
        if len(call.args) > 1:
            package = call.args[1]
        if not (isinstance(package, ast.Constant) and isinstance(package.value, str)):
            return DYNAMIC
        level = len(name) - len(name.lstrip("."))
        parts = package.value.split(".")
        if level - 1 >= len(parts):
            return DYNAMIC
        base = ".".join(parts[: len(parts) - (level - 1)])
        rest = name[level:]
        return f"{base}.{rest}" if rest else base

    def _random_use(self, node: ast.AST, what: str) -> None:
        self.random_uses.append(RandomUse(self.source.name, node.lineno, what))

"""The architecture guards itself: every import of every module, held against the layer table.

The table and its reasons are in ``tests/layer_rules.py``, the import resolver
in ``tests/import_graph.py``. The checker is itself tested: each rule is
planted in a small tree under ``tmp_path`` once per import form, and must be
caught every time, so a form the resolver stopped seeing fails here rather
than letting a real crossing through.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from import_graph import Import, sources
from layer_rules import (
    ALLOWANCES,
    LAYERS,
    PURE_FORBIDDEN,
    TOP_LEVELS,
    Allowance,
    Report,
    by_name,
    check,
    layer_of,
    refusal,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repository() -> Report:
    return check(ROOT)


def test_the_code_keeps_its_layers(repository: Report) -> None:
    if repository.violations:
        pytest.fail("\n".join(repository.violations), pytrace=False)


def test_every_allowance_is_still_needed(repository: Report) -> None:
    stale = [a for a in ALLOWANCES if a not in repository.used]
    assert not stale, f"nothing imports these any more; remove them from ALLOWANCES: {stale}"


def test_the_checker_sees_every_module() -> None:
    """A sanity floor: the walk is recursive and reaches the subpackages and scripts."""
    names = {s.name for s in sources(ROOT, TOP_LEVELS)}
    for name in (
        "ticketing.domain.seat_store",
        "ticketing.server.manager",
        "nameserver.service",
        "run.cluster",
    ):
        assert name in names


def test_the_table_is_a_layering() -> None:
    """No cycles; pure layers lean only on pure layers (so purity holds transitively)."""
    names = {layer.name for layer in LAYERS}
    below: set[str] = set()
    for layer in LAYERS:  # listed bottom-up: each may import only layers listed before it
        assert layer.may_import <= below, f"{layer.name} imports a layer above it or unknown"
        below.add(layer.name)
        if layer.pure:
            impure = {n for n in layer.may_import if not by_name(n).pure}
            assert not impure, f"pure layer {layer.name} may import impure {impure}"
            assert not layer.third_party
    assert len(names) == len(LAYERS)


# -- the checker, tested on planted violations --------------------------------------------

# Packages a planted tree needs so that ``from ticketing import server`` can name a module.
SKELETON = {
    "ticketing/__init__.py": "",
    "ticketing/errors.py": "class TicketingError(Exception):\n    pass\n",
    "ticketing/domain/__init__.py": "",
    "ticketing/domain/seats.py": "",
    "ticketing/server/__init__.py": "",
    "ticketing/server/hosting.py": "def serve():\n    pass\n",
    "ticketing/storage/__init__.py": "",
}
PLANTED = "ticketing/domain/planted.py"  # in the domain layer: pure, may import only the contract


def plant(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for relative, text in {**SKELETON, **files}.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return check(tmp_path).violations


def caught(violations: list[str], importer: str, target: str) -> bool:
    """Some violation says ``importer`` imports ``target`` (or a module under it)."""
    said = re.compile(rf"{re.escape(importer)} \(\w+\) imports {re.escape(target)}[. ]")
    return any(said.search(v) for v in violations)


# Each way to import ``{module}`` (whose parent is ``{parent}`` and last part ``{leaf}``),
# and where the planted file sits. Relative forms name the server from the domain.
FORMS = {
    "import": (PLANTED, "import {module}\n"),
    "import as": (PLANTED, "import {module} as alias\n"),
    "from parent import module": (PLANTED, "from {parent} import {leaf}\n"),
    "from module import name": (PLANTED, "from {module} import something\n"),
    "importlib.import_module": (PLANTED, 'import importlib\nimportlib.import_module("{module}")\n'),
    "import_module renamed": (
        PLANTED,
        'from importlib import import_module as load\nload("{module}")\n',
    ),
    "import_module relative": (
        PLANTED,
        'import importlib\nimportlib.import_module(".{leaf}", package="{parent}")\n',
    ),
    "__import__": (PLANTED, '__import__("{module}")\n'),
    "late, in a function": (PLANTED, "def later():\n    import {module}\n"),
    "late, in a method": (
        PLANTED,
        "class Later:\n    def go(self):\n        from {parent} import {leaf}\n",
    ),
    "under TYPE_CHECKING": (
        PLANTED,
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from {parent} import {leaf}\n",
    ),
    "in a nested subpackage": (
        "ticketing/domain/deep/er/planted.py",
        "from {module} import something\n",
    ),
}
# Forms that only an import of our own code can take.
INTERNAL_FORMS = {
    "from ticketing import package": (PLANTED, "from ticketing import server\n"),
    "from ..package import module": (PLANTED, "from ..server import hosting\n"),
    "from .. import package": (PLANTED, "from .. import server\n"),
    "from ..package.module import name": (PLANTED, "from ..server.hosting import serve\n"),
    "relative, from a nested subpackage": (
        "ticketing/domain/deep/er/planted.py",
        "from ....server import hosting\n",
    ),
}


def _importer(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def _plant_form(tmp_path: Path, form: tuple[str, str], module: str) -> tuple[list[str], str]:
    path, template = form
    parent, _, leaf = module.rpartition(".")
    return plant(
        tmp_path, {path: template.format(module=module, parent=parent, leaf=leaf)}
    ), _importer(path)


@pytest.mark.parametrize("form", [*FORMS, *INTERNAL_FORMS])
def test_a_pure_layer_importing_the_server_is_caught(tmp_path: Path, form: str) -> None:
    spec = FORMS.get(form) or INTERNAL_FORMS[form]
    violations, importer = _plant_form(tmp_path, spec, "ticketing.server.hosting")
    whole_package = form in ("from .. import package", "from ticketing import package")
    target = "ticketing.server" if whole_package else "ticketing.server.hosting"
    assert caught(violations, importer, target), violations
    assert any("may not import layer server" in v for v in violations)


@pytest.mark.parametrize("form", FORMS)
def test_a_pure_layer_importing_a_forbidden_module_is_caught(tmp_path: Path, form: str) -> None:
    violations, importer = _plant_form(tmp_path, FORMS[form], "logging.handlers")
    assert caught(violations, importer, "logging"), violations


@pytest.mark.parametrize("form", FORMS)
def test_a_third_party_package_outside_its_layers_is_caught(tmp_path: Path, form: str) -> None:
    """Pyro5 in the storage layer, which knows nothing of the network."""
    path, template = FORMS[form]
    path = path.replace("ticketing/domain/", "ticketing/storage/")
    violations, importer = _plant_form(tmp_path, (path, template), "Pyro5.api")
    assert caught(violations, importer, "Pyro5"), violations
    assert any("third-party package Pyro5" in v for v in violations)


def test_every_forbidden_module_is_caught_in_every_pure_layer(tmp_path: Path) -> None:
    """One tree with each module of PURE_FORBIDDEN imported in each pure layer."""
    planted = {
        (f"{layer.packages[0]}.planted_{module}", module)
        for layer in LAYERS
        if layer.pure
        for module in PURE_FORBIDDEN
    }
    files = {f"{name.replace('.', '/')}.py": f"import {module}\n" for name, module in planted}
    violations = plant(tmp_path, files)
    missed = sorted(name for name, module in planted if not caught(violations, name, module))
    assert not missed


@pytest.mark.parametrize(
    "source",
    [
        "import random\nrandom.random()\n",
        "import random\nrandom.seed(1)\n",
        "import random as r\nr.choice([1, 2])\n",
        "from random import choice\n",
        "from random import shuffle as mix\n",
        "import random\nrandom.Random()\n",
        "from random import Random\nRandom()\n",
        "import random\nrandom.SystemRandom()\n",
        "def later():\n    import random\n    return random.uniform(0, 1)\n",
    ],
)
def test_unseeded_randomness_in_pure_code_is_caught(tmp_path: Path, source: str) -> None:
    violations = plant(tmp_path, {PLANTED: source})
    assert any("ticketing.domain.planted (domain) uses" in v for v in violations), violations


def test_what_the_table_allows_passes(tmp_path: Path) -> None:
    """No false alarms: relative imports within a layer, a seeded Random, I/O in a driver."""
    violations = plant(
        tmp_path,
        {
            PLANTED: """
                import random
                from . import seats
                from .seats import *
                from ticketing import errors
                from ticketing.errors import TicketingError

                def shuffled(items: list, rng: random.Random) -> list:
                    return random.Random(rng.random()).sample(items, len(items))
            """,
            "ticketing/server/serve.py": """
                import threading, socket, logging, time
                import Pyro5.api
                from ..domain import planted
                from . import hosting
            """,
        },
    )
    assert violations == []


def test_a_dynamic_import_the_checker_cannot_read_is_caught(tmp_path: Path) -> None:
    violations = plant(
        tmp_path,
        {
            "ticketing/server/loads.py": "import importlib\nimportlib.import_module(str(1))\n",
            "ticketing/server/imports.py": "def f(name):\n    return __import__(name)\n",
        },
    )
    assert caught(violations, "ticketing.server.loads", "<dynamic>"), violations
    assert caught(violations, "ticketing.server.imports", "<dynamic>"), violations


def test_a_module_in_no_layer_is_caught(tmp_path: Path) -> None:
    violations = plant(tmp_path, {"ticketing/newcomer.py": ""})
    assert any("ticketing.newcomer is in no layer" in v for v in violations), violations


def test_a_relative_import_above_the_top_is_caught(tmp_path: Path) -> None:
    violations = plant(tmp_path, {PLANTED: "from ... import anything\n"})
    assert any("climbs above the top" in v for v in violations), violations


def test_an_allowance_covers_only_its_own_function(tmp_path: Path) -> None:
    """errors may import Pyro5 late in register_with_pyro, and nowhere else."""
    inside = "def register_with_pyro():\n    from Pyro5.api import SerializerBase\n"
    assert plant(tmp_path, {"ticketing/errors.py": inside}) == []
    outside = "from Pyro5.api import SerializerBase\n\n" + inside
    violations = plant(tmp_path, {"ticketing/errors.py": outside})
    assert caught(violations, "ticketing.errors", "Pyro5.api"), violations
    assert len(violations) == 1


def test_an_allowance_names_a_real_layer_crossing() -> None:
    """Each allowance lifts a refusal the table would make (else it is noise)."""
    for allowance in ALLOWANCES:
        layer = layer_of(allowance.importer)
        assert layer is not None
        imp = Import(allowance.importer, allowance.target, 1, allowance.scope, "import")
        assert refusal(layer, imp) is not None, allowance
        assert isinstance(allowance, Allowance) and allowance.why

"""The layer table: which part of the code may import which, and what the pure layers may use.

Read bottom-up: a layer may import itself and the layers in its ``may_import``,
nothing else of ours; a third-party package only if its ``third_party`` names
it. The pure layers (``pure=True``: the contract, the domain, the consensus
core and the retry arithmetic) are the code the simulator and the unit tests
run with no processes: they may not import anything in ``PURE_FORBIDDEN`` (a
clock, a thread, a socket, a file, a log, the OS's entropy), and may use
``random`` only as a ``random.Random`` seeded by the caller, so that one seed
replays one run. Everything else is stepped by a driver that owns those.

``ALLOWANCES`` are the places the code crosses the table today, each with why;
``tests/unit/test_layering.py`` fails on any other crossing, and on an allowance
nothing uses any more (so that the list only shrinks).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from import_graph import (
    DYNAMIC,
    MODULE_SCOPE,
    Import,
    Problem,
    imports_of,
    sources,
    stdlib_or_future,
)

# What the layering covers: the package, the name server, the entry scripts.
TOP_LEVELS = ("ticketing", "nameserver", "run", "dev.py")
OUR_TOP_NAMES = frozenset(top.removesuffix(".py") for top in TOP_LEVELS)


@dataclass(frozen=True, slots=True)
class Layer:
    name: str
    packages: tuple[str, ...]  # each names a module or a package and everything under it
    may_import: frozenset[str] = frozenset()
    third_party: frozenset[str] = frozenset()
    pure: bool = False
    modules: tuple[str, ...] = ()  # modules matched by exact name only (a package's own init)


def _layer(
    name: str,
    packages: str,
    may_import: str = "",
    third_party: str = "",
    pure: bool = False,
    modules: tuple[str, ...] = (),
) -> Layer:
    """A row of the table, its lists written as space-separated names."""
    return Layer(
        name,
        tuple(packages.split()),
        frozenset(may_import.split()),
        frozenset(third_party.split()),
        pure,
        modules,
    )


LAYERS = (
    # The contract's classes, names and limits: imported by every layer, pure ones included.
    _layer(
        "contract",
        "ticketing.errors ticketing.settings ticketing.names",
        pure=True,
        modules=("ticketing",),
    ),
    # Seats, the lock table, the seat store, and the catalog's records they keep.
    _layer("domain", "ticketing.domain ticketing.catalog", "contract", pure=True),
    # Multi-Paxos as data in, data out: it knows nothing of seats, the domain is not below it.
    _layer("consensus", "ticketing.consensus", "contract", pure=True),
    # Retry and restart delays: arithmetic on durations and a caller's Random, no clock.
    _layer("policy", "ticketing.backoff ticketing.restart_backoff", "contract", pure=True),
    _layer("counters", "ticketing.counters"),  # thread-safe work counters, read by the bench
    _layer("catalog_files", "ticketing.catalog_files"),  # catalogs shipped as package data
    # SQLite under the consensus core's narrow storage interface.
    _layer("storage", "ticketing.storage", "contract consensus counters"),
    _layer("security", "ticketing.security", "contract", "Pyro5 cryptography"),
    # The Pyro5 adapters and the drivers that step the pure cores.
    _layer(
        "server", "ticketing.server", "contract domain consensus storage security counters", "Pyro5"
    ),
    # The client library and REPL: the contract's API over Pyro5 (see ALLOWANCES for server/).
    _layer("client", "ticketing.client", "contract domain policy security", "Pyro5 prompt_toolkit"),
    # Seeded consensus schedules spread over worker processes.
    _layer("simulation", "ticketing.simulation_pool", "consensus"),
    # Starting a local cluster: its spec, plan, supervisor, command line and handle.
    _layer("cluster", "ticketing.cluster", "contract domain policy security server", "Pyro5"),
    _layer(
        "faults",
        "ticketing.faults",
        "contract domain catalog_files security server client cluster",
        "Pyro5",
    ),
    _layer(
        "bench",
        "ticketing.bench",
        "contract domain consensus policy catalog_files storage security server cluster",
        "Pyro5 matplotlib",
    ),
    # The entry points' argument parsing: one call into the layer each command runs.
    _layer(
        "commands", "ticketing.commands", "security server client simulation cluster faults bench"
    ),
    _layer("nameserver", "nameserver", "contract server", "Pyro5"),
    _layer("run", "run", "commands nameserver"),  # scripts: argparse and one call, nothing else
    _layer("dev", "dev"),  # sets up the checkout's virtual environment
)

# Standard-library modules a pure layer may not import (a dotted name counts under its top).
PURE_FORBIDDEN = {
    **dict.fromkeys(
        ["time", "datetime", "calendar", "zoneinfo", "sched"],
        "a clock: the driver passes time in (as ticks or numbers), so a run replays",
    ),
    **dict.fromkeys(
        [
            "threading",
            "_thread",
            "multiprocessing",
            "concurrent",
            "asyncio",
            "queue",
            "subprocess",
            "signal",
        ],
        "threads and processes belong to the drivers that step the pure code",
    ),
    **dict.fromkeys(
        ["socket", "ssl", "select", "selectors", "socketserver", "http", "urllib", "xmlrpc"],
        "the network is the server layer's: pure code takes messages and returns them",
    ),
    **dict.fromkeys(
        [
            "os",
            "sys",
            "io",
            "pathlib",
            "shutil",
            "tempfile",
            "glob",
            "fcntl",
            "mmap",
            "resource",
            "atexit",
        ],
        "files and the process are the drivers' and the storage layer's",
    ),
    "sqlite3": "persistence goes through the storage interface, owned by the storage layer",
    **dict.fromkeys(
        ["importlib", "pkgutil", "runpy"],
        "a module loaded by name is one this check cannot see",
    ),
    "logging": "pure code reports by what it returns; the driver logs it (a log handler does I/O, "
    "and stamps each record with the clock)",
    **dict.fromkeys(
        ["secrets", "uuid"],
        "the OS's entropy differs on every run: take a seeded random.Random from the caller",
    ),
}


@dataclass(frozen=True, slots=True)
class Allowance:
    """One import the table would refuse, allowed by name with the reason."""

    importer: str  # the importing module, exactly
    scope: str  # the function it is in (qualified), or MODULE_SCOPE for the top level
    target: str  # the module imported, or a package and everything under it
    why: str

    def covers(self, imp: Import) -> bool:
        return (
            imp.importer == self.importer
            and imp.scope == self.scope
            and (imp.target == self.target or imp.target.startswith(self.target + "."))
        )


_CLIENT_TRANSPORT = (
    "the wire's set-up both ends share lives in server/ today (the serializer Pyro5 may use, the "
    "name server's URI and default address); moving it to a transport module both import would "
    "remove this allowance"
)

ALLOWANCES = (
    Allowance(
        "ticketing.errors",
        "register_with_pyro",
        "Pyro5",
        "late, so the pure layers can import the classes; only processes that talk over Pyro5 "
        "call it",
    ),
    Allowance(
        "ticketing.catalog",
        MODULE_SCOPE,
        "pathlib",
        "load_catalog reads the catalog file; the records the domain uses share the module with "
        "the reader (splitting catalog.py into records and loader would remove this)",
    ),
    Allowance(
        "ticketing.catalog",
        MODULE_SCOPE,
        "importlib",
        "importlib.resources: load_catalog(None) reads the default catalog shipped in the package",
    ),
    Allowance(
        "ticketing.catalog",
        MODULE_SCOPE,
        "datetime",
        "to check that an event's starts_at parses (datetime.fromisoformat) and to tell a TOML "
        "date-time from a date; it never reads the clock",
    ),
    Allowance(
        "ticketing.client.launch", MODULE_SCOPE, "ticketing.server.pyro_config", _CLIENT_TRANSPORT
    ),
    Allowance("ticketing.client.launch", MODULE_SCOPE, "ticketing.server.cli", _CLIENT_TRANSPORT),
    Allowance(
        "ticketing.client.connection", MODULE_SCOPE, "ticketing.server.proxies", _CLIENT_TRANSPORT
    ),
    Allowance(
        "ticketing.client.operator_link",
        MODULE_SCOPE,
        "ticketing.server.proxies",
        _CLIENT_TRANSPORT,
    ),
)


def layer_of(module: str) -> Layer | None:
    """The layer holding ``module``: the longest entry of the table that names it or a parent."""
    best, best_length = None, -1
    for layer in LAYERS:
        if module in layer.modules:
            return layer
        for package in layer.packages:
            if (module == package or module.startswith(package + ".")) and len(
                package
            ) > best_length:
                best, best_length = layer, len(package)
    return best


def by_name(name: str) -> Layer:
    return next(layer for layer in LAYERS if layer.name == name)


@dataclass(slots=True)
class Report:
    violations: list[str]
    used: set[Allowance]  # the allowances some import of the tree needed


def check(root: Path, allowances: tuple[Allowance, ...] = ALLOWANCES) -> Report:
    """Every import under ``root``'s top levels held against the table."""
    report = Report([], set())
    tree = sources(root, TOP_LEVELS)
    known = {source.name for source in tree}
    for source in tree:
        where = source.path.relative_to(root)
        layer = layer_of(source.name)
        if layer is None:
            report.violations.append(
                f"{where}: {source.name} is in no layer: add it to tests/layer_rules.py"
            )
            continue
        try:
            imports, random_uses = imports_of(source, known)
        except Problem as exc:  # a relative import above the top
            report.violations.append(str(exc))
            continue
        for imp in imports:
            why = refusal(layer, imp)
            if why is None:
                continue
            allowance = next((a for a in allowances if a.covers(imp)), None)
            if allowance is not None:
                report.used.add(allowance)
                continue
            scope = f" in {imp.scope}()" if imp.scope else ""
            report.violations.append(
                f"{where}:{imp.line}: {imp.importer} ({layer.name}) imports {imp.target} "
                f"({imp.form}{scope}): {why}"
            )
        if layer.pure:
            for use in random_uses:
                report.violations.append(
                    f"{where}:{use.line}: {use.module} ({layer.name}) uses {use.what}: pure code "
                    "draws only from a random.Random the caller seeded"
                )
    return report


def refusal(layer: Layer, imp: Import) -> str | None:
    """Why ``layer`` may not make this import, or None."""
    if imp.target == DYNAMIC:
        return "the module's name is not a literal, so no check can see what it loads"
    top = imp.target.partition(".")[0]
    if top in OUR_TOP_NAMES:
        target = layer_of(imp.target)
        if target is None:
            return "the module is in no layer of tests/layer_rules.py"
        if target is layer or target.name in layer.may_import:
            return None
        allowed = ", ".join(sorted(layer.may_import)) or "no other layer"
        return f"layer {layer.name} may not import layer {target.name} (it may import: {allowed})"
    if stdlib_or_future(top):
        return PURE_FORBIDDEN.get(top) if layer.pure else None
    if top in layer.third_party:
        return None
    listed = ", ".join(sorted(layer.third_party)) or "none"
    return f"third-party package {top} is not one layer {layer.name} uses (it uses: {listed})"

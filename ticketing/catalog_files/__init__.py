"""The catalogs the tools ship with, as package data beside this file.

The bench and the fault run need them wherever the package is installed, not
only in a checkout. The catalog every component uses by default is another
file, ``ticketing/default_catalog.toml`` (``catalog.load_catalog(None)``).
``tests/catalogs/small.toml`` is a link to ``SMALL``, the tests' own path to it.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
SMALL = HERE / "small.toml"  # two clusters, short holds: the fault run's and the tests'
GROUPS = HERE / "groups.toml"  # SMALL and two more events, for 2 to 4 lock groups
BENCH = HERE / "bench.toml"  # the bench's catalog with a 50,000-seat venue (--big)
RUSH = HERE / "rush.toml"  # a 5,000-seat arena alone, for the bench's on-sale rush

#!/usr/bin/env python3
"""Set everything up and run the project, with nothing but python3 on the machine.

    python3 dev.py start [cluster flags...]   local cluster + interactive client
    python3 dev.py test [pytest args...]      lint, then the whole test suite

The first run creates ./.venv and installs the package with its test extra into
it; later runs reuse it and reinstall only when setup.cfg changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create the virtualenv and install the package; cheap when already done."""
    wanted = hashlib.sha256((ROOT / "setup.cfg").read_bytes()).hexdigest()
    if not venv_python().exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("installing ticketing and its dependencies into .venv ...", flush=True)
        pip = [str(venv_python()), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
        STAMP.write_text(wanted)
    return venv_python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("start", "test"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    python = str(ensure_venv())
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "start":
        return subprocess.call([python, "run/cluster.py", "--client", *rest])
    lint = subprocess.call([python, "-m", "ruff", "check", "."])
    fmt = subprocess.call([python, "-m", "ruff", "format", "--check", "."])
    if lint or fmt:
        print("lint failed: run '.venv/bin/ruff check --fix . && .venv/bin/ruff format .'")
        return 1
    return subprocess.call([python, "-m", "pytest", *rest])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The results' opening: what was run, with which flags, on which machine, from which source.

A benchmark's numbers mean little without these; they lead the JSON so that
two runs can be told apart and compared.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ticketing


def new_results(args: argparse.Namespace, argv: Sequence[str] | None) -> dict[str, Any]:
    """The results of a bench before its first run: ``runs`` is empty, filled as it goes."""
    return {
        "title": "ticketing benchmark" + _profile_note(args),
        "command": shlex.join(
            [
                Path(sys.argv[0]).name if argv is None else "bench.py",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "started_at": time.time(),
        "source": _source_version(),
        "load_average_at_start": os.getloadavg(),
        "settings": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k != "levels"  # the runs say theirs
        },
        "runs": [],
    }


def _profile_note(args: argparse.Namespace) -> str:
    if args.big:
        return " (50,000-seat venue)"
    if args.rush:
        return f" (on-sale rush, {args.rush_explicit:.0%} explicit-seat buyers)"
    return ""


def _source_version() -> dict[str, Any]:
    """The commit benchmarked, and whether the work tree had uncommitted changes.

    Nothing when the package runs from an installation rather than a checkout.
    """
    repo = Path(ticketing.__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return {}
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {}
    return {"commit": commit or None, "uncommitted_changes": bool(dirty)}

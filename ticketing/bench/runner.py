"""``run/bench.py``: drive simulated users against a cluster, level by level, and report.

For each scale level (``--clusters`` data clusters, or the catalog's own, with
``--lock-groups`` lock groups: every combination, see ``scale``), a fresh local
cluster is started on a temporary data directory and a free port (or ``--attach``
reuses a running one; ``layout``), then:

* a probe books a few tickets one at a time, so the remote calls and disk
  syncs of one booking are counted exactly (idle traffic such as heartbeats,
  measured just before, is subtracted; ``probe``);
* each ``--users`` level runs for ``--seconds``: counters and CPU are read
  before and after, latencies recorded by every user (``level``, its record
  in ``level_record``);
* with ``--rush``, every user buys on one event of a big venue, best-available
  or explicit-seat (see ``rush``), and the tickets a level leaves are
  cancelled after it is measured;
* right after each level, this machine's ceiling is measured: empty Pyro5
  calls to an echo process from as many client threads (``ceiling``).

With several scale levels, a table of them follows (``scale``: bookings/s,
the lock side's CPU, the hottest process and the projected ceiling of each),
with a text chart and issue 13's verdict. The JSON (``--out``) is rewritten
after every level, so an interrupted run keeps what it measured. The flags
are ``cli``'s.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ticketing.bench import chart, report, scale
from ticketing.bench.crowd import run as run_crowd
from ticketing.bench.layout import level_catalog, load_balancer_count, run_attached, run_layout
from ticketing.bench.provenance import new_results


def run(args: argparse.Namespace, argv: Sequence[str] | None) -> int:
    """The whole bench of ``args``: every layout's levels (or the crowd), then the tables."""
    if args.crowd:
        return run_crowd(args)
    results = new_results(args, argv)
    if args.attach:
        print(report.table(run_attached(args, results)), flush=True)
    else:
        catalogs = [level_catalog(args, level) for level in args.levels]
        balancers = load_balancer_count(args, catalogs)
        for level, catalog in zip(args.levels, catalogs, strict=True):
            measured = run_layout(args, catalog, level.groups, balancers, results)
            print(report.table(measured), flush=True)
    if args.clusters or args.lock_groups:
        rows = scale.rows(results["runs"])
        verdicts = scale.verdicts(rows)
        results["scale"] = {"rows": rows, "verdicts": verdicts}
        report.write_json(results, args.out)
        print(report.scale_table(rows, verdicts), flush=True)
        print(chart.scale_text(rows), flush=True)
    chart_path = args.chart or args.out.with_suffix(".png")
    if chart.available():
        chart.write_chart(results, chart_path)
        print(f"wrote {args.out} and {chart_path}", file=sys.stderr)
    else:
        print(
            f"wrote {args.out}; no chart: matplotlib is not installed "
            "(pip install 'ticketing[bench]')",
            file=sys.stderr,
        )
    return 0

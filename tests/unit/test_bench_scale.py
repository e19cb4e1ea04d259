"""The scale levels of run/bench.py: pairing, catalogs, the table's arithmetic and the verdict.

No cluster here (tests/integration/test_bench_smoke.py runs two levels end to end).
"""

from __future__ import annotations

import pytest

from ticketing.bench.catalogs import events_per_group, placed, regrouped, write_toml
from ticketing.bench.chart import SCALE_BAR, scale_text
from ticketing.bench.cli import parse_args
from ticketing.bench.layout import level_catalog, load_balancer_count
from ticketing.bench.report import scale_table
from ticketing.bench.scale import Level, combined, lock_side_ms, row, rows, verdicts
from ticketing.catalog import load_catalog
from ticketing.domain.lock_placement import LockPlacement


def test_levels_are_every_combination_of_the_two_lists() -> None:
    assert combined([1, 3], [1, 3]) == [Level(1, 1), Level(1, 3), Level(3, 1), Level(3, 3)]
    assert combined([3], [1, 3]) == [Level(3, 1), Level(3, 3)]
    assert combined([1, 2, 3], None) == [Level(1, 1), Level(2, 1), Level(3, 1)]
    assert combined(None, [1, 3]) == [Level(None, 1), Level(None, 3)], "the catalog's own layout"
    assert combined(None, None) == [Level(None, 1)]


def test_the_booked_theaters_are_dealt_evenly_into_the_lock_groups() -> None:
    catalog = load_catalog(None)  # the bench's default: 3 theaters of 2 events
    events = [(t.id, e.id) for t in catalog.theaters for e in t.events]
    # What the stable hash alone would do with 3 groups: one idle, one with two thirds.
    assert events_per_group(catalog, 3, events) == {1: 4, 2: 0, 3: 2}
    for groups, spread in ((1, {1: 6}), (2, {1: 4, 2: 2}), (3, {1: 2, 2: 2, 3: 2})):
        assert events_per_group(placed(catalog, groups), groups, events) == spread
    assert all(t.lock_group is None for t in placed(catalog, 1).theaters), "one group: as before"
    # The booked theaters take their turns first, whatever the catalog's order.
    dealt = placed(catalog, 2, first={"REG", "CIN"})
    assert {t.id: t.lock_group for t in dealt.theaters} == {"REG": 1, "CIN": 2, "AMC": 1}


def test_a_placed_catalog_reads_back_with_its_groups_and_clusters(tmp_path) -> None:
    catalog = placed(regrouped(load_catalog(None), 2), 3)
    back = load_catalog(write_toml(catalog, tmp_path / "catalog.toml"))
    assert back == catalog
    assert [(t.cluster, t.lock_group) for t in back.theaters] == [
        ("part1", 1),
        ("part2", 2),
        ("part1", 3),
    ]
    LockPlacement(back, 3)  # the launcher's check: every lock_group exists


def level(users: int, rate: float, by_process: dict[str, float], p99: float = 50.0) -> dict:
    """A users level as the runner writes it, with the projection of ``by_process``."""
    hottest = max(by_process, key=by_process.__getitem__)
    return {
        "users": users,
        "bookings_per_s": rate,
        "latency_ms": {"booking": {"p50": 10.0, "p99": p99}},
        "cpu_ms_per_booking_by_process": by_process,
        "hottest_process": hottest,
        "hottest_cpu_ms_per_booking": by_process[hottest],
        "projected_ceiling_bookings_per_s": round(1000 / by_process[hottest], 1),
    }


def run(clusters: int, groups: int, *levels: dict) -> dict:
    return {
        "clusters": clusters,
        "lock_groups": groups,
        "load_balancers": 6,
        "events_per_lock_group": {g: 6 // groups for g in range(1, groups + 1)},
        "levels": list(levels),
    }


ONE_GROUP = {
    "ticketing.lock.server.1": 2.0,
    "ticketing.lock.server.2": 0.25,
    "ticketing.lock.server.3": 0.25,
    "ticketing.lock.coordinator": 1.5,
    "ticketing.loadbalancer.1": 0.9,
}
THREE_GROUPS = {
    **{f"ticketing.lock.{g}.server.1": 0.8 for g in (1, 2, 3)},
    **{f"ticketing.lock.{g}.server.{i}": 0.1 for g in (1, 2, 3) for i in (2, 3)},
    **{f"ticketing.lock.{g}.coordinator": 0.6 for g in (1, 2, 3)},
    "ticketing.loadbalancer.1": 0.5,
    "ticketing.datastore.part1.replica.1": 0.7,
}


def one_then_three(
    one_rate: float, three_rate: float, three: dict[str, float] = THREE_GROUPS
) -> list[dict]:
    """The scale rows of 1 cluster and 1 group, then 3 and 3, at 64 users."""
    return rows(
        [run(1, 1, level(64, one_rate, ONE_GROUP)), run(3, 3, level(64, three_rate, three))]
    )


def test_a_scale_row_sums_the_lock_side_and_shares_the_hottest_of_it() -> None:
    assert lock_side_ms(ONE_GROUP) == 4.0, "lock servers and coordinator, not the balancer"
    assert lock_side_ms(THREE_GROUPS) == 4.8
    assert lock_side_ms({"ticketing.loadbalancer.1": 1.0}) is None
    values = row(run(3, 3), level(64, 150.0, THREE_GROUPS))
    assert values["lock_side_cpu_ms_per_booking"] == 4.8
    assert values["hottest_process"] == "ticketing.lock.1.server.1"
    assert values["hottest_share_of_lock_side"] == round(0.8 / 4.8, 3) == 0.167
    assert values["projected_ceiling_bookings_per_s"] == 1250.0
    assert (values["clusters"], values["lock_groups"], values["booking_p99_ms"]) == (3, 3, 50.0)


def test_the_verdict_judges_the_most_groups_against_one_group_on_as_many_data_clusters() -> None:
    every = rows(
        [
            run(1, 1, level(64, 170.0, ONE_GROUP)),
            run(1, 3, level(64, 160.0, THREE_GROUPS)),
            run(3, 1, level(64, 140.0, ONE_GROUP)),
            run(3, 3, level(64, 150.0, THREE_GROUPS)),
        ]
    )
    (verdict,) = verdicts(every)
    assert verdict["level"] == {"clusters": 3, "lock_groups": 3}
    assert verdict["baseline"] == {"clusters": 3, "lock_groups": 1}, "only the groups differ"
    assert verdict["checks"]["bookings_per_s"] is True, "150 against 140, not 170"


def test_else_the_first_single_group_level_is_the_baseline() -> None:
    table = one_then_three(150.0, 151.0)
    (verdict,) = verdicts(table)
    assert verdict["level"] == {"clusters": 3, "lock_groups": 3}
    assert verdict["baseline"] == {"clusters": 1, "lock_groups": 1}
    assert verdict["hottest_share_limit"] == 0.333
    assert verdict["ceiling_gain"] == 2.5  # 1250 / 500
    assert verdict["ceiling_gain_needed"] == 2.5
    assert all(verdict["checks"].values()) and len(verdict["checks"]) == 3
    assert verdict["met"] is True
    text = scale_table(table, [verdict])
    assert "lock.1.server.1" in text and "2/2/2" in text
    assert "(needs <= 0.333): yes" in text and "x2.50 (needs >= x2.50): yes" in text
    assert "151.0 against 150.0 (needs not lower): yes => MET" in text


def test_each_criterion_can_fail_the_verdict() -> None:
    balancer_bound = {**THREE_GROUPS, "ticketing.loadbalancer.1": 1.7}  # > 4.8 / 3
    slower = one_then_three(150.0, 149.9)
    hot = one_then_three(150.0, 160.0, balancer_bound)
    (slow_verdict,), (hot_verdict,) = verdicts(slower), verdicts(hot)
    assert slow_verdict["checks"]["bookings_per_s"] is False and not slow_verdict["met"]
    assert hot_verdict["checks"] == {
        "hottest_share": False,  # 1.7 / 4.8 = 0.354
        "ceiling_gain": False,  # 588.2 / 500 = 1.18
        "bookings_per_s": True,
    }
    assert "=> NOT MET" in scale_table(hot, [hot_verdict])


def test_verdicts_are_per_users_and_need_a_single_group_level() -> None:
    several_users = rows(
        [
            run(1, 1, level(8, 100.0, ONE_GROUP), level(64, 150.0, ONE_GROUP)),
            run(3, 3, level(8, 90.0, THREE_GROUPS), level(64, 160.0, THREE_GROUPS)),
        ]
    )
    found = verdicts(several_users)
    assert [(v["users"], v["met"]) for v in found] == [(8, False), (64, True)]
    assert verdicts(rows([run(3, 3, level(8, 1.0, THREE_GROUPS))])) == [], "no baseline"
    assert verdicts(rows([run(1, 1, level(8, 1.0, ONE_GROUP))] * 2)) == [], "nothing to judge"


def test_the_scale_chart_draws_both_figures_on_one_scale() -> None:
    table = one_then_three(150.0, 151.0)
    lines = scale_text(table).splitlines()
    assert lines[1].startswith("1 group, 1 cluster, 64 users") and lines[1].endswith("| 150.0")
    assert lines[4].endswith("=" * SCALE_BAR + "| 1250.0"), "the largest value fills the bar"
    assert lines[2].count("=") == round(SCALE_BAR * 500 / 1250)
    assert "3 groups, 3 clusters" in lines[3]


def test_a_scale_run_sizes_its_balancers_for_its_widest_level() -> None:
    args = parse_args(["--clusters", "1,3", "--lock-groups", "1,2"])
    catalogs = [level_catalog(args, level) for level in args.levels]
    assert [len(c.clusters()) for c in catalogs] == [1, 1, 3, 3]
    assert load_balancer_count(args, catalogs) == 2 * 3, "3 data clusters, at every level"
    args = parse_args(["--lock-groups", "1,4"])  # the default catalog's 3 clusters
    assert load_balancer_count(args, [level_catalog(args, lv) for lv in args.levels]) == 8
    fixed = parse_args(["--lock-groups", "1,4", "--load-balancers", "3"])
    assert load_balancer_count(fixed, []) == 3
    assert load_balancer_count(parse_args(["--clusters", "1,3"]), []) is None, "as before"


def test_the_scale_flags_are_refused_with_an_attached_cluster(capsys) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--attach", "127.0.0.1:9090", "--lock-groups", "1,3"])
    assert "cannot be used with --attach" in capsys.readouterr().err

"""Discovery as a study part (issue 15): a sample's row round-trips to the same V* as a direct solve,
the fine diagram's cells agree with direct solves, a killed discovery continues from its stored
batches, a bad discovery section is one line before any work, and the multi-node path on
``ray.cluster_utils.Cluster``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from repo import REPO

from agents.solver import solve
from agents.summary import summarize_optimum
from envs.scenarios import make_params
from training.config.errors import ConfigError
from training.config.study import study_config_from_dict
from training.discovery.plan import diagram_cells, plan_batches, run_batch
from training.discovery.ranges import RangesError
from training.discovery.solving import analyse_batch
from training.study.keys import KEY_FIELD, unit_key

RANGES = str(REPO / "configs" / "discovery" / "ranges.yaml")


def study(tmp_path, **discovery):
    section = {"scenarios": ["war"], "ranges": RANGES, "sobol_n": 2, "batch": 28, "baselines": ["limited"],
               "diagram": None, **discovery}
    return study_config_from_dict({"name": "d", "out": str(tmp_path / "out"), "scenarios": [],
                                   "discovery": section})


def test_a_sample_row_round_trips_to_the_v_star_of_a_direct_solve(tmp_path):
    cfg = study(tmp_path, batch=2)
    batch = plan_batches(cfg.discovery)[5]
    stored = json.loads(json.dumps(run_batch(batch)))  # solve -> row -> JSON, as the driver stores it
    for params, row in zip(batch.params, stored["rows"]):
        direct = solve(params)
        assert row["value"] == pytest.approx(direct.value, abs=1e-9)
        assert row["label"] == summarize_optimum(params).label
    # the row's parameters are the ranges applied to the sample's unit row
    from training.discovery.ranges import load_ranges

    ranges = load_ranges(RANGES)
    assert batch.params[0] == ranges.unit_params(np.array(stored["coords"][0]), "war")


def test_a_batch_unit_key_changes_with_any_input(tmp_path):
    from dataclasses import replace

    batch = plan_batches(study(tmp_path, batch=2).discovery)[0]
    p, q = batch.params
    assert unit_key(batch) == unit_key(plan_batches(study(tmp_path, batch=2).discovery)[0])  # same inputs, same key
    others = [replace(batch, params=(q, p)), replace(batch, params=(p, make_params("war", {"power": 0.3}))),
              replace(batch, scenario="calendar"), replace(batch, baselines=None), replace(batch, first=2),
              replace(batch, kind="diagram:threat_lockout")]
    assert len({unit_key(b) for b in [batch, *others]}) == 1 + len(others)


def test_the_grouped_design_is_its_own_units_read_through_their_own_schema(tmp_path):
    """Issue 31: grouped_n * (G + 2) grouped samples per scenario, in batches of kind ``grouped`` (no
    baselines), each row the ranges applied to its unit row, keys apart from the sample batches', and a
    stored one read through GroupedBatch (a sample batch's schema refuses it)."""
    from training.discovery.plan import group_names, grouped_rows
    from training.discovery.ranges import load_ranges
    from training.results.schemas import DiscoveryBatch, GroupedBatch
    from training.results.store import read_stored, write_stored
    from training.study.driver import pending_batches

    ranges = load_ranges(RANGES)
    n_groups = len(set(group_names(ranges)))
    cfg = study(tmp_path, batch=2, grouped_n=2, scenarios=["war", "calendar"])
    grouped = [b for b in plan_batches(cfg.discovery) if b.kind == "grouped"]
    assert sum(len(b.params) for b in grouped) == 2 * 2 * (n_groups + 2)
    assert {b.scenario for b in grouped} == {"war", "calendar"} and all(b.baselines == () for b in grouped)
    rows = grouped_rows(ranges, cfg.discovery)
    assert rows.shape == (2 * (n_groups + 2), len(ranges.names))
    b = grouped[3]
    assert b.params[1] == ranges.unit_params(rows[b.first + 1], b.scenario)
    samples = [x for x in plan_batches(cfg.discovery) if x.kind == "sample"]
    assert not {unit_key(x) for x in grouped} & {unit_key(x) for x in samples}
    assert not {tuple(r) for r in rows} & {c for x in samples for c in x.coords}  # new points, not the design's
    assert study(tmp_path, batch=2).discovery.grouped_n == 0 and not [
        x for x in plan_batches(study(tmp_path, batch=2).discovery) if x.kind == "grouped"]
    first = grouped[0]
    (tmp_path / "out" / "discovery" / "batches").mkdir(parents=True)
    data = {**run_batch(first), KEY_FIELD: unit_key(first)}
    assert all("share_limited" not in r for r in data["rows"])
    write_stored(tmp_path / "out" / first.relpath(), GroupedBatch, data)
    assert read_stored(tmp_path / "out" / first.relpath(), GroupedBatch) == data
    with pytest.raises(ValueError):
        read_stored(tmp_path / "out" / first.relpath(), DiscoveryBatch)
    done: list[str] = []
    todo = pending_batches(cfg, done)
    assert done == [first.relpath()] and first.relpath().endswith("war_grouped_000000.json")
    assert first.relpath() not in [x.relpath() for x in todo]


@pytest.mark.slow
def test_the_41_by_41_diagram_agrees_with_direct_solves_at_5_random_cells(tmp_path):
    cfg = study(tmp_path, diagram={"scenario": "war", "n": 41}, batch=41 * 41)
    (px, py), cells = diagram_cells(cfg.discovery, "threat_lockout")
    assert (px, py, len(cells)) == ("tau", "lockout", 41 * 41)
    batch = next(b for b in plan_batches(cfg.discovery) if b.kind == "diagram:threat_lockout")
    picks = np.random.default_rng(7).choice(len(cells), 5, replace=False)
    rows = analyse_batch([batch.params[i] for i in picks], baselines=())
    for i, row in zip(picks, rows):
        x, y = cells[i]
        direct = make_params("war", {"tau": float(x), "lockout": float(y)})
        assert batch.params[i] == direct
        assert row["label"] == summarize_optimum(direct).label
        assert row["value"] == pytest.approx(solve(direct).value, abs=1e-9)


@pytest.mark.parametrize("change, words", [
    ({"sobol_n": 10}, "discovery.sobol_n=10 is not allowed: a power of two"),
    ({"scenarios": ["war", "mars"]}, "discovery.scenarios="),
    ({"ranges": "no/such.yaml"}, "discovery.ranges='no/such.yaml' is not allowed"),
    ({"baselines": ["nobody"]}, "discovery.baselines="),
    ({"typo": 1}, "discovery.typo=1 is not allowed: unknown key; allowed keys are scenarios"),
    ({"diagram": {"n": 41, "axes": {"x": {"tau": [0, 9], "power": [0, 1]}}}}, "discovery.diagram.axes="),
])
def test_a_bad_discovery_section_is_one_line_naming_the_key(tmp_path, change, words):
    with pytest.raises(ConfigError) as err:
        study(tmp_path, **change)
    assert len(err.value.problems) == 1 and words in err.value.problems[0], err.value.problems
    assert "\n" not in err.value.problems[0]


def test_a_bad_ranges_file_stops_the_study_before_any_work(tmp_path):
    bad = tmp_path / "ranges.yaml"
    bad.write_text((REPO / "configs" / "discovery" / "ranges.yaml").read_text()
                   .replace("low: 0.05, high: 0.4", "low: 0.4, high: 0.05"))
    cfg = study(tmp_path, ranges=str(bad))
    from training.study.driver import run_study

    with pytest.raises(RangesError) as err:
        run_study(cfg, log=lambda _: None)
    assert "factors.power" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_a_stored_batch_goes_through_its_schema_and_a_damaged_one_is_computed_again(tmp_path):
    from training.results.schemas import DiscoveryBatch
    from training.results.store import read_stored, write_stored
    from training.study.driver import pending_batches

    cfg = study(tmp_path, batch=2)
    first, second = plan_batches(cfg.discovery)[:2]
    good = {**run_batch(first), KEY_FIELD: unit_key(first)}
    (tmp_path / "out" / "discovery" / "batches").mkdir(parents=True)
    write_stored(tmp_path / "out" / first.relpath(), DiscoveryBatch, good)
    assert read_stored(tmp_path / "out" / first.relpath(), DiscoveryBatch) == good
    damaged = {**good, "rows": [{**good["rows"][0], "value": [1.0]}]}  # a list where a number belongs
    (tmp_path / "out" / second.relpath()).write_text(json.dumps(damaged))
    log, skipped = [], []
    todo = pending_batches(cfg, skipped, log.append)
    assert first.relpath() in skipped and second in todo and first not in todo
    said = [line for line in log if second.relpath() in line]
    assert len(said) == 1 and "rows[0].value" in said[0] and said[0].endswith(": recomputing")


def test_a_batch_stored_from_other_ranges_is_stale_and_its_rows_are_not_read(tmp_path):
    from training.results.schemas import DiscoveryBatch
    from training.results.store import write_stored
    from training.study.driver import pending_batches
    from training.study.robustness import stored_batch

    cfg = study(tmp_path, batch=2)
    first = plan_batches(cfg.discovery)[0]
    (tmp_path / "out" / "discovery" / "batches").mkdir(parents=True)
    write_stored(tmp_path / "out" / first.relpath(), DiscoveryBatch, {**run_batch(first), KEY_FIELD: unit_key(first)})
    done: list[str] = []
    todo = pending_batches(cfg, done)
    assert done == [first.relpath()] and first.relpath() not in [b.relpath() for b in todo]
    other = tmp_path / "ranges.yaml"  # the same file but one range: same batch file names, other inputs
    other.write_text((REPO / "configs" / "discovery" / "ranges.yaml").read_text()
                     .replace("low: 0.05, high: 0.4", "low: 0.05, high: 0.5"))
    changed = study(tmp_path, batch=2, ranges=str(other))
    again = plan_batches(changed.discovery)[0]
    assert again.relpath() == first.relpath() and unit_key(again) != unit_key(first)
    said, done = [], []
    todo = pending_batches(changed, done, said.append)
    assert done == [] and todo[0].relpath() == first.relpath()
    assert len(said) == 1 and "stale" in said[0] and first.relpath() in said[0]
    assert stored_batch(changed, again) is None and stored_batch(cfg, first) is not None


@pytest.mark.slow
def test_a_killed_discovery_continues_from_its_stored_batches(tmp_path):
    from training.study.driver import run_study

    cfg = study(tmp_path, batch=14, grouped_n=2)  # 54 samples in 4 batches, 20 grouped samples in 2

    class Killed(Exception):
        pass

    def kill(key):
        raise Killed(key)

    with pytest.raises(Killed):
        run_study(cfg, num_cpus=1, log=lambda _: None, on_result=kill, report=False)
    stored = sorted((tmp_path / "out" / "discovery" / "batches").glob("*.json"))
    assert len(stored) == 1
    before = stored[0].stat().st_mtime_ns
    out = run_study(cfg, num_cpus=2, log=lambda _: None)
    assert out.skipped == [str(stored[0].relative_to(tmp_path / "out"))] and len(out.done) == 5
    assert stored[0].stat().st_mtime_ns == before  # not recomputed
    samples = pd.read_csv(tmp_path / "out" / "discovery" / "samples.csv")
    assert len(samples) == 54 and samples["war.value"].notna().all()
    grouped = pd.read_csv(tmp_path / "out" / "discovery" / "grouped_sobol.csv")
    assert set(grouped["group"]) == {"threat", "patron", "alternatives", "power", "identification", "mediation",
                                     "preferences", "mechanism"} and set(grouped["scenario"]) == {"war"}
    assert "H7" in (tmp_path / "out" / "REPORT.md").read_text()


@pytest.mark.slow
def test_a_discovery_runs_on_a_two_node_ray_cluster(tmp_path):
    import ray
    from ray.cluster_utils import Cluster

    from training.study.driver import run_study

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        cfg = study(tmp_path, batch=14)
        out = run_study(cfg, address=cluster.address, log=lambda _: None)  # joins the running cluster
        assert len(out.done) == 4 and not out.failed
        assert (tmp_path / "out" / "discovery" / "sobol.csv").is_file()
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()


def test_a_calendar_row_holds_every_statistic_per_phase_and_its_key_their_version(tmp_path, monkeypatch):
    """Issue 31: each phase label's fragility needs every statistic its rule reads; the per-phase part's
    version enters the key of finite-horizon batches only (a war batch, without that part, keeps its key)."""
    from agents.archetypes import STAT_NAMES, label, phase_stats
    from training.study import keys

    cfg = study(tmp_path, batch=1, scenarios=["war", "calendar"])
    war, cal = (next(b for b in plan_batches(cfg.discovery) if b.scenario == s) for s in ("war", "calendar"))
    row = run_batch(cal)["rows"][0]
    ph = [p for p in range(5) if f"phase{p}_label" in row]
    assert ph and all(f"phase{p}_{k}" in row for p in ph for k in STAT_NAMES)
    from training.discovery.solving import evaluate

    direct = phase_stats(evaluate(cal.params)[0].occupancy)
    assert all(row[f"phase{p}_label"] == label(direct[p]) for p in ph)
    before = unit_key(war), unit_key(cal)
    monkeypatch.setattr(keys, "PHASE_ROWS_VERSION", 99)
    assert unit_key(war) == before[0] and unit_key(cal) != before[1]

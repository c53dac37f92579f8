"""A stored unit holding NaN or infinity where its schema means a number is not done (issue 28 class
5): it passed the schema and was skipped as finished. Now the schema refuses it, the study computes
it again and names it in the log, and a report refuses to render it."""

from __future__ import annotations

import json
import math

import pytest
from malformed import ReachedTheRun, record
from studies import make_study

from training import cli
from training.config.study import plan_points, plan_runs
from training.results.schemas import PointAnalysis, RunEvaluation
from training.results.store import EVALUATION, check_stored
from training.study.driver import pending
from training.study.keys import KEY_FIELD, unit_key


def keyed_study(tmp_path):
    """The hand-made study with each unit carrying the key its inputs make: every unit is done."""
    cfg = make_study(tmp_path)
    units = [(cfg.out_dir / p.relpath(), p) for p in plan_points(cfg)]
    units += [(cfg.out_dir / r.relpath() / EVALUATION, r) for r in plan_runs(cfg)]
    for path, unit in units:
        path.write_text(json.dumps({**json.loads(path.read_text()), KEY_FIELD: unit_key(unit)}))
    return cfg


def spoil(path, where, value):
    """Set the number at key path ``where`` of a stored JSON file to ``value`` (json writes NaN, Infinity)."""
    data = json.loads(path.read_text())
    node = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_unit_holding_a_non_finite_number_is_computed_again_and_named(tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    cfg = keyed_study(tmp_path)
    log: list[str] = []
    points, runs, skipped = pending(cfg, log.append)
    assert (points, runs, log) == ([], [], [])  # all done to begin with
    run = cfg.out_dir / "runs" / "war" / "ppo_s1" / EVALUATION
    point = cfg.out_dir / "exact" / "war.json"
    spoil(run, ["share"], value)
    spoil(point, ["optimum", "stats", "m_bar"], value)
    points, runs, skipped = pending(cfg, log.append)
    assert [p.relpath() for p in points] == ["exact/war.json"]
    assert [r.relpath() for r in runs] == ["runs/war/ppo_s1"]
    assert len(skipped) == len(plan_points(cfg)) + len(plan_runs(cfg)) - 2
    assert len(log) == 2
    assert log[0].startswith("exact/war.json: not a valid stored unit (not a stored PointAnalysis of this "
                             f"version: optimum.stats.m_bar={value!r} is not allowed: ")
    assert log[1].startswith("runs/war/ppo_s1/evaluation.json: not a valid stored unit (not a stored "
                             f"RunEvaluation of this version: share={value!r} is not allowed: ")
    assert all(line.endswith("): recomputing") for line in log)
    for path, schema in ((run, RunEvaluation), (point, PointAnalysis)):
        with pytest.raises(ValueError):
            check_stored(path, schema, json.loads(path.read_text()))
        record("nan_units", escaped=False)


def test_the_study_command_recomputes_a_nan_unit_and_the_report_refuses_it(tmp_path, monkeypatch, capsys):
    import ray

    def spy(*args, **kwargs):
        raise ReachedTheRun("ray.init")

    monkeypatch.setattr(ray, "init", spy)
    monkeypatch.chdir(tmp_path)
    cfg = keyed_study(tmp_path)
    spoil(cfg.out_dir / "runs" / "war" / "ppo_s0" / EVALUATION, ["value"], math.nan)
    assert cli.main(["study", "tiny.yaml", "--report-only"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "study/runs/war/ppo_s0/evaluation.json" in lines[0] and "value=nan" in lines[0]
    assert not (cfg.out_dir / "REPORT.md").exists()
    with pytest.raises(ReachedTheRun):  # the unit is to be computed: Ray is started
        cli.main(["study", "tiny.yaml"])
    out = capsys.readouterr().out
    assert "runs/war/ppo_s0/evaluation.json: not a valid stored unit" in out
    assert "1 already done" not in out and ", 1 to run" in out

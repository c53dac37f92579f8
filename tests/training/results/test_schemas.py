"""Every stored result file has a schema (training/results/schemas.py): written and read through it,
and a file that does not match is one line naming the file and the field, before any work starts."""

from __future__ import annotations

import copy
import json

import pytest
from repo import REPO
from studies import make_study

from training import cli
from training.results import store
from training.results.schemas import (
    SCHEMA_VERSION,
    BenchmarkResult,
    Environment,
    PointAnalysis,
    RunEvaluation,
    StudyResult,
)

ENVIRONMENT = {"python": "3.11.7", "platform": "linux", "versions": {"numpy": "2.4.6"},
               "git": {"commit": "0123456789abcdef", "dirty": False}, "config": "tiny.yaml"}
RESULT = {"optimum": 1.0, "share_of_optimum": 0.9, "label": "hedging"}
BENCHMARK = {
    "scenarios": ["war"], "model_file": "model.zip", "hash_checked": True,
    "runs": [{"run_dir": "runs/war/ppo_s0", "algo": "PPO", "seed": 0, "trained_on": "war", "overrides": {},
              "num_timesteps": 2048, "group": "PPO", "results": {"war": RESULT},
              "curve": {"timesteps": [1024.0], "mean": [40.0]}}],
    "optimum": {"war": RESULT}, "baselines": {"limited": {"war": RESULT}},
    "curve_optimum": {"PPO": {"training": "war", "scenario": "war", "horizon": 80, "episode_return": 50.0}},
    "aggregate": {"settings": {"metric": "iqm", "reps": 10}, "kinds": {"PPO": "algorithm"}, "n_runs": {"PPO": 1},
                  "scores": {"PPO": [[0.9]]}, "iqm": {"PPO": {"aggregate": [0.9, 0.9, 0.9]}},
                  "best_baseline": "limited", "poi": {}, "optimum_labels": {"war": "hedging"},
                  "baseline_labels": {"limited": {"war": "hedging"}}, "labels": {}, "label_agreement": None},
    "command": "alliance benchmark --runs 'runs/war/*'",
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """One valid mapping of every kind of stored file (a hand-made study and its study.json)."""
    import os

    from training.study.report import write_report

    folder = tmp_path_factory.mktemp("study")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        cfg = make_study(folder)
        write_report(cfg)
    finally:
        os.chdir(cwd)
    out = cfg.out_dir if cfg.out_dir.is_absolute() else folder / cfg.out_dir
    load = lambda rel: json.loads((out / rel).read_text())  # noqa: E731
    return {"exact": (PointAnalysis, load("exact/war.json")), "calendar": (PointAnalysis, load("exact/calendar.json")),
            "sweep": (PointAnalysis, load(next((out / "sweeps").glob("*.json")).relative_to(out))),
            "evaluation": (RunEvaluation, load("runs/war/ppo_s0/evaluation.json")),
            "study": (StudyResult, load("study.json")), "environment": (Environment, ENVIRONMENT),
            "benchmark": (BenchmarkResult, BENCHMARK)}


KINDS = ["exact", "calendar", "sweep", "evaluation", "study", "environment", "benchmark"]


@pytest.mark.parametrize("kind", KINDS)
def test_write_then_read_gives_back_the_data_and_the_file_its_version(samples, tmp_path, kind):
    schema, data = samples[kind]
    data = {k: v for k, v in data.items() if k != "schema_version"}
    path = store.write_stored(tmp_path / "file.json", schema, data)
    assert list(json.loads(path.read_text()).items())[0] == ("schema_version", SCHEMA_VERSION)
    assert store.read_stored(path, schema) == data


def _spoil(data: dict, how: str) -> tuple[dict, str]:
    """``data`` with one key renamed, deleted or of the wrong type; returns it and the field the line must name."""
    data = copy.deepcopy(data)
    if how == "renamed":
        key = next(k for k in data if k != "schema_version")
        data[key + "_old"] = data.pop(key)
        return data, key
    if how == "missing":
        key = list(data)[-2]
        del data[key]
        return data, key
    key = next(k for k, v in data.items() if k != "schema_version" and isinstance(v, str | int | float))
    data[key] = [data[key]]  # a list where the schema wants text or a number
    return data, key


@pytest.mark.parametrize("how", ["renamed", "missing", "wrong_type"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_file_that_does_not_match_is_one_line_naming_the_file_and_the_field(samples, tmp_path, kind, how):
    schema, data = samples[kind]
    spoilt, field = _spoil(data, how)
    path = tmp_path / "file.json"
    path.write_text(json.dumps(spoilt))
    with pytest.raises(ValueError) as info:
        store.read_stored(path, schema)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path}: ") and field in message, message
    with pytest.raises(ValueError):  # and it is never written either
        store.write_stored(tmp_path / "other.json", schema, spoilt)
    assert not (tmp_path / "other.json").exists()


def test_versions_a_file_without_one_is_read_a_later_one_refused(tmp_path):
    path = tmp_path / "environment.json"
    path.write_text(json.dumps(ENVIRONMENT))  # written before versions existed
    assert store.read_stored(path, Environment) == ENVIRONMENT
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, **ENVIRONMENT}))
    with pytest.raises(ValueError, match=rf"environment.json: .*schema_version={SCHEMA_VERSION + 1} is not allowed"):
        store.read_stored(path, Environment)


def test_the_committed_results_match_their_schemas():
    """The readers accept every committed result file (what the committed code wrote)."""
    patterns = {"exact/*.json": PointAnalysis, "sweeps/*.json": PointAnalysis, "runs/*/*/evaluation.json": RunEvaluation,
                "study.json": StudyResult, "environment.json": Environment}
    seen = 0
    for study in (REPO / "results").iterdir():
        for pattern, schema in patterns.items():
            for path in study.glob(pattern) if study.is_dir() else []:
                store.read_stored(path, schema)
                seen += 1
    assert seen > 50


def test_study_report_only_refuses_a_spoilt_unit_before_writing_anything(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    cfg = make_study(tmp_path)
    war = cfg.out_dir / "exact" / "war.json"
    data = json.loads(war.read_text())
    data["optimum"]["val"] = data["optimum"].pop("value")
    war.write_text(json.dumps(data))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    # (a continued study computes such a unit again, naming it: tests/training/study/test_nan_units.py)
    assert cli.main(["study", "tiny.yaml", "--report-only"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"alliance study: error: {war}: "), lines
    assert "optimum.value is missing" in lines[0], lines
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_benchmark_report_only_refuses_a_spoilt_file_before_writing_anything(tmp_path, capsys):
    data = copy.deepcopy(BENCHMARK)
    data["aggregate"]["iqm_estimates"] = data["aggregate"].pop("iqm")
    (tmp_path / "benchmark.json").write_text(json.dumps(data))
    assert cli.main(["benchmark", "--out", str(tmp_path), "--report-only"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"{tmp_path}/benchmark.json: " in lines[0] and "aggregate.iqm" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["benchmark.json"]

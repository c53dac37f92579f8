"""Units' content keys and resumability without Ray: a stored unit is reused only if its key is the one
its inputs make now; a missing, damaged or stale file is computed again, and the log says why. The
report is made from the stored units alone and names the scenarios it leaves out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stable_baselines3  # noqa: F401  (imported at collection: a TrainConfig checks hyperparameters against SB3)
import yaml

from training.leaderboard.config import ZooEntry, load_leaderboard_config, train_config
from training.leaderboard.driver import fresh, plan
from training.leaderboard.units import RunUnit, ScenarioUnit, schema_of, unit_key
from training.results import store
from training.study.keys import KEY_FIELD


def make_cfg(tmp_path: Path, **change):
    zoo = tmp_path / "zoo"
    zoo.mkdir(exist_ok=True)
    for algo in ("PPO", "RecurrentPPO"):
        (zoo / f"{algo.lower()}.yaml").write_text(yaml.safe_dump(
            {"algo": algo, "n_envs": 2, "hyperparams": {"n_steps": 32, "batch_size": 64}}))
    data = {"scenarios": ["war", "calendar"], "algos": ["PPO", "RecurrentPPO"], "seeds": 2, "total_timesteps": 256,
            "checkpoints": 2, "zoo": str(zoo), "out": str(tmp_path / "out"), "resamples": 100, **change}
    path = tmp_path / "lb.yaml"
    path.write_text(yaml.safe_dump(data))
    return load_leaderboard_config(path)


def test_the_plan_is_one_unit_per_scenario_and_per_scenario_algorithm_seed_whole_scenarios_first(tmp_path):
    scenarios, runs = plan(make_cfg(tmp_path))
    assert [u.scenario for u in scenarios] == ["war", "calendar"]
    assert len(runs) == 2 * 2 * 2 and len({u.relpath() for u in runs}) == 8
    assert [u.scenario for u in runs] == ["war"] * 4 + ["calendar"] * 4  # a clock-stopped run leaves whole scenarios
    assert runs[0].algo == "RecurrentPPO"  # the slowest first within a scenario


def test_a_units_key_changes_with_each_input_it_depends_on_and_only_with_those(tmp_path):
    cfg = make_cfg(tmp_path)
    entry = ZooEntry(algo="PPO", n_envs=2, hyperparams={"n_steps": 32, "batch_size": 64})

    def key(algo="PPO", scenario="war", seed=0, steps=None, hp=None, episodes=500):
        e = entry if hp is None else entry.model_copy(update={"hyperparams": hp})
        e = e.model_copy(update={"algo": algo})
        return unit_key(RunUnit(scenario, algo, seed, train_config(cfg, e, scenario, seed, steps), episodes))

    base = key()
    assert key() == base  # the same inputs, the same key
    changed = [key(seed=1), key(scenario="alt_open"), key(steps=512),
               key(hp={"n_steps": 64, "batch_size": 64}), key(algo="RecurrentPPO")]
    assert len({base, *changed}) == 6
    assert key(episodes=20) == base  # a Markov policy's value is exact: the Monte Carlo episodes do not enter
    assert key(algo="RecurrentPPO", episodes=20) != key(algo="RecurrentPPO")
    assert unit_key(ScenarioUnit("war")) != unit_key(ScenarioUnit("calendar"))


def put(path: Path, schema, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    store.write_stored(path, schema, data)


def scenario_data(scenario: str) -> dict:
    return {"kind": "scenario", "scenario": scenario, "optimum": 2.0,
            "baselines": {"limited": {"value": 1.8, "share": 0.9, "regret": 0.2}}, "seconds": 0.1}


def test_stored_units_are_reused_only_when_whole_and_of_their_inputs(tmp_path):
    cfg = make_cfg(tmp_path)
    unit = ScenarioUnit("war")
    path = cfg.out_dir / unit.relpath()
    lines: list[str] = []
    assert not fresh(cfg, unit, lines.append)  # missing
    put(path, schema_of(unit), {**scenario_data("war"), KEY_FIELD: unit_key(unit)})
    assert fresh(cfg, unit, lines.append) and not lines
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, KEY_FIELD: "0" * 64}))  # made from other inputs
    assert not fresh(cfg, unit, lines.append) and "stale" in lines[-1] and unit.relpath() in lines[-1]
    path.write_text(json.dumps({**data, "optimum": "high"}))  # refused by its schema
    assert not fresh(cfg, unit, lines.append) and "not a valid stored unit" in lines[-1]
    path.write_text(path.read_text()[:20])  # cut off
    assert not fresh(cfg, unit, lines.append) and "not a valid stored unit" in lines[-1]


def test_a_changed_budget_makes_every_stored_run_stale(tmp_path):
    cfg = make_cfg(tmp_path)
    unit = plan(cfg)[1][0]
    run = {"kind": "run", "scenario": unit.scenario, "algo": unit.algo, "seed": unit.seed, "total_timesteps": 256,
           "exact": False, "curve": [{"steps": 256, "value": 1.0, "optimum": 2.0, "share": 0.5, "regret": 1.0,
                                      "exact": False, "value_ci": [0.9, 1.1], "episodes": 500}],
           "share": 0.5, "regret": 1.0, "train_config": {}, "train_seconds": 1.0, "evaluate_seconds": 1.0,
           "seconds": 2.0}
    put(cfg.out_dir / unit.relpath(), schema_of(unit), {**run, KEY_FIELD: unit_key(unit)})
    assert fresh(cfg, unit)
    assert not fresh(make_cfg(tmp_path, total_timesteps=512), plan(make_cfg(tmp_path, total_timesteps=512))[1][0])


@pytest.mark.slow
def test_the_report_is_made_from_stored_units_and_names_the_scenarios_it_leaves_out(tmp_path):
    from training.leaderboard.report import write_report

    cfg = make_cfg(tmp_path)
    scenarios, runs = plan(cfg)
    for u in scenarios:
        put(cfg.out_dir / u.relpath(), schema_of(u), {**scenario_data(u.scenario), KEY_FIELD: unit_key(u)})
    for u in runs:
        if u.scenario == "calendar" and u.seed == 1 and u.algo == "PPO":
            continue  # one run missing: calendar is not whole
        share = (0.9 if u.algo == "PPO" else 0.6) + 0.01 * u.seed
        point = {"steps": 256, "value": 2 * share, "optimum": 2.0, "share": share, "regret": 2 - 2 * share, "exact": True}
        put(cfg.out_dir / u.relpath(), schema_of(u), {
            "kind": "run", "scenario": u.scenario, "algo": u.algo, "seed": u.seed, "total_timesteps": 256,
            "exact": True, "curve": [point], "share": share, "regret": point["regret"], "train_config": {},
            "train_seconds": 1.0, "evaluate_seconds": 1.0, "seconds": 2.0, KEY_FIELD: unit_key(u)})
    for algo in cfg.algos:
        (cfg.zoo_dir / f"{algo.lower()}.yaml").write_text(yaml.safe_dump(
            {"algo": algo, "n_envs": 2, "hyperparams": {"n_steps": 32, "batch_size": 64},
             "reasons": {"n_steps": "searched"}, "tuned": {"best_share": 0.5}}))
    report = write_report(cfg)
    text = report.read_text()
    assert "not in this run: calendar" in text
    assert text.index("| 1 | PPO") < text.index("| 2 | RecurrentPPO")
    rows = (cfg.out_dir / "leaderboard.csv").read_text().splitlines()
    assert rows[1].startswith("PPO,2,")  # two runs: war's two seeds
    for name in ("curves.png", "profiles.png", "iqm.png", "per_scenario.csv", "sample_efficiency.csv", "poi.csv"):
        assert (cfg.out_dir / name).is_file(), name
    first = report.read_bytes()
    assert write_report(cfg).read_bytes() == first  # the same stored units, the same report

"""The study: its config and plan, the run folders' reuse/resume logic, and a tiny study end to end
through Ray (a local instance), interrupted after its first RL run and restarted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from repo import REPO

from training.config.errors import ConfigError
from training.config.study import Point, load_study_config, plan_points, plan_runs, study_config_from_dict

PPO = str(REPO / "configs" / "ppo_war.yaml")
DQN = str(REPO / "configs" / "dqn_war.yaml")
SECTIONS = ["## The question", "## The model in a paragraph", "## Results at a glance", "### H1 ", "### H6 ",
            "## Do the learners find the optimum?", "## Sensitivity", "## Threats to validity", "## Reproduce"]


# ------------------------------------------------------------------------------------ config & plan
def test_plan_crosses_axes_in_order_and_merges_overrides():
    cfg = study_config_from_dict({
        "name": "t", "out": "o", "scenarios": ["war"],
        "sweeps": {"g": {"scenario": "war", "axes": {"threat": {"high": {}, "low": {"tau": 0.8}},
                                                     "power": [0, 0.5, 1]}}}})
    points = plan_points(cfg)
    assert points[0] == Point("scenario", "war", "war")
    sweep = points[1:]
    assert [p.key for p in sweep[:4]] == ["g_threat-high_power-0", "g_threat-high_power-0.5", "g_threat-high_power-1",
                                          "g_threat-low_power-0"]
    assert len(sweep) == 6
    assert dict(sweep[4].overrides) == {"tau": 0.8, "power": 0.5}
    assert dict(sweep[4].coords) == {"threat": "low", "power": 0.5}
    assert sweep[4].relpath() == "sweeps/g_threat-low_power-0.5.json" and points[0].relpath() == "exact/war.json"


def test_plan_runs_substitute_scenario_seed_steps_and_settings(tmp_path):
    own = yaml.safe_load(Path(PPO).read_text())
    own["hyperparams"]["n_steps"] = 132  # a calendar template of our own: 3 episodes of 44 quarters
    PPO_CALENDAR = tmp_path / "ppo_calendar.yaml"
    PPO_CALENDAR.write_text(yaml.safe_dump(own))
    cfg = study_config_from_dict({
        "name": "t", "out": "o", "scenarios": [],
        "rl": {"scenarios": ["war", "calendar"], "algos": {"PPO": {"default": PPO, "calendar": str(PPO_CALENDAR)},
                                                           "DQN": DQN}, "seeds": [3, 4],
               "total_timesteps": {"PPO": 4096, "DQN": 1024}, "set": ["eval.n_episodes=3"]}})
    runs = plan_runs(cfg)
    assert len(runs) == 8
    r = next(r for r in runs if (r.scenario, r.algo, r.seed) == ("calendar", "DQN", 4))
    tc = r.train_config
    assert (tc.env.scenario, tc.algo, tc.seed, tc.total_timesteps, tc.eval.n_episodes) == ("calendar", "DQN", 4, 1024, 3)
    assert r.relpath() == "runs/calendar/dqn_s4" and tc.output == "o/runs"
    ppo = {r.scenario: r.train_config for r in runs if r.algo == "PPO" and r.seed == 3}
    assert ppo["calendar"].hyperparams["n_steps"] == 132  # each scenario's own template
    assert ppo["war"].hyperparams["n_steps"] == yaml.safe_load(Path(PPO).read_text())["hyperparams"]["n_steps"] != 132
    assert ppo["calendar"].total_timesteps == 4096 and ppo["calendar"].env.scenario == "calendar"


@pytest.mark.parametrize("change, expected", [
    ({"scenarios": ["war", "mars"]}, "scenarios[1]='mars' is not allowed"),
    ({"sweeps": {"s": {"axes": {"nonsense": [1, 2]}}}}, "sweeps.s.axes.nonsense is not allowed"),
    ({"sweeps": {"s": {"axes": {"identification": [0, 2]}}}}, "sweeps.s.axes.identification[1]: identification=2.0"),
    ({"sweeps": {"s": {"axes": {"lvl": {"a": {"taux": 1}}}}}}, "sweeps.s.axes.lvl.a.taux=1 is not allowed"),
    ({"rl": {"scenarios": ["war"], "algos": {"A2C": PPO}, "seeds": [0], "total_timesteps": 10}},
     "that config trains PPO"),
    ({"rl": {"scenarios": ["war"], "algos": {"PPO": PPO}, "seeds": [0], "total_timesteps": {"DQN": 5}}},
     "rl.total_timesteps="),
    ({"rl": {"scenarios": ["war"], "algos": {"PPO": PPO}, "seeds": [0], "total_timesteps": 10,
             "set": ["n_envs=0"]}}, "n_envs=0"),
    ({"colour": "red"}, "colour='red' is not allowed: unknown key"),
    ({"rl": {"scenarios": ["war", "alt_open"], "algos": {"PPO": {"war": PPO}}, "seeds": [0], "total_timesteps": 10}},
     "rl.algos.PPO has no template for scenario 'alt_open'"),
])
def test_bad_configs_name_the_key(change, expected):
    with pytest.raises(ConfigError) as err:
        study_config_from_dict({"name": "t", "out": "o", "scenarios": ["war"], **change})
    assert any(expected in line for line in err.value.problems), err.value.problems


# ------------------------------------------------------------------------------------ run folders
def small_spec(tmp_path, steps):
    from training.config.study import RunSpec, _train_config

    cfg = study_config_from_dict({"name": "t", "out": str(tmp_path), "scenarios": [],
                                  "rl": {"scenarios": ["war"], "algos": {"PPO": PPO}, "seeds": [0],
                                         "total_timesteps": steps,
                                         "set": ["n_envs=2", "hyperparams.n_steps=64", "hyperparams.batch_size=64",
                                                 "hyperparams.n_epochs=1", "checkpoint.freq=128"]}})
    return RunSpec("war", "PPO", 0, _train_config(cfg, "war", "PPO", PPO, 0))


def test_train_run_restarts_a_broken_folder_reuses_a_finished_one_and_resumes_a_longer_one(tmp_path):
    from training.results import run_folder as rf
    from training.study.tasks import train_run

    run_dir = tmp_path / "runs" / "war" / "ppo_s0"
    run_dir.mkdir(parents=True)
    (run_dir / "junk.txt").write_text("a killed task's leftovers, no config, no checkpoint")
    assert train_run(small_spec(tmp_path, 256), run_dir) == "trained"
    assert not (run_dir / "junk.txt").exists()
    assert rf.read_manifest(run_dir)["num_timesteps"] == 256
    stamp = (run_dir / rf.MODEL).stat().st_mtime_ns
    assert train_run(small_spec(tmp_path, 256), run_dir) == "reused"
    assert (run_dir / rf.MODEL).stat().st_mtime_ns == stamp
    assert train_run(small_spec(tmp_path, 512), run_dir, resume=True) == "resumed"
    assert rf.read_manifest(run_dir)["num_timesteps"] == 512
    # by default a run of another config (here the budget) is trained again from the start
    assert train_run(small_spec(tmp_path, 256), run_dir) == "trained"
    assert rf.read_manifest(run_dir)["num_timesteps"] == 256 and not rf.list_checkpoints(run_dir)[2:]


# ------------------------------------------------------------------------------- end to end on Ray
def test_tiny_study_through_ray_interrupted_and_restarted(tmp_path, monkeypatch, ray_local):
    from training.study.driver import run_study
    from training.study.report import write_report

    monkeypatch.chdir(tmp_path)
    Path("tiny.yaml").write_text(yaml.safe_dump({
        "name": "tiny", "out": "out", "scenarios": ["war", "alt_open"], "bootstrap_reps": 100,
        "rl": {"scenarios": ["war", "alt_open"], "algos": {"PPO": PPO, "DQN": DQN}, "seeds": [0],
               "total_timesteps": 2048, "set": ["eval.freq=1024", "eval.n_episodes=2", "checkpoint.freq=1024"]}}))
    cfg = load_study_config("tiny.yaml")

    class Stop(Exception):
        pass

    def stop_after_first_run(key):
        if key.startswith("runs/"):
            raise Stop(key)

    with pytest.raises(Stop) as stopped:
        run_study(cfg, on_result=stop_after_first_run, log=lambda line: None)
    first = Path("out") / stopped.value.args[0]
    finished = sorted(Path("out/runs").glob("*/*/evaluation.json"))
    assert finished == [first / "evaluation.json"]  # the driver wrote exactly the one result it saw
    saved = finished[0].read_bytes()
    model_stamp = (first / "model.zip").stat().st_mtime_ns

    outcome = run_study(cfg, log=lambda line: None)
    assert f"{stopped.value.args[0]}/evaluation.json" in outcome.skipped
    assert not outcome.failed and len(outcome.done) + len(outcome.skipped) == 6
    assert finished[0].read_bytes() == saved and (first / "model.zip").stat().st_mtime_ns == model_stamp

    evaluations = [json.loads(p.read_text()) for p in sorted(Path("out/runs").glob("*/*/evaluation.json"))]
    assert {(e["scenario"], e["algo"]) for e in evaluations} == {(s, a) for s in ("war", "alt_open")
                                                                 for a in ("PPO", "DQN")}
    for e in evaluations:
        assert e["total_timesteps"] >= 2048
        assert e["regret"] == pytest.approx(e["optimum"] - e["value"]) and e["regret"] >= -1e-9
    war = json.loads(Path("out/exact/war.json").read_text())
    assert all(e["optimum"] == pytest.approx(war["optimum"]["value"]) for e in evaluations if e["scenario"] == "war")

    text = outcome.report.read_text()
    for heading in SECTIONS:
        assert heading in text, heading
    assert write_report(cfg).read_text() == text  # regenerating from the stored results changes nothing

    again = run_study(cfg, log=lambda line: None, report=False)  # nothing left to do: no Ray task at all
    assert again.done == [] and len(again.skipped) == 6


def test_a_finished_run_with_another_config_is_not_silently_reused(tmp_path):
    """A stored unit is reused only under the unit key its inputs make now; another config's is stale."""
    from training.study.driver import pending
    from training.study.keys import KEY_FIELD, run_key

    cfg = study_config_from_dict({"name": "t", "out": str(tmp_path), "scenarios": [],
                                  "rl": {"scenarios": ["war"], "algos": {"PPO": PPO}, "seeds": [0],
                                         "total_timesteps": 1000}})
    (spec,) = plan_runs(cfg)
    folder = tmp_path / spec.relpath()
    folder.mkdir(parents=True)
    evaluation = {"scenario": "war", "algo": "PPO", "seed": 0, "total_timesteps": 1000, "value": 1.0, "optimum": 1.0,
                  "regret": 0.0, "share": 1.0, "near_optimal_share": 1.0, "label": "x", "optimal_label": "x",
                  "label_agrees": True, "stats": {}, "phase_labels": {}, "nearest_baseline": "limited",
                  "train_config": {}, "training": "trained", "train_seconds": 1.0, "evaluate_seconds": 1.0,
                  "seconds": 2.0}
    (folder / "evaluation.json").write_text(json.dumps({**evaluation, KEY_FIELD: run_key(spec)}))
    assert pending(cfg) == ([], [], ["runs/war/ppo_s0/evaluation.json"])  # same inputs: skipped
    other = study_config_from_dict({"name": "t", "out": str(tmp_path), "scenarios": [],
                                    "rl": {"scenarios": ["war"], "algos": {"PPO": PPO}, "seeds": [0],
                                           "total_timesteps": 1007}})
    said: list[str] = []
    assert pending(other, said.append) == ([], plan_runs(other), [])  # another budget: trained again
    assert len(said) == 1 and "runs/war/ppo_s0/evaluation.json: stale" in said[0]


def test_a_run_trained_under_other_cpu_pins_is_stale(monkeypatch):
    """The pins of torch's CPU arithmetic are part of an RL unit's inputs: runs a study stored under
    other pins (another kernel choice) are trained again, not reused; exact units do not depend on them."""
    from training.run import determinism
    from training.study.keys import point_key, run_key

    cfg = study_config_from_dict({"name": "t", "out": "unused", "scenarios": ["war"],
                                  "rl": {"scenarios": ["war"], "algos": {"DQN": DQN}, "seeds": [0],
                                         "total_timesteps": 1000}})
    (spec,), (point,) = plan_runs(cfg), plan_points(cfg)
    before = run_key(spec), point_key(point)
    monkeypatch.setitem(determinism.PINS, "MKL_CBWR", "AVX2")
    assert run_key(spec) != before[0]
    assert point_key(point) == before[1]


# ------------------------------------------------------------------------------- exact analysis
def test_analysis_of_war_agrees_with_monte_carlo_episodes_of_the_same_policy():
    """A_bar, the episode return, the phase's action shares and the per-quarter shares are checked
    against 4,000 simulated episodes of the evaluated optimal table (agents.monte_carlo)."""
    import numpy as np

    from agents.monte_carlo import rollout_returns
    from agents.policy import TablePolicy
    from envs.scenarios import make_params
    from envs.spaces import N_ACTIONS, encode_actions, encode_states
    from envs.tables import build_tables
    from training.study.tasks import _per_quarter, analyse_point, optimum_summary

    out = analyse_point(Point("scenario", "war", "war"))
    params = make_params("war")
    res = optimum_summary(params).result
    mc = rollout_returns(TablePolicy(params, res.table), params, 4000, seed=1)
    s, a = mc.states.astype(np.int64), mc.actions.astype(np.int64)
    opt = out["optimum"]
    assert opt["value"] == pytest.approx(res.optimum) and opt["near_optimal_share"] == pytest.approx(1.0)
    assert opt["stats"]["A_bar"] == pytest.approx(s[:, :, 2].mean(), abs=0.03)
    assert opt["stats"]["m_bar"] == pytest.approx(a[:, :, 0].mean(), abs=0.02)
    rewards = build_tables(params).reward[encode_states(s.reshape(-1, 6)) * N_ACTIONS + encode_actions(a.reshape(-1, 4))]
    assert opt["episode_return"] == pytest.approx(rewards.reshape(4000, 80).sum(axis=1).mean(), rel=0.01)
    assert opt["phases"]["4"]["actions"]["d=1"] == pytest.approx((a[:, :, 3] == 1).mean(), abs=0.02)
    per_t = _per_quarter(res)["actions"]["m=2"]
    assert np.allclose(per_t, (a[:, :, 0] == 2).mean(axis=0), atol=0.04)
    for name, b in out["baselines"].items():
        assert b["share"] == pytest.approx(b["value"] / opt["value"]) and b["share"] <= 1 + 1e-9, name

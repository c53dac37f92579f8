"""The leaderboard's config and zoo entries: a bad value is one line naming the key, the value and
what is allowed, before any work; the zoo entry is what every run trains with, unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import stable_baselines3  # noqa: F401  (imported at collection: a TrainConfig checks hyperparameters against SB3)
import yaml

from training.config.errors import ConfigError
from training.leaderboard.config import ZooEntry, load_leaderboard_config, load_zoo, train_config
from training.leaderboard.driver import plan

GOOD = {"scenarios": ["war", "calendar"], "algos": ["PPO", "ARS"], "seeds": 2, "total_timesteps": 4096,
        "checkpoints": 4}


def write(tmp_path: Path, data: dict, name: str = "lb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def one_line(tmp_path: Path, **change) -> str:
    with pytest.raises(ConfigError) as exc:
        load_leaderboard_config(write(tmp_path, {**GOOD, "zoo": str(tmp_path / "zoo"), **change}))
    assert len(exc.value.problems) == 1, exc.value.problems
    return exc.value.problems[0]


@pytest.mark.parametrize("change, words", [
    ({"algos": ["PPO", "SAC"]}, ["algos", "'SAC'", "RecurrentPPO", "MaskablePPO"]),
    ({"scenarios": ["war", "mars"]}, ["scenarios", "'mars'", "alt_open"]),
    ({"seeds": 0}, ["seeds=0", "greater than 0"]),
    ({"checkpoints": 500, "total_timesteps": 400}, ["checkpoints=500", "at most total_timesteps (400)"]),
    ({"tune": {"scenario": "war", "trials": 0}}, ["tune.trials=0"]),
    ({"tune": {"scenario": "nowhere"}}, ["tune.scenario", "nowhere", "war"]),
    ({"budget": 10}, ["budget"]),
    ({"algos": ["PPO", "ppo"]}, ["algos", "each algorithm once"]),
])
def test_a_bad_config_is_one_line_naming_key_value_and_what_is_allowed(tmp_path, change, words):
    text = one_line(tmp_path, **change)
    assert "\n" not in text
    for w in words:
        assert w in text, (w, text)


def test_algorithm_names_are_read_in_any_case(tmp_path):
    cfg = load_leaderboard_config(write(tmp_path, {**GOOD, "algos": ["recurrentppo", "qrdqn"]}))
    assert cfg.algos == ["RecurrentPPO", "QRDQN"]


def test_a_missing_zoo_entry_says_how_to_make_it_before_any_work(tmp_path):
    cfg = load_leaderboard_config(write(tmp_path, {**GOOD, "zoo": str(tmp_path / "zoo")}))
    with pytest.raises(ConfigError) as exc:
        plan(cfg)
    assert "ppo.yaml: no such file" in exc.value.problems[0] and "--tune" in exc.value.problems[0]


def test_a_zoo_entry_whose_hyperparameters_do_not_fit_is_refused(tmp_path):
    cfg = load_leaderboard_config(write(tmp_path, {**GOOD, "zoo": str(tmp_path / "zoo")}))
    (tmp_path / "zoo").mkdir()
    (tmp_path / "zoo" / "ppo.yaml").write_text(yaml.safe_dump({"algo": "PPO", "n_envs": 4,
                                                                "hyperparams": {"n_quantiles": 3}}))
    (tmp_path / "zoo" / "ars.yaml").write_text(yaml.safe_dump({"algo": "DQN", "n_envs": 4, "hyperparams": {}}))
    with pytest.raises(ConfigError) as exc:
        train_config(cfg, load_zoo(cfg, "PPO"), "war", 0)
    assert "hyperparams.n_quantiles=3 is not allowed: not an argument of PPO" in exc.value.problems[0]
    with pytest.raises(ConfigError) as exc:
        load_zoo(cfg, "ARS")
    assert "algo=DQN is not allowed" in exc.value.problems[0]


def test_every_run_trains_the_zoo_entry_unchanged_with_its_own_scenario_and_seed(tmp_path):
    cfg = load_leaderboard_config(write(tmp_path, {**GOOD, "zoo": str(tmp_path / "zoo")}))
    entry = ZooEntry(algo="PPO", n_envs=4, hyperparams={"learning_rate": 0.001, "n_steps": 64, "batch_size": 64})
    a, b = train_config(cfg, entry, "war", 0), train_config(cfg, entry, "calendar", 3)
    assert a.hyperparams == b.hyperparams == entry.hyperparams and a.n_envs == b.n_envs == 4
    assert (a.env.scenario, a.seed, b.env.scenario, b.seed) == ("war", 0, "calendar", 3)
    assert a.total_timesteps == 4096 and a.checkpoint.freq == 1024 and a.checkpoint.keep >= cfg.checkpoints


@pytest.mark.parametrize("algo", ["PPO", "RecurrentPPO", "QRDQN", "ARS"])
def test_each_tuned_value_says_whether_the_study_searched_it_or_why_it_is_fixed(algo):
    import optuna

    from training.leaderboard.space import FIXED, reasons, sample

    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    hp = sample(algo, trial)
    why = reasons(algo, hp)
    assert set(trial.params) | set(FIXED[algo]) == set(hp)  # every value is searched or fixed, none both
    assert not set(trial.params) & set(FIXED[algo])
    for name in trial.params:
        assert why[name].startswith("searched"), name
    for name in FIXED[algo]:
        keys = [f"policy_kwargs.{k}" for k in FIXED[algo][name]] if name == "policy_kwargs" else [name]
        assert all(why[k].startswith("fixed: ") and len(why[k]) > 12 for k in keys), name
    assert why["gamma"].startswith("fixed: ") and "discount" in why["gamma"]

"""The generalization study's config: a bad value is one line naming the key, the value and what is
allowed, before any work; the training and held-out context sets are the ones ``alliance evaluate
--contexts train|test`` scores; each run's training config is the zoo entry unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
import stable_baselines3  # noqa: F401  (imported at collection: a TrainConfig checks hyperparameters against SB3)
import yaml

from training.config.errors import ConfigError
from training.evaluate.contexts import context_set_spec
from training.generalization.config import load_generalization_config, load_zoo_entry, train_config

GOOD = {"scenarios": {"war": {"train": 8, "test": 6}}, "algos": ["PPO"], "visibility": ["visible", "hidden"],
        "seeds": 2, "total_timesteps": 4096, "zoo": "configs/zoo/leaderboard"}


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def one_line(tmp_path: Path, **change) -> str:
    with pytest.raises(ConfigError) as exc:
        load_generalization_config(write(tmp_path, {**GOOD, **change}))
    assert len(exc.value.problems) == 1, exc.value.problems
    return exc.value.problems[0]


@pytest.mark.parametrize("change, words", [
    ({"scenarios": {"mars": {"train": 4, "test": 4}}}, ["scenarios", "'mars'", "calendar"]),
    ({"scenarios": {"war": {"train": 0, "test": 4}}}, ["scenarios.war.train=0", "greater than 0"]),
    ({"scenarios": {"war": {"train": 4}}}, ["scenarios.war.test", "missing"]),
    ({"algos": ["PPO", "DQN"]}, ["algos", "'DQN'", "TRPO"]),
    ({"visibility": ["visible", "seen"]}, ["visibility", "seen", "hidden"]),
    ({"visibility": ["hidden", "hidden"]}, ["visibility", "each once"]),
    ({"seeds": 0}, ["seeds=0", "greater than 0"]),
    ({"criteria": {"hard_loss": 1.5}}, ["criteria.hard_loss=1.5"]),
    ({"budget": 10}, ["budget"]),
    ({"scenarios": {"war": {"train": 4, "test": 4, "algos": ["TRPO"]}}}, ["scenarios.war.algos=['TRPO']", "PPO"]),
])
def test_a_bad_value_is_one_line_naming_key_value_and_what_is_allowed(tmp_path, change, words):
    problem = one_line(tmp_path, **change)
    assert all(w in problem for w in words), problem


def test_the_context_sets_are_those_alliance_evaluate_scores_as_train_and_test(tmp_path):
    cfg = load_generalization_config(write(tmp_path, {**GOOD, "context_seed": 7}))
    env = train_config(cfg, load_zoo_entry(cfg, "PPO"), "war", True, 0).env
    assert cfg.context_spec("war", "train") == context_set_spec("train", env) == {"sample": 8, "seed": 7}
    assert cfg.context_spec("war", "test") == {"sample": 6, "seed": context_set_spec("test", env)["seed"]}


def test_a_run_trains_the_zoo_entry_unchanged_on_the_training_contexts(tmp_path):
    cfg = load_generalization_config(write(tmp_path, GOOD))
    entry = load_zoo_entry(cfg, "PPO")
    hidden = train_config(cfg, entry, "war", False, 3)
    assert dict(hidden.hyperparams) == dict(entry.hyperparams) and hidden.n_envs == entry.n_envs
    assert hidden.seed == 3 and hidden.total_timesteps == 4096 and not hidden.env.context_in_obs
    assert dict(hidden.env.contexts) == {"sample": 8, "seed": 0}
    assert train_config(cfg, entry, "war", True, 3).env.context_in_obs


def test_a_missing_zoo_entry_is_one_line_saying_how_to_make_it(tmp_path):
    cfg = load_generalization_config(write(tmp_path, {**GOOD, "zoo": str(tmp_path / "nowhere")}))
    with pytest.raises(ConfigError) as exc:
        load_zoo_entry(cfg, "PPO")
    assert len(exc.value.problems) == 1 and "ppo.yaml" in exc.value.problems[0] and "--tune" in exc.value.problems[0]


def test_a_scenario_may_train_only_some_of_the_algorithms(tmp_path):
    from training.generalization.driver import plan

    cfg = load_generalization_config(write(tmp_path, {**GOOD, "algos": ["PPO", "TRPO"], "scenarios": {
        "war": {"train": 4, "test": 4, "algos": ["TRPO"]}, "calendar": {"train": 2, "test": 2}}}))
    assert cfg.algos_of("war") == ["TRPO"] and cfg.algos_of("calendar") == ["PPO", "TRPO"]
    runs = plan(cfg)[1]
    assert sorted({(r.scenario, r.algo) for r in runs}) == [("calendar", "PPO"), ("calendar", "TRPO"), ("war", "TRPO")]

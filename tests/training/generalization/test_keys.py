"""The generalization study's units and keys: one unit per (scenario, context set) and per (scenario,
algorithm, visibility, seed); a key changes with what the unit's result depends on, and only then."""

from __future__ import annotations

from dataclasses import replace

import stable_baselines3  # noqa: F401  (a TrainConfig checks hyperparameters against SB3)

from training.generalization.config import generalization_config_from_dict
from training.generalization.driver import plan
from training.generalization.units import unit_key

GOOD = {"scenarios": {"war": {"train": 8, "test": 6}, "calendar": {"train": 4, "test": 4}}, "algos": ["PPO"],
        "visibility": ["visible", "hidden"], "seeds": 2, "total_timesteps": 4096, "zoo": "configs/zoo/leaderboard"}


def test_the_plan_has_a_unit_per_context_set_and_per_run_each_with_its_own_file():
    contexts, runs = plan(generalization_config_from_dict(GOOD))
    assert len(contexts) == 4 and len(runs) == 2 * 2 * 2
    paths = [u.relpath() for u in [*contexts, *runs]]
    assert len(set(paths)) == len(paths)
    keys = [unit_key(u) for u in [*contexts, *runs]]
    assert len(set(keys)) == len(keys)
    # seed by seed, both visibilities side by side: a run stopped by the clock leaves matched pairs
    assert [(r.seed, r.visibility) for r in runs[:4]] == [(0, "visible"), (0, "hidden"), (1, "visible"), (1, "hidden")]


def test_a_key_is_the_same_for_the_same_inputs_and_changes_with_each_input():
    contexts, runs = plan(generalization_config_from_dict(GOOD))
    again_contexts, again_runs = plan(generalization_config_from_dict(GOOD))
    assert [unit_key(u) for u in contexts + runs] == [unit_key(u) for u in again_contexts + again_runs]
    more_steps = plan(generalization_config_from_dict({**GOOD, "total_timesteps": 8192}))
    assert unit_key(more_steps[1][0]) != unit_key(runs[0])
    assert [unit_key(u) for u in more_steps[0]] == [unit_key(u) for u in contexts]  # the oracle does not train
    other_seed = generalization_config_from_dict({**GOOD, "context_seed": 1})
    assert all(unit_key(a) != unit_key(b) for a, b in zip(plan(other_seed)[0], contexts))
    assert unit_key(replace(runs[0], test_spec=(("sample", 7), ("seed", 1000003)))) != unit_key(runs[0])

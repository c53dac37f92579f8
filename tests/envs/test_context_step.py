"""The contextual vector env's step in one compiled call (envs/context_step.py, envs/vector_fused.py)
against its step by parts (reset_envs, advance, observations): the same observations with context
features, rewards, flags, infos, contexts drawn at autoresets and generator state."""

from __future__ import annotations

import numpy as np
import pytest
from same_outputs import assert_same

from envs.vector_env import AllianceVectorEnv


def _pair(**kwargs):
    fused, parts = (AllianceVectorEnv(512, contexts={"sample": 7, "seed": 5}, **kwargs) for _ in range(2))
    parts._fusable = False
    return fused, parts


@pytest.mark.parametrize(("scenario", "mode", "discrete", "in_obs"), [
    ("war", "NextStep", False, True), ("calendar", "SameStep", True, True), ("war", "Disabled", False, False)])
def test_the_fused_contextual_step_returns_what_the_step_by_parts_returns(scenario, mode, discrete, in_obs):
    """Episodes ending at different steps (reset at different t), in each autoreset mode: every output
    of every step, the contexts redrawn and the generator's state are those of the step by parts."""
    fused, parts = _pair(scenario=scenario, max_episode_steps=5, autoreset_mode=mode, discrete_actions=discrete,
                         context_in_obs=in_obs)
    n = fused.num_envs
    t0 = np.random.default_rng(2).integers(0, 5, size=n)
    assert_same(fused.reset(seed=3, options={"t": t0}), parts.reset(seed=3, options={"t": t0}), "reset")
    rng = np.random.default_rng(1)
    for k in range(11):
        action = rng.integers(0, 96, size=n) if discrete else rng.integers(0, [4, 2, 3, 4], size=(n, 4))
        a, b = fused.step(action), parts.step(action)
        assert_same(a, b, f"step {k}")
        if mode == "Disabled" and a[3].any():
            assert_same(fused.reset(options={"reset_mask": a[3]}), parts.reset(options={"reset_mask": b[3]}), "mask")
    assert np.array_equal(fused.context_ids, parts.context_ids) and np.array_equal(fused.t, parts.t)
    assert fused.np_random.bit_generator.state == parts.np_random.bit_generator.state


def test_a_bad_action_on_a_step_that_restarts_envs_changes_nothing():
    """The fused step draws the restarted envs' contexts before the uniforms; a bad action raises the
    one-line error and leaves the generator and the contexts as they were, as the step by parts does."""
    fused, parts = _pair(max_episode_steps=2, context_in_obs=True)
    action = np.zeros((512, 4), dtype=np.int64)
    for venv in (fused, parts):
        venv.reset(seed=0)
        venv.step(action)
        venv.step(action)  # every env truncated: the next step starts them again
    bad = action.copy()
    bad[9] = [0, 0, 7, 0]
    for venv in (fused, parts):
        before, ctx = venv.np_random.bit_generator.state, venv.context_ids
        with pytest.raises(ValueError, match=r"actions\[9\]"):
            venv.step(bad)
        assert venv.np_random.bit_generator.state == before and np.array_equal(venv.context_ids, ctx)
    assert_same(fused.step(action), parts.step(action), "after the error")

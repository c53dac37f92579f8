"""envs.kernel's compiled helpers around the step, against the NumPy expressions they replace."""

from __future__ import annotations

import numpy as np

from envs.kernel import reward_and_clock
from envs.spaces import N_ACTIONS


def test_reward_and_clock_is_the_lookup_the_increment_and_the_end():
    """r(s, a) read at ``index * 96 + action``, t + 1 and t + 1 >= max_steps, as NumPy computes
    them; zeros without a reward table; the first env already at the end is found (-1 if none)."""
    rng = np.random.default_rng(0)
    n, max_steps = 500, 44
    table = rng.normal(size=5400 * N_ACTIONS)
    index, action = rng.integers(0, 5400, n), rng.integers(0, N_ACTIONS, n)
    t = rng.integers(0, max_steps, n)
    t[:50] = max_steps - 1  # these end with this step
    reward, t_next, truncated, first = reward_and_clock(index, action, t, max_steps, table)
    assert first == -1
    np.testing.assert_array_equal(reward, table[index * N_ACTIONS + action])
    np.testing.assert_array_equal(t_next, t + 1)
    np.testing.assert_array_equal(truncated, t + 1 >= max_steps)
    assert truncated[:50].all() and truncated.sum() == np.count_nonzero(t == max_steps - 1)
    assert not reward_and_clock(index, action, t, max_steps, np.empty(0))[0].any()
    t[[123, 321]] = max_steps  # already truncated: the first of them is reported
    assert reward_and_clock(index, action, t, max_steps, table)[3] == 123

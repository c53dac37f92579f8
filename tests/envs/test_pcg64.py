"""NumPy's PCG64 uniforms drawn by compiled code (envs/pcg64.py): the very numbers of
``Generator.random`` and the same generator state afterwards, so the vector env's trajectories do
not change."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from same_outputs import assert_same

from envs import kernel, pcg64
from envs.scenarios import make_params
from envs.spaces import encode_states
from envs.tables import MED_KEYS, MOVE_KEYS, PHASE_OF, build_tables


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3])
@pytest.mark.parametrize("shape", [(512, 8), (4096, 8), (3, 8)])  # (3, 8): below MIN_COMPILED, NumPy's call
def test_fill_uniforms_gives_numpys_numbers_and_state(seed, shape):
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    ours.random(5), numpys.random(5)  # any position in the stream
    out = np.empty(shape)
    pcg64.fill_uniforms(ours, out)
    assert np.array_equal(out, numpys.random(shape))
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert ours.integers(1000, size=4).tolist() == numpys.integers(1000, size=4).tolist()


@numba.njit
def _draw_by_eight(consts, out):
    pcg64.lanes8_start(consts)
    for i in range(out.shape[0]):
        draws = pcg64.lanes8_next(consts)
        for j in range(pcg64.W):
            out[i, j] = draws[j]
    return consts[pcg64.SCRATCH + 3], consts[pcg64.SCRATCH + pcg64.W + 3]


@pytest.mark.parametrize("seed", [0, 7, 2**40 + 3])
def test_eight_vector_lanes_give_numpys_numbers_and_state(seed):
    """The vector env's draw (lane j: env i's number 8 i + j, eight 128-bit states as one vector)."""
    ours, numpys = np.random.default_rng(seed), np.random.default_rng(seed)
    ours.random(3), numpys.random(3)  # any position in the stream
    out = np.empty((600, 8))
    pcg64.end(ours, *_draw_by_eight(pcg64.begin(ours, out.size), out))
    assert np.array_equal(out, numpys.random((600, 8)))
    assert ours.bit_generator.state == numpys.bit_generator.state
    assert ours.random(4).tolist() == numpys.random(4).tolist()


def test_another_bit_generator_is_drawn_by_numpy():
    ours, numpys = np.random.Generator(np.random.MT19937(3)), np.random.Generator(np.random.MT19937(3))
    out = np.empty((4096, 8))
    assert pcg64.begin(ours, out.size) is None
    assert np.array_equal(pcg64.fill_uniforms(ours, out), numpys.random((4096, 8)))


def test_the_kernel_drawing_its_uniforms_steps_as_with_numpys_array():
    p = make_params("war")
    tb = build_tables(p)
    n = 1024
    rng = np.random.default_rng(1)
    index = np.full(n, encode_states(np.array([p.start]))[0], dtype=np.int64)
    t = np.zeros(n, dtype=np.int64)
    drawing, numpys = np.random.default_rng(9), np.random.default_rng(9)
    tables = (PHASE_OF, MOVE_KEYS, MED_KEYS, tb.p_med, tb.up, tb.down, tb.event_target, tb.event_prob, tb.p_west,
              tb.after_shock)
    for _ in range(20):
        action = rng.integers(0, 96, size=n)
        a = kernel.step_many(index, action, t, *tables, drawing)
        b = kernel.step_many(index, action, t, *tables, numpys.random((n, 8)))
        for x, y in zip(a, b):
            assert np.array_equal(x, y)
        index = a[0]
    assert len(np.unique(index)) > 50  # the envs spread over many states
    assert drawing.bit_generator.state == numpys.bit_generator.state


def test_a_large_vector_env_steps_as_the_tables_on_numpys_uniforms():
    """N = 1024: the vector env's one compiled call (kernel.advance_plain, uniforms drawn inside)
    gives the next states, rewards and events of Tables.step_indices on NumPy's random((N, 8))."""
    from gymnasium.utils import seeding

    from envs.vector_env import AllianceVectorEnv

    n = 1024
    venv = AllianceVectorEnv(n, scenario="war")
    venv.reset(seed=11)
    reference, _ = seeding.np_random(11)
    tb = venv.tables
    index, t = venv.unwrapped._index.copy(), np.zeros(n, dtype=np.int64)
    rng = np.random.default_rng(2)
    for _ in range(30):
        action = rng.integers(0, [4, 2, 3, 4], size=(n, 4))
        flat = venv.action_indices(action)
        _, reward, _, truncated, info = venv.step(action)
        nxt, events = tb.step_indices(index, flat, t, reference.random((n, 8)))
        assert np.array_equal(venv._index, nxt) and np.array_equal(reward, tb.reward_at(index, flat))
        for key in ("mediated", "phase_changed", "west_reset", "threat_floor"):
            assert np.array_equal(info[key], events[key])
        index, t = nxt, t + 1
        assert not truncated.any()
    assert reference.bit_generator.state == venv.np_random.bit_generator.state


def test_a_large_vector_env_past_its_end_raises_before_drawing():
    from gymnasium.error import ResetNeeded

    from envs.vector_env import AllianceVectorEnv

    venv = AllianceVectorEnv(512, scenario="war", max_episode_steps=2, autoreset_mode="Disabled")
    venv.reset(seed=0)
    action = np.zeros((512, 4), dtype=np.int64)
    venv.step(action)
    venv.step(action)
    before = venv.np_random.bit_generator.state
    with pytest.raises(ResetNeeded, match="env 0 was truncated at t=2"):
        venv.step(action)
    assert venv.np_random.bit_generator.state == before


@pytest.mark.parametrize(("scenario", "mode", "discrete"), [("war", "NextStep", False), ("war", "SameStep", True),
                                                            ("calendar", "Disabled", False)])
def test_the_fused_step_returns_what_the_step_by_parts_returns(scenario, mode, discrete):
    """N = 512: step() in one compiled call (actions checked and encoded, the step, the observations:
    envs.kernel.advance_into) gives the observations, rewards, flags, infos and generator state of the
    step by parts (action_indices, advance, observations), across episode ends in each autoreset mode."""
    from envs.vector_env import AllianceVectorEnv

    n = 512
    fused, parts = (AllianceVectorEnv(n, scenario=scenario, max_episode_steps=5, autoreset_mode=mode,
                                      discrete_actions=discrete) for _ in range(2))
    parts._fusable = False
    assert_same(fused.reset(seed=3), parts.reset(seed=3), "reset")
    rng = np.random.default_rng(1)
    for k in range(12):
        action = (rng.integers(0, 96, size=n) if discrete
                  else rng.integers(0, [4, 2, 3, 4], size=(n, 4)).astype(np.int32))
        a, b = fused.step(action), parts.step(action)
        assert_same(a, b, f"step {k}")
        if mode == "Disabled" and a[3].any():
            assert_same(fused.reset(options={"reset_mask": a[3]}), parts.reset(options={"reset_mask": b[3]}), "mask")
    assert fused.np_random.bit_generator.state == parts.np_random.bit_generator.state
    with pytest.raises(ValueError, match=r"actions\[7\]"):
        bad = action.copy()
        bad[7] = 99 if discrete else [9, 0, 0, 0]
        fused.step(bad)


def test_the_fused_next_step_autoreset_of_some_envs_is_the_step_by_parts():
    """Envs whose episodes end at different steps (reset at different t): the fused step starts the
    ones truncated last step again (envs.kernel.advance_into's ``done``) as the step by parts does."""
    from envs.vector_env import AllianceVectorEnv

    n = 512
    fused, parts = (AllianceVectorEnv(n, scenario="war", max_episode_steps=6) for _ in range(2))
    parts._fusable = False
    t0 = np.random.default_rng(2).integers(0, 6, size=n)
    assert_same(fused.reset(seed=4, options={"t": t0}), parts.reset(seed=4, options={"t": t0}), "reset")
    rng = np.random.default_rng(5)
    for k in range(9):
        action = rng.integers(0, [4, 2, 3, 4], size=(n, 4))
        a, b = fused.step(action), parts.step(action)
        assert_same(a, b, f"step {k}")
        assert np.array_equal(fused._prev_reset, parts._prev_reset)  # render leaves out the envs started again
    assert 0 < fused._prev_reset.sum() < n
    assert fused.np_random.bit_generator.state == parts.np_random.bit_generator.state

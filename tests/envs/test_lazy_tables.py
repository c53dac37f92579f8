"""The single env's tables filled state by state (``Tables.fill_state``, on a state's first visit)
hold the very numbers the block build puts in the same places, write nothing else, and an env on
them plays the same trajectories as on fully built blocks."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from envs.env import SmallStateAllianceEnv
from envs.scenarios import make_params
from envs.spaces import N_ACTIONS, N_STATES
from envs.tables import MED_KEYS, MOVE_KEYS, N_COLS, Tables, shared_tables


def _entries(states: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions in ``up``/``down``, ``p_med`` and the flat rewards that the rows of ``states`` occupy."""
    s = np.asarray(states)
    move = (MOVE_KEYS[s][:, :, None] + np.arange(N_COLS)).ravel()
    med = (MED_KEYS[s][:, None] + np.arange(N_ACTIONS)).ravel()
    rew = (s[:, None] * N_ACTIONS + np.arange(N_ACTIONS)).ravel()
    return move, med, rew


@pytest.mark.parametrize("name, seed", [("war", 0), ("phase0", 1), ("calendar", 2), ("phase2", 3)])
def test_state_rows_equal_the_block_build(name, seed):
    """Random states of every phase filled one by one: bit-identical to a full block build on
    their entries, and zero everywhere else (nothing written outside a state's rows)."""
    rng = np.random.default_rng(seed)
    p = make_params(name, {"power": float(rng.uniform(0.05, 0.95)), "mediation": float(rng.uniform(0, 0.6)),
                           "tau": float(rng.uniform(0.8, 2.6))})
    lazy, full = Tables(p), Tables(p).ensure(range(5))
    states = rng.choice(N_STATES, 400, replace=False).tolist()
    for s in states:
        terms = lazy.fill_state(s)
        assert np.array_equal(terms["reward"], full.reward_block(s // 1080)[s % 1080])
    assert not lazy.built.any()
    move, med, rew = _entries(states)
    reward_lazy, reward_full = lazy.reward_blocks.reshape(-1), full.reward_blocks.reshape(-1)
    for got, want, at in ((lazy.up, full.up, move), (lazy.down, full.down, move),
                          (lazy.p_med, full.p_med, med), (reward_lazy, reward_full, rew)):
        assert np.array_equal(got[at], want[at])
        outside = np.ones(got.shape, dtype=bool)
        outside[at] = False
        assert not got[outside].any()
    # the rows are not trivially zero: some moves and rewards are filled
    assert lazy.up[move].any() and lazy.down[move].any() and reward_lazy[rew].any()


def test_block_build_after_lazy_fill_leaves_the_rows_as_they_were():
    """Filling states, then building their blocks (as the solver or the vector env would on the
    shared tables), changes none of the filled entries."""
    p = make_params("war", {"identification": 0.4321})
    tb = Tables(p)
    states = list(range(4 * 1080, 4 * 1080 + 1080, 7))
    for s in states:
        tb.fill_state(s)
    before = tb.up.copy(), tb.down.copy(), tb.p_med.copy(), tb.reward_blocks.copy()
    tb.ensure([4])
    move, med, rew = _entries(states)
    assert np.array_equal(before[0][move], tb.up[move]) and np.array_equal(before[1][move], tb.down[move])
    assert np.array_equal(before[2][med], tb.p_med[med])
    assert np.array_equal(before[3].reshape(-1)[rew], tb.reward_blocks.reshape(-1)[rew])


def _play(env: SmallStateAllianceEnv, seed: int, steps: int) -> list:
    rng = np.random.default_rng(seed)
    out = [env.reset(seed=seed)[0].tolist()]
    for i in range(steps):
        if i % 50 == 49:  # restart anywhere, so that several phases are visited
            state = tuple(int(rng.integers(0, n)) for n in (5, 4, 6, 5, 3, 3))
            out.append(env.reset(options={"state": state, "t": int(rng.integers(0, env.horizon))})[0].tolist())
        obs, reward, term, trunc, info = env.step(rng.integers(0, [4, 2, 3, 4]))
        out.append((obs.tolist(), reward, term, trunc, info))
        if trunc:
            out.append(env.reset()[0].tolist())
    return out


@pytest.mark.parametrize("name", ["war", "timeline"])
def test_env_on_lazy_rows_plays_as_on_built_blocks(name, monkeypatch):
    """A new parameter set, the block cache off (envs/block_cache.py): the env builds no block (it
    fills the states it visits), and the same seeds give the same observations, rewards and info
    once every block is built."""
    monkeypatch.setenv("ALLIANCE_GYM_CACHE", "off")
    p = make_params(name, {"power": 0.2718281828})  # a set no other test uses
    tb = shared_tables(p)
    assert not tb.built.any()
    lazy_run = _play(SmallStateAllianceEnv(params=p), seed=5, steps=600)
    assert not tb.built.any() and len(tb.info_terms) > 50
    tb.ensure(range(5))
    assert _play(SmallStateAllianceEnv(params=p), seed=5, steps=600) == lazy_run


@pytest.mark.parametrize("name", ["war", "timeline"])
def test_env_on_cached_blocks_plays_as_on_lazy_rows(name, monkeypatch, tmp_path):
    """The block cache on: the first env stores the blocks it filled enough of, a second set of
    tables loads them, and both play the same seeds exactly as lazy rows do."""
    monkeypatch.setenv("ALLIANCE_GYM_CACHE", "off")
    p = make_params(name, {"power": 0.1618033988})
    lazy_run = _play(SmallStateAllianceEnv(params=p), seed=5, steps=600)
    shared_tables.cache_clear()
    monkeypatch.setenv("ALLIANCE_GYM_CACHE", str(tmp_path))
    assert _play(SmallStateAllianceEnv(params=p), seed=5, steps=600) == lazy_run
    assert shared_tables(p).built.any() and any(tmp_path.iterdir())  # built and stored
    shared_tables.cache_clear()
    assert _play(SmallStateAllianceEnv(params=p), seed=5, steps=600) == lazy_run  # loaded from the cache


def test_pickle_carries_no_table_and_continues_the_same():
    """The pickled env holds none of the tables; the copy, re-attached to the shared tables,
    continues exactly as the original."""
    p = make_params("war", {"power": 0.3141592653})
    env = SmallStateAllianceEnv(params=p)
    env.reset(seed=9)
    for _ in range(20):
        env.step(np.array([1, 0, 1, 2]))
    blob = pickle.dumps(env)
    assert len(blob) < 100_000
    copy = pickle.loads(blob)
    assert copy._tb is env._tb
    rng = np.random.default_rng(1)
    for _ in range(60):  # within the 80-step episode
        a = rng.integers(0, [4, 2, 3, 4])
        x, y = env.step(a), copy.step(a)
        assert np.array_equal(x[0], y[0]) and x[1:] == y[1:]

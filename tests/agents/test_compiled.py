"""agents.compiled: each compiled loop gives the numbers of the NumPy expression it replaces, bit for
bit (the stencil, Q and the greedy step, a policy's moves, its kernel, the warm start's sweeps), or to
rounding where the NumPy code sums by a matrix product (a stochastic policy's moves); and a block's
tables, built from the d = 0 rows and in chunks, are ``envs.model``'s own numbers on every entry."""

from __future__ import annotations

import numpy as np
import pytest

from agents import bellman, compiled, compiled_eval
from agents.bellman import BLOCK, NEIGHBOURS, BlockColumns, Operator
from agents.linear import policy_kernel
from agents.solver import TIE, lowest_argmax
from envs import model
from envs.scenarios import make_params
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS
from envs.tables import LEVELS, MOVE_KEYS, N_COLS, Tables


def _sets(phase_scenario: str = "war") -> list:
    rng = np.random.default_rng(5)
    return [make_params(phase_scenario, {"power": float(rng.uniform(0.05, 0.95)),
                                         "identification": float(rng.uniform(0, 1)),
                                         "mediation": float(rng.uniform(0.1, 0.6)),
                                         "tau": float(rng.uniform(0.8, 2.6))}) for _ in range(3)]


def _numpy_expect(cols: BlockColumns, c: np.ndarray, sets: np.ndarray | None = None) -> np.ndarray:
    """The stencil as NumPy computed it before the compiled loops (bellman._stage, stage by stage)."""
    g = c.reshape((c.shape[0], 1) + LEVELS)
    for axis, up, down, parent in cols.stages:
        if sets is not None:
            up, down = up[sets], down[sets]
        g = bellman._stage(g[:, parent], up, down, axis, own=True)
    out = g.reshape(g.shape[0], g.shape[1], BLOCK)
    e = np.ascontiguousarray(out[:, cols.final[:N_ACTIONS]].transpose(0, 2, 1))
    if cols.med_actions.size:
        pm = cols.med_table[:, cols.med_key][:, :, cols.med_actions][slice(None) if sets is None else sets]
        e1 = out[:, cols.final[N_ACTIONS:]].transpose(0, 2, 1)
        e[:, :, cols.med_actions] += pm * (e1 - e[:, :, cols.med_actions])
    return e


@pytest.mark.parametrize("phase", [1, 4])
def test_stencil_q_and_greedy_equal_numpy_bit_for_bit(phase):
    params = _sets()
    tables = [Tables(p) for p in params]
    cols = BlockColumns(tables, phase)
    assert cols.med_actions.size  # mediation is in play: the M = 1 columns are mixed in
    # Pr(M = 1) compact, state l at row med_key[l]: the tables' numbers on every (s, a) of the block
    assert np.array_equal(cols.med_table[:, cols.med_key], np.stack([tb.mediation_block(phase) for tb in tables]))
    c = np.random.default_rng(phase).normal(size=(3, BLOCK)) * 5
    want = _numpy_expect(cols, c)
    assert np.array_equal(cols.expect(c), want)
    sets = np.array([2, 0])
    assert np.array_equal(cols.expect(c[sets], sets), _numpy_expect(cols, c[sets], sets))
    gamma = np.array([0.9, 0.95, 0.97])
    q = cols.q(c, gamma)
    assert np.array_equal(q, cols.reward + gamma[:, None, None] * want)
    q[:, :7, 3] = q[:, :7, 5]  # exact ties: the lowest action wins
    best, arg = compiled.greedy(q, TIE)
    assert np.array_equal(best, q.max(axis=2)) and np.array_equal(arg, lowest_argmax(q))


def test_policy_step_without_q_equals_numpy_on_q_bit_for_bit():
    """BlockColumns.q_policy (policy iteration's step, Q never stored) gives what the NumPy
    expressions on Q give: the maximum, the lowest action within the tie, whether the policy is
    within it, and the near-optimal mask against given values; on a subset of the sets too."""
    params = _sets()
    cols = BlockColumns([Tables(p) for p in params], 4)
    rng = np.random.default_rng(7)
    c = rng.normal(size=(3, BLOCK)) * 5
    gamma = np.array([0.9, 0.95, 0.97])
    q = cols.q(c, gamma)
    pol = rng.integers(0, N_ACTIONS, (3, BLOCK))
    pol[:, :300] = lowest_argmax(q)[:, :300]  # greedy on some states, not on most
    sets = np.array([2, 0])
    v = q.max(axis=2)[sets] - rng.random((2, BLOCK)) * 0.02
    cols.reward = cols.reward.copy()
    cols.reward[:, :9, 3] += q[:, :9, 5] - q[:, :9, 3]  # near ties (within 1e-12): the lowest action wins
    q = cols.q(c, gamma)
    best, greedy, keep, near = cols.q_policy(c[sets], gamma[sets], TIE, pol, sets, v, 0.01)
    want_best = q.max(axis=2)[sets]
    assert np.array_equal(best, want_best) and np.array_equal(greedy, lowest_argmax(q)[sets])
    assert np.array_equal(keep, np.take_along_axis(q[sets], pol[sets][:, :, None], axis=2)[:, :, 0] >= want_best - TIE)
    assert 0 < keep.sum() < keep.size
    assert np.array_equal(near, q[sets] >= v[:, :, None] - 0.01)
    assert cols.q_policy(c, gamma, TIE, pol)[3] is None


def test_moves_kernel_and_sweeps_equal_numpy_bit_for_bit():
    p = _sets()[0]
    op = Operator(p, tables=Tables(p).ensure([4]))
    rows = np.arange(4 * BLOCK, 5 * BLOCK)
    rng = np.random.default_rng(1)
    acts = rng.integers(0, N_ACTIONS, BLOCK)
    acts[::4] = 1  # d = 1, k = 0, m = 0: mediation is possible in some states
    up0, down0 = op.tables.move_probs(rows, acts, 0)
    up1, down1 = op.tables.move_probs(rows, acts, 1)
    d0, d1 = model.move_distribution(up0, down0), model.move_distribution(up1, down1)
    pm = op.tables.mediation(rows, acts)
    assert (pm > 0).any()
    moves = op._moves(rows, acts)
    assert np.array_equal(moves, d0 + pm[:, None] * (d1 - d0))
    kernel = policy_kernel(moves)
    nz = moves != 0
    assert kernel.nnz == nz.sum()
    assert np.array_equal(kernel.toarray(), op.block_matrix(moves))
    # the warm start's sweeps: x <- (base + ge P tilde) + coef P x, as scipy's products give them
    base, tilde, x0 = rng.normal(size=(3, 1, BLOCK))
    ge, coef = np.array([0.3]), np.array([0.6])
    x = x0.copy()
    out = compiled.sweeps(moves[None], NEIGHBOURS, base, tilde, ge, coef, x, 7)
    want_base = base + ge[:, None] * (kernel @ tilde[0])
    y = x0.copy()
    for _ in range(7):
        y = want_base + coef[:, None] * (kernel @ y[0])
    assert np.array_equal(out, want_base) and np.array_equal(x, y)


def test_stochastic_moves_equal_the_model_mixture_to_rounding():
    p = _sets()[1]
    op = Operator(p, tables=Tables(p).ensure([4]))
    rng = np.random.default_rng(2)
    pol = rng.random((5400, N_ACTIONS)) * (rng.random((5400, N_ACTIONS)) < 0.3)
    pol[:, 1] += 0.1  # an action that can mediate
    pol /= pol.sum(axis=1, keepdims=True)
    got = op.policy_moves(pol, [4])
    rows = np.arange(4 * BLOCK, 5 * BLOCK)
    rr, aa = np.repeat(rows, N_ACTIONS), np.tile(np.arange(N_ACTIONS), BLOCK)
    shape = (BLOCK, N_ACTIONS, 5)
    up0, down0 = (x.reshape(shape) for x in op.tables.move_probs(rr, aa, 0))
    up1, down1 = (x.reshape(shape) for x in op.tables.move_probs(rr, aa, 1))
    pm = op.tables.mediation(rr, aa).reshape(BLOCK, N_ACTIONS)
    w = pol[rows]
    want = model.move_mixture(np.concatenate([up0, up1], 1), np.concatenate([down0, down1], 1),
                              np.concatenate([w * (1 - pm), w * pm], 1))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["calendar", "phase1"])
def test_block_build_is_the_model_on_every_entry(name):
    """Rewards from the d = 0 rows less diplomacy's cost, moves in chunks: every (s, a) of every
    block is ``envs.model.reward`` and ``envs.model.move_probs`` of that very row, bit for bit."""
    p = make_params(name, {"power": 0.37, "mediation": 0.45})
    tb = Tables(p).ensure(range(5))
    states = np.repeat(ALL_STATES, N_ACTIONS, axis=0)
    actions = np.tile(ALL_ACTIONS, (ALL_STATES.shape[0], 1))
    assert np.array_equal(tb.reward, model.reward(states, actions, p))
    pick = np.random.default_rng(3).choice(states.shape[0], 20000, replace=False)
    for med in (0, 1):
        up, down = model.move_probs(states[pick], actions[pick], med, p)
        key = MOVE_KEYS[pick // N_ACTIONS] + ((pick % N_ACTIONS) * 2 + med)[:, None]
        assert np.array_equal(tb.up[key], up) and np.array_equal(tb.down[key], down)
    assert N_COLS == 2 * N_ACTIONS


def test_a_distribution_step_equals_the_bincount_bit_for_bit():
    rng = np.random.default_rng(4)
    moves = rng.random((BLOCK, 243)) * (rng.random((BLOCK, 243)) < 0.3)
    moves /= moves.sum(axis=1, keepdims=True)
    dist = rng.random(BLOCK) * (rng.random(BLOCK) < 0.2)  # most states unoccupied: skipped
    want = np.bincount(NEIGHBOURS.ravel(), weights=(dist[:, None] * moves).ravel(), minlength=BLOCK)
    assert np.array_equal(compiled_eval.push(dist, moves, NEIGHBOURS), want)


def test_a_distribution_step_by_a_sparse_kernel_equals_scipy_bit_for_bit():
    rng = np.random.default_rng(6)
    moves = rng.random((BLOCK, 243)) * (rng.random((BLOCK, 243)) < 0.3)
    moves /= moves.sum(axis=1, keepdims=True)
    kernel = policy_kernel(moves)
    dist = rng.random(BLOCK) * (rng.random(BLOCK) < 0.2)
    assert np.array_equal(compiled_eval.push_csr(kernel.data, kernel.indices, kernel.indptr, dist), kernel.T @ dist)


def test_gmres_on_unsigned_indices_gives_the_same_numbers():
    """Evaluations pass a kernel's column indices to the compiled GMRES as unsigned integers (no
    test for negative indices): the solution is the one the signed indices give, bit for bit."""
    p = _sets()[2]
    op = Operator(p, tables=Tables(p).ensure([4]))
    acts = np.random.default_rng(8).integers(0, N_ACTIONS, BLOCK)
    kernel = policy_kernel(op._moves(np.arange(4 * BLOCK, 5 * BLOCK), acts))
    rhs = op.reward_block(4)[np.arange(BLOCK), acts]
    args = (0.93, rhs, rhs / 0.07, 1e-14, 50, 20)
    signed, ok = compiled_eval.gmres(kernel.data, kernel.indices, kernel.indptr, *args)
    unsigned, ok2 = compiled_eval.gmres(kernel.data, compiled_eval.unsigned(kernel.indices), kernel.indptr, *args)
    assert ok and ok2 and compiled_eval.unsigned(kernel.indices).dtype.kind == "u"
    assert np.array_equal(signed, unsigned)
    np.testing.assert_allclose(signed - 0.93 * (kernel @ signed), rhs, rtol=0, atol=1e-11)

"""Exact evaluation of any policy that can be read off on every (t, state) (docs/model.md section 10).

Every policy is scored as section 7 says: stationary scenarios, the infinite-horizon discounted
value V^pi_inf(s0); `timeline`/`calendar`, its 44 quarters plus gamma^44 V*_inf(state reached) of
the continuation model. The occupancy is the undiscounted episode average over ``params.horizon``
steps from s0 (section 9: what evaluation episodes measure): 80 steps for a stationary scenario,
the 44 quarters for timeline/calendar.

A policy is a table of flat actions (T, 5400) or of action probabilities (T, 5400, 96), T = 1 or
horizon (see :func:`agents.policy.policy_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.bellman import BLOCK, N_OFFSETS, NEIGHBOURS
from agents.compiled_eval import expect_moves
from agents.linear import policy_kernel, solve_policy_compiled
from agents.policy import Policy, TablePolicy, as_policy, policy_table
from agents.solver import (
    Operator,
    Solution,
    _operator,
    _solve,
    block_order,
    check_params,
    reachable_phases,
    solve,
)
from envs.params import N_PHASES, AllianceParams
from envs.spaces import N_ACTIONS, N_STATES, encode_states
from envs.state_rows import lazy_zeros


@dataclass(frozen=True, eq=False)
class ExactResult:
    """The exact evaluation of one policy in one scenario.

    ``values``: V^pi over states — stationary (1, 5400), NaN off the phase blocks reachable from
    s0; finite horizon (45, 5400), row 44 the continuation V*_inf. ``state_distribution[t]``:
    Pr(s_t = s) from s0, t = 0..horizon-1. ``occupancy``: the episode-average state-action
    occupancy (5400, 96), summing to 1. ``table``: the evaluated policy, (1 or T, 5400[, 96]).
    """

    scenario: str
    value: float  # V^pi(s0)
    optimum: float  # V*(s0)
    near_optimal_share: float  # share of pi's occupancy where Q*(s, pi(s)) >= V*(s) - 0.01
    values: np.ndarray
    state_distribution: np.ndarray
    occupancy: np.ndarray
    table: np.ndarray

    @property
    def regret(self) -> float:
        return self.optimum - self.value

    @property
    def share(self) -> float:
        """V^pi(s0) / V*(s0) (a share of the optimum; V* > 0 in every named scenario)."""
        return self.value / self.optimum

    @property
    def stochastic(self) -> bool:
        return self.table.ndim == 3

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "value": self.value, "optimum": self.optimum, "regret": self.regret,
                "share": self.share, "near_optimal_share": self.near_optimal_share}


def normalize_table(table: Any, params: AllianceParams) -> np.ndarray:
    """A policy table as (rows, 5400) int64 or (rows, 5400, 96) float64, rows = 1 or horizon
    (rows = 1 for a stationary scenario); identical rows collapse to one."""
    tbl = np.asarray(table)
    stochastic = tbl.ndim >= 2 and tbl.shape[-1] == N_ACTIONS and not np.issubdtype(tbl.dtype, np.integer)
    if tbl.ndim == (2 if stochastic else 1):
        tbl = tbl[None]
    allowed_rows = (1, params.horizon) if params.finite_horizon else (1,)
    shape_ok = tbl.ndim == (3 if stochastic else 2) and tbl.shape[1] == N_STATES and tbl.shape[0] in allowed_rows
    if not shape_ok:
        rows = " or ".join(str(r) for r in allowed_rows)
        raise ValueError(f"policy table of shape {tbl.shape} is not allowed for scenario {params.name}: "
                         f"({rows}, {N_STATES}) flat actions or ({rows}, {N_STATES}, {N_ACTIONS}) probabilities")
    if stochastic:
        tbl = np.asarray(tbl, dtype=np.float64)
        if np.any(tbl < 0) or not np.allclose(tbl.sum(axis=2), 1.0, atol=1e-9):
            raise ValueError("policy probabilities are not allowed: each (t, state) row must be >= 0 and sum to 1")
    elif not np.issubdtype(tbl.dtype, np.integer) or tbl.min() < 0 or tbl.max() >= N_ACTIONS:
        raise ValueError(f"policy table of dtype {tbl.dtype} is not allowed: flat actions 0..{N_ACTIONS - 1}")
    if tbl.shape[0] > 1 and (tbl.strides[0] == 0 or np.all(tbl == tbl[:1])):
        tbl = tbl[:1]
    return np.ascontiguousarray(tbl, dtype=np.float64 if stochastic else np.int64)


def _policy_reward(op: Operator, row: np.ndarray, rows: slice, reward: np.ndarray | None = None) -> np.ndarray:
    """r(s, pi(s)) on ``rows``: the model's reward, or ``reward`` (S, A) or (S, A, n) given in its place."""
    reward = op.reward_block(rows.start // BLOCK) if reward is None else reward[rows]
    if row.ndim == 2:
        return np.einsum("sa,sa->s" if reward.ndim == 2 else "sa...,sa->s...", reward, row[rows])
    return reward[np.arange(reward.shape[0]), row[rows]]


def _stationary_values(op: Operator, params: AllianceParams, row: np.ndarray, reward: np.ndarray | None = None,
                       every_block: bool = False) -> np.ndarray:
    """V^pi_inf on the blocks reachable from s0 (block-triangular linear solves), or on every
    block; NaN elsewhere. Phases only move up, so blocks solved last to first see their targets."""
    values = np.full((N_STATES,) + (() if reward is None else reward.shape[2:]), np.nan)
    target, prob = op.events(0)
    blocks = list(reversed(range(N_PHASES))) if every_block else block_order(op, params.start[0])
    for ph in blocks:
        rows = slice(ph * BLOCK, (ph + 1) * BLOCK)
        e, nt = prob[ph], int(target[ph])
        kernel = policy_kernel(op.policy_moves(row, [ph]))  # a block's moves at a time
        rhs = _policy_reward(op, row, rows, reward)
        if e > 0:
            rhs = rhs + op.gamma * e * (kernel @ op.shocked(values[nt * BLOCK:(nt + 1) * BLOCK], nt))
        values[rows] = solve_policy_compiled(kernel, rhs, op.gamma * (1.0 - e))
    return values[None]


def _finite_values(op: Operator, params: AllianceParams, tbl: np.ndarray, terminal: np.ndarray,
                   reward: np.ndarray | None = None, phases_at: list[list[int]] | None = None) -> np.ndarray:
    """V^pi_t by backward induction from V_T = V*_inf of the continuation (section 7); with
    ``phases_at`` (:func:`reachable_phases`) only the blocks reachable at each t (NaN elsewhere),
    a stochastic policy then by the stencil's E[V(s') | s, a] on every action (``Operator.expect``)
    mixed by its probabilities instead of 96 actions' move distributions."""
    horizon = params.horizon
    values = np.empty((horizon + 1,) + np.shape(terminal))
    values[horizon] = terminal
    moves, moves_row, kernels = None, -1, None
    if phases_at is not None:
        values[:horizon] = np.nan
        used = sorted({ph for at in phases_at for ph in at})
    stencil = phases_at is not None and tbl.ndim == 3  # a stochastic policy: E over all actions, then mixed
    for t in reversed(range(horizon)):
        r = min(t, tbl.shape[0] - 1)
        if r != moves_row and not stencil:
            moves_row = r
            if phases_at is not None:  # sparse kernels of the blocks ever reached, a block at a time
                kernels = {ph: policy_kernel(op.policy_moves(tbl[r], [ph])) for ph in used}
            elif moves is not None and tbl.ndim == 2 and values.ndim == 2:  # only the states whose action changed
                redo = np.flatnonzero(tbl[r] != tbl[r + 1])  # rows are computed state by state: the same bits
                if redo.size:
                    moves[redo] = op._moves(redo, tbl[r][redo])
            else:
                moves = op.policy_moves(tbl[r])
                if values.ndim > 2:  # n value functions: each block's kernel once, not n gathers per step
                    kernels = [op.block_matrix(moves[ph * BLOCK:(ph + 1) * BLOCK]) for ph in range(N_PHASES)]
        c = op.continuation(values[t + 1], t)
        for ph in (range(N_PHASES) if phases_at is None else phases_at[t]):
            rows = slice(ph * BLOCK, (ph + 1) * BLOCK)
            if stencil:
                expected = np.einsum("sa,sa->s", op.expect(c[ph], ph), tbl[r][rows])
            else:
                expected = kernels[ph] @ c[ph] if kernels is not None else expect_moves(moves[rows], c[ph], NEIGHBOURS)
            values[t, rows] = _policy_reward(op, tbl[r], rows, reward) + op.gamma * expected
    return values


def _block_moves(op: Operator, row: np.ndarray, ph: int, cache: dict, need: np.ndarray) -> np.ndarray:
    """The moves (1080, 243) of ``row`` on block ``ph`` for the local states ``need`` (a mask: the
    occupied ones); rows outside it are stale or zero, and the caller gives them no weight.
    ``cache[ph]`` holds the actions, moves and which rows are current, updated in place, so that a
    deterministic row that changes on few states redoes only those of them that are occupied."""
    rows = np.arange(ph * BLOCK, (ph + 1) * BLOCK)
    acts = row[rows]
    if acts.ndim != 1:
        return op.policy_moves(row, [ph])
    if ph not in cache:
        cache[ph] = (np.full(BLOCK, -1, dtype=np.int64), np.zeros((BLOCK, N_OFFSETS)))
    old, moves = cache[ph]
    redo = np.flatnonzero(need & (old != acts))
    if redo.size:
        moves[redo] = op._moves(rows[redo], acts[redo])
        old[redo] = acts[redo]
    return moves


def state_distribution(op: Operator, tbl: np.ndarray, s0: int, horizon: int) -> np.ndarray:
    """Pr(s_t = s) from s0 under a policy table (rows = 1 or horizon), t = 0..horizon-1: (horizon, 5400).
    A stationary table steps by each occupied block's sparse kernel; a time-dependent one by its
    moves on the occupied states, redone only where the action changed since they were computed."""
    dist = np.zeros((horizon, N_STATES))
    dist[0, s0] = 1.0
    cache: dict = {}
    kernels: dict = {}
    for t in range(horizon - 1):
        row = tbl[min(t, tbl.shape[0] - 1)]
        db = dist[t].reshape(N_PHASES, BLOCK)
        phases = np.flatnonzero(db.any(axis=1)).tolist()
        if tbl.shape[0] == 1:
            for ph in phases:
                if ph not in kernels:
                    kernels[ph] = policy_kernel(op.policy_moves(row, [ph]))
            dist[t + 1] = op.propagate(dist[t], kernels, t)
        else:
            dist[t + 1] = op.propagate(dist[t], {ph: _block_moves(op, row, ph, cache, db[ph] > 0) for ph in phases},
                                       t)
    return dist


def occupancy_of(tbl: np.ndarray, dist: np.ndarray, near: np.ndarray | None = None,
                 with_occupancy: bool = True) -> tuple[np.ndarray | None, float]:
    """The episode-average state-action occupancy (5400, 96) of a policy table with state
    distribution ``dist`` (horizon, 5400), and the share of it on ``near`` (rows (T, 5400, 96) read
    at min(t, T - 1); 0 without ``near``); the share alone (the same number, occupancy None)
    when not ``with_occupancy``."""
    horizon = dist.shape[0]
    share = 0.0
    key = [(min(t, tbl.shape[0] - 1), 0 if near is None else min(t, near.shape[0] - 1)) for t in range(horizon)]
    # one deterministic row read at every step writes only its occupied rows, into fresh memory (the
    # others stay 0 and take none: a commitment's answer occupies one block); otherwise every row is
    # written (many steps would pay more for the bookkeeping than they save)
    sparse_rows = tbl.ndim == 2 and len(set(key)) == 1
    occupancy = (lazy_zeros if sparse_rows else np.zeros)((N_STATES, N_ACTIONS) if with_occupancy else (0, N_ACTIONS))
    for r, n in sorted(set(key)):
        w = dist[[t for t in range(horizon) if key[t] == (r, n)]].sum(axis=0)
        if tbl.ndim == 3:
            occ = w[:, None] * tbl[r]
            if with_occupancy:
                occupancy += occ
            if near is not None:
                share += float((occ * near[n]).sum())
        else:  # one action a state: only its column moves (no (5400, 96) temporary per row)
            if with_occupancy and sparse_rows:  # its only pass: (0 + w) / horizon is w / horizon, rows of
                rows = np.flatnonzero(w)  # weight 0 stay 0 (the same numbers, bit for bit, as the other path)
                occupancy[rows, tbl[r][rows]] = w[rows] / horizon
            elif with_occupancy:
                occupancy[np.arange(N_STATES), tbl[r]] += w
            if near is not None:
                share += float(w @ near[n][np.arange(N_STATES), tbl[r]])
    if with_occupancy and not sparse_rows:
        occupancy /= horizon  # in place: the same numbers as occupancy / horizon, no second (5400, 96) array
    return (occupancy if with_occupancy else None), share / horizon


def policy_values(params: AllianceParams, table: Any, reward: np.ndarray | None = None,
                  terminal: np.ndarray | None = None, every_block: bool = False) -> np.ndarray:
    """V^pi only (see :class:`ExactResult` for the layout).

    ``reward`` (5400, 96) replaces r(s, a) (a term of it, for ``agents.streams``; (5400, 96, n):
    n rewards at once, values (rows, 5400, n)); ``terminal`` (5400[, n]) replaces V*_inf of the
    continuation after a finite horizon; ``every_block`` solves a stationary scenario's every
    phase block, not only those reachable from s0."""
    params = check_params(params)
    return _values(_operator(params), params, normalize_table(table, params), reward, terminal, every_block)


def _values(op: Operator, params: AllianceParams, tbl: np.ndarray, reward: np.ndarray | None = None,
            terminal: np.ndarray | None = None, every_block: bool = False) -> np.ndarray:
    """:func:`policy_values` on checked parameters, their operator passed down."""
    if params.finite_horizon:
        end = _solve(params).values[params.horizon] if terminal is None else terminal
        return _finite_values(op, params, tbl, end, reward)
    return _stationary_values(op, params, tbl[0], reward, every_block)


def evaluate_table(params: AllianceParams, table: Any, solution: Solution | None = None) -> ExactResult:
    """Exact evaluation of a policy table (section 10): V^pi(s0), V*(s0), the occupancy from s0
    and the share of it on near-optimal actions (Q* >= V* - 0.01). ``solution``: the optimum of
    ``params`` when the caller has it (a batch of :func:`agents.solver.solve_batch`)."""
    params = check_params(params)
    tbl = normalize_table(table, params)
    sol = solution if solution is not None else _solve(params)  # params checked above: not again below
    if sol.params != params:
        raise ValueError("solution is not allowed: it is the optimum of other parameters than params")
    op = _operator(params)  # built once (cached per set) and passed down
    values = _values(op, params, tbl, terminal=sol.values[params.horizon] if params.finite_horizon else None)
    s0 = int(encode_states(np.array([params.start]))[0])
    dist = state_distribution(op, tbl, s0, params.horizon)
    occupancy, near_share = occupancy_of(tbl, dist, sol.near_optimal)
    return ExactResult(scenario=params.name, value=float(values[0, s0]), optimum=sol.value,
                       near_optimal_share=near_share, values=values, state_distribution=dist,
                       occupancy=occupancy, table=tbl)


def _reachable_finite_values(op: Operator, params: AllianceParams, tbl: np.ndarray, terminal: np.ndarray,
                             phases_at: list[list[int]]) -> np.ndarray:
    """V^pi_t of a deterministic table (rows, 5400) on the blocks reachable at each t only (NaN
    elsewhere), :func:`_finite_values`'s numbers there bit for bit: the same moves, rewards and sums,
    each block's moves kept across t and redone only on the states whose action changed."""
    values = np.full((params.horizon + 1, N_STATES), np.nan)
    values[params.horizon] = terminal
    op.tables.ensure(sorted({ph for at in phases_at for ph in at}))
    cache: dict = {}
    every = np.ones(BLOCK, dtype=bool)
    for t in reversed(range(params.horizon)):
        row = tbl[min(t, tbl.shape[0] - 1)]
        c = op.continuation(values[t + 1], t)
        for ph in phases_at[t]:
            rows = slice(ph * BLOCK, (ph + 1) * BLOCK)
            moves = _block_moves(op, row, ph, cache, every)
            values[t, rows] = _policy_reward(op, row, rows) + op.gamma * expect_moves(moves, c[ph], NEIGHBOURS)
    return values


def start_scores(params: AllianceParams, table: Any, solution: Solution, operator: Operator | None = None,
                 with_occupancy: bool = True) -> tuple[float, float, np.ndarray | None]:
    """:func:`evaluate_table`'s ``value``, ``near_optimal_share`` and ``occupancy`` (the same numbers),
    computed only on the phase blocks reachable from s0 (a finite horizon: those reachable at each t,
    a deterministic table; otherwise :func:`evaluate_table`'s own path). ``solution``: the optimum of
    ``params``; ``operator``: its tables when the caller has them (``agents.solver.iter_with_operators``);
    the occupancy None when not ``with_occupancy`` (a finite horizon: not built)."""
    params = check_params(params)
    tbl = normalize_table(table, params)
    if solution.params != params:
        raise ValueError("solution is not allowed: it is the optimum of other parameters than params")
    if not params.finite_horizon or tbl.ndim == 3:
        r = evaluate_table(params, tbl, solution=solution)
        return r.value, r.near_optimal_share, r.occupancy
    op = _operator(params) if operator is None else operator
    s0 = int(encode_states(np.array([params.start]))[0])
    at = reachable_phases(op, int(params.start[0]), params.horizon)
    values = _reachable_finite_values(op, params, tbl, solution.values[params.horizon], at)
    dist = state_distribution(op, tbl, s0, params.horizon)
    occupancy, near_share = occupancy_of(tbl, dist, solution.near_optimal, with_occupancy)
    return float(values[0, s0]), near_share, occupancy


def evaluate_policy(policy: Policy, params: AllianceParams, stochastic: bool | None = None) -> ExactResult:
    """Read ``policy`` off on every (t, state) and evaluate it exactly. ``stochastic=None`` uses
    the action distribution for a policy that only draws at random (the `random` baseline) and
    the deterministic actions otherwise."""
    if stochastic is None:
        stochastic = not as_policy(policy).deterministic_table
    return evaluate_table(params, policy_table(policy, params, stochastic=stochastic))


def optimal_policy(params: AllianceParams) -> TablePolicy:
    """The exact optimum as a policy (every phase block solved, time-dependent for timeline/calendar)."""
    sol = solve(check_params(params)).complete()
    return TablePolicy(params, sol.policy, name="optimal")

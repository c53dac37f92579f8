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

from agents.bellman import BLOCK
from agents.policy import Policy, TablePolicy, as_policy, policy_table
from agents.solver import Operator, block_order, check_params, operator, solve
from envs.params import N_PHASES, AllianceParams
from envs.spaces import N_ACTIONS, N_STATES, encode_states


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


def _full_moves(op: Operator, row: np.ndarray, phases: list[int]) -> np.ndarray:
    out = np.zeros((N_STATES, 243))
    if phases:
        moves = op.policy_moves(row, phases)
        for i, ph in enumerate(phases):
            out[ph * BLOCK:(ph + 1) * BLOCK] = moves[i * BLOCK:(i + 1) * BLOCK]
    return out


def _stationary_values(op: Operator, params: AllianceParams, row: np.ndarray, reward: np.ndarray | None = None,
                       every_block: bool = False) -> np.ndarray:
    """V^pi_inf on the blocks reachable from s0 (block-triangular linear solves), or on every
    block; NaN elsewhere. Phases only move up, so blocks solved last to first see their targets."""
    values = np.full((N_STATES,) + (() if reward is None else reward.shape[2:]), np.nan)
    target, prob = op.events(0)
    blocks = list(reversed(range(N_PHASES))) if every_block else block_order(op, params.start[0])
    moves = _full_moves(op, row, blocks)
    for ph in blocks:
        rows = slice(ph * BLOCK, (ph + 1) * BLOCK)
        e, nt = prob[ph], int(target[ph])
        p_block = op.block_matrix(moves[rows])
        rhs = _policy_reward(op, row, rows, reward)
        if e > 0:
            rhs = rhs + op.gamma * e * (p_block @ op.shocked(values[nt * BLOCK:(nt + 1) * BLOCK], nt))
        values[rows] = np.linalg.solve(np.eye(BLOCK) - op.gamma * (1.0 - e) * p_block, rhs)
    return values[None]


def _finite_values(op: Operator, params: AllianceParams, tbl: np.ndarray, terminal: np.ndarray,
                   reward: np.ndarray | None = None) -> np.ndarray:
    """V^pi_t by backward induction from V_T = V*_inf of the continuation (section 7)."""
    horizon = params.horizon
    values = np.empty((horizon + 1,) + np.shape(terminal))
    values[horizon] = terminal
    moves, moves_row, kernels = None, -1, None
    for t in reversed(range(horizon)):
        r = min(t, tbl.shape[0] - 1)
        if r != moves_row:
            moves, moves_row = op.policy_moves(tbl[r]), r
            if values.ndim > 2:  # n value functions: each block's kernel once, not n gathers per step
                kernels = [op.block_matrix(moves[ph * BLOCK:(ph + 1) * BLOCK]) for ph in range(N_PHASES)]
        c = op.continuation(values[t + 1], t)
        for ph in range(N_PHASES):
            rows = slice(ph * BLOCK, (ph + 1) * BLOCK)
            expected = kernels[ph] @ c[ph] if kernels is not None else op.expect_policy(c, moves[rows], ph)
            values[t, rows] = _policy_reward(op, tbl[r], rows, reward) + op.gamma * expected
    return values


def policy_values(params: AllianceParams, table: Any, reward: np.ndarray | None = None,
                  terminal: np.ndarray | None = None, every_block: bool = False) -> np.ndarray:
    """V^pi only (see :class:`ExactResult` for the layout).

    ``reward`` (5400, 96) replaces r(s, a) (a term of it, for ``agents.streams``; (5400, 96, n):
    n rewards at once, values (rows, 5400, n)); ``terminal`` (5400[, n]) replaces V*_inf of the
    continuation after a finite horizon; ``every_block`` solves a stationary scenario's every
    phase block, not only those reachable from s0."""
    params = check_params(params)
    tbl = normalize_table(table, params)
    op = operator(params)
    if params.finite_horizon:
        end = solve(params).values[params.horizon] if terminal is None else terminal
        return _finite_values(op, params, tbl, end, reward)
    return _stationary_values(op, params, tbl[0], reward, every_block)


def evaluate_table(params: AllianceParams, table: Any) -> ExactResult:
    """Exact evaluation of a policy table (section 10): V^pi(s0), V*(s0), the occupancy from s0
    and the share of it on near-optimal actions (Q* >= V* - 0.01)."""
    params = check_params(params)
    tbl = normalize_table(table, params)
    sol = solve(params)
    op = operator(params)
    values = policy_values(params, tbl)
    s0 = int(encode_states(np.array([params.start]))[0])
    horizon = params.horizon
    dist = np.zeros((horizon, N_STATES))
    occupancy = np.zeros((N_STATES, N_ACTIONS))
    near_share = 0.0
    d = np.zeros(N_STATES)
    d[s0] = 1.0
    moves, moves_key = None, None
    for t in range(horizon):
        dist[t] = d
        r = min(t, tbl.shape[0] - 1)
        row = tbl[r]
        near = sol.near_optimal[min(t, sol.near_optimal.shape[0] - 1)]
        if row.ndim == 2:
            occ_t = d[:, None] * row
        else:
            occ_t = np.zeros((N_STATES, N_ACTIONS))
            occ_t[np.arange(N_STATES), row] = d
        occupancy += occ_t
        near_share += float((occ_t * near).sum())
        if t + 1 < horizon:
            phases = [ph for ph in range(N_PHASES) if d[ph * BLOCK:(ph + 1) * BLOCK].any()]
            if moves_key != (r, tuple(phases)):
                moves, moves_key = _full_moves(op, row, phases), (r, tuple(phases))
            d = op.propagate(d, moves, t)
    return ExactResult(scenario=params.name, value=float(values[0, s0]), optimum=sol.value,
                       near_optimal_share=near_share / horizon, values=values, state_distribution=dist,
                       occupancy=occupancy / horizon, table=tbl)


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

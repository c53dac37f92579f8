"""The exact optimum of MODEL.md section 10.

- Stationary scenarios (``params.finite_horizon`` false): the infinite-horizon discounted optimum
  by policy iteration, one phase block at a time. Phases only move up (by hazard), so the blocks
  are solved from the last phase down, each with the values of the block it may enter held fixed
  (block-triangular). Policy evaluation is a dense linear solve of the 1080-state block.
- `timeline` and `calendar` (``params.finite_horizon`` true): the 44-step discounted optimum by
  backward induction over (t, state), with terminal values V*_inf of ``params.continuation()``
  (section 7).

Blocks: with all hazards 0 (every ``phaseN`` scenario and the `war` counterfactuals) the blocks
are independent and only the start phase's block bears on the reported value. :func:`solve`
solves the blocks reachable from the start phase; :meth:`Solution.complete` solves the others
(about 0.12 s each; 0.5 s for the four other blocks of `war`) when a policy must answer in every
state (:func:`agents.exact_eval.optimal_policy` does). Unsolved entries hold NaN (values) and -1
(actions); :meth:`Solution.start_table` fills them with action 0 for evaluation from s0.

Ties between optimal actions (Q within 1e-12 of the maximum) go to the lowest flat index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from agents.bellman import BLOCK, Operator
from envs.params import N_PHASES, AllianceParams
from envs.spaces import N_ACTIONS, N_STATES, encode_states

TIE = 1e-12  # section 10: ties between optimal actions within 1e-12 go to the lowest flat index
NEAR = 0.01  # section 10: Q*(s, a) >= V*(s) - 0.01 counts as near-optimal
MAX_ITERATIONS = 200


def check_params(params: object) -> AllianceParams:
    """The solver handles any :class:`AllianceParams`; anything else is a one-line ``ValueError``."""
    if not isinstance(params, AllianceParams):
        given = repr(params).replace("\n", " ")[:60]
        raise ValueError(f"params={given} ({type(params).__name__}) is not allowed: an envs.params.AllianceParams "
                         "(e.g. envs.scenarios.make_params('war'))")
    return params


def operator(params: AllianceParams) -> Operator:
    """The Bellman operator of a parameter set (cached). `timeline`/`calendar` share the tables of
    their continuation model (see :class:`agents.bellman.Operator`)."""
    return _operator(check_params(params))


@lru_cache(maxsize=4)
def _operator(params: AllianceParams) -> Operator:
    return Operator(params, params.continuation() if params.finite_horizon else None)


def lowest_argmax(q: np.ndarray) -> np.ndarray:
    """Per row, the lowest column whose value is within 1e-12 of the row's maximum."""
    return np.argmax(q >= q.max(axis=1, keepdims=True) - TIE, axis=1)


def block_order(op: Operator, start_phase: int) -> list[int]:
    """Phase blocks reachable from ``start_phase`` by phase events, in the order they can be
    solved (a block after every block it may enter)."""
    target, prob = op.events(0)
    reach, ph = [start_phase], start_phase
    while prob[ph] > 0:
        nxt = int(target[ph])
        if nxt <= ph:
            raise ValueError(f"phase event {ph}->{nxt} is not allowed for a stationary model: phases only move up")
        reach.append(nxt)
        ph = nxt
    return reach[::-1]


@dataclass(frozen=True, eq=False)
class Solution:
    """The optimum of one parameter set.

    ``values[t]`` is V*_t over all 5400 states (stationary: one row; finite horizon: rows
    t = 0..44, row 44 being V*_inf of the continuation model); ``policy[t]`` the optimal flat
    action (stationary: one row); ``near_optimal[t, s, a]`` is Q*_t(s, a) >= V*_t(s) - 0.01.
    """

    params: AllianceParams
    values: np.ndarray
    policy: np.ndarray
    near_optimal: np.ndarray
    continuation: Solution | None = None
    residual: dict[int, float] = field(default_factory=dict)  # per solved block: max |max_a Q - V|
    iterations: dict[int, int] = field(default_factory=dict)  # policy-iteration sweeps per block

    @property
    def value(self) -> float:
        """V*(s0) at the scenario's start state."""
        return float(self.values[0, encode_states(np.array([self.params.start]))[0]])

    @property
    def bellman_residual(self) -> float:
        """Largest residual of the stationary solve (or of the continuation for finite horizons;
        backward induction sets V_t = max_a Q_t exactly)."""
        src = self.continuation if self.continuation is not None else self
        return max(src.residual.values())

    def start_table(self) -> np.ndarray:
        """The optimal policy table for evaluation from s0: blocks not solved (unreachable from
        the start phase) hold action 0 instead of -1 — evaluation from s0 never visits them."""
        return np.where(self.policy < 0, 0, self.policy)

    def complete(self) -> Solution:
        """Solve any phase block not solved yet (stationary scenarios); returns ``self``."""
        if self.continuation is None:
            op = operator(self.params)
            for ph in reversed(range(N_PHASES)):
                if ph not in self.iterations:
                    for b in block_order(op, ph):
                        if b not in self.iterations:
                            _solve_block(self, op, b)
        return self


def _solve_block(sol: Solution, op: Operator, phase: int) -> None:
    """Policy iteration on one phase block, the blocks it may enter already solved."""
    rows = slice(phase * BLOCK, (phase + 1) * BLOCK)
    idx = np.arange(BLOCK)
    target, prob = op.events(0)
    e, nt = prob[phase], int(target[phase])
    values = sol.values[0]
    tilde = op.shocked(values[nt * BLOCK:(nt + 1) * BLOCK], nt) if e > 0 else np.zeros(BLOCK)
    reward = op.factors.reward[rows]
    full = np.zeros(N_STATES, dtype=np.int64)
    if e > 0:  # start greedy with respect to the values of the phase it may enter
        guess = (1.0 - e) * values[nt * BLOCK:(nt + 1) * BLOCK] + e * tilde
        pol = lowest_argmax(op.q_block(guess, phase))
    else:  # greedy with respect to "the best reward now, forever"
        pol = lowest_argmax(op.q_block(reward.max(axis=1) / (1.0 - op.gamma), phase))
    eye = np.eye(BLOCK)
    sweeps = 0
    while True:
        sweeps += 1
        full[rows] = pol
        p_block = op.block_matrix(op.policy_moves(full, [phase]))
        v = np.linalg.solve(eye - op.gamma * (1.0 - e) * p_block,
                            reward[idx, pol] + op.gamma * e * (p_block @ tilde))
        c = (1.0 - e) * v + e * tilde
        q = op.q_block(c, phase)
        best = q.max(axis=1)
        keep = q[idx, pol] >= best - TIE
        if keep.all():
            break
        if sweeps == MAX_ITERATIONS:
            raise RuntimeError(f"policy iteration did not converge in {MAX_ITERATIONS} sweeps on phase {phase}")
        pol = np.where(keep, pol, lowest_argmax(q))
    values[rows] = v
    sol.policy[0, rows] = lowest_argmax(q)
    sol.near_optimal[0, rows] = q >= v[:, None] - NEAR
    sol.residual[phase] = float(np.abs(best - v).max())
    sol.iterations[phase] = sweeps


def _solve_stationary(params: AllianceParams) -> Solution:
    op = operator(params)
    sol = Solution(params=params, values=np.full((1, N_STATES), np.nan),
                   policy=np.full((1, N_STATES), -1, dtype=np.int64),
                   near_optimal=np.zeros((1, N_STATES, N_ACTIONS), dtype=bool))
    for ph in block_order(op, params.start[0]):
        _solve_block(sol, op, ph)
    return sol


def _solve_finite(params: AllianceParams) -> Solution:
    cont = solve(params.continuation()).complete()
    op = operator(params)
    horizon = params.horizon
    values = np.empty((horizon + 1, N_STATES))
    policy = np.empty((horizon, N_STATES), dtype=np.int64)
    near = np.empty((horizon, N_STATES, N_ACTIONS), dtype=bool)
    values[horizon] = cont.values[0]
    for t in reversed(range(horizon)):
        c = op.continuation(values[t + 1], t)
        for ph in range(N_PHASES):
            rows = slice(ph * BLOCK, (ph + 1) * BLOCK)
            q = op.q_block(c[ph], ph)
            best = q.max(axis=1)
            values[t, rows] = best
            policy[t, rows] = lowest_argmax(q)
            near[t, rows] = q >= best[:, None] - NEAR
    return Solution(params=params, values=values, policy=policy, near_optimal=near, continuation=cont)


def solve(params: AllianceParams) -> Solution:
    """The exact optimum of ``params`` (cached per frozen parameter set)."""
    return _solve(check_params(params))


@lru_cache(maxsize=8)
def _solve(params: AllianceParams) -> Solution:
    return _solve_finite(params) if params.finite_horizon else _solve_stationary(params)


def q_values(solution: Solution, t: int = 0) -> np.ndarray:
    """Q*_t(s, a) for every state-action (recomputed from the stored values): (5400, 96)."""
    sol = solution
    if sol.continuation is None:
        sol.complete()
        t_next = 0
    else:
        t_next = t + 1
    op = operator(sol.params)
    c = op.continuation(sol.values[t_next], t)
    return np.concatenate([op.q_block(c[ph], ph) for ph in range(N_PHASES)])

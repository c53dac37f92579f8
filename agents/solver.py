"""The exact optimum of docs/model.md section 10.

- Stationary scenarios (``params.finite_horizon`` false): the infinite-horizon discounted optimum
  by policy iteration, one phase block at a time. Phases only move up (by hazard), so the blocks
  are solved from the last phase down, each with the values of the block it may enter held fixed
  (block-triangular). Policy evaluation is an exact linear solve of the 1080-state block (GMRES
  on the sparse kernel to the dense LU's accuracy, :mod:`agents.linear`); a modified policy
  iteration first (sparse sweeps of the policy's kernel, batched over the sets) finds the starting
  policy, so that a block mostly needs one exact evaluation (:mod:`agents.warm_start`;
  the result is the exact policy iteration's, which only stops on a policy greedy within 1e-12
  for its values solved to the dense LU's accuracy).
- `timeline` and `calendar` (``params.finite_horizon`` true): the 44-step discounted optimum by
  backward induction over (t, state), with terminal values V*_inf of ``params.continuation()``
  (section 7).

Blocks: with all hazards 0 (every ``phaseN`` scenario and the `war` counterfactuals) the blocks
are independent and only the start phase's block bears on the reported value. :func:`solve`
solves the blocks reachable from the start phase; :meth:`Solution.complete` solves the others
(about 0.12 s each; 0.5 s for the four other blocks of `war`) when a policy must answer in every
state (:func:`agents.exact_eval.optimal_policy` does). Unsolved entries hold NaN (values) and -1
(actions); :meth:`Solution.start_table` fills them with action 0 for evaluation from s0.
Finite horizons alike in :func:`solve_batch`: at each t only the blocks reachable from the start
phase by then (:func:`reachable_phases`; one block a quarter for `calendar`), and the continuation
only on the blocks reachable at t = 44 (Φ4 alone for `calendar`); :func:`solve` solves every
(t, block), as callers that start anywhere need.

Many parameter sets: :func:`solve_batch` solves K sets in one call (expectations and the sparse
sweeps on arrays over K, in chunks of ``CHUNK`` sets (``FINITE_CHUNK`` for finite horizons); one compact
table per set, nothing cached, each chunk's tables dropped after it);
:func:`solve` is the case K = 1 and caches. The inner loops (the stencil, Q and the greedy step, the
warm start's sweeps, a policy's moves and kernel) are compiled (:mod:`agents.compiled`, the same
arithmetic as the NumPy they replaced, bit for bit); building the tables is now about a fifth of a
stationary solve (``benchmarks/solver_speed.py`` times both against commit 5efa4c9);
:func:`solve_with_operators` also returns each set's :class:`Operator` for evaluations on the same
tables (``agents.sample_eval``).

Over 300 lines: the policy iteration, the backward induction and the batch entry point share the
:class:`Solution` layout, the tie rule and the block order; one file keeps them together (the warm
start, which shares none of them, is :mod:`agents.warm_start`).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from agents import warm_start
from agents.bellman import BLOCK, BlockColumns, Operator
from agents.linear import policy_kernel, solve_policy
from envs.params import N_PHASES, AllianceParams, short_repr
from envs.scenarios import params_from_mapping
from envs.spaces import N_ACTIONS, N_STATES, encode_states
from envs.tables import Tables

TIE = 1e-12  # section 10: ties between optimal actions within 1e-12 go to the lowest flat index
NEAR = 0.01  # section 10: Q*(s, a) >= V*(s) - 0.01 counts as near-optimal
MAX_ITERATIONS = 200
CHUNK = 4  # sets solved together: with the compiled loops, larger arrays over K only spill the caches
FINITE_CHUNK = 2  # finite horizons: a set's tables (five blocks, ~9 MB) dominate a chunk's memory; within 1% as fast


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
    """Per row (last axis), the lowest column whose value is within 1e-12 of the row's maximum."""
    return np.argmax(q >= q.max(axis=-1, keepdims=True) - TIE, axis=-1)


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


def reachable_phases(op: Operator, start_phase: int, horizon: int) -> list[list[int]]:
    """The phase blocks a state can be in at t = 0..horizon-1 from ``start_phase`` (phase events)."""
    out, now = [], {int(start_phase)}
    for t in range(horizon):
        out.append(sorted(now))
        target, prob = op.events(t)
        now = {ph for ph in now if prob[ph] < 1.0} | {int(target[ph]) for ph in now if prob[ph] > 0}
    return out


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
    q: np.ndarray | None = None  # Q*_0 (5400, 96) when solve_batch(..., q_values=True) was asked

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
        """Solve any phase block not solved yet; returns ``self``. A finite horizon takes the
        entries :func:`solve_batch` left unsolved (blocks not reachable from s0) from :func:`solve`."""
        if self.continuation is not None:
            self.continuation.complete()
            if np.isnan(self.values).any():
                full = _solve(self.params)
                self.values[...], self.policy[...], self.near_optimal[...] = full.values, full.policy, full.near_optimal
        else:
            op = _operator(self.params)
            for ph in reversed(range(N_PHASES)):
                if ph not in self.iterations:
                    for b in block_order(op, ph):
                        if b not in self.iterations:
                            _solve_block(self, op, b)
        return self


def _solve_blocks(sols: list[Solution], ops: list[Operator], phase: int) -> None:
    """Policy iteration on one phase block for K parameter sets at once, the blocks each may enter
    already solved. Expectations are batched over K; each policy evaluation is an exact linear solve
    of the 1080-state block per set (:func:`agents.linear.solve_policy`; a set leaves the loop when
    its policy is stable)."""
    k_all = len(ops)
    cols = BlockColumns([op.tables for op in ops], phase)
    gamma = np.array([op.gamma for op in ops])
    prob = np.array([op.events(0)[1][phase] for op in ops])
    nt = [int(op.events(0)[0][phase]) for op in ops]
    tilde = np.zeros((k_all, BLOCK))
    guess = cols.reward.max(axis=2) / (1.0 - gamma[:, None])
    for k, (sol, op) in enumerate(zip(sols, ops)):
        if prob[k] > 0:  # start greedy with respect to the values of the phase it may enter
            nxt = sol.values[0, nt[k] * BLOCK:(nt[k] + 1) * BLOCK]
            tilde[k] = op.shocked(nxt, nt[k])
            guess[k] = (1.0 - prob[k]) * nxt + prob[k] * tilde[k]
        # else greedy with respect to "the best reward now, forever"
    pol = cols.q_greedy(guess, gamma, TIE)[2]
    rows = np.arange(phase * BLOCK, (phase + 1) * BLOCK)
    idx = np.arange(BLOCK)
    pol, moves = warm_start.warm_policy(ops, cols, rows, pol, guess, prob, tilde, gamma, TIE)
    active = np.arange(k_all)
    sweeps = 0
    while active.size:
        sweeps += 1
        v = np.empty((active.size, BLOCK))
        for i, k in enumerate(active):
            op, e = ops[k], prob[k]
            kernel = policy_kernel(moves[k])
            rhs = cols.reward[k, idx, pol[k]] + gamma[k] * e * (kernel @ tilde[k])
            v[i] = solve_policy(kernel, rhs, gamma[k] * (1.0 - e), guess[k])
            guess[k] = v[i]
        c = (1.0 - prob[active, None]) * v + prob[active, None] * tilde[active]
        best, greedy, keep, near = cols.q_policy(c, gamma[active], TIE, pol, active, v, NEAR)
        done = keep.all(axis=1)
        if sweeps == MAX_ITERATIONS and not done.all():
            raise RuntimeError(f"policy iteration did not converge in {MAX_ITERATIONS} sweeps on phase {phase}")
        for i in np.flatnonzero(done):
            k, sol = active[i], sols[active[i]]
            sol.values[0, rows] = v[i]
            sol.policy[0, rows] = greedy[i]
            sol.near_optimal[0, rows] = near[i]
            sol.residual[phase] = float(np.abs(best[i] - v[i]).max())
            sol.iterations[phase] = sweeps
        for i in np.flatnonzero(~done):
            k = active[i]
            new = np.where(keep[i], pol[k], greedy[i])
            warm_start.update_moves(ops[k], rows, moves[k], pol[k], new)
            pol[k] = new
        active = active[~done]


def _solve_block(sol: Solution, op: Operator, phase: int) -> None:
    _solve_blocks([sol], [op], phase)


def _empty_solution(params: AllianceParams) -> Solution:
    return Solution(params=params, values=np.full((1, N_STATES), np.nan),
                    policy=np.full((1, N_STATES), -1, dtype=np.int64),
                    near_optimal=np.zeros((1, N_STATES, N_ACTIONS), dtype=bool))


def _stationary_batch(params: list[AllianceParams], ops: list[Operator], every_block: bool,
                      starts: list[set[int]] | None = None) -> list[Solution]:
    """Policy iteration for K stationary sets, on the blocks reachable from each set's start phase
    (``starts``: from each of these phases instead; ``every_block``: all five blocks)."""
    sols = [_empty_solution(p) for p in params]
    starts = [{int(p.start[0])} for p in params] if starts is None else starts
    orders = [set(range(N_PHASES)) if every_block else {b for ph in st for b in block_order(op, ph)}
              for st, op in zip(starts, ops)]
    for op, order in zip(ops, orders):  # phases only move up: check every block's event
        for ph in order:
            block_order(op, ph)
    for ph in reversed(range(N_PHASES)):  # a block after every block it may enter
        members = [k for k in range(len(params)) if ph in orders[k]]
        if members:
            _solve_blocks([sols[k] for k in members], [ops[k] for k in members], ph)
    return sols


def _unwritten_zeros(shape: tuple[int, ...]) -> np.ndarray:
    """A bool array of zeros in an anonymous mapping, so that only the pages written take memory:
    a finite horizon's near-optimal mask is written on the blocks reachable at each quarter only
    (one in five for `calendar`). ``np.zeros`` would do the same, but NumPy asks the kernel for huge
    pages (2 MB) on arrays this large, and one write per 518 kB quarter then touches every page."""
    n = int(np.prod(shape))
    return np.frombuffer(mmap.mmap(-1, max(n, 1)), dtype=np.bool_, count=n).reshape(shape)


def _finite_batch(params: list[AllianceParams], ops: list[Operator], conts: list[Solution],
                  reach: list[list[list[int]]] | None = None) -> list[Solution]:
    """Backward induction for K finite-horizon sets. ``reach[k][t]``: the phase blocks solved at t
    for set k (:func:`reachable_phases` from its start; the continuation ``conts[k]`` must hold the
    blocks reachable at t = horizon); other entries stay NaN (values) and -1 (actions). None: every
    block at every t."""
    horizon, k_all = params[0].horizon, len(params)
    values = np.full((k_all, horizon + 1, N_STATES), np.nan)
    policy = np.full((k_all, horizon, N_STATES), -1, dtype=np.int64)
    near = _unwritten_zeros((k_all, horizon, N_STATES, N_ACTIONS))
    values[:, horizon] = [c.values[0] for c in conts]
    gamma = np.array([op.gamma for op in ops])
    everyone = np.arange(k_all)
    cols: dict[int, BlockColumns] = {}
    first_use = {ph: 0 if reach is None else min((t for r in reach for t in range(horizon) if ph in r[t]), default=0)
                 for ph in range(N_PHASES)}  # a block's columns are dropped after its earliest quarter
    for t in reversed(range(horizon)):
        c = np.stack([op.continuation(values[k, t + 1], t) for k, op in enumerate(ops)])  # (K, 5, 1080)
        for ph in range(N_PHASES):
            if ph in cols and t < first_use[ph]:
                del cols[ph]
            sets = everyone if reach is None else np.array([k for k in everyone if ph in reach[k][t]], dtype=np.int64)
            if not sets.size:
                continue
            if ph not in cols:
                cols[ph] = BlockColumns([op.tables for op in ops], ph)
            rows = slice(ph * BLOCK, (ph + 1) * BLOCK)
            whole = sets.size == k_all
            at = near[:, t, rows] if whole else np.empty((sets.size, BLOCK, N_ACTIONS), dtype=bool)
            best, greedy = cols[ph].greedy_near(c[sets, ph], gamma[sets], TIE, NEAR, at,
                                                None if whole else sets)  # Q = r + gamma E[V], not kept
            values[sets, t, rows] = best
            policy[sets, t, rows] = greedy
            if not whole:
                near[sets, t, rows] = at
    return [Solution(params=p, values=values[k], policy=policy[k], near_optimal=near[k], continuation=conts[k])
            for k, p in enumerate(params)]


def _checked_list(params_list: object) -> list[AllianceParams]:
    if isinstance(params_list, AllianceParams | str) or not hasattr(params_list, "__len__"):
        raise ValueError(f"params_list={short_repr(params_list)} is not allowed: a non-empty list of "
                         "envs.params.AllianceParams (or scenario mappings)")
    if len(params_list) == 0:
        raise ValueError("params_list=[] is not allowed: at least one parameter set")
    out = []
    for i, p in enumerate(params_list):
        try:
            if isinstance(p, AllianceParams):
                p = replace(p)  # re-runs the range checks (a set changed behind the dataclass's back)
            elif isinstance(p, Mapping):
                p = params_from_mapping(p)
            else:
                check_params(p)
        except ValueError as err:
            raise ValueError(f"params_list[{i}]: {str(err).splitlines()[0]}") from None
        if (p.horizon, p.finite_horizon) != (out[0].horizon, out[0].finite_horizon) if out else False:
            raise ValueError(f"params_list[{i}].horizon={p.horizon} (finite_horizon={p.finite_horizon}) is not allowed: "
                             f"every set of a batch has the horizon of params_list[0] ({out[0].horizon}, "
                             f"finite_horizon={out[0].finite_horizon})")
        out.append(p)
    return out


def solve_batch(params_list: Sequence[AllianceParams | Mapping], q_values: bool = False) -> list[Solution]:
    """The exact optimum of K parameter sets in one call: what :func:`solve` returns, per set, in
    the order given. Expectations run on arrays over K (one compact table per set, nothing cached:
    a batch of thousands does not fill memory); ``solve(p)`` is the case K = 1 (and caches).

    ``params_list``: a non-empty list of :class:`AllianceParams` (or scenario mappings as
    :func:`envs.scenarios.params_from_mapping` reads them), all with the same horizon (stationary
    or finite). ``q_values=True`` also stores Q*_0 in each solution's ``q`` attribute (5400, 96),
    solving every block. Bad input is a one-line ``ValueError`` naming the index of the bad set.
    """
    return [sol for sol, _ in iter_with_operators(params_list, q_values)]  # each chunk's tables dropped after it


def solve_with_operators(params_list: Sequence[AllianceParams | Mapping],
                         q_values: bool = False) -> list[tuple[Solution, Operator]]:
    """:func:`solve_batch`, each solution with the :class:`Operator` (and so the tables) it was
    solved with, for exact evaluations after the solve (``agents.sample_eval``) on the same tables."""
    return list(iter_with_operators(params_list, q_values))


def iter_with_operators(params_list: Sequence[AllianceParams | Mapping],
                        q_values: bool = False) -> Iterator[tuple[Solution, Operator]]:
    """:func:`solve_with_operators` a chunk of ``CHUNK`` sets at a time (the input checked first,
    all of it): a caller that drops each pair after use holds one chunk's tables, not the batch's."""
    params = _checked_list(params_list)
    size = FINITE_CHUNK if params[0].finite_horizon else CHUNK
    for i in range(0, len(params), size):
        yield from _solve_chunk(params[i:i + size], q_values)


def _solve_chunk(params: list[AllianceParams], q_values: bool) -> list[tuple[Solution, Operator]]:
    if params[0].finite_horizon:
        cont_params = [p.continuation() for p in params]
        cont_tables = [Tables(p) for p in cont_params]  # sections 5.1, 5.3, 6 do not read the calendar
        cont_ops = [Operator(p, tables=tb) for p, tb in zip(cont_params, cont_tables)]
        ops = [Operator(p, tables=tb) for p, tb in zip(params, cont_tables)]
        if q_values:
            conts = _stationary_batch(cont_params, cont_ops, every_block=True)
            sols = _finite_batch(params, ops, conts)
        else:  # the blocks reachable from s0 at each quarter, and the continuation's from those at t = horizon
            reach = [reachable_phases(op, int(p.start[0]), p.horizon + 1) for p, op in zip(params, ops)]
            conts = _stationary_batch(cont_params, cont_ops, every_block=False, starts=[set(r[-1]) for r in reach])
            sols = _finite_batch(params, ops, conts, [r[:-1] for r in reach])
    else:
        ops = [Operator(p, tables=Tables(p)) for p in params]
        sols = _stationary_batch(params, ops, every_block=q_values)
    if q_values:
        for sol, op in zip(sols, ops):
            c = op.continuation(sol.values[1 if sol.continuation is not None else 0], 0)
            object.__setattr__(sol, "q", np.concatenate([op.q_block(c[ph], ph) for ph in range(N_PHASES)]))
    return list(zip(sols, ops))


def solve(params: AllianceParams) -> Solution:
    """The exact optimum of ``params`` (cached per frozen parameter set)."""
    return _solve(check_params(params))


@lru_cache(maxsize=8)
def _solve(params: AllianceParams) -> Solution:
    if params.finite_horizon:  # params checked by solve(); one operator per set (cached), passed down
        cont = _solve(params.continuation()).complete()
        return _finite_batch([params], [_operator(params)], [cont])[0]
    op = _operator(params)
    return _stationary_batch([params], [op], every_block=False)[0]


def q_values(solution: Solution, t: int = 0) -> np.ndarray:
    """Q*_t(s, a) for every state-action (recomputed from the stored values): (5400, 96)."""
    sol = solution
    if sol.continuation is None:
        sol.complete()
        t_next = 0
    else:
        t_next = t + 1
    op = _operator(sol.params)  # a Solution's params were checked when it was solved
    c = op.continuation(sol.values[t_next], t)
    return np.concatenate([op.q_block(c[ph], ph) for ph in range(N_PHASES)])

"""The warm start of the exact policy iteration (:mod:`agents.solver`): a modified policy iteration,
batched over the parameter sets, that finds the policy the exact iteration starts from. It changes
only how many exact evaluations a block needs, never the optimum (tests/agents/test_solve_batch.py
solves without it and compares)."""

from __future__ import annotations

import numpy as np

from agents import compiled
from agents.bellman import BLOCK, NEIGHBOURS, BlockColumns, Operator

WARM_ROUNDS = 12  # modified policy iteration rounds before the exact one
WARM_SWEEPS = 30  # sparse sweeps per round (~66k nonzeros a set): most blocks then need one exact evaluation


def update_moves(op: Operator, rows: np.ndarray, moves: np.ndarray, old: np.ndarray, new: np.ndarray) -> None:
    """Recompute, in place, the move rows (of ``Operator._moves``) of the states whose action changed."""
    changed = np.flatnonzero(old != new)
    if changed.size:
        moves[changed] = op._moves(rows[changed], new[changed])


def warm_policy(ops: list[Operator], cols: BlockColumns, rows: np.ndarray, pol: np.ndarray, v: np.ndarray,
                 prob: np.ndarray, tilde: np.ndarray, gamma: np.ndarray, tie: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Modified policy iteration, batched over K, to find a starting policy for the exact policy
    iteration of :func:`agents.solver._solve_blocks` (which then mostly needs one exact evaluation per set): each
    round evaluates the greedy policy approximately by ``WARM_SWEEPS`` sparse sweeps
    ``v <- r_pi + gamma E_pi[c(v)]`` (the policy's kernel as a sparse matrix, set by set:
    :func:`agents.compiled.sweeps`), then improves it on every action (the stencil). A set leaves
    when its policy is stable; ``tie`` is the solver's tie rule. The exact optimum does not depend on this start: it only saves exact
    evaluations. Returns the policies and their moves (K, 1080, 243) (kept up to date row by row:
    only states whose action changed are redone)."""
    pol = pol.copy()
    active = np.arange(len(ops))
    moves = np.empty((len(ops), BLOCK, NEIGHBOURS.shape[1]))  # updated row by row as policies change
    for k in active:
        ops[k]._moves(rows, pol[k], out=moves[k])
    for _ in range(WARM_ROUNDS):
        g, e = gamma[active, None], prob[active, None]
        base = cols.reward[active[:, None], np.arange(BLOCK), pol[active]]
        x = v[active]
        sub = moves if active.size == len(ops) else moves[active]
        compiled.sweeps(sub, NEIGHBOURS, base, tilde[active], g[:, 0] * e[:, 0], g[:, 0] * (1.0 - e[:, 0]), x,
                        WARM_SWEEPS)
        v[active] = x
        c = (1.0 - e) * x + e * tilde[active]
        _, greedy, keep, _ = cols.q_policy(c, gamma[active], tie, pol, active)
        stable = keep.all(axis=1)
        for i in np.flatnonzero(~stable):
            k = active[i]
            new = np.where(keep[i], pol[k], greedy[i])
            update_moves(ops[k], rows, moves[k], pol[k], new)
            pol[k] = new
        active = active[~stable]
        if not active.size:
            break
    return pol, moves

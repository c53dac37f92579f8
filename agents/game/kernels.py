"""Move kernels of the patron game with any real weights over both players' actions (the
homotopy's Jacobian blocks, :mod:`agents.game.homotopy`; docs/model.md section 11)."""

from __future__ import annotations

import numpy as np

from agents.bellman import NEIGHBOURS
from agents.game.operator import GameOperator
from agents.linear import policy_kernel
from envs.spaces import N_ACTIONS


class Kernels:
    """Move kernels sum_aS sum_aP w_s w_p P(s' | s, aS, aP) on the block for any real weights (the
    Jacobian's blocks have signed ones): R's moves mixed over w_p, then each branch (aS, M) of weight
    w_s Pr(M | s, aS) the product of the five variables' moves (:func:`agents.game.factored.mix_moves`,
    compiled, read off the operator's tables: nothing is held per kernel; on a profile it equals
    ``GameOperator.profile_moves`` to rounding)."""

    def __init__(self, op: GameOperator):
        self.op = op

    def moves(self, w_s: np.ndarray, w_p: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(n, 243) move rows of the weights (``agents.linear.policy_kernel`` makes the kernel); with
        ``rows``, those states' only (the weights given for them)."""
        states = np.arange(self.op.rows.size) if rows is None else np.asarray(rows, dtype=np.int64)
        return self.op.mixed_moves(states, w_s, w_p)

    def dense(self, w_s: np.ndarray, w_p: np.ndarray) -> np.ndarray:
        """The kernel as a dense (n, n) array."""
        return policy_kernel(self.moves(w_s, w_p)).toarray()

    def dense_rows(self, w_s: np.ndarray, w_p: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The kernel's ``rows`` only, dense (len(rows), n), for those rows' weights."""
        mv = self.moves(w_s, w_p, rows)
        out = np.zeros((len(rows), self.op.rows.size))
        np.add.at(out, (np.arange(len(rows))[:, None], NEIGHBOURS[rows]), mv)
        return out


def pair_moves(op: GameOperator, states: np.ndarray, acts: np.ndarray, w_s: np.ndarray, w_p: np.ndarray) -> np.ndarray:
    """Move rows (N, 243) of N (state, weights) rows: row i mixes the small state's actions
    ``acts[i]`` (N, w) with weights ``w_s[i]`` (N, w) and the patron's 24 actions with ``w_p[i]``
    (N, 24), nonnegative with positive sums (``GameOperator.profile_moves`` on a list of states
    rather than the block, to rounding: :func:`agents.game.factored.mix_moves`); linear in each
    player's weights. The support polish (:mod:`agents.game.polish`) takes a row per (state, own
    action) this way."""
    states, acts = np.asarray(states, dtype=np.int64), np.asarray(acts, dtype=np.int64)
    full = np.zeros((states.size, N_ACTIONS))
    np.add.at(full, (np.arange(states.size)[:, None], acts), w_s)
    return op.mixed_moves(states, full, w_p)

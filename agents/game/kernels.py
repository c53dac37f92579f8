"""Move kernels of the patron game with any real weights over both players' actions (the
homotopy's Jacobian blocks, :mod:`agents.game.homotopy`; docs/model.md section 11)."""

from __future__ import annotations

import numpy as np

from agents.bellman import NEIGHBOURS
from agents.game.operator import GameOperator
from agents.linear import policy_kernel
from envs import model
from envs.tables import VARS


class Kernels:
    """Move kernels sum_aS sum_aP w_s w_p P(s' | s, aS, aP) on the block for any real weights (the
    Jacobian's blocks have signed ones). T, A, W and X do not read the patron's action, so their
    product moves for every (s, aS, M) are made once (``envs.model.move_mixture`` on each branch
    alone, R held still); a kernel then mixes R's moves over w_p and the branches over w_s and M
    (the weights of ``GameOperator.profile_moves``, whose kernel this equals on a profile)."""

    def __init__(self, op: GameOperator):
        self.op = op
        self.j = VARS.index("R")
        t, r = op._t_level, op._r_level
        self.r_up = op.game.r_up[t, r]  # (n, 96, 24, 2)
        self.r_down = op.game.r_down[t, r]
        self.others = []
        for m in (0, 1):
            up, down = (x.copy() for x in op._moves[m])  # (n, 96, 5)
            up[:, :, self.j] = down[:, :, self.j] = 0.0
            rows = up.shape[0] * up.shape[1]
            full = model.move_mixture(up.reshape(rows, 1, 5), down.reshape(rows, 1, 5), np.ones((rows, 1)))
            held = full.reshape((up.shape[0], up.shape[1]) + (3,) * 5).take(1, axis=2 + self.j)
            self.others.append(np.ascontiguousarray(held.reshape(up.shape[0], up.shape[1], 81).transpose(0, 2, 1)))

    def moves(self, w_s: np.ndarray, w_p: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(n, 243) move rows of the weights (``agents.linear.policy_kernel`` makes the kernel); with
        ``rows``, those states' only (the weights given for them)."""
        rows = slice(None) if rows is None else rows
        total = w_p.sum(axis=1)[:, None]
        out = 0.0
        for m in (0, 1):
            up = np.einsum("sap,sp->sa", self.r_up[rows, ..., m], w_p)
            down = np.einsum("sap,sp->sa", self.r_down[rows, ..., m], w_p)
            pm = self.op._p_med[rows]
            weight = w_s * (pm if m else 1.0 - pm)
            r_dist = np.stack([down, total - up - down, up], axis=2) * weight[:, :, None]  # (n, 96, 3)
            out = out + np.matmul(self.others[m][rows], r_dist)  # (n, 81, 3)
        n = out.shape[0]
        return np.moveaxis(out.reshape((n,) + (3,) * 5), 5, 1 + self.j).reshape(n, 243)

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
    rather than the block: R's moves mixed over w_p, the product rows over a_S and M by
    ``envs.model.move_mixture``); linear in each player's weights. The support polish
    (:mod:`agents.game.polish`) takes a row per (state, own action) this way."""
    states, acts = np.asarray(states, dtype=np.int64), np.asarray(acts, dtype=np.int64)
    rows = states[:, None]
    j = VARS.index("R")
    t, r = op._t_level[rows], op._r_level[rows]
    total = w_p.sum(axis=1)
    w_p = w_p / total[:, None]  # R's moves are a probability mixture; the total scales the row
    ups, downs, weights = [], [], []
    for m in (0, 1):
        up, down = (x[rows, acts] for x in op._moves[m])  # (N, w, 5), copies
        up[:, :, j] = np.einsum("snp,sp->sn", op.game.r_up[t, r, acts, :, m], w_p)
        down[:, :, j] = np.einsum("snp,sp->sn", op.game.r_down[t, r, acts, :, m], w_p)
        pm = op._p_med[rows, acts]
        ups.append(up)
        downs.append(down)
        weights.append(w_s * total[:, None] * (pm if m else 1.0 - pm))
    return model.move_mixture(np.concatenate(ups, axis=1), np.concatenate(downs, axis=1),
                              np.concatenate(weights, axis=1))

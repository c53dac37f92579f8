"""E[V(s') | s, a_S, a_P] of the patron game factorised over R's move (docs/model.md section 11),
and the moves of a profile, compiled, without arrays over every (s, a_S, a_P) unless asked for.

Why it factorises: given (s, a_S, M) the five variables move independently, and the patron's action
enters only R's Pr(up), Pr(down) (``envs.game_tables``). The stencil of ``agents.bellman`` sums the
variables one at a time in the order W, X, T, R, A; its R stage is ``g + up_R (g[R+1] - g) + down_R
(g[R-1] - g)`` with up_R, down_R read at the source (T, R), and the A stage after it is linear along
A with weights that do not read a_P, so it commutes with multiplying by a function of (T, R). Hence

    E(s, a_S, a_P, M) = B0(s, a_S, M) + up_R(T, R, a_S, a_P, M) B+(s, a_S, M) + down_R(...) B-(s, a_S, M)

with B0 = L_A[g], B+ = L_A[g[R+1] - g], B- = L_A[g[R-1] - g] from the stencil over the (a_S, M)
columns only (the 96 under M = 0, those that can mediate under M = 1: :class:`FactoredStencil`), and E mixed over M as ``e0 + Pr(M = 1) (e1 - e0)``. The
numbers agree with the stencil over every (a_S, a_P, M) column to rounding (~1e-16 relative).
"""

from __future__ import annotations

import numba
import numpy as np

from agents import compiled
from agents.bellman import _STEPS, ORDER, BlockColumns, _groups
from envs.game_tables import N_PATRON, SIGMA, PatronBlock
from envs.jit_cache import freshen
from envs.spaces import N_ACTIONS
from envs.tables import BLOCK, LEVELS, VARS, Tables

R = VARS.index("R")


class FactoredStencil(BlockColumns):
    """The stencil over the (a_S, M) columns of one block with R's stage split into B0, B+, B- (the
    module docstring), and R's compact tables of the game (``PatronBlock.r_up``/``r_down``) by
    (T, R) combination, (20, 2, 96, 24) over (M, a_S, a_P), with each state's combination ``tr``."""

    def __init__(self, tables: Tables, game: PatronBlock, phase: int):
        self.p_med = np.ascontiguousarray(tables.mediation_block(phase))  # (1080, 96): M does not read a_P
        self.med = np.flatnonzero((self.p_med > 0).any(axis=0))
        a_s = np.concatenate([np.arange(N_ACTIONS), self.med])
        med = np.concatenate([np.zeros(N_ACTIONS, np.int64), np.ones(self.med.size, np.int64)])
        columns = {}
        for var in VARS:
            up, down = tables.move_table(var, phase)
            pair = tuple(np.moveaxis(x[..., a_s, med], -1, 0)[None] for x in (up, down))
            columns[var] = tuple(np.zeros_like(x) for x in pair) if var == "R" else pair  # R: split, not summed
        plan, final = _groups(columns)
        self.stages = [(2 + VARS.index(var), columns[var][0][:, first], columns[var][1][:, first], parent)
                       for var, first, parent in plan]
        self.r_stage = ORDER.index("R")
        self.final = np.ascontiguousarray(final, dtype=np.int64)
        self.med_of = np.full(N_ACTIONS, -1, dtype=np.int64)
        self.med_of[self.med] = np.arange(self.med.size)
        shape = (LEVELS[0] * LEVELS[2], N_ACTIONS, N_PATRON, 2)  # by (T, R), M before a_S: a row over a_P is contiguous
        self.r_up, self.r_down = (np.ascontiguousarray(x.reshape(shape).transpose(0, 3, 1, 2)) for x in (game.r_up, game.r_down))
        levels = np.unravel_index(np.arange(BLOCK), LEVELS)
        self.tr = (levels[0] * LEVELS[2] + levels[2]).astype(np.int64)

    def parts(self, c: np.ndarray) -> np.ndarray:
        """(3, K, classes, 1080): B0, B+, B- for values ``c`` (K, 1080); column j is class ``final[j]``."""
        g = np.ascontiguousarray(c, dtype=np.float64).reshape(-1, 1, BLOCK)
        k = g.shape[0]
        for i, (up, down, key, above, below, parent) in enumerate(self._compiled_stages()):
            if i == self.r_stage:
                g = g[:, parent]
                split = np.empty((3 * k,) + g.shape[1:])
                split[:k] = g
                np.subtract(g[:, :, _STEPS[R][0]], g, out=split[k:2 * k])
                np.subtract(g[:, :, _STEPS[R][1]], g, out=split[2 * k:])
                g = split
            else:
                out = np.empty((g.shape[0], parent.size, BLOCK))
                compiled.stage(g, parent, up, down, key, above, below, out)
                g = out
        return g.reshape(3, k, g.shape[1], BLOCK)

    def _args(self) -> tuple:
        return self.final, self.med_of, self.p_med, self.r_up, self.r_down, self.tr

    def expect(self, c: np.ndarray, rewards: tuple[np.ndarray, ...] | None = None,
               gamma: float = 1.0) -> np.ndarray:
        """E[V(s')] (K, 1080, 96, 24) for values ``c`` (K, 1080); with ``rewards`` (one (1080, 96, 3)
        array by the patron's sigma per row of ``c``: ``PatronBlock.reward_small_sigma``),
        ``reward + gamma E`` instead, into one new array."""
        b = self.parts(c)
        out = np.empty((b.shape[1], BLOCK, N_ACTIONS, N_PATRON))
        none = np.empty((0, 0, 0))
        for k in range(b.shape[1]):
            reward = none if rewards is None else rewards[k]
            _expect_into(b[:, k], *self._args(), reward, SIGMA, float(gamma), out[k])
        return out

    def fold(self, c: np.ndarray, player: str, other: np.ndarray) -> np.ndarray:
        """E[V(s')] of values ``c`` (1080,) with the other player's weights folded in: for
        "small_state" sum over a_P of ``other`` (1080, 24) times E, (1080, 96); for "patron" sum over
        a_S of ``other`` (1080, 96) times E, (1080, 24) (weights of 0 skipped)."""
        b = self.parts(np.asarray(c, dtype=np.float64)[None])[:, 0]
        w = np.ascontiguousarray(other, dtype=np.float64)
        if player == "small_state":
            out = np.empty((BLOCK, N_ACTIONS))
            _fold_patron(b, *self._args(), w, out)
        else:
            out = np.zeros((BLOCK, N_PATRON))
            _fold_small(b, *self._args(), w, out)
        return out


@numba.njit(cache=True, inline="always")
def _row(b, final, med_of, p_med, r_up, r_down, s, t, a, o):  # noqa: PLR0913
    """o[q] = E[s, a, q] for every q: ``e0 + Pr(M = 1) (e1 - e0)`` where a can mediate, else e0
    (indexed in place: a view per row costs more than the row in numba)."""
    n_a = med_of.shape[0]
    c = final[a]
    b0, bp, bm = b[0, c, s], b[1, c, s], b[2, c, s]
    j = med_of[a]
    if j < 0:
        for q in range(o.shape[0]):
            o[q] = b0 + r_up[t, 0, a, q] * bp + r_down[t, 0, a, q] * bm
        return
    c1 = final[n_a + j]
    b10, b1p, b1m = b[0, c1, s], b[1, c1, s], b[2, c1, s]
    pm = p_med[s, a]
    for q in range(o.shape[0]):
        e = b0 + r_up[t, 0, a, q] * bp + r_down[t, 0, a, q] * bm
        o[q] = e + pm * ((b10 + r_up[t, 1, a, q] * b1p + r_down[t, 1, a, q] * b1m) - e)


@numba.njit(cache=True)
def _expect_into(b, final, med_of, p_med, r_up, r_down, tr, reward, sigma, gamma, out):  # noqa: PLR0913
    """out[s, a, q] = E of parts ``b`` (3, C, n), or ``reward[s, a, sigma[q]] + gamma E`` when
    ``reward`` (n, 96, 3), the rewards by the patron's sigma, is not empty."""
    n, n_a, n_q = out.shape
    with_reward = reward.shape[0] > 0
    o = np.empty(n_q)
    for s in range(n):
        for a in range(n_a):
            _row(b, final, med_of, p_med, r_up, r_down, s, tr[s], a, o)
            if with_reward:
                for q in range(n_q):
                    out[s, a, q] = reward[s, a, sigma[q]] + gamma * o[q]
            else:
                for q in range(n_q):
                    out[s, a, q] = o[q]


@numba.njit(cache=True)
def _fold_patron(b, final, med_of, p_med, r_up, r_down, tr, w, out):  # noqa: PLR0913
    """out[s, a] = sum over q of w[s, q] E[s, a, q] (the q of weight 0 skipped; indexed in place, no
    views in the loop: a pure patron is one q per state)."""
    n, n_a = out.shape
    n_q = w.shape[1]
    played = np.empty(n_q, dtype=np.int64)
    for s in range(n):
        m = 0
        for q in range(n_q):
            if w[s, q] != 0.0:
                played[m] = q
                m += 1
        t = tr[s]
        for a in range(n_a):
            c = final[a]
            b0, bp, bm = b[0, c, s], b[1, c, s], b[2, c, s]
            j = med_of[a]
            acc = 0.0
            if j < 0:
                for i in range(m):
                    q = played[i]
                    acc += w[s, q] * (b0 + r_up[t, 0, a, q] * bp + r_down[t, 0, a, q] * bm)
            else:
                c1 = final[n_a + j]
                b10, b1p, b1m = b[0, c1, s], b[1, c1, s], b[2, c1, s]
                pm = p_med[s, a]
                for i in range(m):
                    q = played[i]
                    e = b0 + r_up[t, 0, a, q] * bp + r_down[t, 0, a, q] * bm
                    acc += w[s, q] * (e + pm * ((b10 + r_up[t, 1, a, q] * b1p + r_down[t, 1, a, q] * b1m) - e))
            out[s, a] = acc


@numba.njit(cache=True)
def _fold_small(b, final, med_of, p_med, r_up, r_down, tr, w, out):  # noqa: PLR0913
    """out[s, q] = sum over a of w[s, a] E[s, a, q] (out zeroed by the caller; weights of 0 skipped)."""
    n, n_q = out.shape
    o = np.empty(n_q)
    for s in range(n):
        for a in range(w.shape[1]):
            wa = w[s, a]
            if wa == 0.0:
                continue
            _row(b, final, med_of, p_med, r_up, r_down, s, tr[s], a, o)
            for q in range(n_q):
                out[s, q] += wa * o[q]


@numba.njit(cache=True)
def mix_moves(up, down, move_keys, p_med, r_up, r_down, tr, states, w_s, w_p, linear, out):  # noqa: PLR0913
    """Move rows ``out`` (N, 243) (offsets T slowest, X fastest) of N rows: row i mixes, for state
    ``states[i]``, the branches (a_S, M) with weight ``w_s[i, a] Pr(M | s, a)`` (weights of 0
    skipped), each the product of the five variables' moves: T, A, W, X from the single-agent tables
    ``up``/``down`` as ``envs.tables.Tables`` holds them (variable j of (s, a, M) at ``move_keys[s,
    j] + a * 2 + M``; R's not read), R with Pr(up), Pr(down) mixed over a_P with ``w_p[i]``: ``envs.model.move_mixture`` of
    ``GameOperator.profile_moves``'s branches, to rounding. R's stay is ``1 - up - down`` (a profile)
    or, ``linear``, ``sum(w_p) - up - down`` (any real weights: linear in each player's)."""
    n_rows = states.shape[0]
    n_a, n_q = w_s.shape[1], w_p.shape[1]
    pv = np.empty((5, 3))
    t1 = np.empty(3)
    t2 = np.empty(9)
    t3 = np.empty(27)
    t4 = np.empty(81)
    for i in range(n_rows):
        s = states[i]
        t = tr[s]
        total = 0.0
        for q in range(n_q):
            total += w_p[i, q]
        for k in range(243):
            out[i, k] = 0.0
        for a in range(n_a):
            wa = w_s[i, a]
            if wa == 0.0:
                continue
            pm = p_med[s, a]
            for m in range(2):
                w = wa * pm if m == 1 else wa * (1.0 - pm)
                if w == 0.0:
                    continue
                for j in range(5):
                    if j == R:
                        ru = 0.0
                        rd = 0.0
                        for q in range(n_q):
                            ru += r_up[t, m, a, q] * w_p[i, q]
                            rd += r_down[t, m, a, q] * w_p[i, q]
                        pv[j, 0] = rd
                        pv[j, 1] = (total if linear else 1.0) - ru - rd
                        pv[j, 2] = ru
                    else:
                        key = move_keys[s, j] + a * 2 + m
                        u = up[key]
                        d = down[key]
                        pv[j, 0] = d
                        pv[j, 1] = 1.0 - u - d
                        pv[j, 2] = u
                for x in range(3):
                    t1[x] = w * pv[0, x]
                for x in range(3):
                    for y in range(3):
                        t2[x * 3 + y] = t1[x] * pv[1, y]
                for x in range(9):
                    for y in range(3):
                        t3[x * 3 + y] = t2[x] * pv[2, y]
                for x in range(27):
                    for y in range(3):
                        t4[x * 3 + y] = t3[x] * pv[3, y]
                for x in range(81):
                    for y in range(3):
                        out[i, x * 3 + y] += t4[x] * pv[4, y]


freshen(__name__, ("envs", "agents"))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)

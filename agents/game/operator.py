"""The Bellman operator of the patron game (docs/model.md section 11) on one phase block.

Built once per parameter set and passed down to every game solver (best responses, NashConv,
the equilibrium search): the single-agent tables (``envs.tables``) for T, A, W, X and M, the
game's tables (``envs.game_tables``: R's moves and both rewards over the patron's 24 actions),
and the stencil of ``agents.bellman`` over every (a_S, a_P, M) column. Nothing here computes a
probability or a reward: they all come from ``envs.model`` through those tables.

Scope: stationary scenarios whose start phase is absorbing (every ``phaseN`` scenario, `war` and its
counterfactuals: all hazards 0), so the game lives on one block of 1,080 states; section 11's MPE
and best responses are defined there. `timeline`/`calendar` commitments go through
:mod:`agents.game.commitment` (a commitment is a scenario override) instead.

Policies: the small state's is a (1080, 96) array of action probabilities on the block, the
patron's a (1080, 24) array; a pure policy is a one-hot row per state (:func:`pure`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from agents.bellman import BLOCK, BlockColumns, Operator, _groups
from agents.linear import policy_kernel, solve_policy
from agents.solver import check_params
from envs import model
from envs.game_tables import N_PATRON, PatronBlock, patron_block
from envs.params import AllianceParams, short_repr
from envs.spaces import N_ACTIONS, encode_states
from envs.tables import LEVELS, VARS, Tables, build_tables

PROB_TOL = 1e-9  # a mixed policy's rows must sum to 1 within this


def pure(actions: np.ndarray, n: int) -> np.ndarray:
    """One-hot rows (len(actions), n) of flat actions."""
    out = np.zeros((len(actions), n))
    out[np.arange(len(actions)), np.asarray(actions, dtype=np.int64)] = 1.0
    return out


def check_policy(policy: object, n: int, name: str) -> np.ndarray:
    """A (1080, n) array of probabilities (or (1080,) flat actions, made one-hot); a one-line
    ``ValueError`` naming ``name`` otherwise."""
    arr = np.asarray(policy)
    if arr.ndim == 1 and arr.shape == (BLOCK,) and arr.dtype.kind in "iu":
        if arr.min() < 0 or arr.max() >= n:
            raise ValueError(f"{name}={short_repr(arr)} is not allowed: flat actions in 0..{n - 1}")
        return pure(arr, n)
    if arr.shape != (BLOCK, n) or arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} of shape {arr.shape} is not allowed: ({BLOCK}, {n}) probabilities or ({BLOCK},) actions")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or arr.min() < 0:
        raise ValueError(f"{name} is not allowed: probabilities must be finite and >= 0")
    worst = float(np.abs(arr.sum(axis=1) - 1.0).max())
    if worst > PROB_TOL:
        raise ValueError(f"{name} is not allowed: each state's probabilities must sum to 1 (off by {worst:.3g})")
    return arr


class GameColumns(BlockColumns):
    """:class:`agents.bellman.BlockColumns` over the game's columns: every (a_S, a_P) of the given
    actions (default all 96 x 24) under M = 0, and those whose a_S can mediate under M = 1. T, A, W, X
    read a_S and M only (the single-agent tables); R reads a_P too (:class:`envs.game_tables.PatronBlock`)."""

    def __init__(self, tables: Tables, game: PatronBlock, phase: int, small: np.ndarray | None = None,
                 patron: np.ndarray | None = None):
        self.small = np.arange(N_ACTIONS) if small is None else np.asarray(small, dtype=np.int64)
        self.patron = np.arange(N_PATRON) if patron is None else np.asarray(patron, dtype=np.int64)
        p_med = tables.mediation_block(phase)[:, self.small]  # (1080, n_s): M does not read a_P
        self.p_med = p_med[None]
        self.med = np.flatnonzero((p_med > 0).any(axis=0))  # positions in self.small that can mediate
        n_s, n_p = self.small.size, self.patron.size
        a_s = np.concatenate([np.repeat(self.small, n_p), np.repeat(self.small[self.med], n_p)])
        a_p = np.tile(self.patron, n_s + self.med.size)
        med = np.concatenate([np.zeros(n_s * n_p, np.int64), np.ones(self.med.size * n_p, np.int64)])
        columns = {}
        for var in VARS:
            if var == "R":
                r_shape = (LEVELS[0], 1, LEVELS[2], 1, 1)
                pair = tuple(np.moveaxis(x[:, :, a_s, a_p, med], -1, 0).reshape((-1,) + r_shape)[None]
                             for x in (game.r_up, game.r_down))
            else:
                up, down = tables.move_table(var, phase)
                pair = tuple(np.moveaxis(x[..., a_s, med], -1, 0)[None] for x in (up, down))
            columns[var] = pair
        plan, self.final = _groups(columns)
        self.stages = [(2 + VARS.index(var), columns[var][0][:, first], columns[var][1][:, first], parent)
                       for var, first, parent in plan]

    def expect_game(self, c: np.ndarray) -> np.ndarray:
        """E[V(s') | s, a_S, a_P] for values ``c`` (K, 1080) over the columns' actions, action-major:
        (K, n_small, n_patron, 1080)."""
        out = self.grouped(c)  # (K, classes, 1080)
        n_s, n_p = self.small.size, self.patron.size
        e = out[:, self.final[:n_s * n_p]].reshape(c.shape[0], n_s, n_p, BLOCK)
        if self.med.size:
            pm = self.p_med[0].T[self.med][:, None, :]  # (m, 1, 1080)
            e1 = out[:, self.final[n_s * n_p:]].reshape(c.shape[0], self.med.size, n_p, BLOCK)
            e[:, self.med] += pm * (e1 - e[:, self.med])
        return e


class GameOperator:
    """Everything the game's exact solvers need on the start block of ``params`` (built once)."""

    def __init__(self, params: AllianceParams):
        params = check_params(params)
        moving = params.hazard[params.start[0]] > 0 and params.start[0] < len(params.hazard) - 1
        if params.finite_horizon or moving:
            raise ValueError(f"scenario={params.name!r} is not allowed for the game's solvers: a stationary scenario whose "
                             "start phase is held fixed (war, phase0..phase4 and their counterfactuals); commitments "
                             "in timeline/calendar go through agents.game.commitment")
        self.params = params
        self.phase = int(params.start[0])
        self.gamma = params.gamma
        self.tables = build_tables(params)
        self.single = Operator(params, tables=self.tables)
        self.game = patron_block(params, self.phase)
        self.columns = GameColumns(self.tables, self.game, self.phase)
        self._sub: dict[tuple, GameColumns] = {}
        self.rows = np.arange(self.phase * BLOCK, (self.phase + 1) * BLOCK)
        self.s0 = int(encode_states(np.array([params.start]))[0]) - self.phase * BLOCK
        self.table_patron = int(_flat_patron(model.table_patron(np.array([params.start]), params))[0])
        local = self.tables  # moves of T, A, R, W, X of every (s, a_S) under M = 0 and 1 (R: the table patron's)
        rr, aa = np.repeat(self.rows, N_ACTIONS), np.tile(np.arange(N_ACTIONS), BLOCK)
        self._moves = [tuple(x.reshape(BLOCK, N_ACTIONS, 5) for x in local.move_probs(rr, aa, m)) for m in (0, 1)]
        self._p_med = self.columns.p_med[0]  # (1080, 96)
        levels = np.stack(np.unravel_index(np.arange(BLOCK), LEVELS), axis=1)
        self._t_level, self._r_level = levels[:, 0], levels[:, 2]

    # ------------------------------------------------------------------ expectations
    def columns_for(self, small: np.ndarray, patron: np.ndarray) -> GameColumns:
        """The stencil's columns over the given actions only (kept for the last few pairs of action
        sets): a best response to a policy that plays few actions needs E[V] on those alone."""
        if small.size == N_ACTIONS and patron.size == N_PATRON:
            return self.columns
        key = (small.tobytes(), patron.tobytes())
        if key not in self._sub:
            if len(self._sub) >= 8:
                self._sub.pop(next(iter(self._sub)))
            self._sub[key] = GameColumns(self.tables, self.game, self.phase, small, patron)
        return self._sub[key]

    def expect(self, values: np.ndarray) -> np.ndarray:
        """E[V(s') | s, a_S, a_P] on the block for (1080,) or (K, 1080) values: (1080, 96, 24) or (K, ...)
        (a view of the action-major array the stencil makes)."""
        v = np.asarray(values, dtype=np.float64)
        e = self.columns.expect_game(v.reshape(-1, BLOCK)).transpose(0, 3, 1, 2)
        return e[0] if v.ndim == 1 else e

    def q_values(self, v_small: np.ndarray, v_patron: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Q_S(s, a_S, a_P) and Q_P(s, a_S, a_P) for continuation values of each player (1080, 96, 24)."""
        e = self.expect(np.stack([v_small, v_patron]))
        return self.game.reward_small + self.gamma * e[0], self.game.reward_patron + self.gamma * e[1]

    # ------------------------------------------------------------------ a profile's kernel
    def profile_moves(self, pi_s: np.ndarray, pi_p: np.ndarray) -> np.ndarray:
        """Move distributions (1080, 243) of the mixed profile: R's moves mixed over the patron's
        action first (only R reads it), then the product rows mixed over a_S and M
        (``envs.model.move_mixture``). Each state mixes only the small state's actions it plays
        (its support, padded with zero weights to the widest state's): a pure policy is two
        branches (M = 0, 1) per state, not 192."""
        width = int((pi_s > 0).sum(axis=1).max())
        acts = np.argsort(pi_s <= 0, axis=1, kind="stable")[:, :width]  # (1080, w): each state's support first
        w_s = np.take_along_axis(pi_s, acts, axis=1)
        rows = np.arange(BLOCK)[:, None]
        j = VARS.index("R")
        ups, downs, weights = [], [], []
        for m in (0, 1):
            up, down = (x[rows, acts] for x in self._moves[m])  # (1080, w, 5), copies
            t, r = self._t_level[:, None], self._r_level[:, None]
            up[:, :, j] = np.einsum("snp,sp->sn", self.game.r_up[t, r, acts, :, m], pi_p)
            down[:, :, j] = np.einsum("snp,sp->sn", self.game.r_down[t, r, acts, :, m], pi_p)
            pm = self._p_med[rows, acts]
            ups.append(up)
            downs.append(down)
            weights.append(w_s * (pm if m else 1.0 - pm))
        return model.move_mixture(np.concatenate(ups, axis=1), np.concatenate(downs, axis=1),
                                  np.concatenate(weights, axis=1))

    def rewards(self, pi_s: np.ndarray, pi_p: np.ndarray,
                players: tuple[str, ...] = ("small_state", "patron")) -> tuple[np.ndarray, ...]:
        """Each player's expected reward now under the profile, (1080,) each (over the small state's
        actions in play in each state only)."""
        width = int((pi_s > 0).sum(axis=1).max())
        acts = np.argsort(pi_s <= 0, axis=1, kind="stable")[:, :width]
        w_s = np.take_along_axis(pi_s, acts, axis=1)
        rows = np.arange(BLOCK)[:, None]
        table = {"small_state": self.game.reward_small, "patron": self.game.reward_patron}
        return tuple(np.einsum("swp,sp,sw->s", table[who][rows, acts], pi_p, w_s) for who in players)

    def evaluate(self, pi_s: np.ndarray, pi_p: np.ndarray, guess: tuple | None = None,
                 players: tuple[str, ...] = ("small_state", "patron")) -> tuple[np.ndarray, ...]:
        """Exact values on the block of the profile, one per player in ``players`` (default (V_S,
        V_P)): the linear system of the profile's sparse kernel for each (``agents.linear.
        solve_policy``: GMRES to the dense solve's accuracy from ``guess``, else the dense solve)."""
        pi_s = check_policy(pi_s, N_ACTIONS, "small-state policy")
        pi_p = check_policy(pi_p, N_PATRON, "patron policy")
        return self.values(self.kernel(pi_s, pi_p), pi_s, pi_p, players, guess)

    def kernel(self, pi_s: np.ndarray, pi_p: np.ndarray):
        """The profile's within-block move kernel (sparse), for checked policies."""
        return policy_kernel(self.profile_moves(pi_s, pi_p))

    def values(self, kernel, pi_s: np.ndarray, pi_p: np.ndarray, players: tuple[str, ...],
               guess: tuple | None = None) -> tuple[np.ndarray, ...]:
        """:meth:`evaluate` on a profile's :meth:`kernel` (checked policies; a caller that solves the
        same profile for both players builds the kernel once)."""
        guess = (None,) * len(players) if guess is None else guess
        return tuple(solve_policy(kernel, r, self.gamma, g) for r, g in zip(self.rewards(pi_s, pi_p, players), guess))


def _flat_patron(actions: np.ndarray) -> np.ndarray:
    """(N, 3) patron actions -> flat indices (D * 2 + IP) * 3 + sigma."""
    return np.ravel_multi_index(tuple(np.asarray(actions).T), tuple(model.PATRON_NVEC))


@lru_cache(maxsize=4)
def game_operator(params: AllianceParams) -> GameOperator:
    """The game's operator of ``params`` (cached per parameter set)."""
    return GameOperator(params)

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

from agents.bellman import BLOCK, Operator
from agents.game.factored import FactoredStencil, mix_moves
from agents.linear import policy_kernel, solve_policy
from agents.solver import check_params
from envs import model
from envs.game_tables import N_PATRON, N_SIGMA, SIGMA, patron_block
from envs.params import AllianceParams, short_repr
from envs.spaces import N_ACTIONS, encode_states
from envs.tables import MOVE_KEYS, build_tables

PROB_TOL = 1e-9  # a mixed policy's rows must sum to 1 within this


def pure(actions: np.ndarray, n: int) -> np.ndarray:
    """One-hot rows (len(actions), n) of flat actions."""
    out = np.zeros((len(actions), n))
    out[np.arange(len(actions)), np.asarray(actions, dtype=np.int64)] = 1.0
    return out


def renormalised(pi: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Rows of probabilities clipped at 0 and renormalised; a row with nothing left takes ``fallback``'s
    row (uniform if None)."""
    out = np.maximum(np.asarray(pi, dtype=np.float64), 0.0)
    total = out.sum(axis=1, keepdims=True)
    spare = np.full_like(out, 1.0 / out.shape[1]) if fallback is None else fallback
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), spare)


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
        self.stencil = FactoredStencil(self.tables, self.game, self.phase)
        self.rows = np.arange(self.phase * BLOCK, (self.phase + 1) * BLOCK)
        self.s0 = int(encode_states(np.array([params.start]))[0]) - self.phase * BLOCK
        self.table_patron = int(_flat_patron(model.table_patron(np.array([params.start]), params))[0])
        self._move_keys = np.ascontiguousarray(MOVE_KEYS[self.rows])  # (1080, 5): T, A, W, X moves in the tables
        self._p_med = self.stencil.p_med  # (1080, 96)

    # ------------------------------------------------------------------ expectations
    def expect(self, values: np.ndarray) -> np.ndarray:
        """E[V(s') | s, a_S, a_P] on the block for (1080,) or (K, 1080) values: (1080, 96, 24) or (K, ...)."""
        v = np.asarray(values, dtype=np.float64)
        e = self.stencil.expect(v.reshape(-1, BLOCK))
        return e[0] if v.ndim == 1 else e

    def q_values(self, v_small: np.ndarray, v_patron: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Q_S(s, a_S, a_P) and Q_P(s, a_S, a_P) for continuation values of each player (1080, 96, 24)."""
        q = self.stencil.expect(np.stack([v_small, v_patron]),
                                (self.game.reward_small_sigma, self.game.reward_patron_sigma), self.gamma)
        return q[0], q[1]

    def expect_folded(self, values: np.ndarray, player: str, other: np.ndarray) -> np.ndarray:
        """E[V(s')] of ``values`` (1080,) over ``player``'s own actions with the other's policy
        ``other`` folded in: (1080, 96) for "small_state" (``other`` (1080, 24)), (1080, 24) for
        "patron" (``other`` (1080, 96)); nothing over every (s, a_S, a_P) is made."""
        return self.stencil.fold(values, player, other)

    # ------------------------------------------------------------------ a profile's kernel
    def profile_moves(self, pi_s: np.ndarray, pi_p: np.ndarray) -> np.ndarray:
        """Move distributions (1080, 243) of the mixed profile: R's moves mixed over the patron's
        action first (only R reads it), then the product rows mixed over a_S and M (``envs.model.
        move_mixture``'s sum, compiled: :func:`agents.game.factored.mix_moves`, no (1080, 192, 243)
        array). Branches of weight 0 are skipped: a pure policy is two branches per state."""
        return self.mixed_moves(np.arange(BLOCK), pi_s, pi_p, False)

    def mixed_moves(self, states: np.ndarray, w_s: np.ndarray, w_p: np.ndarray, linear: bool = True) -> np.ndarray:
        """Move rows (N, 243) of the block's ``states`` (N,) with weights ``w_s`` (N, 96) and ``w_p``
        (N, 24) (:func:`agents.game.factored.mix_moves`; ``linear``: R's stay ``sum(w_p) - up - down``,
        linear in each player's weights, else a profile's ``1 - up - down``)."""
        out = np.empty((len(states), 243))
        st = self.stencil
        mix_moves(self.tables.up, self.tables.down, self._move_keys, self._p_med, st.r_up, st.r_down, st.tr,
                  np.ascontiguousarray(states, dtype=np.int64), np.ascontiguousarray(w_s, dtype=np.float64),
                  np.ascontiguousarray(w_p, dtype=np.float64), linear, out)
        return out

    def rewards(self, pi_s: np.ndarray, pi_p: np.ndarray,
                players: tuple[str, ...] = ("small_state", "patron")) -> tuple[np.ndarray, ...]:
        """Each player's expected reward now under the profile, (1080,) each (from the rewards by
        the patron's sigma, ``PatronBlock.reward_small_sigma``: the patron's policy summed by sigma)."""
        table = {"small_state": self.game.reward_small_sigma, "patron": self.game.reward_patron_sigma}
        by_sigma = by_sigma_weights(pi_p)
        return tuple(np.einsum("saz,sz,sa->s", table[who], by_sigma, pi_s) for who in players)

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


def by_sigma_weights(pi_p: np.ndarray) -> np.ndarray:
    """The patron's weights (n, 24) summed by each action's sigma, (n, 3): what the rewards read."""
    out = np.zeros((pi_p.shape[0], N_SIGMA))
    for sg in range(N_SIGMA):
        out[:, sg] = pi_p[:, SIGMA == sg].sum(axis=1)
    return out


def _flat_patron(actions: np.ndarray) -> np.ndarray:
    """(N, 3) patron actions -> flat indices (D * 2 + IP) * 3 + sigma."""
    return np.ravel_multi_index(tuple(np.asarray(actions).T), tuple(model.PATRON_NVEC))


@lru_cache(maxsize=4)
def game_operator(params: AllianceParams) -> GameOperator:
    """The game's operator of ``params`` (cached per parameter set)."""
    return GameOperator(params)

"""A proximal-point Newton polish of a near-equilibrium profile of the patron game (docs/model.md section
11, concept 4): the last stage of the MPE search (:mod:`agents.game.equilibrium`).

**The system.** A stationary profile is a Markov perfect equilibrium when, in every state s, each player's
actions in play are best replies at the profile's values (the one-shot deviation principle). With the
values as unknowns beside the policies this is one complementarity system (the stationary-equilibrium
conditions of a discounted stochastic game as a nonlinear complementarity problem; Filar and Vrieze 1997):

    pi_S(s, a) >= 0,  w_S(s, a) = V_S(s) - sum_b pi_P(s, b) Q_S(s, a, b) >= 0,  pi_S(s, a) w_S(s, a) = 0,
    pi_P(s, b) >= 0,  w_P(s, b) = V_P(s) - sum_a pi_S(s, a) Q_P(s, a, b) >= 0,  pi_P(s, b) w_P(s, b) = 0,
    sum_a pi_S(s, a) = 1,  sum_b pi_P(s, b) = 1,

with Q_i(s, a, b) = u_i(s, a, b) + gamma E[V_i(s') | s, a, b] (``GameOperator.q_values``). At a solution
V_i(s) is both the best reply's stage value and the profile's own, so V_i are the profile's exact
values and no deviation gains. Each pair (pi, w) enters through the Fischer-Burmeister function
phi(p, w) = p + w - sqrt(p^2 + w^2 + 2 mu), zero iff p, w >= 0 and p w = mu (``MU`` = 1e-12: the
complementarity to round-off, and no kink at p = w = 0): F(x) = 0 on x = (pi_S, pi_P, V_S, V_P),
131,760 unknowns on `war`.

**Newton's step.** A state's 120 equations in its policies read its own 120 probabilities (a 120 x 120
block: the diagonal of phi's derivatives, and the stage payoffs between the players) and the values
through w; the 2 x 1,080 sums read the policies only. So the policies are eliminated state by state and the values solve a dense 2,160 system (the Schur complement), whose blocks are gamma
times move kernels of signed weights over one player's actions with the other's policy
(:class:`agents.game.kernels.Kernels`, as in the homotopy's Jacobian), plus their diagonals.

**Why a proximal point.** The system is degenerate on this game: tied actions (the patron's IP = 0 and
1 with identical payoffs for both players in 216 states) and stage supports of unequal sizes make the
equilibria non-isolated, so Newton's steps on F are huge and a line search on |F| stalls (docs/model.md
section 11). Each round k therefore solves the regularised system G(x) = 0, G's policy rows F(x) +
nu (pi - pi_k) and its sums F's own, by a few Newton steps (Jacobian J + nu on the policies' diagonal)
with a backtracking line search on |G|, then moves the centre, pi_k <- pi (the proximal point method,
Rockafellar 1976, on the policies, where the degeneracy is; the values are left to the equations).
A round whose first step finds no decrease ends the polish.

**The certificate** is what counts: after each round the profile (probabilities clipped at 0, rows
renormalised) is certified by its exact NashConv (:func:`agents.game.best_response.nash_conv`); the best
profile met is returned, the start's if none beats it, and the polish stops at the target.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from agents.game.best_response import NashConv, nash_conv
from agents.game.kernels import Kernels
from agents.game.operator import GameOperator, renormalised
from envs.game_tables import N_PATRON
from envs.spaces import N_ACTIONS

MU = 1e-12  # the Fischer-Burmeister smoothing: p w = MU at a solution
NU = 0.01  # the proximal weight (payoff units per unit of probability; docs/model.md section 11 for 0.005, 0.01, 0.02)
INNER = 4  # Newton steps per proximal round
SHORTEST = 1e-3  # the line search's shortest step: below it the round ends
N_OWN = N_ACTIONS + N_PATRON  # a state's policy unknowns: 96 + 24
CHUNK = 90  # states whose blocks are built at once (10 MB)


@dataclass
class Point:
    """x = (pi_S, pi_P, V_S, V_P) and the system there: the stage payoffs, phi's values and
    derivatives (``d_p`` in the probability, ``d_w`` in w) and the sums' residuals."""

    pi_s: np.ndarray
    pi_p: np.ndarray
    v_s: np.ndarray
    v_p: np.ndarray
    q_s: np.ndarray
    q_p: np.ndarray
    phi: np.ndarray  # (n, 120): the small state's 96, the patron's 24
    d_p: np.ndarray
    d_w: np.ndarray
    sums: np.ndarray  # (2, n)

    @property
    def unknowns(self) -> tuple[np.ndarray, ...]:
        return self.pi_s, self.pi_p, self.v_s, self.v_p


def point(op: GameOperator, pi_s: np.ndarray, pi_p: np.ndarray, v_s: np.ndarray, v_p: np.ndarray,
          mu: float = MU) -> Point:
    """The system F at x (the module docstring), smoothed by ``mu``."""
    q_s, q_p = op.q_values(v_s, v_p)
    w = np.concatenate([v_s[:, None] - np.einsum("sab,sb->sa", q_s, pi_p),
                        v_p[:, None] - np.einsum("sab,sa->sb", q_p, pi_s)], axis=1)
    p = np.concatenate([pi_s, pi_p], axis=1)
    r = np.sqrt(p * p + w * w + 2.0 * mu)
    return Point(pi_s, pi_p, v_s, v_p, q_s, q_p, p + w - r, 1.0 - p / r, 1.0 - w / r,
                 np.stack([pi_s.sum(axis=1) - 1.0, pi_p.sum(axis=1) - 1.0]))


def regularised(pt: Point, centre: tuple[np.ndarray, ...], nu: float) -> np.ndarray:
    """The policies' rows (n, 120) of G(x) = F(x) + nu (pi - pi_k) (the sums' rows are F's)."""
    return pt.phi + nu * np.concatenate([pt.pi_s - centre[0], pt.pi_p - centre[1]], axis=1)


def norm(rows: np.ndarray, sums: np.ndarray) -> float:
    return float(np.sqrt((rows ** 2).sum() + (sums ** 2).sum()))


def newton_step(op: GameOperator, kernels: Kernels, pt: Point, rows: np.ndarray, sums: np.ndarray,
                nu: float) -> tuple[np.ndarray, ...]:
    """The step d with (J + nu on the policies' diagonal) d = -(rows, sums) at ``pt``: the policies
    eliminated state by state, the values from the dense Schur complement (the module docstring).
    Returns (d pi_S, d pi_P, d V_S, d V_P)."""
    n, na, g = op.rows.size, N_ACTIONS, op.gamma
    chunks = [slice(lo, min(n, lo + CHUNK)) for lo in range(0, n, CHUNK)]
    ones = np.zeros((CHUNK, N_OWN, 2))
    ones[:, :na, 0], ones[:, na:, 1] = 1.0, 1.0
    c = np.empty((n, N_OWN, 2))  # c = A^-T (each player's sum row): the sums' rows through the blocks
    for sl in chunks:
        c[sl] = np.linalg.solve(np.swapaxes(_blocks(pt, sl, nu), 1, 2), ones[:sl.stop - sl.start])
    schur = np.zeros((2 * n, 2 * n))
    for i in (0, 1):
        w_s, w_p = c[:, :na, i] * pt.d_w[:, :na], c[:, na:, i] * pt.d_w[:, na:]
        schur[i * n:(i + 1) * n, :n] = np.diag(w_s.sum(axis=1)) - g * kernels.dense(w_s, pt.pi_p)
        schur[i * n:(i + 1) * n, n:] = np.diag(w_p.sum(axis=1)) - g * kernels.dense(pt.pi_s, w_p)
    rhs = sums.ravel() - np.einsum("skl,sk->ls", c, rows).ravel()
    dv = lu_solve(lu_factor(schur, overwrite_a=True, check_finite=False), rhs, check_finite=False)
    ev = op.expect(dv.reshape(2, n))
    through_v = pt.d_w * np.concatenate([dv[:n, None] - g * np.einsum("sab,sb->sa", ev[0], pt.pi_p),
                                         dv[n:, None] - g * np.einsum("sab,sa->sb", ev[1], pt.pi_s)], axis=1)
    own = rows + through_v
    d_own = np.empty((n, N_OWN))
    for sl in chunks:  # the blocks made again rather than held (CHUNK states at a time)
        d_own[sl] = -np.linalg.solve(_blocks(pt, sl, nu), own[sl, :, None])[:, :, 0]
    return d_own[:, :na], d_own[:, na:], dv[:n], dv[n:]


def _blocks(pt: Point, sl: slice, nu: float) -> np.ndarray:
    """The 120 x 120 blocks of the states ``sl``: the policies' rows in their own policies, nu on the diagonal."""
    na, diag = N_ACTIONS, np.arange(N_OWN)
    out = np.zeros((sl.stop - sl.start, N_OWN, N_OWN))
    out[:, diag, diag] = pt.d_p[sl] + nu
    out[:, :na, na:] = -pt.d_w[sl, :na, None] * pt.q_s[sl]
    out[:, na:, :na] = -pt.d_w[sl, na:, None] * np.swapaxes(pt.q_p[sl], 1, 2)
    return out


@dataclass
class Proximal:
    """The best certified profile, its certificate, the rounds done and the curve (per round: the
    residual |F|, the largest move, the certificate)."""

    pi_small: np.ndarray
    pi_patron: np.ndarray
    certificate: NashConv
    improved: bool
    rounds: int
    seconds: float
    curve: list[dict] = field(default_factory=list)


def proximal_polish(op: GameOperator, pi_s: np.ndarray, pi_p: np.ndarray, start: NashConv | None = None,
                    rounds: int = 60, nu: float = NU, inner: int = INNER, target: float = 0.0,
                    budget_seconds: float | None = None) -> Proximal:
    """Up to ``rounds`` proximal rounds from the profile (its values from ``start``, its certificate,
    when given), each certified; stops at ``target``, at a round that cannot step, or past
    ``budget_seconds``. Returns the best certified profile (the start if none beats it)."""
    if isinstance(nu, bool) or not (isinstance(nu, (int, float)) and nu > 0):
        raise ValueError(f"nu={nu!r} is not allowed: a proximal weight > 0")
    clock = time.perf_counter()
    kernels = Kernels(op)
    best = nash_conv(op, pi_s, pi_p) if start is None else start
    best_s, best_p, improved = pi_s, pi_p, False
    pt = point(op, pi_s, pi_p, best.v_small, best.v_patron)
    curve, done = [], 0
    while done < rounds and best.max > target:
        centre = pt.unknowns
        stepped = 0
        for _ in range(inner):
            rows, sums = regularised(pt, centre, nu), pt.sums
            before = norm(rows, sums)
            d = newton_step(op, kernels, pt, rows, sums, nu)
            t = 1.0
            while t >= SHORTEST:
                trial = point(op, *(x + t * dx for x, dx in zip(pt.unknowns, d)))
                if norm(regularised(trial, centre, nu), trial.sums) <= (1.0 - 1e-4 * t) * before:
                    break
                t *= 0.5
            if t < SHORTEST:
                break
            pt, stepped = trial, stepped + 1
        if not stepped:
            break
        done += 1
        cand_s, cand_p = renormalised(pt.pi_s), renormalised(pt.pi_p)  # the profile that is certified
        nc = nash_conv(op, cand_s, cand_p)
        moved = max(float(np.abs(x - c).max()) for x, c in zip(pt.unknowns, centre))
        curve.append({"round": done, "residual": norm(pt.phi, pt.sums), "moved": moved,
                      "seconds": round(time.perf_counter() - clock, 2), "nashconv_s0": nc.at_start,
                      "nashconv_max": nc.max})
        if nc.max < best.max:
            best, best_s, best_p, improved = nc, cand_s, cand_p, True
        if budget_seconds is not None and time.perf_counter() - clock > budget_seconds:
            break
    return Proximal(pi_small=best_s, pi_patron=best_p, certificate=best, improved=improved, rounds=done,
                    seconds=time.perf_counter() - clock, curve=curve)

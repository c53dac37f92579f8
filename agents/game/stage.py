"""Each state's logit stage equilibrium of the patron game and its implicit-function derivatives (the
pieces of the logit path that :mod:`agents.game.homotopy` follows; docs/model.md section 11, concept 4).

At values z = (V_S, V_P), each state's stage game (Q_S, Q_P: 96 x 24 each) has a logit equilibrium at a
precision lambda, found by Newton's method on the patron's 24 expected payoffs x (``pi_P = softmax(lambda
x)``, ``pi_S = softmax(lambda Q_S pi_P)``, ``x = Q_P' pi_S``: a 24 x 24 system per state, all states at
once). A perturbation dz enters a state's stage game only through e = dQ_S pi_P (96) and f = dQ_P' pi_S
(24), so each stage value changes by c_i' e + d_i' f + l_i dlambda with per-state coefficients
(:func:`coefficients`). With a prior b (``Prior``: log b per state and action), pi ~ b exp(lambda payoffs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.game_tables import N_PATRON

INNER_TOL = 1e-12  # the stage systems' residual |x - Q_P' pi_S| (payoff units)
INNER_ITER = 60
Prior = tuple[np.ndarray, np.ndarray]  # log prior weights of the players' actions, (n, 96) and (n, 24)


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the last axis."""
    z = x - x.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=-1, keepdims=True)


def soft_apply(pr: np.ndarray, v: np.ndarray) -> np.ndarray:
    """(diag(pr) - pr pr') v over the action axis (axis 1), v (n, k) or (n, k, m)."""
    if v.ndim == 2:
        return pr * (v - (pr * v).sum(axis=1, keepdims=True))
    return pr[:, :, None] * (v - np.einsum("sa,sam->sm", pr, v)[:, None, :])


@dataclass
class Stage:
    """Every state's logit stage equilibrium at (Q_S, Q_P, lambda): the patron's expected payoffs
    ``x`` (n, 24), both stage policies, the small state's expected payoffs ``y`` (n, 96)."""

    lam: float
    q_s: np.ndarray
    q_p: np.ndarray
    x: np.ndarray
    pi_s: np.ndarray
    pi_p: np.ndarray
    y: np.ndarray
    residual: float

    @property
    def values(self) -> np.ndarray:
        """Phi: the stage values (2, n) of both players."""
        return np.stack([(self.pi_s * self.y).sum(axis=1),
                         np.einsum("sa,sap,sp->s", self.pi_s, self.q_p, self.pi_p)])

    def system(self) -> np.ndarray:
        """M = I - lambda^2 Q_P' Dq Q_S Dp (n, 24, 24): the stage system's Jacobian in x."""
        dp = np.einsum("sp,pk->spk", self.pi_p, np.eye(N_PATRON)) - self.pi_p[:, :, None] * self.pi_p[:, None, :]
        z = soft_apply(self.pi_s, np.matmul(self.q_s, dp))
        return np.eye(N_PATRON) - self.lam ** 2 * np.matmul(np.swapaxes(self.q_p, 1, 2), z)


def _policies(q_s: np.ndarray, lam: float, x: np.ndarray, prior: Prior | None = None) -> tuple[np.ndarray, ...]:
    b_s, b_p = (0.0, 0.0) if prior is None else prior
    pi_p = softmax(lam * x + b_p)
    y = np.einsum("sap,sp->sa", q_s, pi_p)
    return pi_p, y, softmax(lam * y + b_s)


def stage_equilibria(q_s: np.ndarray, q_p: np.ndarray, lam: float, x0: np.ndarray, fixed: np.ndarray | None = None,
                     tol: float = INNER_TOL, max_iter: int = INNER_ITER, prior: Prior | None = None) -> Stage:
    """Each state's logit stage equilibrium by Newton's method on x from ``x0`` (steps capped so that lambda |dx|
    <= 8 per state), except in the ``fixed`` states (indices), whose x is kept (the path's own unknowns
    there). The result's ``residual`` is max |x - Q_P' pi_S| over the others. ``prior`` (log b_S (n, 96), log
    b_P (n, 24)): the logit with a prior, pi ~ b exp(lambda payoffs)."""
    x = np.array(x0, dtype=np.float64)
    todo = np.arange(x.shape[0]) if fixed is None else np.setdiff1d(np.arange(x.shape[0]), fixed)
    for _ in range(max_iter):
        xs, qs, qp = x[todo], q_s[todo], q_p[todo]
        pi_p, y, pi_s = _policies(qs, lam, xs, None if prior is None else (prior[0][todo], prior[1][todo]))
        g = xs - np.einsum("sap,sa->sp", qp, pi_s)
        bad = np.abs(g).max(axis=1) > tol
        if not bad.any():
            break
        todo, xs, qs, qp, g = todo[bad], xs[bad], qs[bad], qp[bad], g[bad]
        st = Stage(lam, qs, qp, xs, pi_s[bad], pi_p[bad], y[bad], 0.0)
        dx = -np.linalg.solve(st.system(), g[:, :, None])[:, :, 0]
        scale = np.minimum(1.0, 8.0 / np.maximum(lam * np.abs(dx).max(axis=1), 1e-300))
        x[todo] = xs + scale[:, None] * dx
    pi_p, y, pi_s = _policies(q_s, lam, x, prior)
    gap = x - np.einsum("sap,sa->sp", q_p, pi_s)
    if fixed is not None:
        gap[fixed] = 0.0
    return Stage(lam, q_s, q_p, x, pi_s, pi_p, y, float(np.abs(gap).max()))


@dataclass
class Coefficients:
    """dPhi_i = c_i' e + d_i' f + l_i dlambda per state (module docstring); ``minv_*`` pieces for dx."""

    c: tuple[np.ndarray, np.ndarray]  # (n, 96) each: small state's, patron's
    d: tuple[np.ndarray, np.ndarray]  # (n, 24) each
    l: np.ndarray  # (2, n)
    m: np.ndarray  # M (n, 24, 24)
    h: np.ndarray  # (n, 24): dx's lambda term before M^-1
    dx: tuple[np.ndarray, np.ndarray]  # (n, 24) each: dPhi_i's coefficients on dx with x held


def coefficients(st: Stage, fixed: np.ndarray | None = None) -> Coefficients:
    """The implicit-function derivatives of both stage values at a converged :class:`Stage`; in the
    ``fixed`` states, the partial derivatives with x held (and ``dx``, those on x)."""
    lam, p, q, x, y = st.lam, st.pi_p, st.pi_s, st.x, st.y
    m = st.system()
    dpx = soft_apply(p, x)
    dqy = soft_apply(q, y)
    h = np.einsum("sap,sa->sp", st.q_p, lam * soft_apply(q, np.einsum("sap,sp->sa", st.q_s, dpx)) + dqy)
    r = np.einsum("sap,sp->sa", st.q_p, p)
    a = (lam * dqy + q, lam * soft_apply(q, r))  # the weights of dy in dPhi_S, dPhi_P
    b = (np.einsum("sap,sa->sp", st.q_s, a[0]), np.einsum("sap,sa->sp", st.q_s, a[1]) + x)
    mt = np.swapaxes(m, 1, 2)
    on_x = tuple(lam * soft_apply(p, bi) for bi in b)
    zz = [np.linalg.solve(mt, xi[:, :, None])[:, :, 0] for xi in on_x]
    if fixed is not None:
        for zi in zz:
            zi[fixed] = 0.0
    c = tuple(ai + lam * soft_apply(q, np.einsum("sap,sp->sa", st.q_p, zi)) for ai, zi in zip(a, zz))
    d = (zz[0], p + zz[1])
    l0 = (zz[0] * h).sum(1) + (b[0] * dpx).sum(1) + (y * dqy).sum(1)
    l1 = (zz[1] * h).sum(1) + (b[1] * dpx).sum(1) + (r * dqy).sum(1)
    return Coefficients(c=c, d=d, l=np.stack([l0, l1]), m=m, h=h, dx=on_x)

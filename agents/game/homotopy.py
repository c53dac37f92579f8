"""The logit quantal-response path of the patron game followed by a predictor-corrector homotopy
(docs/model.md section 11, concept 4; the stage equilibria and their derivatives: :mod:`agents.game.stage`).

At a precision lambda, a profile is a logit Markov equilibrium when each player's stage policy in every
state is the softmax of lambda times its Q under the profile's own exact values. The unknowns are the two
value vectors z = (V_S, V_P) (2 x 1,080): given z, each state's stage game (Q_S, Q_P: 96 x 24 each) has a
logit equilibrium, found by Newton's method on the patron's 24 expected payoffs x (``pi_P = softmax(lambda
x)``, ``pi_S = softmax(lambda Q_S pi_P)``, ``x = Q_P' pi_S``: a 24 x 24 system per state, all states at
once). The stage values Phi(z) = (pi_S' Q_S pi_P, pi_S' Q_P pi_P) make the path's equation H(z, lambda) =
z - Phi(z) = 0: at a root, z are the exact values of the profile and the profile is a logit equilibrium.

Derivatives come from the implicit function theorem on each stage system. A perturbation dz enters a
state's stage game only through e = dQ_S pi_P (96) and f = dQ_P' pi_S (24), so dPhi_i = c_i' e + d_i' f +
l_i dlambda with per-state coefficients (c_i, d_i, l_i), and each block of dPhi/dz is gamma times the move
kernel of the "profile" (c_i, pi_P) or (pi_S, d_i): signed weights, built with
``GameOperator.profile_moves`` (linear in the weights). The dense 2,160 x 2,161 Jacobian [H_z, H_s] (s =
log lambda) drives a pseudo-arclength predictor-corrector (Allgower and Georg 1990; sGameSolver's scheme,
Eibelshaeuser and Poensgen 2019, on the game's structure): the tangent predicts, Newton corrects on the
hyperplane orthogonal to it, and the step grows after an easy correction and halves after a failed one, so
turning points in lambda are passed. With a prior b (``prior``: log b per state and action), the path's
policies are pi ~ b exp(lambda payoffs): the same equations and derivatives, a path that starts at b. The
certificate: max over states of the profile's exact NashConv (``best_response.nash_conv``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

from agents.game.best_response import NashConv, nash_conv
from agents.game.kernels import Kernels
from agents.game.operator import GameOperator
from agents.game.stage import Coefficients, Prior, Stage, coefficients, soft_apply, stage_equilibria
from envs.game_tables import N_PATRON

LOG = logging.getLogger(__name__)


class LogitPath:
    """H(z, s) = z - Phi(z, e^s) on one game and its derivatives (module docstring). States in
    ``fixed`` (where a stage system is near a fold) keep their x as unknowns of the path, with
    their stage equations x - Q_P' pi_S = 0 as equations of it: u = (z, x[fixed])."""

    def __init__(self, op: GameOperator, prior: Prior | None = None):
        self.op, self.prior = op, prior
        self.n = op.rows.size
        self.kernels = Kernels(op)
        self.fixed = np.zeros(0, dtype=np.int64)

    @property
    def size(self) -> int:
        return 2 * self.n + N_PATRON * self.fixed.size

    def pack(self, z: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.concatenate([z.ravel(), x[self.fixed].ravel()])

    def unpack(self, u: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = x.copy()
        x[self.fixed] = u[2 * self.n:].reshape(-1, N_PATRON)
        return u[:2 * self.n].reshape(2, self.n), x

    def stage(self, z: np.ndarray, lam: float, x0: np.ndarray) -> Stage:
        """The logit stage equilibria at values ``z`` (2, n) and precision ``lam`` from ``x0``."""
        q_s, q_p = self.op.q_values(z[0], z[1])
        return stage_equilibria(q_s, q_p, lam, x0, self.fixed if self.fixed.size else None, prior=self.prior)

    def residual(self, z: np.ndarray, st: Stage) -> np.ndarray:
        """(H = z - Phi, the fixed states' stage equations) as one vector."""
        f = self.fixed
        gap = st.x[f] - np.einsum("sap,sa->sp", st.q_p[f], st.pi_s[f])
        return np.concatenate([(z - st.values).ravel(), gap.ravel()])

    def jacobian(self, st: Stage, coef: Coefficients | None = None,
                 out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Dense H_u (size, size; written into ``out`` if given) and H_s (size,) (s = log lambda)."""
        f, k = self.fixed, self.fixed.size
        coef = coefficients(st, f if k else None) if coef is None else coef
        g, n = self.op.gamma, self.n
        h_u = np.eye(self.size) if out is None else out
        if out is not None:
            out[...], out[np.arange(self.size), np.arange(self.size)] = 0.0, 1.0
        for i in (0, 1):
            h_u[i * n:(i + 1) * n, :n] -= g * self.kernels.dense(coef.c[i], st.pi_p)
            h_u[i * n:(i + 1) * n, n:2 * n] -= g * self.kernels.dense(st.pi_s, coef.d[i])
        h_s = -st.lam * coef.l.ravel()
        if not k:
            return h_u, h_s
        cols = 2 * n + N_PATRON * np.arange(k)
        for j, state in enumerate(f):
            for i in (0, 1):
                h_u[i * n + state, cols[j]:cols[j] + N_PATRON] = -coef.dx[i][state]
            h_u[cols[j]:cols[j] + N_PATRON, cols[j]:cols[j] + N_PATRON] = coef.m[state]
        for a in range(N_PATRON):  # dg_a = M dx - f_a - (Q_P' B e)_a - h_a dlambda
            w = st.lam * soft_apply(st.pi_s[f], st.q_p[f][:, :, a])
            h_u[cols + a, :n] = -g * self.kernels.dense_rows(w, st.pi_p[f], f)
            h_u[cols + a, n:2 * n] = -g * self.kernels.dense_rows(st.pi_s[f], np.eye(N_PATRON)[[a] * k], f)
        return h_u, np.concatenate([h_s, -st.lam * coef.h[f].ravel()])

    def dphi(self, st: Stage, coef: Coefficients, dz: np.ndarray, ds: float) -> tuple[np.ndarray, np.ndarray]:
        """The first-order change of Phi (2, n) and of x (n, 24) along (dz (2, n), ds), matrix-free
        (one pass of the stencil): the Jacobian's check and the predictor of the stage solutions."""
        ev = self.op.expect(dz)  # (2, n, 96, 24)
        e = self.op.gamma * np.einsum("sap,sp->sa", ev[0], st.pi_p)
        f = self.op.gamma * np.einsum("sap,sa->sp", ev[1], st.pi_s)
        dlam = st.lam * ds
        rhs = f + np.einsum("sap,sa->sp", st.q_p, st.lam * soft_apply(st.pi_s, e)) + coef.h * dlam
        dx = np.linalg.solve(coef.m, rhs[:, :, None])[:, :, 0]
        dphi = np.stack([(coef.c[i] * e).sum(1) + (coef.d[i] * f).sum(1) + coef.l[i] * dlam for i in (0, 1)])
        return dphi, dx

    def bordered(self, st: Stage, row: tuple[np.ndarray, float]) -> np.ndarray:
        """The continuation's [[H_u, H_s], [row]], in Fortran order (``lu_factor`` works in place)."""
        size = self.size
        out = np.zeros((size + 1, size + 1), order="F")
        _, out[:size, size] = self.jacobian(st, out=out[:size, :size])
        out[size, :2 * self.n], out[size, size] = row
        return out

    def near_folds(self, st: Stage, tol: float) -> np.ndarray:
        """States not yet fixed whose stage system's smallest singular value is below ``tol``."""
        sv = np.linalg.svd(st.system(), compute_uv=False)[:, -1]
        return np.setdiff1d(np.flatnonzero(sv < tol), self.fixed)


@dataclass
class PathResult:
    """The best certified profile on the path, its certificate, the steps taken and the curve."""

    pi_small: np.ndarray
    pi_patron: np.ndarray
    certificate: NashConv
    steps: int
    seconds: float
    curve: list[dict]
    lam: float  # the precision of the returned profile
    snapshots: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)  # (lambda, pi_S, pi_P)


# Profiles kept (float32, for agents.game.extrapolate) at every SNAPSHOT_RATIO in lambda on the piece since
# the path's last turn, from certify_from / 2, within SNAPSHOT_SPAN of the highest (at most 13, 7 MB).
SNAPSHOT_RATIO, SNAPSHOT_SPAN = 2.0 ** 0.125, 3.0
JUMP, MIN_JUMP, MAX_JUMP, HOLD = float(np.log(1.5)), 1e-3, float(np.log(2.0)), 20


def _unit(t_z: np.ndarray, t_s: float, n: int) -> tuple[np.ndarray, float]:
    norm = np.sqrt(t_z @ t_z / n + t_s * t_s)
    return t_z / norm, t_s / norm


@dataclass(frozen=True)
class StepControl:
    """Step control of the continuation (Allgower and Georg 1990, section 6.1): a corrected step is
    rejected (and the step halved) when the tangent at the new point turns by more than ``max_angle``
    degrees from the last one (in the scaled norm of the arclength: z's root mean square and log
    lambda), when the corrector moved the predicted point by more than ``max_drift`` times the step
    and more than ``drift_floor`` (smaller moves are the corrections' own tolerance: on `war` about 5e-7
    whatever the step, which would stall tiny steps), or (``orientation``) when the sign of det [H_u, H_s; t'] flips across the step: the tangent's
    orientation, kept by the bordered row, then runs against the path's (a jump over a sharp turn
    onto the branch coming back). The step grows only when the angle and the drift are below half
    their bounds."""

    max_angle: float = 15.0
    max_drift: float = 0.3
    drift_floor: float = 1e-5
    orientation: bool = True


def tangent_angle(a: tuple[np.ndarray, float], b: tuple[np.ndarray, float], n: int) -> float:
    """The angle (degrees) between two tangents (z part, log lambda part) in the arclength's scaled norm."""
    (az, as_), (bz, bs) = _unit(*a, n), _unit(*b, n)
    return float(np.degrees(np.arccos(np.clip(az @ bz / n + as_ * bs, -1.0, 1.0))))


def lu_sign(lu: tuple[np.ndarray, np.ndarray]) -> int:
    """The sign of the determinant of a matrix from its ``scipy.linalg.lu_factor``."""
    lu_mat, piv = lu
    swaps = int(np.count_nonzero(piv != np.arange(piv.size)))
    return int((-1) ** (swaps + int(np.count_nonzero(np.diag(lu_mat) < 0))))


def _tangent(lu: tuple, size: int, n: int) -> tuple[np.ndarray, float]:
    tau = linalg.lu_solve(lu, np.r_[np.zeros(size), 1.0])
    norm = np.sqrt(tau[:2 * n] @ tau[:2 * n] / n + tau[size] ** 2)
    return tau[:size] / norm, float(tau[size] / norm)


def control_step(border: np.ndarray, t_old: tuple[np.ndarray, float], sign_old: int, drift: float,
                 control: StepControl, n: int) -> tuple[str | None, tuple[np.ndarray, float, int], float]:
    """``control``'s test of a corrected step: ``border`` is the bordered [H_u, H_s; row] at the new point with
    the row the last tangent ``t_old`` (u part, log lambda part) scaled as the arclength's inner product (its
    z part, the first 2n entries, divided by n; overwritten), ``sign_old`` the sign of that determinant at
    the last point, ``drift`` the corrector's move divided by the step (0 if below the floor). Returns why
    the step fails (None if it passes), the new point's unit tangent and sign, and the angle (degrees)."""
    size = border.shape[0] - 1
    lu = linalg.lu_factor(border, overwrite_a=True)
    new, sign_new = _tangent(lu, size, n), lu_sign(lu)
    angle = tangent_angle((t_old[0][:2 * n], t_old[1]), (new[0][:2 * n], new[1]), n)
    why = (f"angle {angle:.1f}" if angle > control.max_angle else f"drift {drift:.2g}" if drift > control.max_drift
           else "orientation" if control.orientation and sign_new != sign_old else None)
    return why, (new[0], new[1], sign_new), angle


def follow_path(op: GameOperator, lam_start: float = 1.0, lam_stop: float = 1e5, target: float = 1e-3,
                certify_from: float = 100.0, certify_factor: float = 2.0, step: float = 0.3,
                max_step: float = 2.0, tol: float = 1e-6, max_corrections: int = 20, max_fresh: int = 3,
                fold_tol: float = 2e-3, min_step: float = 1e-7, monotone_from: float | None = None,
                max_steps: int | None = None, budget_seconds: float | None = None,
                on_step: Callable[[float, np.ndarray, Stage], None] | None = None,
                resume: tuple[np.ndarray, np.ndarray] | None = None, prior: Prior | None = None,
                control: StepControl | None = None) -> PathResult:
    """Follow the logit path from ``lam_start`` by pseudo-arclength continuation in (z, log lambda) (arclength:
    z's root mean square and log lambda); certify the profile (exact NashConv) when lambda first passes
    ``certify_from``, then each time it grows by ``certify_factor``; stop at a certificate (max over states)
    <= ``target``, past ``lam_stop``, ``budget_seconds`` or ``max_steps``, or when the step falls below
    ``min_step`` (stalled; the point is certified). A state whose stage system nears a fold (smallest singular
    value < ``fold_tol``) joins the path's unknowns (:class:`LogitPath`). Corrections: chord steps, a fresh
    Jacobian (at most ``max_fresh``) when they stop contracting. ``monotone_from``: past that lambda, jumps in
    lambda (Newton at the new lambda), a jump failing down to ``MIN_JUMP`` going round by ``HOLD`` arclength
    steps (on `war` it stalls at the first turn, lambda ~ 1177: off by default). ``on_step(lambda, z,
    stage)``: called after each step; ``resume`` (z, x): start at ``lam_start`` from these values and stage
    payoffs (a point of the path) instead of the uniform profile; ``prior``: follow the logit path with that
    prior (:func:`stage_equilibria`; the derivatives are the same); ``control``: reject sharp turns, large corrector
    moves and orientation flips (:class:`StepControl`; off by default). Returns the profile with the smallest
    certificate met, the curve (lambda, steps, seconds, NashConv at s0 and max) and the profiles kept on that
    profile's piece of the path (``SNAPSHOT_RATIO``)."""
    start = time.perf_counter()
    path = LogitPath(op, prior)
    n = path.n
    uniform = (np.full((n, 96), 1.0 / 96), np.full((n, N_PATRON), 1.0 / N_PATRON))
    z = np.stack(op.evaluate(*uniform)) if resume is None else np.array(resume[0], dtype=np.float64)
    s = float(np.log(lam_start))
    st = path.stage(z, lam_start, np.zeros((n, N_PATRON)) if resume is None else np.asarray(resume[1]))
    for _ in range(50):  # Newton on z at the first precision
        h = path.residual(z, st)
        if np.abs(h).max() < tol:
            break
        h_z, _ = path.jacobian(st)
        z = z - np.linalg.solve(h_z, h).reshape(z.shape)
        st = path.stage(z, lam_start, st.x)
    else:
        raise RuntimeError(f"the logit path's start at lambda={lam_start:g} did not converge")
    t_prev, curve, pending, rejected = (np.zeros(2 * n), 1.0), [], None, 0
    best: tuple | None = None
    next_cert, steps, stalled, jump, hold = certify_from, 0, False, JUMP, 0
    snaps, lam_prev, best_snaps = [], lam_start, []  # kept profiles: (lambda, pi_S, pi_P)
    while True:
        size = path.size
        mono = monotone_from is not None and np.exp(s) >= monotone_from and hold == 0
        row = (np.zeros(2 * n), 1.0) if mono else (t_prev[0] / n, t_prev[1])
        if pending is not None and not mono and pending[0].size == size:  # the step control's tangent here
            (t_u, t_s, sign), h = pending, step
            row = (t_u[:2 * n] / n, t_s)
            border = path.bordered(st, row)
        else:
            border = path.bordered(st, row)  # dense matrices: one (size + 1)^2 array or LU at a time, three at most
            lu = linalg.lu_factor(border)
            sign = lu_sign(lu)
            if mono:  # natural parameter: dz/ds, and corrections at the new lambda
                t_u, t_s, h = linalg.lu_solve(lu, np.r_[np.zeros(size), 1.0])[:size], 1.0, jump
            else:
                (t_u, t_s), h = _tangent(lu, size, n), step
                row = (t_u[:2 * n] / n, t_s)
                border[size, :2 * n], border[size, size] = row
            lu = None
        lu, border, pending, angle, drift = linalg.lu_factor(border, overwrite_a=True), None, None, 0.0, 0.0
        coef = coefficients(st, path.fixed if path.fixed.size else None)
        u = path.pack(z, st.x)
        while True:  # predictor, then corrections on the hyperplane orthogonal to the tangent
            _, dx = path.dphi(st, coef, (h * t_u[:2 * n]).reshape(2, n), h * t_s)
            u_c, s_c = u_p, s_p = u + h * t_u, s + h * t_s
            z_c, x_c = path.unpack(u_c, st.x + dx)
            ok, prev, why, lu_c, fresh = False, np.inf, "corrections", lu, 0
            for used in range(max_corrections):  # noqa: B007 (read after the loop)
                st_c = path.stage(z_c, float(np.exp(s_c)), x_c)
                if st_c.residual > 1e-9:
                    why = f"stage {st_c.residual:.1e}"
                    break
                res = path.residual(z_c, st_c)
                err = float(np.abs(res).max())
                if err < tol:
                    ok = True
                    break
                if err > 0.5 * prev:  # the chord is poor here: Newton with a fresh Jacobian, while it helps
                    if err > prev or fresh >= max_fresh:
                        why = f"contraction {prev:.1e} -> {err:.1e}"
                        break
                    lu_c = None
                    lu_c, fresh = linalg.lu_factor(path.bordered(st_c, row), overwrite_a=True), fresh + 1
                prev = err
                delta = linalg.lu_solve(lu_c, -np.concatenate([res, [0.0]]))
                u_c, s_c = path.pack(z_c, st_c.x) + delta[:size], s_c + delta[size]
                z_c, x_c = path.unpack(u_c, st_c.x)
            if ok and control is not None and not mono:
                moved = float(np.sqrt(np.sum((u_c[:2 * n] - u_p[:2 * n]) ** 2) / n + (s_c - s_p) ** 2))
                drift = moved / h if moved > control.drift_floor else 0.0
                border = path.bordered(st_c, (t_u[:2 * n] / n, t_s))
                why, pending, angle = control_step(border, (t_u, t_s), sign, drift, control, n)
                border = None
                ok, rejected, pending = why is None, rejected + (why is not None), pending if why is None else None
            if ok:
                break
            LOG.debug("%s %.3g failed: %s", "jump" if mono else "step", h, why)
            h *= 0.5
            if mono and h < MIN_JUMP:  # a fold ahead: go round it by arclength for a while
                hold, jump, t_prev, step = HOLD, JUMP, _unit(t_u[:2 * n], t_s, n), max(step, 0.01)
                break
            if h < min_step:
                stalled = True
                break
        lu = lu_c = None  # free before the stage checks and the certification
        if mono and not ok:
            continue
        if not stalled:
            z, s, st, steps = z_c, s_c, st_c, steps + 1
            grow = 1.5 if used <= 5 else 1.0 if used <= 10 else 0.7
            if control is not None and (angle > control.max_angle / 2 or drift > control.max_drift / 2):
                grow = min(grow, 1.0)
            if mono:
                jump, t_prev = min(h * grow, MAX_JUMP), _unit(t_u[:2 * n], t_s, n)
            else:
                step, t_prev, hold = min(h * grow, max_step), (t_u[:2 * n], t_s), max(hold - 1, 0)
            near = path.near_folds(st, fold_tol)
            if near.size:
                path.fixed = np.sort(np.concatenate([path.fixed, near]))
        lam = float(np.exp(s))
        if on_step is not None and not stalled:
            on_step(lam, z, st)
        if lam < lam_prev:  # a turn: the kept profiles are those of the piece since the last one
            snaps = []
        elif lam >= certify_from / 2 and lam >= (snaps[-1][0] if snaps else 0.0) * SNAPSHOT_RATIO:
            snaps = [snap for snap in snaps if snap[0] >= lam / SNAPSHOT_SPAN]
            snaps.append((lam, st.pi_s.astype(np.float32), st.pi_p.astype(np.float32)))
        lam_prev = lam
        LOG.debug("step %d: lambda %.4g, next step %.3g, states kept as unknowns %s, %.1f s", steps, lam, step,
                  path.fixed.tolist(), time.perf_counter() - start)
        over = (budget_seconds is not None and time.perf_counter() - start > budget_seconds
                or max_steps is not None and steps >= max_steps)
        if lam >= next_cert or lam >= lam_stop or over or stalled:
            next_cert = max(next_cert, lam) * certify_factor
            nc = nash_conv(op, st.pi_s, st.pi_p)
            curve.append({"lambda": lam, "rounds": steps, "seconds": round(time.perf_counter() - start, 2),
                          "nashconv_s0": nc.at_start, "nashconv_max": nc.max})
            if stalled:
                curve[-1]["stalled"] = True
            if control is not None:
                curve[-1]["rejected"] = rejected
            LOG.info("certified %s", curve[-1])
            if best is None or nc.max < best[2].max:
                best, best_snaps = (st.pi_s.copy(), st.pi_p.copy(), nc, lam), [sn for sn in snaps if sn[0] < lam]
            if nc.max <= target or lam >= lam_stop or over or stalled:
                break
    return PathResult(pi_small=best[0], pi_patron=best[1], certificate=best[2], steps=steps,
                      seconds=time.perf_counter() - start, curve=curve, lam=best[3], snapshots=best_snaps)

"""A Markov perfect equilibrium search for the patron game (docs/model.md section 11, concept 4).

Two methods follow the logit quantal-response path. At a precision lambda, a profile is a logit
equilibrium when each player's stage policy in every state is the softmax of lambda times its
Q-values under the profile's own exact values: ``pi_S(s) = softmax(lambda sum_aP pi_P Q_S(s, ., aP))``
and the same for the patron. As lambda grows, logit equilibria approach Nash equilibria (McKelvey
and Palfrey 1995), and their Markov-perfect versions approach MPEs.

``method="homotopy"`` (``STANDARD``, what `alliance game` and the explorer run): the predictor-
corrector homotopy of :mod:`agents.game.homotopy` on the two value vectors and log lambda, which
passes the path's turning points; on `war` it certifies 0.0046 (max over states; 0.0023 at s0) at lambda = 1662
(0.0076 at 1152, where the path starts to snake). With ``prior_stop`` (STANDARD: 20000), the path is then followed
again with the best profile as its prior (policies ~ prior x exp(lambda payoffs)) from lambda = 1 to that
precision, the prior mixed with weight ``prior_mix`` (STANDARD: 0.01) with the uniform profile in every
state: on `war` 0.0026 (0.00061 at s0) at lambda = 2366, and the path stalls at 2506 (unmixed, to 2000:
0.0029 at 2322).
With ``extrapolate`` (a ratio r; STANDARD: 1.5), the Richardson stage of :mod:`agents.game.extrapolate`
follows: the returned profile at lambda combined with the path's profiles kept from lambda / r on
(on the piece of the path since its last turn), state by state where it lowers the exact NashConv.
Last, with ``proximal_rounds`` (STANDARD: 60), the proximal-point Newton polish of
:mod:`agents.game.proximal` from the best profile (the MPE conditions as one complementarity system in
the policies and the values; weight ``proximal_nu``, default 0.01), certified every round and stopped at
the target: on `war` it takes the prior path's 0.0026 to 0.00095 (docs/model.md section 11).

``method="dynamics"`` (``DYNAMICS``, the previous standard): damped fixed-point iteration, annealed.
Each round computes both players' Q from the profile's exact values (``GameOperator.q_values``),
moves both stage policies a damped step towards their logit responses (a few inner steps per state,
all states at once), and re-evaluates the profile exactly; lambda rises geometrically along a
schedule, each stage warm-started from the last. Past the last precision where the damped
iteration still settles (about 300 on `war`), an optional last phase keeps lambda fixed and high
(``final_lambda``), steps with small damping and averages the iterates (Cesàro), certifying the
average every ``final_every`` rounds; a last optional phase polishes the best certified profile by
fictitious play with exact best responses (a step 1 / (k + ``polish_offset``) towards the exact
best responses its certification has just computed, ``polish_rounds`` rounds, each certified). On
`war` this reaches 0.023.

The certificate is what counts, whatever the path did: max over states of the profile's exact
NashConv (:func:`agents.game.best_response.nash_conv`, exact best responses by policy iteration).
Both report the certificate along the way (the curve) and return the profile with the smallest
max NashConv they met. Only the homotopy with its proximal stage reaches 1e-3 over all states on `war`
(docs/model.md section 11).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from agents.archetypes import label, stats_from_occupancy
from agents.game.best_response import NashConv, nash_conv
from agents.game.operator import GameOperator, pure
from envs.game_tables import N_PATRON
from envs.spaces import N_ACTIONS, N_STATES

METHOD = "annealed logit response dynamics (damped, warm-started along a geometric precision schedule)"
AVERAGED = "; then Cesaro-averaged damped logit responses at lambda = {lam:g} (damping {damping:g})"
HOMOTOPY = ("predictor-corrector homotopy on the logit path (pseudo-arclength in the two value vectors and log lambda, "
            "per-state logit stage equilibria by Newton, implicit-function Jacobian); the profile at lambda = {lam:.4g}")
EXTRAPOLATED = ("; then Richardson extrapolation to 1/lambda = 0 (least-squares line in 1/lambda through the path's "
                "{k} kept profiles from lambda = {lo:.4g} to {hi:.4g}, clipped at 0, renormalised), kept in the states where "
                "it lowers the exact NashConv ({states} states after {rounds} certifications)")
NOT_EXTRAPOLATED = ("; a Richardson extrapolation to 1/lambda = 0 from the path's {k} kept profiles from lambda = "
                    "{lo:.4g} to {hi:.4g} certified no better ({rounds} certifications, best max NashConv {best:.2g}), so "
                    "the path's profile is returned")
METHODS = ("dynamics", "homotopy")
TARGET = 1e-3  # section 11's certificate target (max over states of NashConv)
PRIORED = ("; then the logit path again with that profile{mixed} as its prior (policies ~ prior x exp(lambda payoffs)), "
           "from lambda = 1 to {stop:g}: its profile at lambda = {lam:.4g}")
NOT_PRIORED = ("; the logit path again with that profile{mixed} as its prior, from lambda = 1 to {stop:g}, certified no better "
               "(best max NashConv {best:.2g})")
PRIOR_FLOOR = 1e-200  # probabilities below it enter the prior as this (log -460)
MIXED = " (mixed with the uniform profile, weight {mix:g})"
PROXIMAL = ("; then a proximal-point Newton polish of the complementarity system of the MPE conditions (Fischer-Burmeister, "
            "weight nu = {nu:g}, {rounds} rounds), its best certified profile")
NOT_PROXIMAL = "; a proximal-point Newton polish (weight nu = {nu:g}, {rounds} rounds) certified no better"
POLISHED = "; then fictitious play with exact best responses from the best profile (step 1/(k + {offset}), {rounds} rounds)"


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    return z / z.sum(axis=1, keepdims=True)


@dataclass
class EquilibriumSearch:
    """The best profile found, its certificate, and the curve of (lambda, rounds, seconds, NashConv
    at s0, max NashConv) after each stage."""

    pi_small: np.ndarray
    pi_patron: np.ndarray
    certificate: NashConv
    method: str
    iterations: int
    seconds: float
    curve: list[dict] = field(default_factory=list)

    @property
    def nashconv_max(self) -> float:
        return self.certificate.max

    @property
    def nashconv_s0(self) -> float:
        return self.certificate.at_start


def _logit_step(q_s: np.ndarray, q_p: np.ndarray, lam: float, pi_s: np.ndarray, pi_p: np.ndarray,
                damping: float, inner: int) -> tuple[np.ndarray, np.ndarray]:
    for _ in range(inner):
        new_s = softmax(lam * np.einsum("sap,sp->sa", q_s, pi_p))
        new_p = softmax(lam * np.einsum("sap,sa->sp", q_p, pi_s))
        pi_s = (1.0 - damping) * pi_s + damping * new_s
        pi_p = (1.0 - damping) * pi_p + damping * new_p
    return pi_s, pi_p


def search_mpe(op: GameOperator, lambdas: tuple[float, ...] = tuple(np.geomspace(1.0, 178.0, 10)),
               rounds: int = 10, damping: float = 0.3, inner: int = 5, certify_every: int = 1,
               budget_seconds: float | None = None, final_lambda: float | None = None, final_rounds: int = 0,
               final_damping: float = 0.05, final_every: int = 25, polish_rounds: int = 0,
               polish_offset: int = 50, method: str = "dynamics", **homotopy: object) -> EquilibriumSearch:
    """With ``method="dynamics"`` (the default): follow the logit path over ``lambdas`` (``rounds``
    damped rounds at each), certify the profile after every ``certify_every`` stages, stop early
    past ``budget_seconds``; then, with ``final_lambda``, ``final_rounds`` averaged rounds at that
    precision (see the module docstring); then ``polish_rounds`` rounds of fictitious play from the
    best profile. With ``method="homotopy"``: the predictor-corrector homotopy of
    :func:`agents.game.homotopy.follow_path` (``homotopy``: its keyword arguments, and
    ``budget_seconds``), then with ``extrapolate=r`` (r > 1) the Richardson stage of
    :mod:`agents.game.extrapolate` from the path's kept profiles from lambda / r on, then with
    ``prior_stop`` the path again with the best profile as its prior (mixed with weight ``prior_mix``,
    default 0, with the uniform profile), to that lambda, then with ``proximal_rounds`` the proximal
    polish of :mod:`agents.game.proximal` (weight ``proximal_nu``, default 0.01). Returns the
    profile with the smallest max NashConv met."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not allowed: one of {', '.join(METHODS)}")
    if method == "homotopy":
        return _homotopy(op, budget_seconds, homotopy)
    if homotopy:
        raise ValueError(f"{next(iter(homotopy))}={next(iter(homotopy.values()))!r} is not allowed: "
                         "a keyword of method='homotopy' only")
    start = time.perf_counter()
    n = op.rows.size
    pi_s, pi_p = np.full((n, N_ACTIONS), 1.0 / N_ACTIONS), np.full((n, N_PATRON), 1.0 / N_PATRON)
    v_s, v_p = op.evaluate(pi_s, pi_p)
    best: tuple | None = None
    curve, done = [], 0
    for i, lam in enumerate(lambdas):
        for _ in range(rounds):
            q_s, q_p = op.q_values(v_s, v_p)
            pi_s, pi_p = _logit_step(q_s, q_p, float(lam), pi_s, pi_p, damping, inner)
            v_s, v_p = op.evaluate(pi_s, pi_p)
            done += 1
        last = i == len(lambdas) - 1
        over = budget_seconds is not None and time.perf_counter() - start > budget_seconds
        if (i + 1) % certify_every == 0 or last or over:
            nc = nash_conv(op, pi_s, pi_p)
            curve.append({"lambda": float(lam), "rounds": done, "seconds": round(time.perf_counter() - start, 2),
                          "nashconv_s0": nc.at_start, "nashconv_max": nc.max})
            if best is None or nc.max < best[2].max:
                best = (pi_s.copy(), pi_p.copy(), nc)
        if over:
            break
    method = METHOD
    if final_lambda is not None and final_rounds > 0:
        method += AVERAGED.format(lam=final_lambda, damping=final_damping)
        avg_s, avg_p = np.zeros_like(pi_s), np.zeros_like(pi_p)
        for k in range(1, final_rounds + 1):
            q_s, q_p = op.q_values(v_s, v_p)
            pi_s, pi_p = _logit_step(q_s, q_p, float(final_lambda), pi_s, pi_p, final_damping, inner)
            v_s, v_p = op.evaluate(pi_s, pi_p, guess=(v_s, v_p))
            avg_s += pi_s
            avg_p += pi_p
            done += 1
            if k % final_every == 0 or k == final_rounds:
                mean_s, mean_p = avg_s / k, avg_p / k
                nc = nash_conv(op, mean_s, mean_p)
                curve.append({"lambda": float(final_lambda), "rounds": done, "averaged": k,
                              "seconds": round(time.perf_counter() - start, 2),
                              "nashconv_s0": nc.at_start, "nashconv_max": nc.max})
                if nc.max < best[2].max:
                    best = (mean_s, mean_p, nc)
    assert best is not None
    if polish_rounds > 0:
        method += POLISHED.format(offset=polish_offset, rounds=polish_rounds)
        pi_s, pi_p, nc = best[0].copy(), best[1].copy(), best[2]
        for k in range(1, polish_rounds + 1):
            step = 1.0 / (k + polish_offset)
            pi_s = (1.0 - step) * pi_s + step * pure(nc.small_br.policy, N_ACTIONS)
            pi_p = (1.0 - step) * pi_p + step * pure(nc.patron_br.policy, N_PATRON)
            nc = nash_conv(op, pi_s, pi_p)
            done += 1
            curve.append({"lambda": None, "rounds": done, "polished": k, "seconds": round(time.perf_counter() - start, 2),
                          "nashconv_s0": nc.at_start, "nashconv_max": nc.max})
            if nc.max < best[2].max:
                best = (pi_s.copy(), pi_p.copy(), nc)
    return EquilibriumSearch(pi_small=best[0], pi_patron=best[1], certificate=best[2], method=method, iterations=done,
                             seconds=time.perf_counter() - start, curve=curve)


def _homotopy(op: GameOperator, budget_seconds: float | None, options: dict) -> EquilibriumSearch:
    from agents.game.homotopy import follow_path

    options = dict(options)
    ratio, prior_stop = options.pop("extrapolate", None), options.pop("prior_stop", None)
    mix = options.pop("prior_mix", 0.0)
    prox_rounds, nu = options.pop("proximal_rounds", 0), options.pop("proximal_nu", None)
    if isinstance(prox_rounds, bool) or not (isinstance(prox_rounds, int) and prox_rounds >= 0):
        raise ValueError(f"proximal_rounds={prox_rounds!r} is not allowed: a number of rounds >= 0")
    if nu is not None and (isinstance(nu, bool) or not (isinstance(nu, (int, float)) and nu > 0)):
        raise ValueError(f"proximal_nu={nu!r} is not allowed: a proximal weight > 0")
    if ratio is not None and not (isinstance(ratio, (int, float)) and ratio > 1):
        raise ValueError(f"extrapolate={ratio!r} is not allowed: a ratio of precisions > 1 (or None)")
    if isinstance(mix, bool) or not (isinstance(mix, (int, float)) and 0 <= mix < 1):
        raise ValueError(f"prior_mix={mix!r} is not allowed: a weight of the uniform profile in [0, 1)")
    found = follow_path(op, budget_seconds=budget_seconds, **options)
    res = _extrapolated(op, found, ratio)
    res = res if prior_stop is None else _with_prior(op, res, float(prior_stop), float(mix), options)
    return _proximal(op, res, prox_rounds, nu, float(options.get("target", TARGET))) if prox_rounds else res


def _proximal(op: GameOperator, res: EquilibriumSearch, rounds: int, nu: float | None, target: float) -> EquilibriumSearch:
    """The proximal-point Newton polish of :mod:`agents.game.proximal` from the best profile so far, up to
    ``rounds`` rounds or the target; its best certified profile is returned if it beats ``res``."""
    from agents.game.proximal import NU, proximal_polish

    nu = NU if nu is None else nu
    if res.certificate.max <= target:
        return res
    pol = proximal_polish(op, res.pi_small, res.pi_patron, start=res.certificate, rounds=rounds, nu=nu, target=target)
    res.iterations += pol.rounds
    res.curve += [{**c, "proximal": True, "seconds": round(res.seconds + c["seconds"], 2)} for c in pol.curve]
    res.seconds += pol.seconds
    if pol.improved:
        res.pi_small, res.pi_patron, res.certificate = pol.pi_small, pol.pi_patron, pol.certificate
        res.method += PROXIMAL.format(nu=nu, rounds=pol.rounds)
    else:
        res.method += NOT_PROXIMAL.format(nu=nu, rounds=pol.rounds)
    return res


def _extrapolated(op: GameOperator, found, ratio: float | None) -> EquilibriumSearch:
    from agents.game.extrapolate import extrapolate

    method = HOMOTOPY.format(lam=found.lam)
    res = EquilibriumSearch(pi_small=found.pi_small, pi_patron=found.pi_patron, certificate=found.certificate,
                            method=method, iterations=found.steps, seconds=found.seconds, curve=found.curve)
    lower = [snap for snap in found.snapshots if snap[0] * float(ratio or 1) >= found.lam]
    lower = lower or found.snapshots[-1:]
    if ratio is None or not lower:
        return res
    ext = extrapolate(op, lower, (found.lam, found.pi_small, found.pi_patron), found.certificate)
    res.iterations += ext.certifications
    for c in ext.curve:
        res.curve.append({"lambda": found.lam, "extrapolated_from": [lower[0][0], found.lam], "profiles": len(lower) + 1, **c,
                          "seconds": round(found.seconds + c["seconds"], 2)})
    if ext.improved:
        res.pi_small, res.pi_patron, res.certificate = ext.pi_small, ext.pi_patron, ext.certificate
        res.method += EXTRAPOLATED.format(k=len(lower) + 1, lo=lower[0][0], hi=found.lam, states=ext.states,
                                          rounds=ext.certifications)
    else:
        res.method += NOT_EXTRAPOLATED.format(k=len(lower) + 1, lo=lower[0][0], hi=found.lam, rounds=ext.certifications,
                                              best=min(c["nashconv_max"] for c in ext.curve))
    res.seconds = found.seconds + ext.curve[-1]["seconds"]
    return res


def _with_prior(op: GameOperator, res: EquilibriumSearch, stop: float, mix: float, options: dict) -> EquilibriumSearch:
    """The logit path again, with the best profile so far as its prior (docs/model.md section 11), mixed
    with weight ``mix`` with the uniform profile in every state: from lambda = 1 (where its solution is
    nearly the prior) to ``stop``, certified from 50 at every 1.25 in lambda; the best certified profile is
    returned if it beats ``res``."""
    from agents.game.homotopy import follow_path

    b_s = (1.0 - mix) * res.pi_small + mix / res.pi_small.shape[1]
    b_p = (1.0 - mix) * res.pi_patron + mix / res.pi_patron.shape[1]
    prior = (np.log(np.maximum(b_s, PRIOR_FLOOR)), np.log(np.maximum(b_p, PRIOR_FLOOR)))
    v_s, v_p = op.evaluate(b_s, b_p)
    x0 = np.einsum("sap,sa->sp", op.q_values(v_s, v_p)[1], b_s)
    keep = {k: options[k] for k in ("target", "max_steps") if k in options}
    found = follow_path(op, lam_start=1.0, lam_stop=stop, certify_from=50.0, certify_factor=1.25,
                        resume=(np.stack([v_s, v_p]), x0), prior=prior, **keep)
    res.iterations += found.steps
    res.curve += [{**c, "prior": True, "seconds": round(res.seconds + c["seconds"], 2)} for c in found.curve]
    res.seconds += found.seconds
    mixed = MIXED.format(mix=mix) if mix else ""
    if found.certificate.max < res.certificate.max:
        res.pi_small, res.pi_patron, res.certificate = found.pi_small, found.pi_patron, found.certificate
        res.method += PRIORED.format(stop=stop, lam=found.lam, mixed=mixed)
    else:
        res.method += NOT_PRIORED.format(stop=stop, best=found.certificate.max, mixed=mixed)
    return res


# The search `alliance game` and the explorer run (docs/model.md section 11): the homotopy on the
# logit path, certified from lambda = 100 and at every doubling, up to lambda = 1650 (on `war` the
# path snakes in lambda from about 1177 on and first passes 1650 just before it turns at 1672, the
# highest lambda the continuation reached when followed further: docs/model.md section 11; about
# 200 steps), then the Richardson extrapolation from the path's profiles from lambda / 1.5 on (kept
# only if it certifies better), then the logit path again with the best profile, mixed with weight 0.01 with
# the uniform profile, as its prior, to lambda = 20000 (on `war` it stalls at 2506 after about 100 steps, 130 s;
# kept only if it certifies better: 0.0026 at 2366; issue 24's sixth attempt in docs/model.md section 11),
# then up to 60 rounds of the proximal-point Newton polish (weight 0.01), stopped at the target 1e-3 (the
# seventh attempt: on `war` below 1e-3 after 28 rounds).
STANDARD = {"method": "homotopy", "target": TARGET, "lam_stop": 1650.0, "certify_from": 100.0, "certify_factor": 2.0,
            "max_steps": 400, "extrapolate": 1.5, "prior_stop": 20000.0, "prior_mix": 0.01, "proximal_rounds": 60}
# The previous standard: the logit path to 178, 25 averaged rounds at 1000, 150 rounds of fictitious play.
DYNAMICS = {"lambdas": tuple(float(x) for x in np.geomspace(1.0, 178.0, 10)), "rounds": 10, "final_lambda": 1000.0,
            "final_rounds": 25, "final_damping": 0.05, "final_every": 25, "polish_rounds": 150, "polish_offset": 50}


def profile_occupancy(op: GameOperator, pi_s: np.ndarray, pi_p: np.ndarray) -> np.ndarray:
    """The small state's episode-average state-action occupancy (1080, 96) under the profile, from
    s0 over the scenario's horizon (section 9's statistics read it), stepped by the single-agent
    operator's ``propagate`` with the profile's moves on the block."""
    moves = {op.phase: op.profile_moves(pi_s, pi_p)}
    dist = np.zeros(N_STATES)
    dist[op.rows[op.s0]] = 1.0
    occ = np.zeros_like(pi_s)
    for t in range(op.params.horizon):
        occ += dist[op.rows, None] * pi_s
        dist = op.single.propagate(dist, moves, t)
    return occ / op.params.horizon


def summarize_search(op: GameOperator, res: EquilibriumSearch) -> dict:
    """The best certified profile in JSON-ready form: its certificate (NashConv at s0 and max), both
    values at s0, the small state's section-9 label along the path, the patron's action shares along
    the path (those of at least .5 %), the method and the curve."""
    occupancy = profile_occupancy(op, res.pi_small, res.pi_patron)
    full = np.zeros((N_STATES, N_ACTIONS))
    full[op.rows] = occupancy
    cert = res.certificate
    patron_mix = occupancy.sum(axis=1) @ res.pi_patron
    return {"nashconv_s0": cert.at_start, "nashconv_max": cert.max, "V_S": float(cert.v_small[op.s0]),
            "V_P": float(cert.v_patron[op.s0]), "method": res.method, "iterations": res.iterations,
            "seconds": res.seconds, "archetype": label(stats_from_occupancy(full)),
            "patron_action_shares": {f"{a}": float(x) for a, x in enumerate(patron_mix) if x >= 0.005},
            "curve": res.curve, "note": "certificate = max over states of the profile's exact NashConv; the target "
            f"{TARGET:g} is {'' if cert.max <= TARGET else 'not '}reached (see docs/model.md section 11)"}

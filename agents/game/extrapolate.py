"""Richardson extrapolation of the logit path towards lambda = infinity (docs/model.md section 11,
concept 4): the last stage of the MPE search after the homotopy (:mod:`agents.game.homotopy`).

Along a smooth piece of the logit path, an action a Nash equilibrium plays keeps a probability
pi(lambda) = pi* + c / lambda + O(1 / lambda^2), and an action it does not play decays like
exp(-lambda gap). From two profiles of the path at lambda_lo < lambda_hi, the combination
w pi(lambda_hi) + (1 - w) pi(lambda_lo) with w = lambda_hi / (lambda_hi - lambda_lo) cancels the
1 / lambda term (Richardson 1911) and drives the decaying actions below 0; they are clipped to 0
and each state's row renormalised. From more profiles of the same smooth piece, the same value at
1 / lambda = 0 of the least-squares line in 1 / lambda (of each probability) averages out what the
line does not fit. Where the path turns (a fold between the precisions, or a
state whose stage game changes its equilibrium there) the combination is wrong, so the stage is
certified state by state: the exact NashConv of the extrapolated profile is compared with that
of the path's own profile at lambda_hi in every state, the states where it is larger go back to
the path's profile, and the mixed profile is certified again, until no state goes back (at most
``max_rounds`` rounds). The certificate counts, as everywhere: the stage returns the profile with
the smallest exact max NashConv it met, the path's own if nothing beats it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agents.game.best_response import NashConv, nash_conv
from agents.game.operator import GameOperator, renormalised
from envs.params import short_repr


@dataclass
class Extrapolated:
    """The best profile the stage met, its certificate, the certifications made and the curve
    (one entry per certified profile: the states extrapolated, NashConv at s0 and max, seconds
    since the stage began)."""

    pi_small: np.ndarray
    pi_patron: np.ndarray
    certificate: NashConv
    certifications: int
    improved: bool  # the best is an extrapolated profile (not the path's own)
    states: int  # the states where the best profile is extrapolated (0: the path's own)
    curve: list[dict] = field(default_factory=list)


def richardson(lams: Sequence[float], policies: Sequence[np.ndarray]) -> np.ndarray:
    """The value at 1 / lambda = 0 of the least-squares line in 1 / lambda through ``policies`` (rows
    of probabilities, same shape) at the precisions ``lams`` (two or more, distinct, > 0; two: the
    first-order Richardson extrapolation), clipped at 0 and renormalised per row (a row clipped to
    nothing keeps the policy at the highest precision)."""
    lam = np.asarray(lams, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 2 or lam.size != len(policies) or not np.all(lam > 0) \
            or np.unique(lam).size != lam.size:
        raise ValueError(f"lams={short_repr(list(lams))} is not allowed: two or more distinct precisions > 0, "
                         "one per policy")
    weights = np.linalg.pinv(np.stack([np.ones_like(lam), 1.0 / lam], axis=1))[0]  # the intercept's
    return renormalised(sum(w * np.asarray(p, dtype=np.float64) for w, p in zip(weights, policies)),
                        policies[int(lam.argmax())])


def extrapolate(op: GameOperator, lower: Sequence[tuple[float, np.ndarray, np.ndarray]],
                high: tuple[float, np.ndarray, np.ndarray], plain: NashConv | None = None,
                max_rounds: int = 5) -> Extrapolated:
    """The stage of the module docstring from the path's profiles ``lower`` (one or more) and
    ``high``, each (lambda, pi_small, pi_patron); ``plain``: the certificate of ``high``'s profile
    if known."""
    start = time.perf_counter()
    points = [*lower, high]
    _, hi_s, hi_p = high
    plain = nash_conv(op, hi_s, hi_p) if plain is None else plain
    ext_s = richardson([p[0] for p in points], [p[1] for p in points])
    ext_p = richardson([p[0] for p in points], [p[2] for p in points])
    best = (hi_s, hi_p, plain, 0)
    use = np.ones(hi_s.shape[0], dtype=bool)
    curve, made = [], 0
    for _ in range(max_rounds):
        pi_s = np.where(use[:, None], ext_s, hi_s)
        pi_p = np.where(use[:, None], ext_p, hi_p)
        nc = nash_conv(op, pi_s, pi_p)
        made += 1
        curve.append({"extrapolated_states": int(use.sum()), "nashconv_s0": nc.at_start, "nashconv_max": nc.max,
                      "seconds": time.perf_counter() - start})
        if nc.max < best[2].max:
            best = (pi_s, pi_p, nc, int(use.sum()))
        keep = use & (nc.per_state <= plain.per_state)
        if (keep == use).all() or not keep.any():
            break
        use = keep
    return Extrapolated(pi_small=best[0], pi_patron=best[1], certificate=best[2], certifications=made,
                        improved=best[3] > 0, states=best[3], curve=curve)

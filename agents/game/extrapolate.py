"""Richardson extrapolation of the logit path towards lambda = infinity (docs/model.md section 11,
concept 4): the last stage of the MPE search after the homotopy (:mod:`agents.game.homotopy`).

Along a smooth piece of the logit path, an action a Nash equilibrium plays keeps a probability
pi(lambda) = pi* + c / lambda + O(1 / lambda^2), and an action it does not play decays like
exp(-lambda gap). From two profiles of the path at lambda_lo < lambda_hi, the combination
w pi(lambda_hi) + (1 - w) pi(lambda_lo) with w = lambda_hi / (lambda_hi - lambda_lo) cancels the
1 / lambda term (Richardson 1911) and drives the decaying actions below 0; they are clipped to 0
and each state's row renormalised. Where the path turns (a fold between the two precisions, or a
state whose stage game changes its equilibrium there) the combination is wrong, so the stage is
certified state by state: the exact NashConv of the extrapolated profile is compared with that
of the path's own profile at lambda_hi in every state, the states where it is larger go back to
the path's profile, and the mixed profile is certified again, until no state goes back (at most
``max_rounds`` rounds). The certificate counts, as everywhere: the stage returns the profile with
the smallest exact max NashConv it met, the path's own if nothing beats it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from agents.game.best_response import NashConv, nash_conv
from agents.game.operator import GameOperator


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


def richardson(lam_lo: float, lo: np.ndarray, lam_hi: float, hi: np.ndarray) -> np.ndarray:
    """The first-order Richardson extrapolation to 1 / lambda = 0 of policies ``lo`` at ``lam_lo`` and
    ``hi`` at ``lam_hi`` (rows of probabilities, same shape), clipped at 0 and renormalised per row."""
    if not 0.0 < lam_lo < lam_hi:
        raise ValueError(f"lam_lo={lam_lo!r}, lam_hi={lam_hi!r} are not allowed: 0 < lam_lo < lam_hi")
    w = lam_hi / (lam_hi - lam_lo)
    out = np.maximum(w * hi + (1.0 - w) * lo, 0.0)
    total = out.sum(axis=1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), hi)


def extrapolate(op: GameOperator, low: tuple[float, np.ndarray, np.ndarray], high: tuple[float, np.ndarray, np.ndarray],
                plain: NashConv | None = None, max_rounds: int = 5) -> Extrapolated:
    """The stage of the module docstring from the path's profiles ``low`` and ``high``, each
    (lambda, pi_small, pi_patron); ``plain``: the certificate of ``high``'s profile if known."""
    start = time.perf_counter()
    _, hi_s, hi_p = high
    plain = nash_conv(op, hi_s, hi_p) if plain is None else plain
    ext_s = richardson(low[0], low[1], high[0], hi_s)
    ext_p = richardson(low[0], low[2], high[0], hi_p)
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

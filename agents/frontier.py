"""The autonomy-security frontier of the theory (Morrow 1991), traced by the exact optimum.

The optimum is solved with the autonomy weight w_A from 0 to 0.8 (17 steps by default: 0, 0.05,
..., 0.8), w_S and w_E rescaled in the scenario's own ratio so the weights sum to 1 (for the
default weights .5/.35/.15, w_S : w_E = .5 : .15, and w_A = .35 gives the default back). Each
optimum's discounted mean security and autonomy (``agents.streams``) is a point; every baseline is
a point at the scenario's own weights, and so is the optimum there (``default``).

:func:`trade_off_frontier` returns plain data; ``training/render/frontier.py`` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.baselines import baseline_names, make_policy
from agents.solver import check_params
from agents.streams import StreamReport, optimum_streams, policy_streams
from envs.params import AllianceParams, short_repr

W_A_MAX = 0.8
N_STEPS = 17


@dataclass(frozen=True)
class FrontierPoint:
    """One policy's place in the trade-off: discounted means of S, Aut and Econ."""

    label: str  # "optimal" or a baseline's name
    weights: tuple[float, float, float]  # (w_S, w_A, w_E) the policy was solved for (or scored at)
    security: float
    autonomy: float
    economy: float
    value: float  # V^pi(s0) at ``weights``
    optimum: float  # V*(s0) at ``weights``

    @classmethod
    def from_report(cls, report: StreamReport, weights: tuple[float, float, float]) -> FrontierPoint:
        s = report.streams
        return cls(label=report.policy, weights=weights, security=s["security"], autonomy=s["autonomy"],
                   economy=s["economy"], value=report.value, optimum=report.optimum)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "weights": list(self.weights), "security": self.security,
                "autonomy": self.autonomy, "economy": self.economy, "value": self.value, "optimum": self.optimum}


@dataclass(frozen=True)
class Frontier:
    """The optima along w_A, the baselines and the optimum at the scenario's weights."""

    scenario: str
    optima: list[FrontierPoint]  # in order of w_A
    baselines: list[FrontierPoint]
    default: FrontierPoint

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "optima": [p.to_dict() for p in self.optima],
                "baselines": [p.to_dict() for p in self.baselines], "default": self.default.to_dict()}


def frontier_weights(params: AllianceParams, n_steps: int = N_STEPS,
                     w_a_max: float = W_A_MAX) -> list[tuple[float, float, float]]:
    """(w_S, w_A, w_E) for w_A = 0 .. w_a_max in ``n_steps`` steps, w_S : w_E as in ``params``."""
    ok = isinstance(n_steps, int) and not isinstance(n_steps, bool) and n_steps >= 2
    if not ok:
        raise ValueError(f"n_steps={short_repr(n_steps)} is not allowed: an integer >= 2")
    if not isinstance(w_a_max, int | float) or isinstance(w_a_max, bool) or not 0 < w_a_max <= 1:
        raise ValueError(f"w_a_max={short_repr(w_a_max)} is not allowed: a number in (0, 1]")
    w_s, _, w_e = params.weights
    if w_s + w_e <= 0:
        raise ValueError(f"weights={params.weights!r} are not allowed for a frontier: w_S + w_E > 0")
    return [((1 - w_a) * w_s / (w_s + w_e), float(w_a), (1 - w_a) * w_e / (w_s + w_e))
            for w_a in np.linspace(0.0, w_a_max, n_steps)]


def at_weights(params: AllianceParams, weights: tuple[float, float, float]) -> AllianceParams:
    """The scenario with other reward weights (named after them)."""
    return params.with_overrides({"weights": weights}, name=f"{params.name}@wA={weights[1]:.4f}")


def trade_off_frontier(params: AllianceParams, n_steps: int = N_STEPS, w_a_max: float = W_A_MAX,
                       baselines: list[str] | None = None) -> Frontier:
    """Solve the optimum along w_A and score it and the baselines (all ten unless named)."""
    params = check_params(params)
    optima = []
    for w in frontier_weights(params, n_steps, w_a_max):
        optima.append(FrontierPoint.from_report(optimum_streams(at_weights(params, w)), w))
    names = baseline_names() if baselines is None else list(baselines)
    base = [FrontierPoint.from_report(policy_streams(params, make_policy(b, params), b), params.weights)
            for b in names]
    return Frontier(scenario=params.name, optima=optima, baselines=base,
                    default=FrontierPoint.from_report(optimum_streams(params), params.weights))

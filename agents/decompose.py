"""Why the optimum acts as it does in one state: Q* of the optimal action beside the best action of
each alternative family, each gap split into this quarter's reward terms and the continuation.

    Q*_t(s, a) = r(s, a) + gamma E[V*_{t+1}(s') | s, a]          (docs/model.md section 10)

For the optimal action a* and the best action a_f of a family f (the action of highest Q* among
those in the family, ties to the lowest flat index), the gap Q*(a*) - Q*(a_f) >= 0 is

    sum over envs.model.REWARD_PARTS of sign x (term(a*) - term(a_f))   (this quarter's reward)
    + gamma (E[V*(s') | a*] - E[V*(s') | a_f])                          (the continuation)

exactly. S, Aut and Econ are reported too (their differences explain the CES part's but do not add
up to it). The families are the six moves the theory sets against each other: combat troops
(m = 3), recognition (k = 1), deep integration (g = 2), the West signal (d = 3), mediation (d = 1)
and abstaining (m = 0). The reward terms come from ``envs.model.reward_terms``; Q* from
``agents.solver.q_values``. Stationary scenarios ignore ``t`` (Q* does not depend on it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.solver import check_params, lowest_argmax, q_values, solve
from envs import model
from envs.params import AllianceParams, short_repr
from envs.spaces import ALL_ACTIONS, STATE_VARS, check_state, describe_action, encode_states, state_dict

# family -> (action variable index in (m, k, g, d), its value)
FAMILIES = {
    "combat troops": (0, 3), "recognition": (1, 1), "deep integration": (2, 2),
    "West signal": (3, 3), "mediation": (3, 1), "abstain": (0, 0),
}
GOODS = ("security", "autonomy", "economy")


def parse_state(state: Any) -> tuple[int, ...]:
    """A state from a dict, six integers, or text ``phase=4,threat=2,autonomy=3,trust=3,west=0,fararc=1``;
    anything else (a missing variable, a level out of range) is a one-line ``ValueError``."""
    if isinstance(state, str):
        pairs: dict[str, Any] = {}
        for item in state.split(","):
            key, eq, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if not eq or not key or key in pairs:
                raise ValueError(f"state={short_repr(state)} is not allowed: six pairs var=level separated by "
                                 f"commas, once each: {','.join(v + '=..' for v in STATE_VARS)}")
            pairs[key] = int(value) if re.fullmatch(r"[+-]?\d{1,9}", value) else value
        state = pairs
    if isinstance(state, dict):
        unknown = [k for k in state if k not in STATE_VARS]
        missing = [v for v in STATE_VARS if v not in state]
        if unknown or missing:
            what = f"unknown variable {short_repr(unknown[0])}" if unknown else f"missing {missing[0]}"
            raise ValueError(f"state={short_repr(state)} is not allowed ({what}): the six variables "
                             f"{', '.join(STATE_VARS)}")
    return check_state(state, "state")


def check_time(t: Any, params: AllianceParams) -> int:
    ok = isinstance(t, int | np.integer) and not isinstance(t, bool) and 0 <= int(t) < params.horizon
    if not ok:
        raise ValueError(f"t={short_repr(t)} is not allowed: an integer in 0..{params.horizon - 1} (the quarter)")
    return int(t)


@dataclass(frozen=True)
class ActionValue:
    """One action in the state: Q*, this quarter's reward terms and the continuation."""

    family: str  # "optimal" or a family's name
    action: tuple[int, int, int, int]
    q: float  # Q*_t(s, a)
    reward: float  # r(s, a)
    terms: dict[str, float]  # the REWARD_PARTS terms and S, Aut, Econ of this quarter
    continuation: float  # gamma E[V*_{t+1}(s') | s, a] = Q* - r

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "action": list(self.action), "words": describe_action(self.action),
                "q": self.q, "reward": self.reward, "terms": dict(self.terms), "continuation": self.continuation}


@dataclass(frozen=True)
class Gap:
    """Q*(a*) - Q*(a_f) split: ``reward_parts`` (signed as they enter r) + ``continuation`` = ``gap``;
    ``goods`` are the differences of S, Aut and Econ (a* minus a_f; they do not add up)."""

    family: str
    gap: float
    reward_parts: dict[str, float]
    continuation: float
    goods: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "gap": self.gap, "reward_parts": dict(self.reward_parts),
                "continuation": self.continuation, "goods": dict(self.goods)}


@dataclass(frozen=True)
class StateExplanation:
    """Q* of the optimal action and of each family's best action in one (t, state)."""

    scenario: str
    t: int
    state: dict[str, int]
    value: float  # V*_t(s)
    optimal: ActionValue
    best: dict[str, ActionValue]  # family -> its best action
    gaps: dict[str, Gap]

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "t": self.t, "state": dict(self.state), "value": self.value,
                "optimal": self.optimal.to_dict(), "best": {f: a.to_dict() for f, a in self.best.items()},
                "gaps": {f: g.to_dict() for f, g in self.gaps.items()}}


def explain_state(params: AllianceParams, state: Any, t: Any = 0) -> StateExplanation:
    """Q* of the optimal action and of the best action in each family of :data:`FAMILIES`, in
    ``state`` at quarter ``t``, each gap split into reward terms and continuation."""
    params = check_params(params)
    s = parse_state(state)
    t = check_time(t, params)
    sol = solve(params)
    row = t if params.finite_horizon else 0
    index = int(encode_states(np.array([s]))[0])
    q = q_values(sol, row)[index]
    terms = model.reward_terms(np.repeat(np.array([s]), len(ALL_ACTIONS), axis=0), ALL_ACTIONS, params)
    keep = (*model.REWARD_PARTS, *GOODS)

    def action_value(family: str, a: int) -> ActionValue:
        return ActionValue(family=family, action=tuple(int(v) for v in ALL_ACTIONS[a]), q=float(q[a]),
                           reward=float(terms["reward"][a]), terms={k: float(terms[k][a]) for k in keep},
                           continuation=float(q[a] - terms["reward"][a]))

    star = int(lowest_argmax(q[None])[0])
    optimal = action_value("optimal", star)
    best, gaps = {}, {}
    for family, (var, level) in FAMILIES.items():
        members = np.flatnonzero(ALL_ACTIONS[:, var] == level)
        a = int(members[lowest_argmax(q[members][None])[0]])
        best[family] = av = action_value(family, a)
        gaps[family] = Gap(
            family=family, gap=optimal.q - av.q,
            reward_parts={k: sign * (optimal.terms[k] - av.terms[k]) for k, sign in model.REWARD_PARTS.items()},
            continuation=optimal.continuation - av.continuation,
            goods={k: optimal.terms[k] - av.terms[k] for k in GOODS})
    return StateExplanation(scenario=params.name, t=t, state=state_dict(s), value=float(sol.values[row, index]),
                            optimal=optimal,
                            best=best, gaps=gaps)

"""Value streams: what a policy gains and gives up, term by term (the autonomy-security trade-off).

For any policy, the exact expected discounted sum of each term of the reward (docs/model.md
section 6) — security S, autonomy Aut, economy Econ, the CES part, the identification bonus, the
troop and basing costs (the entrapment costs the reward charges), the diplomacy cost, and the
entrapment ``trap`` inside S — each computed by the exact evaluator
(:func:`agents.exact_eval.policy_values`) with that term in place of the reward, under the same
objective as the policy's value (section 7), and reported as a discounted mean: the stream times
(1 - gamma), a weighted average of the term over the quarters (weights summing to 1).

The terms come from ``envs.model.reward_terms`` and compose the reward as ``envs.model.REWARD_PARTS``
says: CES + bonus - troop - basing - diplomacy = r, so those five streams add up to V^pi. S, Aut
and Econ enter r only through the CES aggregate, which is not additive over them: their streams
describe the policy, they do not sum to its value.

Timeline and calendar (literal reading of section 7). A policy's value there is its 44 quarters
plus gamma^44 V*_inf(state reached), V*_inf being the continuation model's optimum — the world
played well after 2024Q4. The stream of a term is defined the same way: the term's discounted
sum over the 44 quarters plus gamma^44 times the term's stream of the continuation optimum (every
phase block) at the state reached. With this reading the streams of a finite-horizon scenario
add up to the value the evaluator reports, and (1 - gamma) is the right scale (the weights
sum_t<44 gamma^t + gamma^44 / (1 - gamma) = 1 / (1 - gamma)). ``horizon_part`` holds the 44
quarters' share alone, in the same units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from agents.baselines import baseline_names, make_policy
from agents.exact_eval import normalize_table, policy_values
from agents.policy import Policy, as_policy, policy_table
from agents.solver import check_params, solve
from envs import model
from envs.params import AllianceParams
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS, N_STATES, encode_states

# The streams reported, in order: the three goods, the reward's parts, and the entrapment in S.
GOODS = ("security", "autonomy", "economy")
PARTS = tuple(model.REWARD_PARTS)  # ces, identity_bonus, troop_cost, basing_cost, diplomacy_cost
TERMS = GOODS + PARTS + ("trap",)


@lru_cache(maxsize=2)
def term_tables(params: AllianceParams) -> dict[str, np.ndarray]:
    """Every term of ``envs.model.reward_terms`` on every (state, action): name -> (5400, 96)."""
    states = np.repeat(ALL_STATES, N_ACTIONS, axis=0)
    actions = np.tile(ALL_ACTIONS, (N_STATES, 1))
    out = {name: v.reshape(N_STATES, N_ACTIONS) for name, v in model.reward_terms(states, actions, params).items()}
    for v in out.values():
        v.setflags(write=False)
    return out


def _stack(params: AllianceParams, terms: tuple[str, ...]) -> np.ndarray:
    """The terms' tables side by side: (5400, 96, n)."""
    tables = term_tables(params)
    unknown = [t for t in terms if t not in tables]
    if unknown:
        raise ValueError(f"term={unknown[0]!r} is not allowed: one of {', '.join(tables)}")
    return np.stack([tables[t] for t in terms], axis=2)


@lru_cache(maxsize=2)
def continuation_streams(params: AllianceParams) -> np.ndarray:
    """Timeline/calendar: the streams (not scaled) of the continuation optimum on every state,
    (5400, len(TERMS)) — what the world after the horizon adds, term by term (module docstring).
    Section 6 reads neither the calendar nor the horizon, so the terms are ``params``'s own."""
    cont = params.continuation()
    return policy_values(cont, solve(cont).complete().policy, reward=_stack(params, TERMS), every_block=True)[0]


def stream_values(params: AllianceParams, table: Any,
                  terms: tuple[str, ...] = TERMS) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """V^pi with each term as the reward (not scaled), each in the layout of ``policy_values``,
    all in one pass of the exact evaluator: ``(streams, within)``. The term ``"reward"`` gives V^pi
    itself (after a finite horizon, the solver's V*_inf as the evaluator uses). For a
    finite-horizon scenario ``within`` holds the quarters' part alone; else None."""
    params = check_params(params)
    rewards = _stack(params, terms)
    if not params.finite_horizon:
        values = policy_values(params, table, reward=rewards)
        return {name: values[..., i] for i, name in enumerate(terms)}, None
    after = continuation_streams(params)
    v_inf = solve(params).values[params.horizon]
    cont = np.stack([v_inf if t == "reward" else after[:, TERMS.index(t)] for t in terms], axis=1)
    values = policy_values(params, table, reward=np.concatenate([rewards, rewards], axis=2),
                           terminal=np.concatenate([cont, np.zeros_like(cont)], axis=1))
    n = len(terms)
    return ({name: values[..., i] for i, name in enumerate(terms)},
            {name: values[..., n + i] for i, name in enumerate(terms)})


@dataclass(frozen=True)
class StreamReport:
    """One policy's value and streams in one scenario, as discounted means (x (1 - gamma))."""

    scenario: str
    policy: str
    gamma: float
    value: float  # V^pi(s0), not scaled
    optimum: float  # V*(s0), not scaled
    streams: dict[str, float]  # term -> (1 - gamma) * its stream from s0
    horizon_part: dict[str, float] | None = field(default=None)  # finite horizon: the quarters' share

    @property
    def share(self) -> float:
        """V^pi(s0) / V*(s0)."""
        return self.value / self.optimum

    @property
    def mean_value(self) -> float:
        """(1 - gamma) V^pi(s0): the value on the streams' scale."""
        return (1.0 - self.gamma) * self.value

    def reward_sum(self) -> float:
        """sum of sign x stream over ``envs.model.REWARD_PARTS``: equals :attr:`mean_value`."""
        return sum(sign * self.streams[name] for name, sign in model.REWARD_PARTS.items())

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "policy": self.policy, "gamma": self.gamma, "value": self.value,
                "optimum": self.optimum, "share": self.share, "mean_value": self.mean_value,
                "streams": dict(self.streams),
                "horizon_part": None if self.horizon_part is None else dict(self.horizon_part)}


def table_streams(params: AllianceParams, table: Any, name: str = "policy") -> StreamReport:
    """The streams of a policy table (flat actions or probabilities, as ``evaluate_table`` takes)."""
    params = check_params(params)
    tbl = normalize_table(table, params)
    s0 = int(encode_states(np.array([params.start]))[0])
    scale = 1.0 - params.gamma
    values, within = stream_values(params, tbl, TERMS + ("reward",))
    streams = {k: float(scale * values[k][0, s0]) for k in TERMS}
    part = None if within is None else {k: float(scale * within[k][0, s0]) for k in TERMS}
    value = float(values["reward"][0, s0])
    return StreamReport(scenario=params.name, policy=name, gamma=params.gamma, value=value,
                        optimum=solve(params).value, streams=streams, horizon_part=part)


def policy_streams(params: AllianceParams, policy: Policy, name: str | None = None) -> StreamReport:
    """The streams of any policy behind ``predict`` (a baseline, the optimum, a trained model);
    read off as ``agents.exact_eval.evaluate_policy`` reads it."""
    stochastic = not as_policy(policy).deterministic_table
    table = policy_table(policy, check_params(params), stochastic=stochastic)
    return table_streams(params, table, name or as_policy(policy).name)


def optimum_streams(params: AllianceParams) -> StreamReport:
    """The optimum's streams (time-dependent for timeline/calendar, as the evaluator scores it)."""
    return table_streams(params, solve(check_params(params)).start_table(), "optimal")


def compare_streams(params: AllianceParams, baselines: list[str] | None = None) -> list[StreamReport]:
    """The optimum beside each baseline (all ten unless ``baselines`` names some): plain data for a
    table (``[r.to_dict() for r in ...]``)."""
    names = baseline_names() if baselines is None else list(baselines)
    return [optimum_streams(params)] + [policy_streams(params, make_policy(b, params), b) for b in names]

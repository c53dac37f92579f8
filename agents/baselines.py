"""The ten baselines of docs/model.md section 8, each a policy behind SB3's ``predict``, and the registry.

A rule reads the decoded state and the scenario's per-phase parameters (D, IP, q, L) and alpha_W.
``random`` draws uniformly over the 96 joint actions afresh each step from its own seeded
generator (``deterministic`` is ignored); its exact evaluation uses the uniform distribution.
``myopic`` maximises r(s, a) now (the tables' reward), ties to the lowest flat index.

    make_policy("baseline:limited", params)   # or "limited"; "optimal" gives the exact optimum
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from agents.policy import decode_batch
from envs.params import AllianceParams
from envs.spaces import (
    ALL_STATES,
    N_ACTIONS,
    N_STATES,
    PHASE,
    R,
    T,
    W,
    decode_actions,
    encode_actions,
    encode_states,
)
from envs.tables import BLOCK, Tables, shared_tables

SLACK = 1e-9  # the threshold alpha_W * L >= .3 of `hedge`, compared as in exact arithmetic
TIE = 1e-12  # myopic: rewards within 1e-12 of the best count as ties (lowest flat index wins)

Rule = Callable[[np.ndarray, AllianceParams], np.ndarray]


def _per_phase(params: AllianceParams, name: str, phase: np.ndarray) -> np.ndarray:
    return np.asarray(getattr(params, name))[phase]


def _rows(n: int, m: Any, k: Any, g: Any, d: Any) -> np.ndarray:
    return np.stack([np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)) for v in (m, k, g, d)], axis=1)


def bandwagon(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """(3, 1, 2, 0): combat troops, recognition, deep integration."""
    return _rows(len(states), 3, 1, 2, 0)


def compliant(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """(D, [phase >= 2], IP, 0): exactly what the patron asks."""
    ph = states[:, PHASE]
    return _rows(len(states), _per_phase(p, "demand", ph), ph >= 2, _per_phase(p, "pressure", ph), 0)


def balance(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """(0, 0, 0, 3): abstain, resist, signal to the West."""
    return _rows(len(states), 0, 0, 0, 3)


def neutral(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """(0, 0, 0, 0)."""
    return _rows(len(states), 0, 0, 0, 0)


def hedge(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """If R <= 1: (D, 0, IP, 0); else if (W >= 1 or alpha_W L >= .3) and T <= 1: (1, 0, 0, 3);
    else (1, 0, 0, 2)."""
    ph = states[:, PHASE]
    comply = _rows(len(states), _per_phase(p, "demand", ph), 0, _per_phase(p, "pressure", ph), 0)
    west_open = (states[:, W] >= 1) | (p.alpha_west * _per_phase(p, "lockout", ph) >= 0.3 - SLACK)
    signal = (west_open & (states[:, T] <= 1))[:, None]
    hedged = np.where(signal, _rows(len(states), 1, 0, 0, 3), _rows(len(states), 1, 0, 0, 2))
    return np.where((states[:, R] <= 1)[:, None], comply, hedged)


def limited(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """(min(D, 2), 0, IP, 2): basing but no troops, far-arc outreach."""
    ph = states[:, PHASE]
    return _rows(len(states), np.minimum(_per_phase(p, "demand", ph), 2), 0, _per_phase(p, "pressure", ph), 2)


def mediator(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """(1, 0, 0, 1)."""
    return _rows(len(states), 1, 0, 0, 1)


def limited_mediation(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """`limited`, with d = 1 when q > 0 and R >= 2."""
    out = limited(states, p)
    mediate = (_per_phase(p, "mediation", states[:, PHASE]) > 0) & (states[:, R] >= 2)
    out[:, 3] = np.where(mediate, 1, out[:, 3])
    return out


def myopic(states: np.ndarray, p: AllianceParams, tables: Tables | None = None) -> np.ndarray:
    """The action maximising r(s, a) now, ties to the lowest flat index. The reward comes from
    ``tables`` (default the shared tables of ``p``; only the phase blocks of ``states`` are built)."""
    index = encode_states(states)
    tb = (shared_tables(p) if tables is None else tables).ensure(np.unique(index // BLOCK))
    reward = tb.reward_blocks.reshape(N_STATES, N_ACTIONS)[index]
    return decode_actions(np.argmax(reward >= reward.max(axis=1, keepdims=True) - TIE, axis=1))


RULES: dict[str, Rule] = {
    "bandwagon": bandwagon, "compliant": compliant, "balance": balance, "neutral": neutral, "hedge": hedge,
    "limited": limited, "mediator": mediator, "limited_mediation": limited_mediation, "myopic": myopic,
}
BASELINES = ("bandwagon", "compliant", "balance", "neutral", "hedge", "limited", "mediator",
             "limited_mediation", "random", "myopic")


class RulePolicy:
    """A stationary rule over decoded states; ``predict`` accepts (26,)/(N, 26) or with t (27)."""

    deterministic_table = True
    reads_time = False

    def __init__(self, name: str, rule: Rule, params: AllianceParams):
        self.name, self.rule, self.params = name, rule, params

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        states, _, single = decode_batch(observation, self.params, need_time=False)
        actions = self.rule(states, self.params)
        return (actions[0] if single else actions), state

    def action_probabilities(self, observation: np.ndarray) -> None:
        """None: a rule is deterministic (the one-hot of its action)."""
        return None

    def table(self) -> np.ndarray:
        """Flat actions over all 5400 states: (1, 5400)."""
        return encode_actions(self.rule(ALL_STATES, self.params))[None]

    def __repr__(self) -> str:
        return f"RulePolicy({self.name!r}, scenario={self.params.name!r})"


class RandomPolicy:
    """Uniform over the 96 joint actions, drawn afresh each step (``deterministic`` ignored)."""

    name = "random"
    deterministic_table = False
    reads_time = False

    def __init__(self, params: AllianceParams, seed: int | None = None):
        self.params = params
        self.rng = np.random.default_rng(seed)

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        states, _, single = decode_batch(observation, self.params, need_time=False)
        actions = decode_actions(self.rng.integers(0, N_ACTIONS, size=states.shape[0]))
        return (actions[0] if single else actions), state

    def action_probabilities(self, observation: np.ndarray) -> np.ndarray:
        """The uniform distribution, (N, 96)."""
        states, _, _ = decode_batch(observation, self.params, need_time=False)
        return np.full((states.shape[0], N_ACTIONS), 1.0 / N_ACTIONS)

    def __repr__(self) -> str:
        return f"RandomPolicy(scenario={self.params.name!r})"


def baseline_names() -> list[str]:
    """The ten baselines of section 8, in the table's order."""
    return list(BASELINES)


def policy_names() -> list[str]:
    """Every name :func:`make_policy` accepts."""
    return [f"baseline:{b}" for b in BASELINES] + ["optimal"]


def make_policy(name: str, params: AllianceParams, seed: int | None = None):
    """A policy by name: ``baseline:<name>`` (or the bare baseline name) or ``optimal``."""
    from agents.solver import check_params

    check_params(params)
    key = name[len("baseline:"):] if isinstance(name, str) and name.startswith("baseline:") else name
    if key == "optimal":
        from agents.exact_eval import optimal_policy

        return optimal_policy(params)
    if key == "random":
        return RandomPolicy(params, seed)
    if isinstance(key, str) and key in RULES:
        return RulePolicy(key, RULES[key], params)
    raise ValueError(f"policy={name!r} is not allowed: one of {', '.join(policy_names())}")

"""The behaviour policy of a dataset and its exact value.

A behaviour policy is ``optimal``, ``baseline:NAME`` or a run folder (its model loaded only if its sha256
is the one the run recorded, unless ``trust``: ``training.evaluate.evaluation.load_run``, as ``alliance
evaluate`` loads it). The scenario is a *named* scenario, optionally with overrides ``NAME[key=value,...]``:
the dataset's env is recovered from the registered id and its kwargs (``scenario``, ``overrides``), so a
YAML file, which the dataset would not carry, is refused.

:func:`exact_metadata` scores the policy with ``agents.exact_eval.evaluate_policy`` — the function behind
``alliance evaluate``'s exact value — on the scenario's parameters: V^pi(s0), V*(s0), the share
V^pi / V* and the regret, plus the exact expectations of what an episode of the dataset records (its
discounted and undiscounted return over the episode's steps), so a dataset's mean can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

from agents.baselines import baseline_names, make_policy
from agents.exact_eval import evaluate_policy
from envs.params import AllianceParams
from envs.registration import DISCRETE_ENV_ID, ENV_ID
from envs.scenarios import make_params, scenario_names
from envs.spaces import N_ACTIONS, N_STATES
from envs.tables import build_tables
from training.config.params import labelled_params, parse_label, scenario_label
from training.evaluate.evaluation import DEFAULT_SCENARIO, episode_return, load_run
from training.evaluate.recurrent import is_recurrent
from training.results import run_folder as rf
from training.run.train import check_spaces


def allowed_policies() -> str:
    """What ``--policy`` may be, in one phrase."""
    return f"optimal, baseline:NAME (NAME one of {', '.join(baseline_names())}) or a run folder"


@dataclass(frozen=True)
class Behaviour:
    """A policy ready to act: its name, ``predict``, scenario (name and overrides: the env's kwargs) and
    the registered env id whose action space it speaks."""

    name: str
    policy: Any
    params: AllianceParams
    scenario: str
    overrides: dict[str, Any]
    env_id: str
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """``gym.make``'s kwargs: the scenario's name and its overrides (none: left out)."""
        return {"scenario": self.scenario, **({"overrides": dict(self.overrides)} if self.overrides else {})}


def parse_scenario(text: str) -> tuple[str, dict[str, Any]]:
    """``('war', {'identification': 0.9})`` from ``war[identification=0.9]``; a bare name has no overrides.

    :raises ValueError: not a scenario name, or overrides the model refuses (one line)
    """
    labelled = parse_label(text)
    name, overrides = labelled if labelled is not None else (str(text).strip(), {})
    if name not in scenario_names():
        raise ValueError(f"--scenario={text!r} is not allowed: a scenario name ({', '.join(scenario_names())}), "
                         "optionally with overrides NAME[key=value,...]; the dataset's env is recovered from the name "
                         "and overrides, so a YAML file is not accepted")
    make_params(name, overrides or None)  # the model's own checks of the overrides, one line each
    return name, overrides


def resolve_behaviour(policy: str, scenario: str | None = None, *, seed: int = 0, best: bool = False,
                      trust: bool = False) -> Behaviour:
    """The behaviour policy named by ``--policy`` on ``scenario`` (default: a run's own training scenario
    with its overrides, ``war`` for ``optimal`` and baselines).

    :param seed: the seed of the ``random`` baseline's own generator
    :param best: a run's ``best_model.zip`` instead of ``model.zip``
    :param trust: load a run's model whose sha256 is not the manifest's
    :raises ValueError: an unknown policy, scenario, a recurrent model, spaces that differ (one line)
    """
    text = str(policy)
    if text == "optimal" or text.startswith("baseline:"):
        if text.startswith("baseline:") and text[len("baseline:"):] not in baseline_names():
            raise ValueError(f"--policy={text!r} is not allowed: {allowed_policies()}")
        name, overrides = parse_scenario(DEFAULT_SCENARIO if scenario is None else scenario)
        params = labelled_params(name, overrides or None)
        kind = "optimal" if text == "optimal" else "baseline"
        return Behaviour(text, make_policy(text, params, seed=seed), params, name, overrides, ENV_ID, {"kind": kind})
    path = Path(text)
    if not (path / rf.CONFIG).is_file():
        hint = f" (did you mean baseline:{text}?)" if text in baseline_names() else ""
        raise ValueError(f"--policy={text!r} is not allowed: {allowed_policies()}{hint}")
    model, source = load_run(path, best, trust)
    if is_recurrent(model):
        raise ValueError(f"--policy={text!r} is not allowed: a recurrent model acts on its memory and has no exact "
                         "value V^pi(s0) to record; a Markov policy (PPO, A2C, DQN, ...)")
    if scenario is None:
        name, overrides = parse_scenario(scenario_label(source["trained_on"], source.get("overrides") or None))
    else:
        name, overrides = parse_scenario(scenario)
    params = labelled_params(name, overrides or None)
    check_spaces(model, params, str(path / source["model"]))
    env_id = DISCRETE_ENV_ID if model.action_space == spaces.Discrete(N_ACTIONS) else ENV_ID
    return Behaviour(text, model, params, name, overrides, env_id, source)


def _discounted_episode_return(result: Any, params: AllianceParams) -> float:
    """E[sum_{t < horizon} gamma^t r_t] from s0 under the evaluated policy: the exact mean of an episode's
    discounted return as the dataset records it (no tail after its last step)."""
    reward = build_tables(params).reward.reshape(N_STATES, N_ACTIONS)
    table = result.table
    total = 0.0
    for t in range(params.horizon):
        row = table[t if table.shape[0] > 1 else 0]
        r_pi = (row * reward).sum(axis=1) if result.stochastic else reward[np.arange(N_STATES), row]
        total += params.gamma ** t * float(result.state_distribution[t] @ r_pi)
    return total


def exact_metadata(behaviour: Behaviour) -> dict[str, Any]:
    """The exact numbers a dataset's metadata carries (JSON scalars and strings).

    ``value`` is V^pi(s0) as docs/model.md section 7 scores a policy (stationary scenarios: the
    infinite-horizon discounted value; timeline/calendar: 44 quarters plus gamma^44 V*_inf at the state
    reached); ``optimum`` V*(s0); ``share_of_optimum`` V^pi / V*; ``regret`` V* - V^pi;
    ``expected_discounted_episode_return`` and ``expected_episode_return`` what an episode of
    ``episode_steps`` steps records, discounted and not (no tail).
    """
    params = behaviour.params
    res = evaluate_policy(behaviour.policy, params)  # the exact evaluator of `alliance evaluate`
    return {
        "behaviour_policy": behaviour.name,
        "behaviour_kind": behaviour.source.get("kind", ""),
        "scenario": params.name,
        "value": float(res.value), "optimum": float(res.optimum), "share_of_optimum": float(res.share),
        "regret": float(res.regret), "gamma": float(params.gamma), "episode_steps": int(params.horizon),
        "finite_horizon": bool(params.finite_horizon),
        "value_definition": (f"{params.horizon} quarters + gamma^{params.horizon} V*_inf at the state reached"
                             if params.finite_horizon else "infinite-horizon discounted value V^pi(s0)"),
        "expected_discounted_episode_return": _discounted_episode_return(res, params),
        "expected_episode_return": episode_return(res, params),
    }

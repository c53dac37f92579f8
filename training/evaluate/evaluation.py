"""Evaluate one policy in one scenario: the numbers of ``alliance evaluate`` (and of each benchmark cell).

A TARGET — a run folder, a model trained elsewhere (an SB3 file or an RL Zoo log folder,
``training.evaluate.targets``), ``baseline:NAME`` or ``optimal`` — is resolved once into a :class:`Target`:
a policy behind SB3's ``predict`` and the scenario's parameters. :func:`evaluate` then takes one path
for every policy, whatever kind it is:

- the exact evaluator (``agents.exact_eval``, docs/model.md section 10): V^pi(s0), the regret V* - V^pi
  and the share V^pi / V*, the policy read off on every (t, state) (a trained network greedily,
  ``deterministic=True``, as its evaluation episodes act);
- the archetype rules on the exact occupancy (``agents.summary``, section 9): label and statistics,
  for the whole episode and per phase, the nearest baseline, the action agreement;
- the Monte Carlo evaluator (``agents.monte_carlo``): N episodes scored as section 7 scores a policy
  (horizon discounted rewards + gamma^horizon x the exact tail), with a Student-t 95 % interval
  (``training.evaluate.stats.mean_ci``) — the same objective as the exact value, estimated independently.

A recurrent policy (sb3-contrib's RecurrentPPO) is the exception: it acts on its memory, is not
Markov in the state and has no policy table, so its value *is* a Monte Carlo estimate with its LSTM
state carried (``training.evaluate.recurrent``), reported with its interval and the reason.

    evaluate_target("baseline:limited", "war")["share_of_optimum"]
    evaluate_target("results/runs/war/ppo_s0_...", episodes=2000)["regret"]

Loading a run folder checks the model file's sha256 against the run's manifest (an SB3 archive can
carry pickled objects): ``trust=True`` skips the check. A model may be evaluated on a scenario other
than the one it was trained on if the observation and action spaces agree
(``training.run.train.check_spaces``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines import baseline_names, make_policy
from agents.exact_eval import evaluate_policy
from agents.monte_carlo import rollout_returns
from agents.summary import summarize
from envs.params import AllianceParams
from envs.spaces import ACTION_NVEC, ACTION_VARS, ALL_ACTIONS, ALL_STATES, N_ACTIONS, N_STATES, PHASE
from envs.tables import build_tables
from training.config.params import labelled_params, load_params
from training.evaluate import targets
from training.evaluate.recurrent import is_recurrent, recurrent_evaluation
from training.evaluate.stats import mean_ci
from training.results import run_folder as rf
from training.run.train import check_spaces, load_model, run_config

DEFAULT_SCENARIO = "war"  # baselines and the optimum, when no scenario is given
DEFAULT_EPISODES = 1000
MAX_EPISODES = 1_000_000  # Monte Carlo episodes: beyond it the states would not fit in memory
RECURRENT_EPISODES = 1000  # a recurrent policy's episodes when none are asked for (its value is Monte Carlo)

FEATURES = tuple(f"{var}={level}" for var, n in zip(ACTION_VARS, ACTION_NVEC) for level in range(n))
"""Action features of the action-share tables and figures: one per level of m, k, g and d (13)."""
FEATURE_MATRIX = np.stack([ALL_ACTIONS[:, i] == level for i, n in enumerate(ACTION_NVEC) for level in range(n)],
                          axis=1).astype(np.float64)  # (96, 13)
FEATURE_MATRIX.setflags(write=False)


@dataclass(frozen=True)
class Target:
    """A policy ready for evaluation: what was asked for, the policy, the scenario, where it came from."""

    name: str
    policy: Any
    params: AllianceParams
    source: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------- resolve
def scenario_params(scenario: str | AllianceParams) -> AllianceParams:
    """Parameters from a scenario name, a YAML file holding a mapping, or parameters as they are."""
    if isinstance(scenario, AllianceParams):
        return scenario

    return load_params(str(scenario))


def load_run(run_dir: str | Path, best: bool = False, trust: bool = False) -> tuple[Any, dict[str, Any]]:
    """A run folder's model (hash checked unless ``trust``) and where it came from: the run folder,
    model file, algorithm, seed, training scenario (with overrides) and steps.

    :raises FileNotFoundError: the folder has no config.yml, or the model file is missing (one line)
    :raises ValueError: the model's sha256 does not match the manifest (one line)
    """

    run_dir = Path(run_dir)
    if not (run_dir / rf.CONFIG).is_file():
        raise FileNotFoundError(f"{run_dir / rf.CONFIG}: no such file; is {run_dir} a run folder?")
    cfg = run_config(run_dir, trust)  # config.yml checked against the manifest, as the model is
    model = load_model(run_dir, best=best, trust=trust)
    source = {"kind": "run", "run_dir": str(run_dir), "model": rf.BEST_MODEL if best else rf.MODEL,
              "hash_checked": not trust, "algo": cfg.algo, "seed": cfg.seed, "trained_on": cfg.env.scenario,
              "overrides": dict(cfg.env.overrides), "num_timesteps": int(model.num_timesteps),
              **({"contexts": dict(cfg.env.contexts), "context_in_obs": cfg.env.context_in_obs}
                 if cfg.env.contexts is not None else {})}
    return model, source


def trained_params(source: dict[str, Any]) -> AllianceParams:
    """The scenario a run was trained on: its config's scenario and overrides, named with both
    (``war[identification=0.9]``, ``training.config.params.scenario_label``)."""

    return labelled_params(source["trained_on"], source.get("overrides") or None)


def resolve_target(target: str | Path, scenario: str | AllianceParams | None = None, *, best: bool = False,
                   trust: bool = False, seed: int = 0, algo: str | None = None) -> Target:
    """Turn TARGET into a policy and a scenario.

    :param target: a run folder, an RL Zoo log folder, an SB3 model file (``training.evaluate.targets``),
        ``baseline:NAME`` or ``optimal``
    :param scenario: a name, YAML file or parameters; default: a run's own training scenario (with its
        overrides; a Zoo run's ``env_kwargs``), ``war`` for a baseline, the optimum or a bare file
    :param algo: the SB3 algorithm of a bare model file (PPO, A2C, DQN); None: inferred where the
        archive tells (PPO, DQN), read from a Zoo folder's args.yml
    :param best: load ``best_model.zip`` instead of ``model.zip``
    :param trust: load a model whose sha256 is not the manifest's
    :param seed: the seed of the `random` baseline's own generator
    """

    text = str(target)
    if text == "optimal" or text.startswith("baseline:"):
        params = scenario_params(DEFAULT_SCENARIO if scenario is None else scenario)
        kind = "optimal" if text == "optimal" else "baseline"
        return Target(text, make_policy(text, params, seed=seed), params, {"kind": kind})
    path = Path(text)
    if (path.is_file() and path.suffix == ".zip") or (path.is_dir() and not (path / rf.CONFIG).is_file()):
        foreign = targets.describe_file(path, algo, trust) if path.is_file() else \
            targets.describe_zoo(path, algo, best, trust)
        if foreign is not None:  # a model trained elsewhere: a bare SB3 file or an RL Zoo log folder
            model = targets.load_foreign(foreign)
            default = foreign.params or scenario_params(DEFAULT_SCENARIO)
            params = default if scenario is None else scenario_params(scenario)
            check_spaces(model, params, str(foreign.path))
            return Target(text, model, params, targets.source_of(foreign, model))
    if not path.is_dir():
        why = "no such folder; " if not path.exists() else "not a folder; "
        hint = f" (did you mean baseline:{text}?)" if text in baseline_names() else ""
        raise ValueError(f"target={text!r} is not allowed: {why}a run folder, an RL Zoo log folder, an SB3 "
                         f"model file, baseline:NAME (NAME one of {', '.join(baseline_names())}) or optimal{hint}")
    if algo is not None:
        raise ValueError(f"--algo={algo} is not allowed with a run folder: its config.yml names the algorithm")

    model, source = load_run(path, best, trust)
    if source.get("context_in_obs"):  # its network reads context features: scored per context
        raise ValueError(f"target={text!r} is not allowed without --contexts: a run trained with its contexts' "
                         "features in the observation (env.context_in_obs); score it with --contexts train or test")
    params = trained_params(source) if scenario is None else scenario_params(scenario)
    check_spaces(model, params, str(path / source["model"]))
    return Target(text, model, params, source)


# ---------------------------------------------------------------------------------- evaluate
def action_shares(occupancy: np.ndarray, phase: int | None = None) -> np.ndarray | None:
    """Shares of the action features :data:`FEATURES` under a state-action occupancy (5400, 96), for
    the whole episode or the states of one ``phase``; None if that part has no weight."""
    occ = np.asarray(occupancy, dtype=np.float64)
    if phase is not None:
        occ = occ[ALL_STATES[:, PHASE] == phase]
    mass = occ.sum(axis=0)
    total = mass.sum()
    return None if total <= 0 else (mass / total) @ FEATURE_MATRIX


def episode_return(result: Any, params: AllianceParams) -> float:
    """The exact expected *undiscounted* return of one evaluation episode (``horizon`` steps from s0):
    horizon x the occupancy's mean reward — what SB3's ``EvalCallback`` averages (learning curves)."""

    reward = build_tables(params).reward.reshape(N_STATES, N_ACTIONS)
    return float(params.horizon * np.sum(result.occupancy * reward))


def evaluate(policy: Any, params: AllianceParams, name: str = "policy", episodes: int = DEFAULT_EPISODES,
             seed: int = 0) -> dict[str, Any]:
    """Exact value, regret, share of V*, archetype and Monte Carlo estimate of one policy (JSON-ready).

    :param policy: anything with SB3's ``predict`` (a baseline, the optimum, a trained model)
    :param params: the scenario
    :param name: the name reported
    :param episodes: Monte Carlo episodes (2 to :data:`MAX_EPISODES`), or 0 for none (the ``mc_*`` entries
        are then None). A recurrent policy (RecurrentPPO) is not Markov and has no exact value: it is
        scored by Monte Carlo with its LSTM state carried (``training.evaluate.recurrent``; 0 means
        :data:`RECURRENT_EPISODES`), and the dict says so: ``exact`` False, ``not_exact_because``,
        ``value_ci`` (95 %), ``truncation_bias_bound``; the statistics are estimates from the episodes
    :param seed: the Monte Carlo dynamics' seed
    """

    if (isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes == 1 or episodes < 0
            or episodes > MAX_EPISODES):
        raise ValueError(f"episodes={episodes!r} is not allowed: 0 (no Monte Carlo) or an integer >= 2, "
                         f"at most {MAX_EPISODES:,}")
    recurrent = is_recurrent(policy)
    if recurrent:  # not Markov: Monte Carlo with its memory carried (training.evaluate.recurrent)
        result, estimate = recurrent_evaluation(policy, params, episodes or RECURRENT_EPISODES, seed)
    summary = summarize(result if recurrent else evaluate_policy(policy, params), params, name)
    res = summary.result
    out: dict[str, Any] = {
        "name": name, "scenario": params.name, "horizon": params.horizon,
        "finite_horizon": params.finite_horizon, "start": list(params.start),
        "value": res.value, "optimum": res.optimum, "regret": res.regret, "share_of_optimum": res.share,
        "near_optimal_share": res.near_optimal_share, "episode_return": episode_return(res, params),
        "label": summary.label, "stats": summary.stats.to_dict(),
        "phase_labels": {str(ph): lab for ph, lab in summary.phase_labels.items()},
        "phase_stats": {str(ph): st.to_dict() for ph, st in summary.phase_stats.items()},
        "phase_weights": {str(ph): float(res.occupancy[ALL_STATES[:, PHASE] == ph].sum()) for ph in summary.phase_stats},
        "phase_actions": {str(ph): dict(zip(FEATURES, map(float, action_shares(res.occupancy, ph))))
                          for ph in summary.phase_stats},
        "nearest_baseline": summary.nearest, "distances": summary.distances, "agreement": summary.agreement,
        "top_actions": [{"action": list(a), "share": s} for a, s in summary.top_actions()],
        "mc_mean": None, "mc_ci": None, "mc_std_error": None, "mc_episodes": 0, "mc_seed": None,
    }
    if recurrent:  # the value is the Monte Carlo mean itself: the mc_* entries are that run
        out.update(estimate, mc_mean=res.value, mc_ci=estimate["value_ci"], mc_std_error=estimate["value_std_error"],
                   mc_episodes=estimate["value_episodes"], mc_seed=seed)
    elif episodes:
        # the exact tail of section 7: V*_inf of the continuation (timeline/calendar) or the policy's own
        # V^pi (stationary), as agents.monte_carlo's tail="exact" computes it, here reused rather than redone
        tail = "exact" if params.finite_horizon else res.values[0]
        mc = rollout_returns(policy, params, episodes, seed=seed, tail=tail, record=False)
        mean, lo, hi = mean_ci(mc.returns)
        out.update(mc_mean=mean, mc_ci=[lo, hi], mc_std_error=mc.std_error, mc_episodes=int(episodes), mc_seed=seed)
    return out


def evaluate_target(target: str | Path, scenario: str | AllianceParams | None = None,
                    episodes: int = DEFAULT_EPISODES, seed: int = 0, *, best: bool = False,
                    trust: bool = False, algo: str | None = None) -> dict[str, Any]:
    """:func:`resolve_target` then :func:`evaluate`; the dict also holds ``target`` and ``source``."""
    tgt = resolve_target(target, scenario, best=best, trust=trust, seed=seed, algo=algo)
    out = evaluate(tgt.policy, tgt.params, tgt.name, episodes, seed)
    return {"target": tgt.name, **out, "source": tgt.source}

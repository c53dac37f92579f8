"""Exact scores per context of the contextual env (issue 30, item 2).

- :func:`context_optima`: the optimum V*_c of every context (``agents.solver.solve_batch`` on the
  contexts not solved yet in this process), cached by a content key of the parameter set
  (:func:`context_key`), so the same context is solved once however many policies are scored.
- :func:`context_policy_tables`: a Markov policy that reads the context's features, read off as an
  action table per context: every state's observation (``agents.policy.observations_for``) with the
  context's features appended (or not, for a hidden-context policy), its ``predict`` (an SB3
  actor-critic's: :func:`greedy_actions`, the same actions, its network in cache-sized pieces).
- :func:`evaluate_contexts`: those tables scored exactly in their contexts
  (``agents.exact_eval.start_scores``: ``evaluate_table``'s numbers on the blocks reachable from s0,
  with the context's optimum and the operator its solve built), one row per context.

Speed (issue 30: one policy over 256 contexts <= 60 s): benchmarks/context_eval_speed.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from gymnasium.spaces import Box

from agents.exact_eval import start_scores
from agents.policy import as_policy, observations_for, to_flat_actions
from agents.solver import Operator, Solution, iter_with_operators, solve_batch
from envs.contexts import ContextSet
from envs.params import AllianceParams
from envs.spaces import N_STATES

_OPTIMA: dict[str, Solution] = {}
CACHE_SIZE = 1024  # solutions kept per process (each about 0.6 MB)
CHUNK = 16  # contexts read off and scored at a time (a calendar chunk's optima: ~430 MB)
ROWS = 8192  # observations per forward pass of a network (its activations stay in cache: ~2.5x faster than 237,600 at once)


def context_key(params: AllianceParams) -> str:
    """A content key of a parameter set: the SHA-256 of every field's value."""
    return hashlib.sha256(repr([(f.name, getattr(params, f.name)) for f in fields(params)]).encode()).hexdigest()


def context_optima(params: Sequence[AllianceParams]) -> list[Solution]:
    """The optimum of each parameter set (in order), solved in one batch for those not cached."""
    keys = [context_key(p) for p in params]
    todo = {k: p for k, p in zip(keys, params) if k not in _OPTIMA}
    if todo:
        for k, sol in zip(todo, solve_batch(list(todo.values()))):
            if len(_OPTIMA) >= CACHE_SIZE:
                _OPTIMA.pop(next(iter(_OPTIMA)))
            _OPTIMA[k] = sol
    return [_OPTIMA[k] for k in keys]


def context_observations(params: AllianceParams, features: np.ndarray | None) -> np.ndarray:
    """Every (t, state)'s observation in one context, ``features`` (F,) appended when given."""
    obs = observations_for(params)
    if features is None or len(features) == 0:
        return obs
    return np.concatenate([obs, np.tile(np.asarray(features, dtype=np.float32), (obs.shape[0], 1))], axis=1)


def _sb3_actor(model: Any) -> Any:
    """The policy of an SB3 actor-critic on MultiDiscrete actions whose greedy action is its
    distribution's mode as :class:`stable_baselines3.common.policies.ActorCriticPolicy` computes it
    (no method of that path overridden) on Box observations; None for anything else."""
    try:
        from stable_baselines3.common.base_class import BaseAlgorithm
        from stable_baselines3.common.distributions import MultiCategoricalDistribution
        from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
        from stable_baselines3.common.preprocessing import is_image_space
    except ImportError:  # pragma: no cover - SB3 is a dependency
        return None
    pol = getattr(model, "policy", None)
    if not isinstance(model, BaseAlgorithm) or not isinstance(pol, ActorCriticPolicy):
        return None
    same = all(getattr(type(pol), m) is getattr(ActorCriticPolicy, m)
               for m in ("get_distribution", "_predict", "_get_action_dist_from_latent", "obs_to_tensor"))
    if not same or type(pol).predict is not BasePolicy.predict or type(pol.action_dist) is not MultiCategoricalDistribution:
        return None
    if type(pol.observation_space) is not Box or is_image_space(pol.observation_space):
        return None  # obs_to_tensor's plain path: the array reshaped, as a tensor
    return pol


def greedy_actions(model: Any, obs: np.ndarray, rows: int = ROWS) -> np.ndarray:
    """``model.predict(obs, deterministic=True)``'s actions (N, 4), the same ones, faster for an SB3
    actor-critic (:func:`_sb3_actor`): its network as ``predict`` runs it, ``rows`` observations at a
    time (each row's output does not depend on the batch: a test checks it against ``predict``), then each
    action axis's argmax of the logits where the top two logits are clearly apart (there the
    softmax's argmax that ``predict`` takes is the same index), and where they are not (near ties,
    non-finite logits) ``predict``'s own computation, ``argmax(Categorical(logits).probs)``, on those rows."""
    pol = _sb3_actor(model)
    if pol is None:
        return model.predict(obs, deterministic=True)[0]
    import torch as th
    from stable_baselines3.common.utils import is_vectorized_observation

    if not isinstance(obs, np.ndarray) or not is_vectorized_observation(obs, pol.observation_space):
        return model.predict(obs, deterministic=True)[0]
    pol.set_training_mode(False)  # then obs_to_tensor's tensor, without its copy of the array
    obs_t = th.as_tensor(obs.reshape((-1, *pol.observation_space.shape)), device=pol.device)
    with th.no_grad():
        out = [_greedy_rows(pol, obs_t[lo:lo + rows]) for lo in range(0, obs_t.shape[0], rows)]
    return th.cat(out).cpu().numpy().reshape((-1, *pol.action_space.shape))


def _greedy_rows(pol: Any, obs_t: Any) -> Any:
    """:func:`greedy_actions` on one batch of rows (a tensor), under ``torch.no_grad``."""
    import torch as th
    from stable_baselines3.common.policies import BaseModel
    from torch.distributions import Categorical

    features = BaseModel.extract_features(pol, obs_t, pol.pi_features_extractor)
    logits = pol.action_net(pol.mlp_extractor.forward_actor(features))
    out = []
    for split in th.split(logits, list(pol.action_dist.action_dims), dim=1):
        if split.shape[1] < 2:
            out.append(th.argmax(Categorical(logits=split).probs, dim=1))
            continue
        top, act = th.max(split, dim=1)  # the logits within 1e-4 (relative) of the top: one unless near a tie
        near = (split >= (top - 1e-4 * (1.0 + top.abs()))[:, None]).sum(dim=1)
        unsure = th.nonzero(near != 1).flatten()  # ties, near ties, NaN or infinite logits (no logit counted)
        if unsure.numel():
            act[unsure] = th.argmax(Categorical(logits=split[unsure]).probs, dim=1)
        out.append(act)
    return th.stack(out, dim=1)


def context_policy_tables(policy: Any, contexts: ContextSet, context_in_obs: bool = True,
                          ids: Sequence[int] | None = None) -> list[np.ndarray]:
    """The deterministic action table ``(rows, 5400)`` of ``policy`` in each context of ``ids``
    (default: all): its ``predict`` on every state's observation with that context's features
    appended when ``context_in_obs`` (an SB3 actor-critic's by :func:`greedy_actions`). The
    observations of every (t, state) are built once per horizon, each context's features written
    into their columns."""
    pol = as_policy(policy)
    model = getattr(pol, "model", None)
    ids = range(len(contexts)) if ids is None else [contexts.check_id(i, f"ids[{j}]") for j, i in enumerate(ids)]
    tables, bases = [], {}
    for c in ids:
        params = contexts.params[c]
        key = (params.horizon, params.time_in_observation)
        if key not in bases:
            bases[key] = observations_for(params)
        obs = bases[key]
        feats = np.asarray(contexts.feature_values[c], dtype=np.float32) if context_in_obs else np.zeros(0)
        if len(feats):
            if (key, len(feats)) not in bases:
                width = obs.shape[1]
                bases[key, len(feats)] = np.empty((obs.shape[0], width + len(feats)), dtype=np.result_type(obs, np.float32))
                bases[key, len(feats)][:, :width] = obs
            obs = bases[key, len(feats)]  # read before the next context's features are written
            obs[:, obs.shape[1] - len(feats):] = feats
        actions = greedy_actions(model, obs) if model is not None else pol.predict(obs, deterministic=True)[0]
        tables.append(to_flat_actions(actions, obs.shape[0]).reshape(-1, N_STATES))
    return tables


@dataclass(frozen=True)
class ContextScores:
    """Exact scores of one policy per context: ``value`` V^pi_c(s0), ``optimum`` V*_c(s0),
    ``share`` their ratio, ``near_optimal_share`` of pi's occupancy on near-optimal actions."""

    ids: np.ndarray
    value: np.ndarray
    optimum: np.ndarray
    near_optimal_share: np.ndarray

    @property
    def share(self) -> np.ndarray:
        return self.value / self.optimum


def _optima_with_operators(params: Sequence[AllianceParams]) -> Iterator[tuple[Solution, Operator | None]]:
    """Each set's optimum, in order: a stationary one from the cache (:func:`context_optima`), a
    finite-horizon one (~27 MB) solved in chunks and not kept, beside the operator its solve built."""
    if params and params[0].finite_horizon:
        yield from iter_with_operators(list(params))
    else:
        yield from ((sol, None) for sol in context_optima(params))


def evaluate_contexts(policy: Any, contexts: ContextSet, context_in_obs: bool = True,
                      ids: Sequence[int] | None = None) -> ContextScores:
    """Score ``policy`` exactly in each context of ``ids`` (default: all): its table per context
    (:func:`context_policy_tables`) evaluated against the context's optimum on the blocks reachable
    from s0 (``agents.exact_eval.start_scores``: ``evaluate_table``'s numbers), ``CHUNK`` contexts at a time."""
    ids = list(range(len(contexts))) if ids is None else list(ids)
    rows = []
    for lo in range(0, len(ids), CHUNK):
        part = ids[lo:lo + CHUNK]
        tables = context_policy_tables(policy, contexts, context_in_obs, part)
        for c, tbl, (sol, op) in zip(part, tables, _optima_with_operators([contexts.params[c] for c in part])):
            value, near, _ = start_scores(contexts.params[c], tbl, sol, op, with_occupancy=False)
            rows.append((value, sol.value, near))
    value, optimum, near = np.array(rows, dtype=np.float64).reshape(len(ids), 3).T
    return ContextScores(np.array(ids), value, optimum, near)

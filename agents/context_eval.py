"""Exact scores per context of the contextual env (issue 30, item 2).

- :func:`context_optima`: the optimum V*_c of every context (``agents.solver.solve_batch`` on the
  contexts not solved yet in this process), cached by a content key of the parameter set
  (:func:`context_key`), so the same context is solved once however many policies are scored.
- :func:`context_policy_tables`: a Markov policy that reads the context's features, read off as an
  action table per context: every state's observation (``agents.policy.observations_for``) with the
  context's features appended (or not, for a hidden-context policy), one batched ``predict``.
- :func:`evaluate_contexts`: those tables scored exactly in their contexts
  (``agents.exact_eval.evaluate_table`` with the context's optimum), one row per context.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from agents.exact_eval import evaluate_table
from agents.policy import as_policy, observations_for, to_flat_actions
from agents.solver import Solution, solve_batch
from envs.contexts import ContextSet
from envs.params import AllianceParams
from envs.spaces import N_STATES

_OPTIMA: dict[str, Solution] = {}
CACHE_SIZE = 1024  # solutions kept per process (each about 0.6 MB)


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


def context_policy_tables(policy: Any, contexts: ContextSet, context_in_obs: bool = True,
                          ids: Sequence[int] | None = None) -> list[np.ndarray]:
    """The deterministic action table ``(rows, 5400)`` of ``policy`` in each context of ``ids``
    (default: all): its ``predict`` on every state's observation with that context's features
    appended when ``context_in_obs``."""
    pol = as_policy(policy)
    ids = range(len(contexts)) if ids is None else [contexts.check_id(i, f"ids[{j}]") for j, i in enumerate(ids)]
    tables = []
    for c in ids:
        params = contexts.params[c]
        obs = context_observations(params, contexts.feature_values[c] if context_in_obs else None)
        actions, _ = pol.predict(obs, deterministic=True)
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


def evaluate_contexts(policy: Any, contexts: ContextSet, context_in_obs: bool = True,
                      ids: Sequence[int] | None = None) -> ContextScores:
    """Score ``policy`` exactly in each context of ``ids`` (default: all): its table per context
    (:func:`context_policy_tables`) evaluated against the context's cached optimum."""
    ids = list(range(len(contexts))) if ids is None else list(ids)
    tables = context_policy_tables(policy, contexts, context_in_obs, ids)
    sols = context_optima([contexts.params[c] for c in ids])
    rows = []
    for c, tbl, sol in zip(ids, tables, sols):  # the scalars kept, each result (its occupancy: 4 MB) dropped
        r = evaluate_table(contexts.params[c], tbl, solution=sol)
        rows.append((r.value, r.optimum, r.near_optimal_share))
    value, optimum, near = np.array(rows, dtype=np.float64).reshape(len(ids), 3).T
    return ContextScores(np.array(ids), value, optimum, near)

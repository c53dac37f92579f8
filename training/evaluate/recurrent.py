"""A recurrent policy (sb3-contrib's RecurrentPPO) scored by Monte Carlo with its memory carried.

Why not exactly: a recurrent policy's action depends on its LSTM state, that is on the whole history
of observations, not on the env's state alone. It is not Markov in the state, so it has no policy
table, and the exact evaluator (docs/model.md section 10, ``agents.exact_eval``) reads one action
per (t, state): reading the network off with a zero memory would score another policy (the memory
dropped at every step). So N episodes are run in lockstep through the same tables as every
evaluator (``Tables.step``), each carrying its own LSTM state (``predict(obs, state,
episode_start)``), and scored as section 7 scores a policy:

- ``timeline``/``calendar``: the 44 discounted rewards + gamma^44 V*_inf at the state reached
  (the continuation of section 7; the same objective as the exact value of a Markov policy);
- stationary scenarios: the infinite-horizon discounted value, the episodes run for ``L`` steps
  with gamma^L <= :data:`TRUNCATION` (no exact tail exists for the policy), the bias bounded by
  gamma^L max|r| / (1 - gamma) and reported.

The value is the mean with its Student-t 95 % interval. The archetype statistics come from the
visited states and actions of the first ``horizon`` steps (empirical occupancy, state distribution
and a stationary action-frequency table), estimates too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from agents.exact_eval import ExactResult
from agents.policy import to_flat_actions
from agents.solver import solve
from envs import model
from envs.params import AllianceParams
from envs.spaces import N_ACTIONS, N_STATES, encode_states, observe
from envs.tables import build_tables
from training.evaluate.stats import mean_ci

TRUNCATION = 1e-6  # stationary scenarios: episodes run until gamma^L <= this
NOT_EXACT = ("a recurrent policy (LSTM) acts on its memory of the whole episode, not on the state alone: it is "
             "not Markov, has no policy table to evaluate exactly, so it is scored by Monte Carlo with its "
             "LSTM state carried from step to step")


def is_recurrent(policy: Any) -> bool:
    """True for a model whose policy carries a memory (sb3-contrib's recurrent policies)."""
    inner = getattr(policy, "policy", None)
    if inner is None:
        return False
    try:
        from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
    except ImportError:  # pragma: no cover - sb3-contrib is a dependency
        return False
    return isinstance(inner, RecurrentActorCriticPolicy)


def steps_needed(params: AllianceParams) -> int:
    """Steps an episode runs: the horizon (finite), or the L with gamma^L <= TRUNCATION (stationary)."""
    if params.finite_horizon:
        return params.horizon
    return max(params.horizon, math.ceil(math.log(TRUNCATION) / math.log(params.gamma)))


def recurrent_evaluation(policy: Any, params: AllianceParams, episodes: int, seed: int = 0
                         ) -> tuple[ExactResult, dict[str, Any]]:
    """Run ``episodes`` episodes of ``policy`` with its state carried; returns an :class:`ExactResult`
    whose numbers are estimates (``value`` the Monte Carlo mean; ``values`` NaN: no V^pi over states
    exists for a policy with memory) for ``agents.summary.summarize``, and the Monte Carlo entries
    of the report (``exact`` False, why, the interval, the truncation bound)."""
    n, horizon, length = int(episodes), params.horizon, steps_needed(params)
    rng = np.random.default_rng(seed)
    tables = build_tables(params)
    sol = solve(params)
    states = np.tile(np.asarray(params.start, dtype=np.int64), (n, 1))
    visits = np.zeros((horizon, N_STATES))
    counts = np.zeros((N_STATES, N_ACTIONS))
    near_share = 0.0
    ret = np.zeros(n)
    memory, starts = None, np.ones(n, dtype=bool)
    for t in range(length):
        t_obs = np.full(n, t) if params.time_in_observation else None
        actions, memory = policy.predict(observe(states, t_obs, horizon), state=memory, episode_start=starts,
                                         deterministic=True)
        starts = np.zeros(n, dtype=bool)
        flat = to_flat_actions(actions, n)
        s_idx = encode_states(states)
        ret += params.gamma ** t * tables.reward[s_idx * N_ACTIONS + flat]
        if t < horizon:
            np.add.at(visits[t], s_idx, 1.0)
            np.add.at(counts, (s_idx, flat), 1.0)
            near_share += float(sol.near_optimal[min(t, sol.near_optimal.shape[0] - 1), s_idx, flat].mean())
        states, _ = tables.step(states, s_idx, flat, t, rng.random((n, model.N_UNIFORMS)))
    bound = 0.0
    if params.finite_horizon:
        ret += params.gamma ** horizon * sol.values[horizon][encode_states(states)]
    else:
        r_max = float(np.max(np.abs(tables.reward_blocks)))
        bound = params.gamma ** length * r_max / (1 - params.gamma)
    mean, lo, hi = mean_ci(ret)
    seen = counts.sum(axis=1, keepdims=True)
    table = np.where(seen > 0, counts / np.maximum(seen, 1.0), 1.0 / N_ACTIONS)[None]
    result = ExactResult(scenario=params.name, value=mean, optimum=sol.value, near_optimal_share=near_share / horizon,
                         values=np.full((1, N_STATES), np.nan), state_distribution=visits / n,
                         occupancy=counts / (n * horizon), table=table)
    report = {"exact": False, "not_exact_because": NOT_EXACT, "value_ci": [lo, hi],
              "value_std_error": float(ret.std(ddof=1) / math.sqrt(n)), "value_episodes": n, "value_seed": seed,
              "episode_steps": length, "truncation_bias_bound": bound}
    return result, report

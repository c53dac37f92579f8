"""Monte Carlo evaluation: N episodes in lockstep through ``envs.tables.build_tables(params).step``
(the same dynamics as the envs, by table look-up), each ``params.horizon`` steps from the start.

Every episode is scored as section 7 scores a policy: its ``horizon`` discounted rewards plus
gamma^horizon * V_tail(state reached). ``tail`` chooses V_tail:

- ``"exact"`` (default): for `timeline`/`calendar`, V*_inf of the continuation model (section 7,
  the same objective as the exact evaluator); for a stationary scenario, the exact V^pi of the
  same policy, so the mean estimates V^pi_inf(s0) without truncation bias.
- ``"none"``: 0, the plain truncated discounted return of the 80 (or 44) steps.
- an array of 5400 values: used as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agents.policy import Policy, to_flat_actions
from agents.solver import check_params, solve
from envs import model
from envs.params import AllianceParams
from envs.spaces import N_ACTIONS, N_STATES, decode_actions, encode_states, observe
from envs.tables import build_tables


@dataclass(frozen=True, eq=False)
class RolloutResult:
    """Per-episode scores and, if recorded, the visited states and actions (int8)."""

    returns: np.ndarray  # (N,) horizon rewards + gamma^horizon * tail
    horizon_returns: np.ndarray  # (N,) the discounted rewards of the horizon only
    tail: np.ndarray  # (N,) V_tail(state reached)
    final_states: np.ndarray  # (N, 6)
    states: np.ndarray | None  # (N, horizon, 6): s_0 .. s_{horizon-1}
    actions: np.ndarray | None  # (N, horizon, 4): the joint actions taken

    @property
    def mean(self) -> float:
        return float(self.returns.mean())

    @property
    def std_error(self) -> float:
        return float(self.returns.std(ddof=1) / np.sqrt(self.returns.size))


def tail_values(policy: Policy, params: AllianceParams, tail: Any = "exact") -> np.ndarray:
    """V_tail over the 5400 states (see the module docstring)."""
    if isinstance(tail, str) and tail == "none":
        return np.zeros(N_STATES)
    if isinstance(tail, str) and tail == "exact":
        if params.finite_horizon:
            return solve(params).values[params.horizon]
        from agents.exact_eval import evaluate_policy

        return evaluate_policy(policy, params).values[0]
    values = np.asarray(tail, dtype=np.float64) if not isinstance(tail, str) else None
    if values is None or values.shape != (N_STATES,):
        raise ValueError(f"tail={tail!r} is not allowed: 'exact', 'none' or an array of {N_STATES} values")
    return values


def rollout_returns(policy: Policy, params: AllianceParams, n_episodes: int, seed: int | None = 0,
                    tail: Any = "exact", record: bool = True) -> RolloutResult:
    """Run ``n_episodes`` episodes of ``policy`` (``predict(obs, deterministic=True)``) in
    lockstep; the dynamics draw from ``np.random.default_rng(seed)`` (a stochastic policy draws
    from its own generator)."""
    params = check_params(params)
    if isinstance(n_episodes, bool) or not isinstance(n_episodes, int | np.integer) or n_episodes < 2:
        raise ValueError(f"n_episodes={n_episodes!r} is not allowed: an integer >= 2")
    v_tail = tail_values(policy, params, tail)
    rng = np.random.default_rng(seed)
    tables = build_tables(params)
    horizon, n = params.horizon, int(n_episodes)
    states = np.tile(np.asarray(params.start, dtype=np.int64), (n, 1))
    rec_s = np.empty((n, horizon, 6), dtype=np.int8) if record else None
    rec_a = np.empty((n, horizon, 4), dtype=np.int8) if record else None
    ret = np.zeros(n)
    for t in range(horizon):
        t_obs = np.full(n, t) if params.time_in_observation else None
        actions, _ = policy.predict(observe(states, t_obs, horizon), deterministic=True)
        flat = to_flat_actions(actions, n)
        s_idx = encode_states(states)
        ret += params.gamma ** t * tables.reward[s_idx * N_ACTIONS + flat]
        if record:
            rec_s[:, t] = states
            rec_a[:, t] = decode_actions(flat)
        states, _ = tables.step(states, s_idx, flat, t, rng.random((n, model.N_UNIFORMS)))
    end = v_tail[encode_states(states)]
    if np.any(~np.isfinite(end)):
        raise ValueError("tail values are not finite at a state reached: pass tail='none' or a full array")
    return RolloutResult(returns=ret + params.gamma ** horizon * end, horizon_returns=ret, tail=end,
                         final_states=states, states=rec_s, actions=rec_a)

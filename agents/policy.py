"""One policy interface: Stable-Baselines3's ``predict`` (docs/architecture.md).

Every decider here — a baseline rule, the exact optimum, a trained SB3 model — answers
``predict(observation, state=None, episode_start=None, deterministic=True) -> (actions, state)``
over a batch of observations (N, 26) or (N, 27) (one-hot state [+ t/horizon], docs/model.md section 2),
returning MultiDiscrete rows (N, 4) of int64; an unbatched observation gives an unbatched action.

:func:`policy_table` reads any such policy off on every (t, state) — that is how a trained
network is evaluated exactly (``agents.exact_eval``).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from envs.params import AllianceParams
from envs.spaces import (
    ACTION_NVEC,
    ALL_STATES,
    N_ACTIONS,
    N_STATES,
    ONE_HOT_SIZE,
    decode_actions,
    decode_observations,
    encode_actions,
    encode_states,
    observe,
)


@runtime_checkable
class Policy(Protocol):
    """Everything evaluation reads from a decider: SB3's ``predict`` and four declarations.

    - ``name``: how reports call it;
    - ``reads_time``: False if its action never depends on t (read at t = 0, the row repeated);
    - ``deterministic_table``: False if it draws afresh each step (the `random` baseline): it has
      no deterministic table and is evaluated through ``action_probabilities``;
    - ``action_probabilities(observation)``: (N, 96) probabilities, or None when it has no
      distribution of its own (then the one-hot of ``predict``'s action is used).

    A trained SB3 model declares none of them: :func:`as_policy` wraps it in :class:`SB3Policy`.
    """

    name: str
    reads_time: bool
    deterministic_table: bool

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]: ...

    def action_probabilities(self, observation: np.ndarray) -> np.ndarray | None: ...


class SB3Policy:
    """A trained SB3 model behind :class:`Policy`: it may read t, it has a deterministic table, and
    an actor-critic's distribution gives its probabilities."""

    reads_time = True
    deterministic_table = True

    def __init__(self, model: Any, name: str = "policy"):
        self.model, self.name = model, name

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        return self.model.predict(observation, state=state, episode_start=episode_start, deterministic=deterministic)

    def action_probabilities(self, observation: np.ndarray) -> np.ndarray | None:
        return _sb3_probabilities(self.model, observation)

    def __repr__(self) -> str:
        return f"SB3Policy({self.name!r}, {type(self.model).__name__})"


def as_policy(decider: Any) -> Policy:
    """``decider`` itself if it declares everything :class:`Policy` states, a trained SB3 model
    wrapped in :class:`SB3Policy`.

    :raises TypeError: anything else (a new policy that forgot a declaration would otherwise be
        read as deterministic, a stochastic one evaluated on one draw)
    """
    if isinstance(decider, Policy):
        return decider
    from stable_baselines3.common.base_class import BaseAlgorithm  # SB3 and torch: only for a trained model

    if isinstance(decider, BaseAlgorithm):
        return SB3Policy(decider)
    missing = [n for n in ("name", "reads_time", "deterministic_table", "predict", "action_probabilities")
               if n not in dir(decider)]
    raise TypeError(f"{type(decider).__name__} is not a policy: it does not declare {', '.join(missing)} "
                    "(agents.policy.Policy), and it is no trained SB3 model")


def to_flat_actions(actions: Any, n: int | None = None) -> np.ndarray:
    """Predictions as (N,) flat action indices: accepts (N, 4) MultiDiscrete rows or (N,) flat
    indices in 0..95 (an SB3 DQN on ``Discrete(96)``). Anything else raises ``ValueError``."""
    a = np.asarray(actions)
    if a.ndim == 2 and a.shape[1] == len(ACTION_NVEC):
        if not np.issubdtype(a.dtype, np.integer) or np.any(a < 0) or np.any(a >= ACTION_NVEC):
            raise ValueError(f"actions {a.dtype} rows are not allowed: integers (m, k, g, d) below {ACTION_NVEC.tolist()}")
        flat = encode_actions(a)
    elif a.ndim == 1 and a.dtype != object and (n is None or a.shape[0] == n):
        if not np.issubdtype(a.dtype, np.integer) or np.any(a < 0) or np.any(a >= N_ACTIONS):
            raise ValueError(f"actions of dtype {a.dtype} are not allowed: flat indices in 0..{N_ACTIONS - 1}")
        flat = a
    else:
        raise ValueError(f"actions of shape {a.shape} are not allowed: (N, 4) MultiDiscrete rows or (N,) flat indices")
    if n is not None and flat.shape[0] != n:
        raise ValueError(f"{flat.shape[0]} actions are not allowed: one per observation ({n})")
    return np.asarray(flat, dtype=np.int64)


def decode_batch(observation: Any, params: AllianceParams, need_time: bool) -> tuple[np.ndarray, np.ndarray, bool]:
    """(states (N, 6), t (N,) int, single) from observations; ``single`` for an unbatched one.

    The expected width is 26, or 27 with ``t / horizon``; a policy that reads t (``need_time``)
    requires 27. t = round(frac * horizon), the last row used beyond it."""
    obs = np.asarray(observation, dtype=np.float32)
    single = obs.ndim == 1
    widths = (ONE_HOT_SIZE + 1,) if need_time else (ONE_HOT_SIZE, ONE_HOT_SIZE + 1)
    if obs.ndim not in (1, 2) or obs.shape[-1] not in widths:
        allowed = " or ".join(f"({w},)/(N, {w})" for w in widths)
        raise ValueError(f"observation of shape {obs.shape} is not allowed: {allowed} for scenario {params.name}")
    states, frac = decode_observations(obs)
    if frac is None:
        t = np.zeros(states.shape[0], dtype=np.int64)
    else:
        if np.any(~np.isfinite(frac)) or np.any(frac < 0) or np.any(frac > 1):
            raise ValueError(f"observation time fraction {frac.min()}..{frac.max()} is not allowed: t/horizon in [0, 1]")
        t = np.rint(frac.astype(np.float64) * params.horizon).astype(np.int64)
    return states, t, single


class TablePolicy:
    """A policy given by a table of flat actions, shape (T, 5400) — T = horizon for a policy that
    reads t (timeline/calendar), 1 for a stationary one. ``predict`` decodes the observation."""

    def __init__(self, params: AllianceParams, table: np.ndarray, name: str = "table"):
        table = np.asarray(table)
        if table.ndim == 1:
            table = table[None]
        rows = (1, params.horizon) if params.time_in_observation else (1,)
        if table.ndim != 2 or table.shape[1] != N_STATES or table.shape[0] not in rows:
            allowed = " or ".join(f"({r}, {N_STATES})" for r in rows)
            raise ValueError(f"table of shape {table.shape} is not allowed for scenario {params.name}: {allowed}")
        if not np.issubdtype(table.dtype, np.integer) or table.min() < 0 or table.max() >= N_ACTIONS:
            raise ValueError(f"table entries {table.min()}..{table.max()} are not allowed: flat actions 0..{N_ACTIONS - 1}")
        self.params = params
        self.table = table.astype(np.int64)
        self.name = name
        self.reads_time = self.table.shape[0] > 1

    deterministic_table = True

    def action_probabilities(self, observation: np.ndarray) -> None:
        """None: a table is deterministic (the one-hot of its action)."""
        return None

    def flat_actions(self, observation: np.ndarray) -> tuple[np.ndarray, bool]:
        states, t, single = decode_batch(observation, self.params, need_time=self.table.shape[0] > 1)
        row = np.minimum(t, self.table.shape[0] - 1)
        return self.table[row, encode_states(states)], single

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True) -> tuple[np.ndarray, Any]:
        flat, single = self.flat_actions(observation)
        actions = decode_actions(flat)
        return (actions[0] if single else actions), state

    def __repr__(self) -> str:
        return f"TablePolicy({self.name!r}, scenario={self.params.name!r}, rows={self.table.shape[0]})"


def observations_for(params: AllianceParams) -> np.ndarray:
    """Observations of every (t, state): (T * 5400, 26 or 27), t slowest; T = horizon when the
    observation carries t, else 1."""
    if not params.time_in_observation:
        return observe(ALL_STATES, None, params.horizon)
    ts = np.repeat(np.arange(params.horizon), N_STATES)
    return observe(np.tile(ALL_STATES, (params.horizon, 1)), ts, params.horizon)


def _sb3_probabilities(model: Any, obs: np.ndarray) -> np.ndarray | None:
    """Action probabilities (N, 96) of an SB3 actor-critic (MultiDiscrete: product of the
    per-axis categoricals, row-major (m, k, g, d); Discrete(96): the categorical). None if the
    model has no action distribution (e.g. DQN)."""
    from stable_baselines3.common.policies import ActorCriticPolicy  # SB3 and torch: only for a trained model

    if not isinstance(model.policy, ActorCriticPolicy):
        return None
    sb3_policy = model.policy
    import torch as th

    with th.no_grad():
        obs_t, _ = sb3_policy.obs_to_tensor(obs)
        dist = sb3_policy.get_distribution(obs_t).distribution
    if isinstance(dist, list):
        probs = np.ones((obs.shape[0], 1))
        for axis in dist:
            probs = (probs[:, :, None] * axis.probs.cpu().numpy().astype(np.float64)[:, None, :]).reshape(obs.shape[0], -1)
    else:
        probs = dist.probs.cpu().numpy().astype(np.float64)
    if probs.shape[1] != N_ACTIONS:
        raise ValueError(f"policy distribution over {probs.shape[1]} actions is not allowed: {N_ACTIONS}")
    return probs / probs.sum(axis=1, keepdims=True)


def policy_table(policy: Policy, params: AllianceParams, stochastic: bool = False) -> np.ndarray:
    """Read ``policy`` off on every (t, state) with one batched ``predict`` call.

    Returns flat actions (T, 5400) (``deterministic=True``), or with ``stochastic=True`` action
    probabilities (T, 5400, 96): from ``policy.action_probabilities(obs)`` if it has one (the
    `random` baseline), from an SB3 actor-critic's distribution, else the one-hot of the
    deterministic action. T = horizon for timeline/calendar (the observation carries t), else 1.
    A policy declaring ``reads_time = False`` (the baselines) is read at t = 0 and its row
    repeated (a read-only view). A policy that only draws at random
    (``deterministic_table = False``) has no deterministic table: ask for ``stochastic=True``.
    """
    policy = as_policy(policy)
    obs = observations_for(params)
    rows = params.horizon if params.time_in_observation else 1
    read_rows = rows if policy.reads_time else 1
    table = _read(policy, obs[: read_rows * N_STATES], read_rows, stochastic)
    return np.broadcast_to(table, (rows,) + table.shape[1:]) if read_rows < rows else table


def _read(policy: Policy, obs: np.ndarray, rows: int, stochastic: bool) -> np.ndarray:
    if stochastic:
        probs = policy.action_probabilities(obs)
        if probs is not None:
            return np.asarray(probs, dtype=np.float64).reshape(rows, N_STATES, N_ACTIONS)
    elif not policy.deterministic_table:
        raise ValueError(f"policy {policy.name!r} draws afresh each step and has no "
                         "deterministic table: use stochastic=True")
    actions, _ = policy.predict(obs, deterministic=True)
    flat = to_flat_actions(actions, obs.shape[0]).reshape(rows, N_STATES)
    if stochastic:
        return np.eye(N_ACTIONS)[flat]
    return flat

"""State and action encodings (docs/model.md sections 2, 3 and 10's conventions).

A state is six integers ``(phase, threat, autonomy, trust, west, fararc)``; a joint action is four
``(m, k, g, d)``. Flat indices are row-major over those tuples, so the flat action index is
``((m*2 + k)*3 + g)*4 + d`` (section 10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

STATE_VARS = ("phase", "threat", "autonomy", "trust", "west", "fararc")
STATE_LEVELS = np.array([5, 4, 6, 5, 3, 3], dtype=np.int64)
N_STATES = int(np.prod(STATE_LEVELS))  # 5,400
ACTION_VARS = ("m", "k", "g", "d")
ACTION_NVEC = np.array([4, 2, 3, 4], dtype=np.int64)
N_ACTIONS = int(np.prod(ACTION_NVEC))  # 96
ONE_HOT_SIZE = int(STATE_LEVELS.sum())  # 26
ONE_HOT_OFFSETS = np.concatenate([[0], np.cumsum(STATE_LEVELS)[:-1]])

# Column positions in a state array.
PHASE, T, A, R, W, X = range(6)

ACTION_WORDS = {
    "m": ("abstain", "political support", "limited participation (territory, basing)", "combat troops"),
    "k": ("no recognition", "recognise annexations"),
    "g": ("resist integration", "token integration", "deep integration"),
    "d": ("no diplomacy", "offer mediation", "far-arc outreach", "hedging signal to the West"),
}


def check_state(state: Any, name: str = "state") -> tuple[int, ...]:
    """Validate one state given as a dict of the six variables or a sequence of six integers."""
    if isinstance(state, Mapping):
        unknown = set(state) - set(STATE_VARS)
        missing = [v for v in STATE_VARS if v not in state]
        if unknown or missing:
            raise ValueError(
                f"{name}={dict(state)!r} is not allowed: a dict with exactly the keys {', '.join(STATE_VARS)}"
            )
        values = [state[v] for v in STATE_VARS]
    elif isinstance(state, Sequence | np.ndarray) and not isinstance(state, str):
        values = list(state)
        if len(values) != len(STATE_VARS):
            raise ValueError(f"{name}={state!r} is not allowed: six integers ({', '.join(STATE_VARS)})")
    else:
        raise ValueError(f"{name}={state!r} is not allowed: a dict or a sequence of six integers")
    out = []
    for var, value, levels in zip(STATE_VARS, values, STATE_LEVELS):
        ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
        ok = ok or (isinstance(value, float | np.floating) and float(value).is_integer())
        if not ok or not 0 <= int(value) < levels:
            raise ValueError(f"{name}.{var}={value!r} is not allowed: an integer in 0..{levels - 1}")
        out.append(int(value))
    return tuple(out)


def state_dict(state: Sequence[int]) -> dict[str, int]:
    """The decoded state as a dict of the six variables."""
    return {var: int(v) for var, v in zip(STATE_VARS, state)}


def encode_states(states: np.ndarray) -> np.ndarray:
    """(N, 6) integer states -> (N,) flat indices."""
    return np.ravel_multi_index(tuple(np.asarray(states).T), tuple(STATE_LEVELS))


def decode_states(index: np.ndarray | int) -> np.ndarray:
    """Flat indices -> (N, 6) integer states."""
    return np.stack(np.unravel_index(np.asarray(index), tuple(STATE_LEVELS)), axis=-1).astype(np.int64)


def encode_actions(actions: np.ndarray) -> np.ndarray:
    """(N, 4) joint actions -> (N,) flat indices ((m*2 + k)*3 + g)*4 + d."""
    return np.ravel_multi_index(tuple(np.asarray(actions).T), tuple(ACTION_NVEC))


def decode_actions(index: np.ndarray | int) -> np.ndarray:
    """Flat action indices -> (N, 4) joint actions (m, k, g, d)."""
    return np.stack(np.unravel_index(np.asarray(index), tuple(ACTION_NVEC)), axis=-1).astype(np.int64)


ALL_STATES = decode_states(np.arange(N_STATES))
ALL_ACTIONS = decode_actions(np.arange(N_ACTIONS))


def one_hot(states: np.ndarray) -> np.ndarray:
    """(N, 6) states -> (N, 26) float32 one-hot, variables in the table's order (section 2)."""
    states = np.asarray(states)
    out = np.zeros((states.shape[0], ONE_HOT_SIZE), dtype=np.float32)
    out[np.arange(states.shape[0])[:, None], states + ONE_HOT_OFFSETS] = 1.0
    return out


def observation_size(time_in_observation: bool) -> int:
    return ONE_HOT_SIZE + int(time_in_observation)


def observe(states: np.ndarray, t: np.ndarray | None, horizon: int) -> np.ndarray:
    """(N, 6) states and (N,) steps -> observations: the one-hot, plus ``t / horizon`` if ``t``
    is given (timeline and calendar scenarios)."""
    obs = one_hot(states)
    if t is None:
        return obs
    frac = (np.asarray(t, dtype=np.float32) / np.float32(horizon)).reshape(-1, 1)
    return np.concatenate([obs, frac], axis=1)


def decode_observations(obs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Observations (N, 26) or (N, 27) -> (states (N, 6), fraction t/horizon or None).

    Raises ``ValueError`` for a wrong shape or an observation that is not a valid one-hot."""
    obs = np.asarray(obs, dtype=np.float32)
    if obs.ndim == 1:
        obs = obs[None, :]
    if obs.ndim != 2 or obs.shape[1] not in (ONE_HOT_SIZE, ONE_HOT_SIZE + 1):
        raise ValueError(
            f"observation shape {tuple(obs.shape)} is not allowed: (N, {ONE_HOT_SIZE}) or (N, {ONE_HOT_SIZE + 1})"
        )
    states = np.empty((obs.shape[0], 6), dtype=np.int64)
    for j, (off, n) in enumerate(zip(ONE_HOT_OFFSETS, STATE_LEVELS)):
        block = obs[:, off : off + n]
        if not np.all((block.sum(axis=1) == 1.0) & (block.max(axis=1) == 1.0)):
            raise ValueError(f"observation block {STATE_VARS[j]} is not a one-hot vector: each block needs one 1")
        states[:, j] = block.argmax(axis=1)
    frac = obs[:, ONE_HOT_SIZE] if obs.shape[1] == ONE_HOT_SIZE + 1 else None
    return states, frac


def describe_action(action: Sequence[int]) -> str:
    """The joint action in words, for rendering."""
    return "; ".join(ACTION_WORDS[v][int(a)] for v, a in zip(ACTION_VARS, action))

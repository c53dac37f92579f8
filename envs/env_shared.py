"""What the single env, the vector env and the game env share: argument checks, the spaces, the
observation table and the readable line of a quarter (``render_line``). ``envs.env`` re-exports
every name, so ``from envs.env import observation_space`` keeps working.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from gymnasium import spaces as gym_spaces
from gymnasium.vector import AutoresetMode

from envs.params import PHASE_NAMES, AllianceParams, short_repr
from envs.scenarios import make_params
from envs.spaces import (
    ACTION_NVEC,
    ALL_ACTIONS,
    ALL_STATES,
    N_ACTIONS,
    N_STATES,
    ONE_HOT_SIZE,
    describe_action,
    observation_size,
    observe,
    one_hot,
)

RENDER_MODES = ("ansi", "human", "rgb_array")
FIRST_QUARTER = (2014, 1)  # t = 0 of the timeline and calendar scenarios (docs/model.md section 7)


def resolve_params(scenario: str = "war", params: AllianceParams | None = None,
                   overrides: dict | None = None) -> AllianceParams:
    """``params`` if given (``scenario`` is then ignored), else the named scenario; overrides on top."""
    if params is not None:
        if not isinstance(params, AllianceParams):
            raise ValueError(f"params={short_repr(params)} is not allowed: an AllianceParams or None")
        return params.with_overrides(overrides) if overrides else params
    return make_params(scenario, overrides)


def check_num_envs(num_envs: Any) -> int:
    if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
        raise ValueError(f"num_envs={short_repr(num_envs)} is not allowed: an integer >= 1")
    return int(num_envs)


def parse_reset_options(options: dict | None, keys: tuple[str, ...] = ("state", "t")) -> tuple[Any, ...]:
    """Checks ``options`` of ``reset``: only ``keys`` (the single env: ``state`` and ``t``; the vector
    env also ``reset_mask``). Returns their values raw (None where absent), in the order of ``keys``."""
    if options is None:
        return (None,) * len(keys)
    allowed = " and/or ".join(map(repr, keys))
    if not isinstance(options, dict):
        raise ValueError(f"options={short_repr(options)} is not allowed: a dict with keys {allowed}")
    unknown = sorted(set(options) - set(keys), key=str)
    if unknown:
        raise ValueError(f"options key {short_repr(unknown[0])} is not allowed: the keys are {allowed}")
    return tuple(options.get(k) for k in keys)


def check_max_episode_steps(value: Any, params: AllianceParams) -> int:
    """The episode length: ``max_episode_steps`` when given (at most the horizon of the 44-step
    scenarios, whose calendar ends in 2024Q4), else the scenario's horizon."""
    if value is None:
        return params.horizon
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"max_episode_steps={short_repr(value)} is not allowed: None or an integer >= 1")
    return min(int(value), params.horizon) if params.finite_horizon else int(value)


def check_render_mode(render_mode: Any, owner: str) -> None:
    """A render mode the env does not know is refused where it is given, in the constructor (issue
    28: accepted with a warning, it made ``gym.make``'s checker raise an ``AssertionError`` at the
    first ``render()``). ``gym.make``'s own modes (``rgb_array_list``, ``ansi_list``) reach the env as
    ``rgb_array``/``ansi``.

    :raises ValueError: one line naming the value and the allowed modes
    """
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"{owner}: render_mode={short_repr(render_mode)} is not allowed: None or one of "
                         f"{', '.join(map(repr, RENDER_MODES))}")


def check_t(t: Any, horizon: int, name: str = "options.t") -> int:
    ok = isinstance(t, int | np.integer) and not isinstance(t, bool)
    if not ok or not 0 <= int(t) < horizon:
        raise ValueError(f"{name}={short_repr(t)} is not allowed: an integer in 0..{horizon - 1} (t < horizon)")
    return int(t)


def quarter_label(t: int, params: AllianceParams) -> str:
    """``2014Q1`` + t for the timeline and calendar scenarios, ``t=NN`` for stationary ones."""
    if not params.finite_horizon:
        return f"t={t:02d}"
    q = FIRST_QUARTER[1] - 1 + t
    return f"{FIRST_QUARTER[0] + q // 4}Q{q % 4 + 1}"


def state_words(state: tuple[int, ...]) -> str:
    ph, T, A, R, W, X = state
    return f"P{ph} {PHASE_NAMES[ph]}: T{T} A{A} R{R} W{W} X{X}"


def render_line(t: int, params: AllianceParams, state: tuple[int, ...],
                last: tuple[tuple[int, ...], int, float] | None) -> str:
    """One readable line for the quarter just played (or the start state after ``reset``):
    date, phase, state, the action in words, its reward, and the state reached."""
    if last is None:
        return f"{quarter_label(t, params)} | {state_words(state)} | start"
    prev, action_index, rew = last
    act = tuple(int(v) for v in ALL_ACTIONS[action_index])
    return (f"{quarter_label(t - 1, params)} | {state_words(prev)} | a={act} {describe_action(act)} | "
            f"r={rew:+.4f} | -> {state_words(state)}")


@lru_cache(maxsize=8)
def observation_table(time_in_observation: bool, horizon: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The observation of every flat state index (the one-hot of ``envs.spaces``; a last column
    of zeros when the observation carries time) and ``t / horizon`` for t = 0..horizon."""
    table = one_hot(ALL_STATES)
    frac = None
    if time_in_observation:
        ts = np.arange(horizon + 1)
        frac = observe(np.zeros((horizon + 1, 6), dtype=np.int64), ts, horizon)[:, ONE_HOT_SIZE].copy()
        table = np.concatenate([table, np.zeros((N_STATES, 1), dtype=np.float32)], axis=1)
    table.setflags(write=False)
    if frac is not None:
        frac.setflags(write=False)
    return table, frac


def observation_space(params: AllianceParams, n_features: int = 0) -> gym_spaces.Box:
    """``Box(0, 1)`` of the observation, widened by ``n_features`` context features."""
    n = observation_size(params.time_in_observation) + n_features
    return gym_spaces.Box(0.0, 1.0, (n,), dtype=np.float32)


def action_space(discrete: bool = False) -> gym_spaces.MultiDiscrete | gym_spaces.Discrete:
    """``MultiDiscrete([4, 2, 3, 4])``, or with ``discrete`` its flat ``Discrete(96)``."""
    return gym_spaces.Discrete(N_ACTIONS) if discrete else gym_spaces.MultiDiscrete(ACTION_NVEC.copy())


def action_mask(discrete: bool) -> np.ndarray:
    """``action_masks()`` of sb3-contrib's MaskablePPO: every action is allowed in every state (the
    model forbids none), one flag per action (96) or per level of m, k, g and d (13)."""
    return np.ones(N_ACTIONS if discrete else int(ACTION_NVEC.sum()), dtype=bool)


def as_action_array(actions: Any) -> np.ndarray:
    """Actions as an array; a nested list that is ragged or holds a bool becomes an object array
    (which the callers reject) instead of a numpy error or a bool silently read as 0 or 1."""
    if isinstance(actions, np.ndarray):
        return actions
    try:
        a = np.asarray(actions)
    except ValueError:  # ragged
        return np.array(None, dtype=object)
    if a.dtype.kind in "iu" and any(isinstance(v, bool | np.bool_) for v in np.asarray(actions, dtype=object).flat):
        return a.astype(object)
    return a


AUTORESET_MODES = tuple(m.value for m in AutoresetMode)


def check_autoreset_mode(mode: Any) -> AutoresetMode:
    """An ``AutoresetMode`` or its value (``"NextStep"``, ``"SameStep"``, ``"Disabled"``)."""
    if isinstance(mode, AutoresetMode):
        return mode
    if isinstance(mode, str) and mode in AUTORESET_MODES:
        return AutoresetMode(mode)
    raise ValueError(f"autoreset_mode={short_repr(mode)} is not allowed: a gymnasium.vector.AutoresetMode or one "
                     f"of {', '.join(map(repr, AUTORESET_MODES))}")

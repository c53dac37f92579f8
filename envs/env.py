"""The single Gymnasium environment of the alliance model (docs/model.md sections 2-7).

The dynamics are not written here: every probability, reward, phase event and entry shock comes
from :mod:`envs.model` through the shared tables of :mod:`envs.tables` (one per parameter set,
cached; the env fills a state's rows on its first visit, ``Tables.fill_state``, so creating an env
for a new parameter set builds no block), and the control flow of a step (order of the eight uniforms,
draw -> move rule, entry-shock key) is ``envs.model.step_index``, the function the vector env runs
compiled over N states (``envs.kernel``). The env reads the tables through
memoryviews (plain Python floats, no copies) and pickles without them (``__getstate__``): the
copy re-attaches the cached tables. ``tests/test_env.py`` checks that a step returns exactly what
``Tables.step`` returns for the same uniforms, on every scenario.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.error import ResetNeeded

from envs import model
from envs.actions import (
    _ACTION_BYTES,
    _INT64,
    ACTION_ALLOWED,
    action_index,
    flat_action_index,
    step_action_index,
)
from envs.contexts import ContextSet, check_flag, make_contexts
from envs.env_contexts import ContextualEnvMixin
from envs.env_shared import (
    FIRST_QUARTER,
    RENDER_MODES,
    action_mask,
    action_space,
    check_max_episode_steps,
    check_num_envs,
    check_render_mode,
    check_t,
    observation_space,
    observation_table,
    parse_reset_options,
    quarter_label,
    render_line,
    resolve_params,
    state_words,
)
from envs.info import N_TERMS, STATE_TUPLES, TERM_KEYS, reset_info, step_info, term_row
from envs.params import AllianceParams, short_repr
from envs.spaces import N_ACTIONS, ONE_HOT_SIZE, STATE_VARS, check_state, encode_states
from envs.state_rows import MOVE_KEYS_IN_ROW
from envs.tables import BLOCK, MED_KEYS, MOVE_KEYS, shared_tables

# the names this module has always offered (envs.vector_env, envs.game, envs.wrappers, training import them)
__all__ = [
    "ACTION_ALLOWED", "FIRST_QUARTER", "INFO_TERMS", "RENDER_MODES", "UNIFORM_CHUNK", "SmallStateAllianceEnv",
    "action_index", "action_mask", "action_space", "check_max_episode_steps", "check_num_envs",
    "check_render_mode", "check_state", "check_t", "flat_action_index", "observation_space",
    "observation_table", "parse_reset_options", "quarter_label", "render_line", "resolve_params", "short_repr",
    "state_words",
]

# Reward terms reported in ``info`` (docs/model.md section 6), keys of ``envs.model.reward_terms``.
INFO_TERMS = TERM_KEYS
UNIFORM_CHUNK = 256  # steps of uniforms drawn at once (SmallStateAllianceEnv._uniforms)
_MOVE_KEYS = [tuple(k) for k in MOVE_KEYS.tolist()]  # flat index -> keys of T, A, R, W, X in Tables.up
_MED_KEYS = MED_KEYS.tolist()
_NOT_PICKLED = ("_tb", "_rows", "_up", "_down", "_p_med", "_reward", "_after_shock", "_terms", "_obs_table", "_frac",
                "_ctx_tables")


class SmallStateAllianceEnv(ContextualEnvMixin, gym.Env[np.ndarray, np.ndarray]):
    """
    ## Description

    A small state in an asymmetric alliance (docs/model.md; the case is Belarus 2014-2024). Each step
    is a quarter. The state chooses how far to take part in its patron's war, whether to
    recognise the patron's annexations, how far to integrate, and which diplomacy to pursue; the
    world answers with moves of the threat, its autonomy, the patron's trust, the openness of the
    West and its ties to far-arc partners, and with phase changes (regime crisis, invasion, patron
    crisis, protracted war). The utility trades security against autonomy (Morrow 1991) and
    punishes both abandonment and entrapment (Snyder 1984).

    ## Action Space

    The action is a `ndarray` of shape `(4,)`, `MultiDiscrete([4, 2, 3, 4])` (96 joint actions).
    With `discrete_actions=True` (the id `SmallStateAllianceDiscrete-v0`) it is `Discrete(96)`,
    the flat index `((m*2 + k)*3 + g)*4 + d`, stepped by the same `step` (`FlattenActions` gives
    the same mapping as a wrapper). Every action is allowed in every state: `action_masks()` (for
    sb3-contrib's MaskablePPO) is all True.

    | Num | Action          | Values                                                                  |
    |-----|-----------------|-------------------------------------------------------------------------|
    | 0   | `m` participation | 0 abstain, 1 political support, 2 territory/basing, 3 combat troops   |
    | 1   | `k` recognition | 0 no, 1 recognise the patron's annexations                              |
    | 2   | `g` integration | 0 resist, 1 token (roadmaps), 2 deep (currency, command)                |
    | 3   | `d` diplomacy   | 0 none, 1 offer mediation, 2 far-arc outreach, 3 hedging signal to West |

    ## Observation Space

    A `float32` `ndarray` in [0, 1]: the one-hot of each state variable, concatenated, and for the
    44-step `timeline` and `calendar` scenarios a last entry `t / horizon` (shape `(27,)`,
    otherwise `(26,)`):

    | Num   | Observation                     | Levels |
    |-------|---------------------------------|--------|
    | 0-4   | phase (hedging era ... protracted war) | 5 |
    | 5-8   | threat T                        | 4      |
    | 9-14  | autonomy A                      | 6      |
    | 15-19 | trust R in the patron           | 5      |
    | 20-22 | West openness W                 | 3      |
    | 23-25 | far-arc ties X                  | 3      |
    | 26    | t / horizon (timeline, calendar only) | [0, 1] |

    `envs.spaces.decode_observations` maps observations back to states.

    ## Rewards

    The reward of a step is r(s, a) of docs/model.md section 6 on the state *before* the step: a CES
    aggregate of security, autonomy and economy, plus an identity bonus, minus the costs of
    troops, basing and diplomacy. `info` carries each term.

    ## Starting State

    The scenario's start (`war`: protracted war, T2 A4 R3 W1 X0; `timeline`/`calendar`: 2014Q1,
    hedging era, T1 A4 R3 W1 X0). `reset(options={"state": {...}})` starts from any valid state
    (a dict of the six variables `phase, threat, autonomy, trust, west, fararc`, or six integers),
    and `options={"t": t}` from step `0 <= t < horizon`. With a calendar the phase follows the date
    from the next step on (a state whose phase differs from the date's moves to it, with the entry
    shock where one applies).

    ## Episode End

    The episode never terminates (the world goes on); it is truncated, never terminated.
    Stationary scenarios (`war`, `phase0`-`phase4`, the counterfactuals) are infinite-horizon
    problems: the value reported for them is the discounted infinite-horizon optimum, and an
    episode is only a truncation for learning (the learner bootstraps at truncation). Their
    episode length is whatever limit the user sets, 80 quarters (docs/model.md section 7) if none:
    `gym.make("SmallStateAlliance-v0", max_episode_steps=200)` (Gymnasium's `TimeLimit`, whose
    registered default is 80), `gym.make_vec(..., max_episode_steps=200)`, or the argument
    below. The 44 quarters of `timeline` and `calendar` (2014Q1-2024Q4) are the model's own horizon (the
    world after it is scored by the continuation value of section 7): a limit can shorten those
    episodes, not lengthen them.

    The raw class truncates at `max_episode_steps` (its argument) or, when that is None, at the
    scenario's horizon (`params.horizon`: 80 or 44). Through `gym.make` the env leaves the
    length of stationary episodes to Gymnasium's `TimeLimit` (`max_episode_steps`, default 80),
    so a longer limit is followed; `overrides={"horizon": H}` changes the horizon of the exact
    evaluation's statistics, not the length of `gym.make`'s episodes (pass `max_episode_steps=H`).

    ## Info

    Flat, every value a Python scalar (`envs.info`). After `step`: the state reached,
    `state_phase`, `state_threat`, `state_autonomy`, `state_trust`, `state_west`,
    `state_fararc` (int); `t` (steps done); the step's events `mediated` (bool), `phase_changed`
    (bool), `threat_floor` (int, 2 on entering phase 1 or 2, else 0), `west_reset` (bool); and
    the reward terms of section 6: `security`, `autonomy`, `economy`, `identity_bonus`,
    `troop_cost`, `basing_cost`, `diplomacy_cost` (float). After `reset`: the same keys (one
    structure for clients that batch infos, e.g. Minari's `DataCollector(record_infos=True)`): the
    start state and `t`, no event (`False`, `threat_floor` 0) and the reward terms `NaN` (no
    action has been taken yet). The decoded state is also `env.unwrapped.state` (a tuple) and
    `env.unwrapped.state_vars` (a dict of the six variables).

    ## Rendering

    `render_mode="ansi"`: `render()` returns one line for the quarter just played (date, state,
    the action in words, the reward, the state reached). `"human"`: `reset` and `step` print that
    line (`render()` returns None). `"rgb_array"`: `render()` returns a `(320, 512, 3)` `uint8` picture of the quarter
    (`envs.render`: date and phase, the six variables as gauges, the action in words, the reward
    and its terms), for `RecordVideo`, the Zoo's `record_video` and CleanRL's `--capture-video`.
    A mode not in `metadata["render_modes"]` is refused by the constructor (a `ValueError` naming
    the allowed modes); without a render mode `render()` warns and returns None.

    ## Arguments

    ```python
    >>> import gymnasium as gym
    >>> import envs
    >>> env = gym.make("SmallStateAlliance-v0", scenario="calendar", render_mode="ansi")
    >>> obs, info = env.reset(seed=0, options={"state": {"phase": 0, "threat": 1, "autonomy": 4,
    ...                                                    "trust": 3, "west": 1, "fararc": 0}})
    >>> obs.shape
    (27,)

    ```

    | Parameter     | Type                     | Default | Description                                            |
    |---------------|--------------------------|---------|--------------------------------------------------------|
    | `scenario`    | **str**                  | `"war"` | a name of `envs.scenario_names()` or a scenario file   |
    | `params`      | **AllianceParams | None** | `None`  | explicit parameters (then `scenario` is ignored)       |
    | `overrides`   | **dict | None**          | `None`  | parameter overrides, e.g. `{"identification": 0.9}`    |
    | `render_mode` | **str | None**           | `None`  | `"ansi"`, `"human"` or `"rgb_array"` (see Rendering)   |
    | `max_episode_steps` | **int | None**     | `None`  | episode length (None: the horizon; see Episode End)    |
    | `discrete_actions` | **bool**           | `False` | `Discrete(96)` flat actions instead of `MultiDiscrete` |
    | `contexts`    | **list | dict | None**   | `None`  | contexts drawn at each reset (see Contexts)            |
    | `context_in_obs` | **bool**              | `False` | append the context's features to the observation       |

    ## Contexts

    `contexts=[{...}, {...}]` (override dicts, each as `overrides=` takes, on top of the scenario)
    or `contexts={"sample": N, "seed": S}` (N contexts drawn from the discovery's ranges,
    `configs/discovery/ranges.yaml`, by `envs.ranges`' rules; `envs.contexts`) makes the env
    contextual (CARL's conventions): each `reset` draws one context uniformly with the env's
    `np_random`, `reset(options={"context_id": i})` picks one; `env.unwrapped.context` (the dict)
    and `info["context_id"]` (after reset and step) say which. With `context_in_obs=True` the
    observation ends with the context's features, each scaled to [0, 1] by its range (names in
    `env.unwrapped.context_features`; the sampled contexts' are the 25 factors); with `False` the
    observation is the plain one (hidden context). Each context keeps the entries of the states it
    visits (moves, Pr(M = 1), r(s, a), the reward terms of `info`), computed on a state's first
    visit by `envs.model` and stored compactly (`envs.state_rows.StateRows`: codes into the
    state's distinct numbers, the very numbers of the tables; no block in the disk cache per
    context): memory grows with the states visited per context (measured: 0.44 MB per context
    after 1,024 random episodes over 256 contexts, `benchmarks/context_speed.py`'s single-env
    part; it was 8.3 MB with a table per context and the terms as Python lists).

    Bad input (unknown scenario, parameter out of range, invalid start state or action) raises a
    `ValueError` with a one-line message naming the field and the value.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(self, scenario: str = "war", params: AllianceParams | None = None,
                 overrides: dict | None = None, render_mode: str | None = None,
                 max_episode_steps: int | None = None, discrete_actions: bool = False,
                 contexts: list | dict | None = None, context_in_obs: bool = False):
        check_render_mode(render_mode, type(self).__name__)
        self.discrete_actions = check_flag(discrete_actions, "discrete_actions")
        self.context_in_obs = check_flag(context_in_obs, "context_in_obs")
        self.params = resolve_params(scenario, params, overrides)
        self.contexts: ContextSet | None = None if contexts is None else make_contexts(contexts, self.params)
        self._context_id: int | None = None
        self._ctx_tables: dict[int, Any] = {}  # context id -> its shared tables (held: the cache keeps 64)
        self.params = self.params if self.contexts is None else self.contexts.params[0]
        self.render_mode = render_mode
        self.horizon = self.params.horizon
        self.max_episode_steps = check_max_episode_steps(max_episode_steps, self.params)  # episode length
        self.action_space = action_space(self.discrete_actions)
        n_features = len(self.context_features) if self.context_in_obs else 0
        self.observation_space = observation_space(self.params, n_features)
        self._attach_tables()
        self._obs_table, self._frac = observation_table(self.params.time_in_observation, self.horizon)
        self._start = encode_states(np.array([self.params.start]))[0].item()
        self._s: int | None = None  # flat index of the current state
        self._t = 0
        self._last: tuple[tuple[int, ...], int, float] | None = None  # (state, action index, reward)
        self._u_gen, self._u_buf, self._u_next = None, [], 0  # uniforms drawn ahead (_uniforms)

    def _attach_tables(self) -> None:
        """The shared tables of the parameter set (``envs.tables.shared_tables``, cached per set) and
        plain-Python views of them for one-state steps. No block is built: ``step`` fills a state's
        rows on its first visit (``envs.info.term_row``)."""
        tb, self._rows = self._context_table(shared_tables(self.params))  # _rows: a context's compact rows
        self._tb = tb
        self._up, self._down = memoryview(tb.up), memoryview(tb.down)
        self._p_med = memoryview(tb.p_med)
        self._reward = memoryview(tb.reward_blocks.reshape(-1))
        self._events = [list(zip(tg, pr)) for tg, pr in zip(tb.event_target.tolist(), tb.event_prob.tolist())]
        self._p_west = tb.p_west.tolist()
        self._after_shock = memoryview(tb.after_shock)
        self._terms = tb.info_terms
        self._timed = tb.timed

    def __getstate__(self) -> dict:
        """Pickles without the tables (rebuilt, or shared from the cache, on unpickling)."""
        return {k: v for k, v in self.__dict__.items() if k not in _NOT_PICKLED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._ctx_tables = {}
        self._attach_tables()
        self._obs_table, self._frac = observation_table(self.params.time_in_observation, self.horizon)

    # ------------------------------------------------------------------ public state
    @property
    def state(self) -> tuple[int, ...] | None:
        """The current state ``(phase, T, A, R, W, X)``, or ``None`` before ``reset``."""
        return None if self._s is None else STATE_TUPLES[self._s]

    @property
    def state_vars(self) -> dict[str, int] | None:
        """The current state as a dict of the six variables, or ``None`` before ``reset``."""
        return None if self._s is None else dict(zip(STATE_VARS, STATE_TUPLES[self._s]))

    @property
    def t(self) -> int:
        """Steps done in this episode."""
        return self._t

    def _observation(self) -> np.ndarray:
        obs = self._obs_table[self._s].copy()
        if self._frac is not None:
            obs[ONE_HOT_SIZE] = self._frac[self._t]
        if self.context_in_obs and self.contexts is not None:
            obs = np.concatenate([obs, self.contexts.feature_values[self._context_id]])
        return obs

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.contexts is None:
            state, t = parse_reset_options(options)
        else:
            state, t, context_id = parse_reset_options(options, ("state", "t", "context_id"))
            self._set_context(context_id)
        if state is None:
            self._s = self._start
        else:
            self._s = encode_states(np.array([check_state(state, "options.state")]))[0].item()
        self._t = 0 if t is None else check_t(t, self.horizon)
        self._last = None
        if self.render_mode == "human":
            print(render_line(self._t, self.params, STATE_TUPLES[self._s], self._last))
        info = reset_info(STATE_TUPLES[self._s], self._t)
        if self.contexts is not None:
            info["context_id"] = self._context_id
        return self._observation(), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        s, t = self._s, self._t
        if s is None:
            raise ResetNeeded("SmallStateAllianceEnv.step was called before reset(): call reset() first")
        if t >= self.max_episode_steps:
            raise ResetNeeded(f"the episode was truncated at t={t} (max_episode_steps {self.max_episode_steps}): "
                              "call reset()")
        a = None  # the common case inline (an int64 (4,) array, by its bytes), else envs.actions
        if type(action) is np.ndarray and action.dtype is _INT64 and action.shape == (4,) and not self.discrete_actions:
            a = _ACTION_BYTES.get(action.tobytes())
        if a is None:
            a = step_action_index(action, self.discrete_actions)
        i = self._u_next  # the step's 8 uniforms (_uniforms), the common case inline
        if i < len(self._u_buf) and self._np_random is self._u_gen:
            self._u_next, u = i + model.N_UNIFORMS, self._u_buf[i:i + model.N_UNIFORMS]
        else:
            u = self._uniforms()
        phase = s // BLOCK
        target, p_event = self._events[t if self._timed else 0][phase]
        if self._rows is None:  # the shared tables; a state's rows filled on its first visit
            terms = self._terms.get(s)
            if terms is None:
                terms = term_row(self._tb, s)
            terms = terms[a * N_TERMS:a * N_TERMS + N_TERMS]
            col = a * 2
            kT, kA, kR, kW, kX = _MOVE_KEYS[s]
            # section 5, in envs.model's order of draws and rule
            nxt, med, changed, west_reset, floor = model.step_index(
                s, phase, self._p_med[_MED_KEYS[s] + a], self._up, self._down,
                (kT + col, kA + col, kR + col, kW + col, kX + col), target, p_event, self._p_west, self._after_shock, u)
            reward = self._reward[s * N_ACTIONS + a]  # 5.5: r(s, a)
        else:  # a context: the same numbers from its compact rows (envs.state_rows)
            r = self._rows.row(s, a)
            nxt, med, changed, west_reset, floor = model.step_index(
                s, phase, r[0], r[2:12], r[12:22], MOVE_KEYS_IN_ROW, target, p_event, self._p_west, self._after_shock, u)
            reward, terms = r[1], r[22:]
        self._last = (STATE_TUPLES[s], a, reward)
        self._s = nxt
        self._t = t = t + 1
        info = step_info(nxt, t, med, changed, floor, west_reset, terms)
        if self._context_id is not None:
            info["context_id"] = self._context_id
        if self.render_mode == "human":
            print(render_line(t, self.params, STATE_TUPLES[nxt], self._last))
        return self._observation(), reward, False, t >= self.max_episode_steps, info

    def _uniforms(self) -> list[float]:
        """The step's 8 uniforms: the next 8 of ``np_random``'s stream, drawn :data:`UNIFORM_CHUNK`
        steps at a time (one NumPy call instead of one a step; the same numbers in the same order as
        drawing 8 a step, since a generator's doubles come one after another). A new generator
        (``reset(seed=...)`` or ``np_random`` set) starts a new chunk."""
        i = self._u_next
        if i >= len(self._u_buf) or self._np_random is not self._u_gen:
            self._u_gen = gen = self.np_random
            self._u_buf = gen.random(UNIFORM_CHUNK * model.N_UNIFORMS).tolist()
            i = 0
        self._u_next = i + model.N_UNIFORMS
        return self._u_buf[i:i + model.N_UNIFORMS]

    def action_masks(self) -> np.ndarray:
        """All True: the model allows every action in every state (sb3-contrib's MaskablePPO asks)."""
        return action_mask(self.discrete_actions)

    def render(self) -> str | np.ndarray | None:
        """``ansi``: the line of the quarter just played; ``human``: None (reset and step print it);
        ``rgb_array``: its picture, ``(320, 512, 3)`` ``uint8`` (see Rendering)."""
        if self.render_mode not in RENDER_MODES:
            gym.logger.warn("render() was called without a render_mode it supports: pass render_mode="
                            "'ansi', 'human' or 'rgb_array' to the env")
            return None
        if self._s is None:
            raise ResetNeeded("render() was called before reset(): call reset() first")
        state = STATE_TUPLES[self._s]
        if self.render_mode == "rgb_array":
            from envs.render import draw_frame  # Pillow only when pictures are asked for

            return draw_frame(self.params, quarter_label(max(self._t - 1, 0) if self._last else self._t,
                                                         self.params), state, self._last)
        if self.render_mode == "human":  # reset and step print (Gymnasium: human renders during step)
            return None
        return render_line(self._t, self.params, state, self._last)

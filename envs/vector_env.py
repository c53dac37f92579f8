"""N copies of the alliance env stepped as arrays in one call (Gymnasium 1.x ``VectorEnv``).

The step is ``envs.tables.Tables.step_indices`` on the N flat state indices at once, with uniforms
``np_random.random((N, 8))``: ``envs.model.step_index`` (the single env's step function) compiled
over the N states by numba (``envs.kernel``); no Python loop over envs. From N = 512 the whole step
is one compiled call that draws those same numbers itself (``envs.kernel.advance_into``,
``envs.pcg64``; with contexts ``envs.context_step``, both called by ``envs.vector_fused``); ``step``
also checks and encodes the actions and writes the observations in it. The pattern is Gymnasium's
``CartPoleVectorEnv``, with Gymnasium's three autoreset modes (``autoreset_mode=``: ``NEXT_STEP``,
the default, ``SAME_STEP`` and ``DISABLED``; https://farama.org/Vector-Autoreset-Mode).

The batched dynamics are the methods :meth:`AllianceVectorEnv.advance` (one step of every env,
no autoreset) and :meth:`AllianceVectorEnv.reset_envs` (put some envs back to the start); ``step``
composes them with the chosen autoreset mode, and the SB3 adapter (``envs.sb3_vec_env``) with SB3's
same-step autoreset, so there is one step logic.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from envs import model, pcg64
from envs.context_tables import ContextTables, with_features
from envs.contexts import check_flag, make_contexts
from envs.env import (
    ACTION_ALLOWED,
    RENDER_MODES,
    action_mask,
    action_space,
    check_max_episode_steps,
    check_num_envs,
    check_render_mode,
    observation_space,
    observation_table,
    parse_reset_options,
    quarter_label,
    render_line,
    resolve_params,
    short_repr,
)
from envs.env_shared import as_action_array, check_autoreset_mode
from envs.info import EVENT_KEYS
from envs.kernel import advance_plain, encode_actions, reward_and_clock, row_words
from envs.params import AllianceParams
from envs.spaces import ACTION_NVEC, ALL_STATES, N_ACTIONS, ONE_HOT_SIZE, STATE_LEVELS
from envs.tables import BLOCK, MED_KEYS32, MOVE_KEYS32, PHASE_OF, PHASE_OF32, build_tables
from envs.vector_fused import advance_contexts, step_fused
from envs.vector_reset import check_reset_mask, reset_clock, reset_contexts, reset_states

_STATE_STRIDES = np.array([int(np.prod(STATE_LEVELS[j + 1:])) for j in range(6)], dtype=np.int64)


class AllianceVectorEnv(VectorEnv):
    """``num_envs`` independent copies of :class:`envs.env.SmallStateAllianceEnv`, stepped together.

    Spaces: ``single_action_space`` is ``MultiDiscrete([4, 2, 3, 4])``, ``action_space`` its batch
    ``(num_envs, 4)`` (with ``discrete_actions=True``, the id ``SmallStateAllianceDiscrete-v0``:
    ``Discrete(96)`` and ``(num_envs,)`` flat indices); ``single_observation_space`` is ``Box(0, 1,
    (26,) or (27,), float32)``, ``observation_space`` its batch. Rewards are ``float64`` r(s, a) of
    the states before the step. Envs never terminate; an env is truncated when its ``t`` reaches
    the episode length. What follows is ``autoreset_mode`` (also ``metadata["autoreset_mode"]``):

    - ``NEXT_STEP`` (default, as ``CartPoleVectorEnv``): on the next ``step`` the env is reset to
      the scenario's start (its action is ignored, reward 0, both flags False);
    - ``SAME_STEP``: it is reset within the step that truncates it; the observation returned is the
      new episode's first, the last one is ``info["final_obs"]`` and that step's info
      ``info["final_info"]`` (masks ``_final_obs``, ``_final_info``: True where an env ended);
    - ``DISABLED``: nothing is reset; call ``reset(options={"reset_mask": mask})`` (a ``(N,)`` bool
      array) for the envs that ended before stepping them again (stepping one raises ``ResetNeeded``).

    ``reset(seed=None, options=None)``: ``options={"state": s}`` starts every env from ``s`` (a dict of
    the six variables or six integers) or each env from its own row when ``s`` is an ``(N, 6)``
    array-like; ``options={"t": t}`` sets the step of every env (an integer) or of each (N integers);
    ``options={"reset_mask": mask}`` resets only the envs where ``mask`` holds (the others keep
    their state and step).

    Info, kept minimal for speed: after ``step`` and ``reset`` the arrays ``t`` (int, steps done),
    ``mediated``, ``phase_changed``, ``west_reset`` (bool) and ``threat_floor`` (int), each of shape
    ``(N,)`` with its Gymnasium mask ``_<key>`` (all True); an env just reset reports no event
    (False, 0). The reward terms are not reported per step (compute them with
    ``envs.model.reward_terms`` on the states if needed). ``action_masks()`` is all True, ``(N, 13)``
    or ``(N, 96)`` (sb3-contrib's MaskablePPO).

    Episode length: ``max_episode_steps`` (``gym.make_vec`` passes the registered 80 or the
    user's value), at most the 44 steps of ``timeline`` and ``calendar``; None: the scenario's
    horizon. ``render_mode`` as the single env's (``render()`` returns one line or picture per env).

    Contexts (``contexts=``, ``context_in_obs=``, as the single env's): every sub-env draws its own
    context (uniformly, ``np_random``) at each reset, autoresets included; ``reset(options=
    {"context_id": i})`` gives every env context i (or each its own with N ids); ``context_ids``
    and ``info["context_id"]`` say which. The tables of every context are built once, side by side
    (:mod:`envs.context_tables`: 0.04 MB per context and phase block, repeated entries stored once, r(s, a)
    put together from its terms).

    Bad input (an action outside the space, a bad state or t) raises a one-line ``ValueError``.
    """

    metadata = {"render_modes": list(RENDER_MODES), "render_fps": 4, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, scenario: str = "war", params: AllianceParams | None = None,
                 overrides: dict | None = None, render_mode: str | None = None,
                 max_episode_steps: int | None = None, discrete_actions: bool = False,
                 autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 contexts: list | dict | None = None, context_in_obs: bool = False):
        self.num_envs = check_num_envs(num_envs)
        check_render_mode(render_mode, type(self).__name__)
        self.autoreset_mode = check_autoreset_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        self.discrete_actions = check_flag(discrete_actions, "discrete_actions")
        self.context_in_obs = check_flag(context_in_obs, "context_in_obs")
        self.render_mode = render_mode
        self.params = resolve_params(scenario, params, overrides)
        self.contexts = None if contexts is None else make_contexts(contexts, self.params)
        self._ctx = np.zeros(self.num_envs, dtype=np.int64)  # each env's context id
        if self.contexts is not None:  # tables of every context side by side; the plain ones unused
            self.params, self.context_tables = self.contexts.params[0], ContextTables(self.contexts.params)
            self._ctx_start = np.array([p.start for p in self.contexts.params], dtype=np.int64) @ _STATE_STRIDES
        self.horizon = self.params.horizon
        # episode length: gym.make_vec passes the registered 80 or the user's max_episode_steps
        self.max_episode_steps = check_max_episode_steps(max_episode_steps, self.params)
        self.tables = build_tables(self.params) if self.contexts is None else None
        self._obs_table, self._frac = observation_table(self.params.time_in_observation, self.horizon)
        self._table_words = row_words(self._obs_table)  # the same bytes, copied a word at a time (envs.kernel)
        self._features = np.ascontiguousarray(  # each context's features in its observations (envs.vector_fused)
            self.contexts.feature_values if self.contexts is not None and self.context_in_obs else np.zeros((1, 0)),
            dtype=np.float32)
        self.single_action_space = action_space(self.discrete_actions)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        n_features = len(self.contexts.features) if self.contexts is not None and self.context_in_obs else 0
        self.single_observation_space = observation_space(self.params, n_features)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self._all = np.ones(self.num_envs, dtype=bool)  # the info's masks: every env reports every key
        self._encode, self._clock = encode_actions, reward_and_clock
        self._no_reward = np.empty(0)  # with contexts, the reward comes from the context tables
        self._all.setflags(write=False)
        self._no_reset = np.zeros(self.num_envs, dtype=bool)  # _prev_reset after a step that reset none
        self._no_reset.setflags(write=False)
        # step() in one compiled call (envs.vector_fused) where envs.pcg64 draws the uniforms (N >= 512)
        self._fusable = self.num_envs * model.N_UNIFORMS >= pcg64.MIN_COMPILED
        self._start = np.asarray(self.params.start, dtype=np.int64)
        self._start_index = int(self._start @ _STATE_STRIDES)
        self._started = False
        self._index = np.zeros(self.num_envs, dtype=np.int64)  # (N,) flat state indices
        self._t = np.zeros(self.num_envs, dtype=np.int64)
        self._prev_done = np.zeros(self.num_envs, dtype=bool)  # truncated in the last step
        self._prev_reset = np.zeros(self.num_envs, dtype=bool)  # reset by the last step
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # indices, actions, rewards

    # ------------------------------------------------------------------ batched dynamics
    @property
    def states(self) -> np.ndarray | None:
        """A copy of the current states, ``(N, 6)``, or ``None`` before ``reset``."""
        return ALL_STATES[self._index] if self._started else None

    @property
    def t(self) -> np.ndarray:
        """A copy of the steps done in each env, ``(N,)``."""
        return self._t.copy()

    def observations(self, index: np.ndarray | None = None, t: np.ndarray | None = None) -> np.ndarray:
        """Observations of flat state indices (default: the current ones), ``(N, 26 or 27)``."""
        index = self._index if index is None else index
        if self.context_in_obs and self.contexts is not None:  # each row with its context's features
            obs = with_features(self._obs_table, index, self.contexts.feature_values, self._ctx)
        else:
            obs = np.take(self._obs_table, index, axis=0)
        if self._frac is not None:
            obs[:, ONE_HOT_SIZE] = self._frac[self._t if t is None else t]
        return obs

    @property
    def context_ids(self) -> np.ndarray:
        """A copy of each env's context id, ``(N,)`` (zeros without contexts)."""
        return self._ctx.copy()

    def action_indices(self, actions: Any) -> np.ndarray:
        """The step's actions as ``(N,)`` flat indices: ``(N, 4)`` joint actions (or, with
        ``discrete_actions``, ``(N,)`` indices, :meth:`check_action_indices`); a one-line
        ``ValueError`` if any is outside the action space."""
        if self.discrete_actions:
            return self.check_action_indices(actions)
        a = as_action_array(actions)
        if a.shape != (self.num_envs, 4) or a.dtype.kind not in "iu":
            raise ValueError(f"actions={short_repr(actions)} (shape {a.shape}, dtype {a.dtype}) is not allowed: "
                             f"an integer array of shape ({self.num_envs}, 4), each row {ACTION_ALLOWED}")
        index, bad = self._encode(a, ACTION_NVEC)  # checked and encoded in one compiled pass
        if bad >= 0:
            raise ValueError(f"actions[{bad}]={a[bad].tolist()} is out of range: {ACTION_ALLOWED}")
        return index

    def check_action_indices(self, index: Any) -> np.ndarray:
        """``(N,)`` flat action indices (``Discrete(96)``), checked."""
        a = as_action_array(index)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
            raise ValueError(f"actions={short_repr(index)} (shape {a.shape}, dtype {a.dtype}) is not allowed: "
                             f"an integer array of shape ({self.num_envs},) with values in 0..{N_ACTIONS - 1}")
        bad = (a < 0) | (a >= N_ACTIONS)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"actions[{i}]={int(a[i])} is out of range: an integer in 0..{N_ACTIONS - 1}")
        return a.astype(np.int64, copy=False)

    def advance(self, action_index: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One step of every env (docs/model.md section 5, by ``Tables.step_indices``), no autoreset.

        Returns ``(reward (N,), truncated (N,), events)``; reward is r(s, a) before the step (5.5)."""
        if not self._started:
            raise ResetNeeded("AllianceVectorEnv.step was called before reset(): call reset() first")
        fast = (advance_plain(self._index, action_index, self._t, self.max_episode_steps, self.np_random, PHASE_OF32,
                              MOVE_KEYS32, MED_KEYS32, self.tables) if self.contexts is None
                else advance_contexts(self, action_index))  # the whole step in one compiled call (N >= 512)
        if fast is None:  # r(s, a), t + 1, truncated and the first env already at the end, in one compiled pass
            reward, t_next, truncated, i = self._clock(self._index, action_index, self._t, self.max_episode_steps,
                                                       self._reward if self.contexts is None else self._no_reward)
        else:
            i, reward, t_next, truncated, nxt, events = fast
        if i >= 0:
            raise ResetNeeded(f"env {i} was truncated at t={int(self._t[i])} "
                              f"(max_episode_steps {self.max_episode_steps}): reset it")
        if self.contexts is not None and fast is None:  # (fewer than 512 envs) NumPy's random((N, 8))
            nxt, reward, events = self.context_tables.step_indices(self._index, action_index, self._t, self._ctx,
                                                                   self.np_random)
        elif fast is None:  # (fewer than 512 envs) NumPy's random((N, 8)), the same numbers
            nxt, events = self.tables.step_indices(self._index, action_index, self._t, self.np_random)
        events.pop("new_phase", None)
        self._last = (self._index, action_index, reward)
        self._index = nxt
        self._t = t_next
        return reward, truncated, events

    def reset_envs(self, mask: np.ndarray) -> None:
        """Put the envs where ``mask`` holds back to the scenario's start, t = 0 (with contexts: each
        draws a new context and starts from its start)."""
        if self.contexts is not None:
            ids = self.np_random.integers(len(self.contexts), size=int(np.count_nonzero(mask)))
            self._ctx[mask] = ids
            self.context_tables.ensure_reachable(ids, PHASE_OF[self._ctx_start[ids]])
            self._index[mask] = self._ctx_start[ids]
        else:
            self._index[mask] = self._start_index
        self._t[mask] = 0

    def action_masks(self) -> np.ndarray:
        """All True, ``(N, 13)`` (or ``(N, 96)`` with ``discrete_actions``): every action is allowed."""
        return np.tile(action_mask(self.discrete_actions), (self.num_envs, 1))

    def _info(self, events: dict[str, np.ndarray], t: np.ndarray | None = None) -> dict[str, Any]:
        mask = self._all  # one read-only array for every mask
        info: dict[str, Any] = {"t": self._t.copy() if t is None else t, "_t": mask}
        if self.contexts is not None:
            info.update(context_id=self._ctx.copy(), _context_id=mask)
        for key in EVENT_KEYS:
            info[key] = events[key]
            info["_" + key] = mask
        return info

    def _no_events(self) -> dict[str, np.ndarray]:
        n = self.num_envs
        return {k: np.zeros(n, dtype=np.int64 if k == "threat_floor" else bool) for k in EVENT_KEYS}

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        keys = ("state", "t", "reset_mask") + (("context_id",) if self.contexts is not None else ())
        state, t, reset_mask, *context_id = parse_reset_options(options, keys)
        n = self.num_envs
        keep = None
        if reset_mask is not None:
            if not self._started:
                raise ResetNeeded("reset(options={'reset_mask': ...}) before the first reset(): call reset() first")
            keep = ~check_reset_mask(reset_mask, n)
            old_index, old_t, old_ctx = self._index.copy(), self._t.copy(), self._ctx.copy()
        states = reset_states(state, self._start, n)
        ts = reset_clock(t, n, self.horizon)
        index = states @ _STATE_STRIDES
        if self.contexts is not None:
            self._ctx = reset_contexts(context_id[0], self.contexts, n, self.np_random)
            if state is None:
                index = self._ctx_start[self._ctx]
            if keep is not None:
                self._ctx = np.where(keep, old_ctx, self._ctx)
            self.context_tables.ensure_reachable(self._ctx, index // BLOCK)
        else:
            self.tables.ensure_reachable(np.unique(index // BLOCK))
            self._reward = self.tables.reward_blocks.reshape(-1)
        done, just_reset = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        if keep is not None:  # only the masked envs start again
            index = np.where(keep, old_index, index)
            ts = np.where(keep, old_t, ts)
            done, just_reset = self._prev_done & keep, self._prev_reset & keep
        self._index, self._t = index, ts
        self._started = True
        self._prev_done, self._prev_reset = done, just_reset
        self._last = None
        return self.observations(), self._info(self._no_events())

    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
        mode = self.autoreset_mode
        done = self._prev_done if mode is AutoresetMode.NEXT_STEP else None
        fused = None
        if self._fusable and self._started:
            fused = step_fused(self, actions, done)
        if fused is not None:
            obs, reward, truncated, ended, t_info, events, ends = fused
            if not ends or mode is not AutoresetMode.SAME_STEP:
                self._prev_done, self._prev_reset = ended, self._no_reset if done is None else done
                return obs, reward, np.zeros(self.num_envs, dtype=bool), truncated, self._info(events, t_info)
        else:
            action_index = self.action_indices(actions)
            if done is not None and done.any():  # next-step autoreset: these envs were truncated last step
                self.reset_envs(done)
            reward, truncated, events = self.advance(action_index)
        terminated = np.zeros(self.num_envs, dtype=bool)
        if done is not None and done.any():
            self.reset_envs(done)
            reward = np.where(done, 0.0, reward)
            truncated = truncated & ~done
            events = {k: np.where(done, 0 if k == "threat_floor" else False, v) for k, v in events.items()}
        if mode is AutoresetMode.SAME_STEP and truncated.any():
            final_obs, final_info = self.observations(), self._info(events)
            self.reset_envs(truncated)
            events = {k: np.where(truncated, 0 if k == "threat_floor" else False, v) for k, v in events.items()}
            info = self._info(events)
            info.update(final_obs=final_obs, _final_obs=truncated.copy(), final_info=final_info,
                        _final_info=truncated.copy())
            self._prev_done, self._prev_reset = np.zeros(self.num_envs, dtype=bool), truncated
            return self.observations(), reward, terminated, truncated.copy(), info
        self._prev_done = truncated
        self._prev_reset = done if done is not None else np.zeros(self.num_envs, dtype=bool)
        return self.observations(), reward, terminated, truncated.copy(), self._info(events)

    def render(self) -> tuple[str, ...] | tuple[np.ndarray, ...] | None:
        """One item per env for the quarter just played (see the single env): ``ansi`` a line,
        ``rgb_array`` a ``(320, 512, 3)`` ``uint8`` picture; ``human`` prints the lines."""
        if self.render_mode not in RENDER_MODES:
            return None
        if not self._started:
            raise ResetNeeded("render() was called before reset(): call reset() first")
        items = []
        for i in range(self.num_envs):
            last = None
            if self._last is not None and not self._prev_reset[i]:
                last = (tuple(ALL_STATES[self._last[0][i]].tolist()), int(self._last[1][i]), float(self._last[2][i]))
            state, t = tuple(ALL_STATES[self._index[i]].tolist()), int(self._t[i])
            if self.render_mode == "rgb_array":
                from envs.render import draw_frame  # Pillow only when pictures are asked for

                items.append(draw_frame(self.params, quarter_label(t - 1 if last else t, self.params), state, last))
            else:
                items.append(render_line(t, self.params, state, last))
        if self.render_mode == "human":
            print("\n".join(items))
            return None
        return tuple(items)


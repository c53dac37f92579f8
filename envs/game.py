"""The patron game as a PettingZoo environment (docs/model.md section 11).

```python
from envs.game import parallel_env, env
par = parallel_env(scenario="war", identification=0.9)    # overrides as keywords
obs, infos = par.reset(seed=0)
obs, rewards, terminations, truncations, infos = par.step({"small_state": [2, 0, 1, 1], "patron": [2, 1, 2]})
aec = env(scenario="war")                                  # the AEC form (PettingZoo's parallel_to_aec)
```

## Agents and actions

| agent | action space | action |
|---|---|---|
| `"small_state"` | `MultiDiscrete([4, 2, 3, 4])` | (m, k, g, d) of section 3 |
| `"patron"` | `MultiDiscrete([4, 2, 3])` | (D, IP, sigma): demand 0..3, integration pressure 0..1, support 0 withdrawn · 1 reduced · 2 full |

Both move at once and both observe the single env's observation (section 2: the one-hot of the
state, plus ``t / horizon`` in `timeline`/`calendar`), the same array for each.

## Step and rewards

Section 5 with the patron's (D, IP) in place of the table's, kappa * sigma / 2 and R's fall
+ .10 (2 - sigma): the probabilities come from ``envs.model`` (``move_probs``, ``mediation_prob``
with the patron's action), the phase events and entry shock from the shared tables, and the
control flow of the step is ``envs.model.step_index``, the one the single env runs, with the same
eight uniforms drawn in the same order from ``np_random``. The small state's reward is r(s, a_S,
a_P) of section 6, the patron's u_P(s, a_S, a_P) of section 11, both on the state before the step.
With the patron playing the table action (D_phase, IP_phase, 2) the observations and the small
state's rewards are those of ``SmallStateAlliance-v0`` under the same seed and actions.

## Episode end

Never terminated; both agents are truncated together at the scenario's horizon (80 quarters, or
the 44 of `timeline`/`calendar`), or at ``max_cycles`` when given; then ``agents`` is empty.

## Info

Per agent: the state reached (``state_phase`` ... ``state_fararc``), ``t``, the step's events
(``mediated``, ``phase_changed``, ``threat_floor``, ``west_reset``), the patron's action
(``demand``, ``pressure``, ``support``) and both rewards (``reward_small_state``,
``reward_patron``). After ``reset``: the state and ``t``.

## Arguments

``scenario`` (a name or a scenario file), ``params`` (an ``AllianceParams``; then ``scenario`` is
ignored), ``render_mode`` (``"ansi"`` or None), ``max_cycles`` (None: the horizon), and any
parameter override as a keyword (``identification=0.9``; ``patron_weights=[...]``). ``reset``
takes ``options={"state": {...}, "t": t}`` as the single env does; other keys are ignored with a
warning (PettingZoo's API test passes one). Bad input is a one-line ``ValueError``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces as gym_spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from envs import model
from envs.env import (
    action_index,
    check_max_episode_steps,
    check_state,
    check_t,
    observation_space,
    resolve_params,
)
from envs.info import STATE_KEYS
from envs.params import AllianceParams, short_repr
from envs.spaces import ALL_ACTIONS, ALL_STATES, encode_states, observe
from envs.tables import BLOCK, shared_tables

PATRON_NVEC_LIST = model.PATRON_NVEC.tolist()

AGENTS = ("small_state", "patron")
PATRON_ALLOWED = "three integers (D, IP, sigma) with D in 0..3, IP in 0..1, sigma in 0..2"
EVENT_KEYS = ("mediated", "phase_changed", "threat_floor", "west_reset")


def patron_index(action: Any) -> int:
    """Flat index (D * 2 + IP) * 3 + sigma of one patron action; a one-line ``ValueError`` otherwise."""
    ok = isinstance(action, np.ndarray) or (isinstance(action, list | tuple) and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in action))
    arr = np.asarray(action) if ok else None
    if arr is None or arr.shape != (3,) or arr.dtype.kind not in "iu":
        raise ValueError(f"patron action={short_repr(action)} is not allowed: {PATRON_ALLOWED}")
    values = arr.tolist()
    if any(not 0 <= v < n for v, n in zip(values, PATRON_NVEC_LIST)):
        raise ValueError(f"patron action={short_repr(action)} is out of range: {PATRON_ALLOWED}")
    return (values[0] * 2 + values[1]) * 3 + values[2]


class AllianceGameEnv(ParallelEnv):
    """The two-player game of docs/model.md section 11 (see the module docstring)."""

    metadata = {"render_modes": ["ansi"], "name": "small_state_alliance_game_v0", "is_parallelizable": True}

    def __init__(self, scenario: str = "war", params: AllianceParams | None = None, render_mode: str | None = None,
                 max_cycles: int | None = None, **overrides: Any):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={short_repr(render_mode)} is not allowed: None or 'ansi'")
        self.params = resolve_params(scenario, params, overrides or None)
        self.render_mode = render_mode
        self.max_cycles = check_max_episode_steps(max_cycles, self.params)
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._obs_space = observation_space(self.params)
        self._act_spaces = {"small_state": gym_spaces.MultiDiscrete([4, 2, 3, 4]),
                            "patron": gym_spaces.MultiDiscrete(PATRON_NVEC_LIST)}
        tb = shared_tables(self.params)  # phase events, Pr(W <- 0) and the entry shock (no block is built)
        self._target, self._p_event = tb.event_target, tb.event_prob
        self._p_west, self._shock = tb.p_west.tolist(), memoryview(tb.after_shock)
        self._start = int(encode_states(np.array([self.params.start]))[0])
        self._s: int | None = None
        self._t = 0
        self._last = ""
        self._np_random, self._np_random_seed = seeding.np_random(None)

    @cache  # noqa: B019  # PettingZoo asks for the same space object every call
    def observation_space(self, agent: str) -> gym_spaces.Box:
        self._check_agent(agent)
        return self._obs_space

    @cache  # noqa: B019
    def action_space(self, agent: str) -> gym_spaces.MultiDiscrete:
        self._check_agent(agent)
        return self._act_spaces[agent]

    def _check_agent(self, agent: str) -> None:
        if agent not in AGENTS:
            raise ValueError(f"agent={short_repr(agent)} is not allowed: one of {', '.join(AGENTS)}")

    @property
    def state_tuple(self) -> tuple[int, ...] | None:
        """The current state (phase, T, A, R, W, X), or None before ``reset``."""
        return None if self._s is None else tuple(int(x) for x in ALL_STATES[self._s])

    def _observe(self) -> np.ndarray:
        t = np.array([self._t]) if self.params.time_in_observation else None
        return observe(ALL_STATES[[self._s]], t, self.params.horizon)[0]

    def reset(self, seed: int | None = None, options: dict | None = None):
        if seed is not None:
            self._np_random, self._np_random_seed = seeding.np_random(seed)
        state, t = None, None
        if options is not None:
            if not isinstance(options, dict):
                raise ValueError(f"options={short_repr(options)} is not allowed: a dict with keys 'state' and/or 't'")
            extra = sorted(set(options) - {"state", "t"})
            if extra:
                gym.logger.warn(f"reset options {extra} are ignored: the keys read are 'state' and 't'")
            state, t = options.get("state"), options.get("t")
        self._s = self._start if state is None else int(encode_states(np.array([check_state(state, "options.state")]))[0])
        self._t = 0 if t is None else check_t(t, self.params.horizon)
        self.agents = list(AGENTS)
        info = dict(zip(STATE_KEYS, self.state_tuple)) | {"t": self._t}
        obs = self._observe()
        return {a: obs.copy() for a in AGENTS}, {a: dict(info) for a in AGENTS}

    def step(self, actions: dict):
        if self._s is None or not self.agents:
            raise ValueError("step() is not allowed before reset() or after the episode ended: call reset() first")
        if not isinstance(actions, dict) or set(actions) != set(AGENTS):
            raise ValueError(f"actions={short_repr(actions)} is not allowed: a dict with an action for "
                             f"'small_state' and 'patron'")
        a_s, a_p = action_index(actions["small_state"]), patron_index(actions["patron"])
        s, t, p = self._s, self._t, self.params
        state = ALL_STATES[[s, s]]
        act = ALL_ACTIONS[[a_s, a_s]]
        pat = np.repeat(model.ALL_PATRON_ACTIONS[[a_p]], 2, axis=0)
        up, down = model.move_probs(state, act, np.array([0, 1]), p, pat)  # rows: M = 0, 1
        keys = (0, 2, 4, 6, 8)  # up[keys[j] + M] is variable j's Pr(up) under M (model.step_index's key)
        phase = s // BLOCK
        row = t if p.calendar is not None else 0
        nxt, med, changed, west_reset, floor = model.step_index(
            s, phase, float(model.mediation_prob(state[:1], act[:1], p)[0]), up.T.ravel().tolist(),
            down.T.ravel().tolist(), keys, int(self._target[row, phase]), float(self._p_event[row, phase]),
            self._p_west, self._shock, self._np_random.random(model.N_UNIFORMS).tolist())
        terms = model.reward_terms(state[:1], act[:1], p, pat[:1])  # section 6's terms, once for both rewards
        r_s = float(terms["reward"][0])
        r_p = float(model.patron_reward(state[:1], act[:1], pat[:1], p, terms)[0])
        self._last = (f"t={t:02d} {tuple(ALL_STATES[s].tolist())} small_state {tuple(act[0].tolist())} "
                      f"patron {tuple(pat[0].tolist())} rewards {r_s:.4f}/{r_p:.4f} -> {tuple(ALL_STATES[nxt].tolist())}")
        self._s, self._t = int(nxt), t + 1
        done = self._t >= self.max_cycles
        info = (dict(zip(STATE_KEYS, self.state_tuple)) | {"t": self._t}
                | dict(zip(EVENT_KEYS, (bool(med), bool(changed), int(floor), bool(west_reset))))
                | dict(zip(("demand", "pressure", "support"), (int(x) for x in pat[0])))
                | {"reward_small_state": r_s, "reward_patron": r_p})
        obs = self._observe()
        out = ({a: obs.copy() for a in AGENTS}, {"small_state": r_s, "patron": r_p}, dict.fromkeys(AGENTS, False),
               dict.fromkeys(AGENTS, done), {a: dict(info) for a in AGENTS})
        if done:
            self.agents = []
        return out

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            gym.logger.warn("render() needs render_mode='ansi'")
            return None
        return self._last

    def close(self) -> None:
        pass


def parallel_env(scenario: str = "war", render_mode: str | None = None, **overrides: Any) -> AllianceGameEnv:
    """The game as a PettingZoo ``ParallelEnv``; keywords other than ``params``/``max_cycles`` are overrides."""
    return AllianceGameEnv(scenario=scenario, render_mode=render_mode, **overrides)


def env(scenario: str = "war", render_mode: str | None = None, **overrides: Any):
    """The game as a PettingZoo ``AECEnv`` (``parallel_to_aec`` of :func:`parallel_env`)."""
    return parallel_to_aec(parallel_env(scenario=scenario, render_mode=render_mode, **overrides))

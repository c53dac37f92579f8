"""One player's view of the patron game (docs/model.md section 11): a single-agent Gymnasium env in
which one player learns and the other plays a frozen policy.

```python
from envs.game_views import FrozenOpponentEnv
env = FrozenOpponentEnv("small_state", opponent=pi_patron, scenario="war")   # pi_patron: (1080, 24)
obs, info = env.reset(seed=0)
obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
```

The opponent's policy is a table of action probabilities, one row per state of ``rows`` (flat state
indices; default the start phase's block, ``agents.game.operator.GameOperator.rows``): the small
state's rows over the 96 flat actions ``((m*2 + k)*3 + g)*4 + d``, the patron's over the 24 flat
actions ``(D*2 + IP)*3 + sigma``. Each step the opponent draws its action from its row of the
current state, and the two actions go to one step of :class:`envs.game.AllianceGameEnv`: the
dynamics and the step's control flow are the game's own, never a copy.

Spaces are the learner's in the game (``MultiDiscrete([4, 2, 3, 4])`` or ``MultiDiscrete([4, 2,
3])``; the observation is the game's 26 or 27 floats); the reward is the learner's; the episode is
truncated with the game's (80 quarters in stationary scenarios). The opponent draws from its own
random stream, seeded by ``reset(seed=...)`` apart from the game's dynamics. Bad input is a
one-line ``ValueError``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs import model
from envs.game import AGENTS, AllianceGameEnv
from envs.params import AllianceParams, short_repr
from envs.spaces import ALL_ACTIONS, N_STATES, encode_states
from envs.tables import BLOCK

ACTIONS = {"small_state": ALL_ACTIONS, "patron": model.ALL_PATRON_ACTIONS}  # flat index -> the action's components
OPPONENT_STREAM = 0x0440  # the opponent's seed is (seed, this): a stream apart from the game's dynamics
PROB_TOL = 1e-6


def other(player: str) -> str:
    """The other player of the game."""
    return AGENTS[1 - AGENTS.index(player)]


def check_table(table: Any, rows: np.ndarray, player: str) -> np.ndarray:
    """``table`` as a (len(rows), n) float64 array of probabilities of ``player``'s flat actions
    (each row renormalised to sum to 1); a one-line ``ValueError`` otherwise."""
    n = ACTIONS[player].shape[0]
    arr = np.asarray(table, dtype=object if table is None else None)
    if arr.shape != (rows.size, n) or arr.dtype.kind not in "fiu":
        raise ValueError(f"opponent table of shape {arr.shape} is not allowed: ({rows.size}, {n}) probabilities of "
                         f"the {player}'s flat actions, one row per state of rows")
    arr = arr.astype(np.float64)
    sums = arr.sum(axis=1)
    if not np.isfinite(arr).all() or arr.min() < 0 or np.abs(sums - 1.0).max() > PROB_TOL:
        raise ValueError(f"opponent table is not allowed: finite probabilities >= 0 whose rows sum to 1 (off by "
                         f"{float(np.nanmax(np.abs(sums - 1.0))):.3g})")
    return arr / sums[:, None]


class FrozenOpponentEnv(gym.Env):
    """The game for ``learner`` ("small_state" or "patron") against a frozen ``opponent`` table
    (see the module docstring). Other keywords go to :class:`envs.game.AllianceGameEnv`."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(self, learner: str, opponent: Any, scenario: str = "war", params: AllianceParams | None = None,
                 rows: Any = None, render_mode: str | None = None, max_cycles: int | None = None, **overrides: Any):
        if learner not in AGENTS:
            raise ValueError(f"learner={short_repr(learner)} is not allowed: one of {', '.join(AGENTS)}")
        self.game = AllianceGameEnv(scenario=scenario, params=params, render_mode=render_mode,
                                    max_cycles=max_cycles, **overrides)
        self.learner, self.opponent = learner, other(learner)
        self.render_mode = render_mode
        self.observation_space = self.game.observation_space(learner)
        self.action_space = self.game.action_space(learner)
        self.rows = self._check_rows(rows)
        self._row_of = np.full(N_STATES, -1, dtype=np.int64)
        self._row_of[self.rows] = np.arange(self.rows.size)
        self.set_opponent(opponent)

    def _check_rows(self, rows: Any) -> np.ndarray:
        if rows is None:
            phase = int(self.game.params.start[0])
            return np.arange(phase * BLOCK, (phase + 1) * BLOCK)
        arr = np.asarray(rows)
        if (arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= N_STATES
                or np.unique(arr).size != arr.size):
            raise ValueError(f"rows={short_repr(rows)} is not allowed: distinct flat state indices in 0..{N_STATES - 1}")
        return arr.astype(np.int64)

    def set_opponent(self, table: Any) -> None:
        """Freeze the opponent on a new table (same shape rules as the constructor's)."""
        probs = check_table(table, self.rows, self.opponent)
        cum = np.cumsum(probs, axis=1)
        last = probs.shape[1] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)  # each row's last action in play
        cum[np.arange(probs.shape[1])[None, :] >= last[:, None]] = 1.0  # a draw in [0, 1) lands on an action in play
        self._cum = cum

    def _opponent_action(self) -> np.ndarray:
        flat = int(encode_states(np.array([self.game.state_tuple]))[0])
        row = self._row_of[flat]
        if row < 0:
            raise ValueError(f"state {self.game.state_tuple} is not allowed: the opponent's table has no row for it "
                             "(its rows are the start phase's block unless rows= says otherwise)")
        cum = self._cum[row]  # the first action whose cumulative probability exceeds the draw
        return ACTIONS[self.opponent][int(np.searchsorted(cum, self.np_random.random(), side="right"))]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:  # the opponent's stream, apart from the game's (seeded with seed itself)
            self._np_random = np.random.default_rng([seed, OPPONENT_STREAM])
        obs, infos = self.game.reset(seed=seed, options=options)
        return obs[self.learner], infos[self.learner]

    def step(self, action: Any):
        actions = {self.learner: action, self.opponent: self._opponent_action()}
        obs, rewards, terminations, truncations, infos = self.game.step(actions)
        return (obs[self.learner], rewards[self.learner], terminations[self.learner], truncations[self.learner],
                infos[self.learner])

    def render(self) -> str | None:
        return self.game.render()

    def close(self) -> None:
        self.game.close()

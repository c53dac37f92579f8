"""The strategic patron's tables on one phase block (docs/model.md section 11), built by the pure
functions of :mod:`envs.model` (never a second copy of the dynamics).

The patron's action a_P = (D, IP, sigma) enters a step only through R's moves (D and IP in R's rise
and fall, sigma in R's fall) and the rewards (kappa * sigma / 2 in S and Econ; u_P). T, A, W, X and
M move as in the single-agent tables whatever the patron does (``tests/envs/test_patron_model.py``
checks it on every state-action), so the game adds to :class:`envs.tables.Tables` only:

- R's clipped Pr(up), Pr(down) over (T, R, a_S, a_P, M): ``(4, 5, 96, 24, 2)`` each (R's
  probabilities read T besides their own level, ``envs.model.MOVE_READS``), 0.7 MB for both;
- r(s, a_S, a_P) and u_P(s, a_S, a_P) of every state of the block. Both read a_P through sigma
  alone (kappa * sigma / 2; u_P's terms), so they are held by sigma, ``(1080, 96, 3)`` each (2.5 MB),
  built from ``envs.model`` at (D, IP) = (0, 0); the build checks on a sample of states that every
  (D, IP) gives the same numbers, bit for bit (a model whose rewards read D or IP is refused). The
  ``(1080, 96, 24)`` arrays over every a_P (20 MB each) are made from those on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from envs import model
from envs.params import AllianceParams
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS
from envs.tables import BLOCK, LEVELS, MOVE_SHAPES, VARS, _grid

N_PATRON = model.N_PATRON_ACTIONS
R_SHAPE = MOVE_SHAPES["R"]  # (4, 1, 5, 1, 1): T and R read
SIGMA = model.ALL_PATRON_ACTIONS[:, 2].copy()  # each flat patron action's sigma: the rewards' column
N_SIGMA = int(model.PATRON_NVEC[2])
SIGMA_FIRST = np.array([int(np.flatnonzero(SIGMA == sg)[0]) for sg in SIGMA])  # the first a_P of each a_P's sigma
if not np.array_equal(SIGMA_FIRST[:N_SIGMA], np.arange(N_SIGMA)):
    raise ValueError("envs.model.ALL_PATRON_ACTIONS: envs.game_tables needs sigma fastest (actions 0, 1, 2: sigma 0, 1, 2)")
CHECK_STATES = np.arange(0, BLOCK, 97)  # the states whose rewards the build checks over every a_P


@dataclass(frozen=True, eq=False)
class PatronBlock:
    """The game's tables of one phase block (see the module docstring)."""

    phase: int
    r_up: np.ndarray  # (4, 5, 96, 24, 2): Pr(R up | T, R, a_S, a_P, M)
    r_down: np.ndarray
    reward_small_sigma: np.ndarray  # (1080, 96, 3): r(s, a_S, a_P) by a_P's sigma
    reward_patron_sigma: np.ndarray  # (1080, 96, 3): u_P(s, a_S, a_P) by a_P's sigma

    @cached_property
    def reward_small(self) -> np.ndarray:
        """r(s, a_S, a_P) over every a_P, (1080, 96, 24) (made on first use)."""
        return _over_actions(self.reward_small_sigma)

    @cached_property
    def reward_patron(self) -> np.ndarray:
        """u_P(s, a_S, a_P) over every a_P, (1080, 96, 24) (made on first use)."""
        return _over_actions(self.reward_patron_sigma)


def _over_actions(by_sigma: np.ndarray) -> np.ndarray:
    out = by_sigma[:, :, SIGMA]
    out.setflags(write=False)
    return out


def _r_tables(params: AllianceParams, phase: int) -> tuple[np.ndarray, np.ndarray]:
    grid = _grid(R_SHAPE, phase)  # the (T, R) combinations, other levels 0 (not read)
    n = grid.shape[0]
    actions = np.repeat(ALL_ACTIONS, N_PATRON, axis=0)  # one combination's (a_S, a_P) rows at a time:
    patron = np.tile(model.ALL_PATRON_ACTIONS, (N_ACTIONS, 1))  # 2,304 rows, small temporaries
    up = np.empty((n, N_ACTIONS, N_PATRON, 2))
    down = np.empty_like(up)
    j = VARS.index("R")
    for c in range(n):
        states = np.repeat(grid[c:c + 1], actions.shape[0], axis=0)
        for med in (0, 1):
            u, d = model.move_probs(states, actions, med, params, patron)
            up[c, ..., med] = u[:, j].reshape(N_ACTIONS, N_PATRON)
            down[c, ..., med] = d[:, j].reshape(N_ACTIONS, N_PATRON)
    shape = (LEVELS[0], LEVELS[2], N_ACTIONS, N_PATRON, 2)
    return up.reshape(shape), down.reshape(shape)


STATE_CHUNK = 90  # states of the block per call of envs.model's rewards: 8.6k rows (as envs.tables.CHUNK_ROWS), ~3 MB of temporaries


def _rewards(params: AllianceParams, phase: int, patron_actions: np.ndarray,
             states: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """r and u_P of the block's ``states`` (default all) under each of ``patron_actions`` (n, 3):
    (len(states), 96, n) each, a chunk of states and one patron action at a time (small temporaries)."""
    block = ALL_STATES[phase * BLOCK:(phase + 1) * BLOCK]
    block = block if states is None else block[states]
    small = np.empty((block.shape[0], N_ACTIONS, patron_actions.shape[0]))
    patron = np.empty_like(small)
    for lo in range(0, block.shape[0], STATE_CHUNK):
        chunk = np.repeat(block[lo:lo + STATE_CHUNK], N_ACTIONS, axis=0)
        actions = np.tile(ALL_ACTIONS, (chunk.shape[0] // N_ACTIONS, 1))
        for b, a_p in enumerate(patron_actions):
            rows = np.broadcast_to(a_p, (chunk.shape[0], 3))
            terms = model.reward_terms(chunk, actions, params, rows)  # once for both players' rewards
            small[lo:lo + STATE_CHUNK, :, b] = terms["reward"].reshape(-1, N_ACTIONS)
            patron[lo:lo + STATE_CHUNK, :, b] = model.patron_reward(chunk, actions, rows, params, terms).reshape(-1, N_ACTIONS)
    return small, patron


@lru_cache(maxsize=16)
def check_rewards_read_sigma_only(params: AllianceParams, phase: int) -> None:
    """A ``ValueError`` unless r and u_P of every a_P equal those of the first a_P with its sigma
    (:data:`SIGMA_FIRST`), bit for bit, on :data:`CHECK_STATES` of the block (once per parameter set)."""
    every = _rewards(params, phase, model.ALL_PATRON_ACTIONS, CHECK_STATES)
    for name, full in zip(("r", "u_P"), every):
        if not np.array_equal(full, full[:, :, SIGMA_FIRST]):
            raise ValueError(f"envs.model's {name} reads the patron's D or IP: envs.game_tables holds the rewards "
                             "by sigma alone")


def _rewards_by_sigma(params: AllianceParams, phase: int) -> tuple[np.ndarray, np.ndarray]:
    """r and u_P by sigma (1080, 96, 3), at the first a_P of each sigma (checked first)."""
    check_rewards_read_sigma_only(params, phase)
    return _rewards(params, phase, model.ALL_PATRON_ACTIONS[SIGMA_FIRST[:N_SIGMA]])


@lru_cache(maxsize=4)
def patron_block(params: AllianceParams, phase: int) -> PatronBlock:
    """The game's tables of ``phase``'s block (cached per parameter set and phase)."""
    up, down = _r_tables(params, phase)
    small, patron = _rewards_by_sigma(params, phase)
    for arr in (up, down, small, patron):
        arr.setflags(write=False)
    return PatronBlock(phase=phase, r_up=up, r_down=down, reward_small_sigma=small, reward_patron_sigma=patron)

"""The strategic patron's tables on one phase block (docs/model.md section 11), built by the pure
functions of :mod:`envs.model` (never a second copy of the dynamics).

The patron's action a_P = (D, IP, sigma) enters a step only through R's moves (D and IP in R's rise
and fall, sigma in R's fall) and the rewards (kappa * sigma / 2 in S and Econ; u_P). T, A, W, X and
M move as in the single-agent tables whatever the patron does (``tests/envs/test_patron_model.py``
checks it on every state-action), so the game adds to :class:`envs.tables.Tables` only:

- R's clipped Pr(up), Pr(down) over (T, R, a_S, a_P, M): ``(4, 5, 96, 24, 2)`` each (R's
  probabilities read T besides their own level, ``envs.model.MOVE_READS``), 0.7 MB for both;
- r(s, a_S, a_P) and u_P(s, a_S, a_P) of every state of the block: ``(1080, 96, 24)`` each, 20 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from envs import model
from envs.params import AllianceParams
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS
from envs.tables import BLOCK, LEVELS, MOVE_SHAPES, VARS, _grid

N_PATRON = model.N_PATRON_ACTIONS
R_SHAPE = MOVE_SHAPES["R"]  # (4, 1, 5, 1, 1): T and R read


@dataclass(frozen=True, eq=False)
class PatronBlock:
    """The game's tables of one phase block (see the module docstring)."""

    phase: int
    r_up: np.ndarray  # (4, 5, 96, 24, 2): Pr(R up | T, R, a_S, a_P, M)
    r_down: np.ndarray
    reward_small: np.ndarray  # (1080, 96, 24): r(s, a_S, a_P)
    reward_patron: np.ndarray  # (1080, 96, 24): u_P(s, a_S, a_P)


def _r_tables(params: AllianceParams, phase: int) -> tuple[np.ndarray, np.ndarray]:
    grid = _grid(R_SHAPE, phase)  # the (T, R) combinations, other levels 0 (not read)
    n = grid.shape[0]
    states = np.repeat(grid, N_ACTIONS * N_PATRON, axis=0)
    actions = np.tile(np.repeat(ALL_ACTIONS, N_PATRON, axis=0), (n, 1))
    patron = np.tile(model.ALL_PATRON_ACTIONS, (n * N_ACTIONS, 1))
    up = np.empty((n, N_ACTIONS, N_PATRON, 2))
    down = np.empty_like(up)
    j = VARS.index("R")
    for med in (0, 1):
        u, d = model.move_probs(states, actions, med, params, patron)
        up[..., med] = u[:, j].reshape(n, N_ACTIONS, N_PATRON)
        down[..., med] = d[:, j].reshape(n, N_ACTIONS, N_PATRON)
    shape = (LEVELS[0], LEVELS[2], N_ACTIONS, N_PATRON, 2)
    return up.reshape(shape), down.reshape(shape)


STATE_CHUNK = 270  # states of the block per call of envs.model's rewards: 26k rows, a few MB of temporaries


def _rewards(params: AllianceParams, phase: int) -> tuple[np.ndarray, np.ndarray]:
    block = ALL_STATES[phase * BLOCK:(phase + 1) * BLOCK]
    small = np.empty((BLOCK, N_ACTIONS, N_PATRON))
    patron = np.empty_like(small)
    for lo in range(0, BLOCK, STATE_CHUNK):  # a chunk of states and one patron action at a time: small temporaries
        states = np.repeat(block[lo:lo + STATE_CHUNK], N_ACTIONS, axis=0)
        actions = np.tile(ALL_ACTIONS, (states.shape[0] // N_ACTIONS, 1))
        for b, a_p in enumerate(model.ALL_PATRON_ACTIONS):
            rows = np.broadcast_to(a_p, (states.shape[0], 3))
            terms = model.reward_terms(states, actions, params, rows)  # once for both players' rewards
            small[lo:lo + STATE_CHUNK, :, b] = terms["reward"].reshape(-1, N_ACTIONS)
            patron[lo:lo + STATE_CHUNK, :, b] = model.patron_reward(states, actions, rows, params, terms).reshape(-1, N_ACTIONS)
    return small, patron


@lru_cache(maxsize=4)
def patron_block(params: AllianceParams, phase: int) -> PatronBlock:
    """The game's tables of ``phase``'s block (cached per parameter set and phase)."""
    up, down = _r_tables(params, phase)
    small, patron = _rewards(params, phase)
    for arr in (up, down, small, patron):
        arr.setflags(write=False)
    return PatronBlock(phase=phase, r_up=up, r_down=down, reward_small=small, reward_patron=patron)

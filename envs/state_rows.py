"""One state's entries of the tables, and a compact store of them for the contextual single env.

:func:`state_entries` computes, by the functions of :mod:`envs.model`, what a phase block's build
holds for one state (its moves under both M, Pr(M = 1), the reward terms of its 96 actions):
``Tables.fill_state`` writes them into the shared tables, and :class:`StateRows` keeps them compactly.

Why a compact store (issue 30): a contextual env visits each of its many parameter sets a few
hundred states. Kept in a :class:`envs.tables.Tables` per context (arrays with a slot per phase,
written state by state) and with the reward terms as Python lists, that was 8.2 MB per context. A
:class:`StateRows` holds per visited state one ``(96, 29)`` array of codes (``uint8``, ``uint16`` if
a state has more than 256 distinct numbers) into the state's distinct numbers (``float64``, told apart
by their bits, so ``-0.0`` stays ``-0.0``): per action Pr(M = 1), r(s, a), Pr(up) of T, A, R, W, X
under M = 0 and 1, Pr(down) the same, and the seven reward terms of ``envs.info.TERM_KEYS``. A look-up
returns the very numbers the tables hold, so trajectories do not change.
"""

from __future__ import annotations

import mmap

import numpy as np

from envs import model
from envs.params import AllianceParams
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS

N_COLS = N_ACTIONS * 2  # a move table's columns per combination: (a, M)
_BOTH_M = np.repeat([0, 1], N_ACTIONS)  # M of the 192 rows of state_entries (M slowest)
_BOTH_M_ACTIONS = np.tile(ALL_ACTIONS, (2, 1))
MOVE_KEYS_IN_ROW = (0, 2, 4, 6, 8)  # StateRows.row: variable j's Pr(up) at up[2 j + M], Pr(down) the same
ROW_WIDTH = 2 + 10 + 10 + 7  # p_med, reward, up (5 x 2), down (5 x 2), terms


def lazy_zeros(shape) -> np.ndarray:
    """A float64 array of zeros in fresh anonymous memory (``mmap``): a page counts in the resident
    memory only once written (``np.zeros`` may reuse heap memory and clear all of it: most of the
    8 MB per context of a contextual single env's tables, never written)."""
    n = int(np.prod(shape))
    return np.frombuffer(mmap.mmap(-1, max(n, 1) * 8), dtype=np.float64, count=n).reshape(shape)


def state_entries(p: AllianceParams, s: int, moves: bool = True) -> tuple:
    """What a block's build holds for flat state ``s``, by ``envs.model``: Pr(up) and Pr(down) of T, A,
    R, W, X at column ``a * 2 + M``, ``(5, 192)`` each, Pr(M = 1) ``(96,)``, and ``reward_terms`` of its
    96 actions (``"reward"`` is r(s, a)); with ``moves=False`` only the terms (the rest None)."""
    state = ALL_STATES[[s]]
    terms = model.reward_terms(np.repeat(state, N_ACTIONS, axis=0), ALL_ACTIONS, p)
    if not moves:
        return None, None, None, terms
    up, down = model.move_probs(np.repeat(state, N_COLS, axis=0), _BOTH_M_ACTIONS, _BOTH_M, p)
    up, down = (x.reshape(2, N_ACTIONS, 5).transpose(2, 1, 0).reshape(5, N_COLS) for x in (up, down))
    return up, down, model.mediation_prob(np.repeat(state, N_ACTIONS, axis=0), ALL_ACTIONS, p), terms


class StateRows:
    """The entries of the visited states of one parameter set, compactly (see the module docstring):
    ``rows[s]`` is ``(codes, values)``; :meth:`row` gives one action's 29 numbers as Python floats."""

    def __init__(self, params: AllianceParams, term_keys: tuple[str, ...]):
        self.params = params
        self.term_keys = term_keys
        self.rows: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def fill(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """Compute (:func:`state_entries`) and store state ``s``'s entries."""
        up, down, p_med, terms = state_entries(self.params, s)
        table = np.empty((N_ACTIONS, ROW_WIDTH))
        table[:, 0], table[:, 1] = p_med, terms["reward"]
        table[:, 2:12] = up.reshape(5, N_ACTIONS, 2).transpose(1, 0, 2).reshape(N_ACTIONS, 10)
        table[:, 12:22] = down.reshape(5, N_ACTIONS, 2).transpose(1, 0, 2).reshape(N_ACTIONS, 10)
        table[:, 22:] = np.stack([terms[k] for k in self.term_keys], axis=1)
        bits, codes = np.unique(table.view(np.int64), return_inverse=True)
        codes = codes.reshape(N_ACTIONS, ROW_WIDTH).astype(np.uint8 if bits.size <= 256 else np.uint16)
        entry = self.rows[s] = (codes, bits.view(np.float64))
        return entry

    def row(self, s: int, a: int) -> list[float]:
        """Action ``a``'s numbers in state ``s`` (filled on first use): ``[p_med, reward, *up, *down,
        *terms]``, Pr(up) of variable j under M at ``2 + 2 j + M``, Pr(down) at ``12 + 2 j + M``."""
        codes, values = self.rows.get(s) or self.fill(s)
        return values[codes[a]].tolist()

    @property
    def nbytes(self) -> int:
        """Bytes of the stored codes and numbers."""
        return sum(c.nbytes + v.nbytes for c, v in self.rows.values())

"""Section 5.4's entry shock as a look-up table of flat states, shared by every parameter set (it reads
no parameter): the vector env's compiled step reads it (``envs.kernel``, ``envs.vector_fused``); the exact
solvers never do, so :class:`envs.tables.Tables` makes it on first use only."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from envs import model
from envs.params import N_PHASES
from envs.spaces import ALL_STATES, N_STATES, encode_states

BLOCK = N_STATES // N_PHASES  # 1080 states per phase


@lru_cache(maxsize=1)
def after_shock() -> np.ndarray:
    """Flat state after section 5.4, keyed ``((moved * 5 + new_phase) * 2 + changed) * 2 + reset``
    (``model.apply_entry_shock``; it reads no parameter)."""
    n_keys = N_PHASES * 4
    out = np.empty(N_STATES * n_keys, dtype=np.int64)
    keys = np.tile(np.arange(n_keys), BLOCK)
    for lo in range(0, N_STATES, BLOCK):  # a block of states at a time (row by row: the same numbers), small temporaries
        moved = np.repeat(ALL_STATES[lo:lo + BLOCK], n_keys, axis=0)
        out[lo * n_keys:(lo + BLOCK) * n_keys] = encode_states(
            model.apply_entry_shock(moved, keys // 4, (keys // 2 % 2).astype(bool), (keys % 2).astype(bool)))
    out.setflags(write=False)
    return out


@lru_cache(maxsize=1)
def after_shock32() -> np.ndarray:
    """:func:`after_shock` as int32 (flat states < 5,400; the vector env's loop), read-only."""
    out = after_shock().astype(np.int32)
    out.setflags(write=False)
    return out

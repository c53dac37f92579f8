"""The single env's action, checked and turned into a flat index ``((m*2 + k)*3 + g)*4 + d``:
:func:`step_action_index` is the step's fast path (a ``(4,)`` int64 array is looked up by its bytes),
:func:`action_index` and :func:`flat_action_index` the checks with their one-line errors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.params import short_repr
from envs.spaces import ALL_ACTIONS, N_ACTIONS

ACTION_ALLOWED = "four integers (m, k, g, d) with m in 0..3, k in 0..1, g in 0..2, d in 0..3"
_ACTION_INDEX = {tuple(a): i for i, a in enumerate(ALL_ACTIONS.tolist())}
# the step's fast path for a (4,) int64 array: its bytes -> flat index (no tolist, no dtype.kind)
_INT64 = np.dtype(np.int64)
_ACTION_BYTES = {a.tobytes(): i for i, a in enumerate(ALL_ACTIONS.astype(np.int64))}


def flat_action_index(action: Any) -> int:
    """A ``Discrete(96)`` action (an integer or a 0-d integer array) as the flat index; a one-line
    ``ValueError`` otherwise."""
    ok = isinstance(action, int | np.integer) and not isinstance(action, bool)
    ok = ok or (isinstance(action, np.ndarray) and action.shape == () and action.dtype.kind in "iu")
    if not ok or not 0 <= int(action) < N_ACTIONS:
        raise ValueError(f"action={short_repr(action)} is not allowed: an integer in 0..{N_ACTIONS - 1}")
    return int(action)


def action_index(action: Any) -> int:
    """Flat index of one joint action ``(m, k, g, d)``; a one-line ``ValueError`` if it is not in
    ``MultiDiscrete([4, 2, 3, 4])`` (wrong shape, non-integer dtype or out of range)."""
    if isinstance(action, np.ndarray):
        if action.shape != (4,) or action.dtype.kind not in "iu":
            raise ValueError(f"action={short_repr(action)} (shape {action.shape}, dtype {action.dtype}) "
                             f"is not allowed: {ACTION_ALLOWED}")
        values = action.tolist()
    elif isinstance(action, list | tuple) and len(action) == 4 and all(
        isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in action
    ):
        values = [int(v) for v in action]
    else:
        raise ValueError(f"action={short_repr(action)} is not allowed: {ACTION_ALLOWED}")
    index = _ACTION_INDEX.get(tuple(values))
    if index is None:
        raise ValueError(f"action={short_repr(action)} is out of range: {ACTION_ALLOWED}")
    return index


def step_action_index(action: Any, discrete: bool) -> int:
    """The flat index of a step's action (``Discrete(96)`` when ``discrete``, else ``MultiDiscrete([4, 2,
    3, 4])``), the common cases first: a ``(4,)`` int64 array by its bytes, another integer array by its
    values; anything else through :func:`action_index` (which raises the one-line error)."""
    if discrete:
        return flat_action_index(action)
    if type(action) is np.ndarray and action.shape == (4,):
        if action.dtype is _INT64:
            a = _ACTION_BYTES.get(action.tobytes())
        elif action.dtype.kind in "iu":
            a = _ACTION_INDEX.get(tuple(action.tolist()))
        else:
            a = None
        if a is not None:
            return a
    return action_index(action)

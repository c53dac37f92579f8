"""The vector env's ``reset`` options, checked and turned into arrays (``envs.vector_env``): the
start states, the clock, the contexts and the reset mask of ``reset(options=...)``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from envs.env_shared import check_t
from envs.params import short_repr
from envs.spaces import check_state


def reset_states(state: Any, start: np.ndarray, n: int) -> np.ndarray:
    """``options["state"]`` as ``(n, 6)`` int64 rows: ``start`` for every env when None, one state
    (a dict or six integers) for every env, or one per env."""
    if state is None:
        return np.tile(start, (n, 1))
    per_env = (not isinstance(state, Mapping | str) and isinstance(state, Sequence | np.ndarray)
               and len(state) == n and all(isinstance(s, Mapping) or np.ndim(s) == 1 for s in state))
    if per_env:
        return np.array([check_state(s, f"options.state[{i}]") for i, s in enumerate(state)], dtype=np.int64)
    return np.tile(np.asarray(check_state(state, "options.state"), dtype=np.int64), (n, 1))


def reset_clock(t: Any, n: int, horizon: int) -> np.ndarray:
    """``options["t"]`` as ``(n,)`` int64: zeros when None, one step for every env, or one per env."""
    if t is None:
        return np.zeros(n, dtype=np.int64)
    if np.ndim(t) == 0:
        return np.full(n, check_t(t, horizon), dtype=np.int64)
    if np.shape(t) == (n,):
        return np.array([check_t(v, horizon, f"options.t[{i}]") for i, v in enumerate(np.asarray(t).tolist())],
                        dtype=np.int64)
    raise ValueError(f"options.t={short_repr(t)} is not allowed: an integer or {n} integers in 0..{horizon - 1}")


def reset_contexts(context_id: Any, contexts: Any, n: int, rng: np.random.Generator) -> np.ndarray:
    """``options["context_id"]`` as ``(n,)`` int64 ids of ``contexts`` (an ``envs.contexts``
    ``Contexts``): drawn uniformly by ``rng`` when None, one id for every env, or one per env."""
    if context_id is None:
        return rng.integers(len(contexts), size=n).astype(np.int64)
    if np.ndim(context_id) == 0:
        return np.full(n, contexts.check_id(context_id), dtype=np.int64)
    if np.shape(context_id) != (n,):
        raise ValueError(f"options.context_id={short_repr(context_id)} is not allowed: an integer or {n} "
                         f"integers in 0..{len(contexts) - 1}")
    return np.array([contexts.check_id(v, f"options.context_id[{i}]") for i, v in enumerate(
        context_id.tolist() if isinstance(context_id, np.ndarray) else list(context_id))], dtype=np.int64)


def check_reset_mask(mask: Any, n: int) -> np.ndarray:
    """``options["reset_mask"]``: a numpy bool array of shape ``(n,)``, else a one-line ValueError."""
    if not isinstance(mask, np.ndarray) or mask.shape != (n,) or mask.dtype != np.bool_:
        raise ValueError(f"options.reset_mask={short_repr(mask)} is not allowed: a numpy bool array of shape ({n},)")
    return mask

"""The contextual vector env's whole step in one compiled call (issue 30), as ``envs.kernel.advance_into``
is the plain vector env's: the actions checked and encoded, the eight uniforms of each env drawn in the
loop (``envs.pcg64.lanes8_next``: ``random((N, 8))``'s numbers), :func:`envs.model.step_index` on each
env's context's tables (``envs.context_tables``: the look-up positions of env ``i + AHEAD`` worked out
and asked for from the memory while env ``i`` steps), r(s, a), the clock and next-step autoreset's
restarts, then the observations with each env's context features (:func:`write_context_observations`).

The pieces are the plain step's, not copies: the action encoding, the restart of an env and its clock
are ``envs.kernel``'s ``encode_at``, ``restart_at`` and ``clock_at``, the step itself
``envs.kernel._step_one`` (``envs.model.step_index`` compiled) and the look-up positions
``envs.context_tables._ask``. Only the loop around them differs: it encodes env ``i + AHEAD``'s action
ahead, for its look-ups. The contexts an autoreset draws (``Generator.integers``, before and after the
step's uniforms, as the step by parts draws them) are drawn by the caller around this call.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.context_tables import AHEAD, _ask
from envs.jit_cache import freshen
from envs.kernel import _step_one, clock_at, encode_at, restart_at
from envs.pcg64 import SCRATCH, W, lanes8_next, lanes8_start
from envs.spaces import ONE_HOT_SIZE as _ONE_HOT


@numba.njit(cache=True, _nrt=False)
def advance_contexts_into(actions, nvec, index, t, max_steps, ctx, state_keys, bases, codes, values, down,  # noqa: PLR0913
                          med_codes, med_values, reward, reward_cls, event_target, event_prob, p_west, after_shock,
                          consts, ring, done, action, nxt, mediated, changed, west_reset, floor, rew, t_next, t_info,
                          truncated, ended):
    """``envs.kernel.advance_into`` (without the observations) with a context per env, ``ctx`` (N,), and
    the tables as ``envs.context_tables.step_contexts`` reads them; ``ring`` (AHEAD, 8) int64 scratch.
    An env where ``done`` holds gets its eight numbers drawn and the outputs of a restart at state 0
    (the caller writes its new context's start). Returns ``(code, i, hi, lo)`` as ``advance_into``."""
    n = index.shape[0]
    ends = 0
    resetting = done.shape[0] > 0
    last_row = event_target.shape[1] - 1
    lanes8_start(consts)
    for j in range(min(AHEAD, n)):
        a = encode_at(actions, nvec, j)
        if a < 0:
            return 1, j, np.uint64(0), np.uint64(0)
        action[j] = a
        _ask(ring, j, index, action, ctx, state_keys, bases, codes, med_codes, reward_cls, reward, values)
    for i in range(n):
        row = ring[i & (AHEAD - 1)]
        at_reward, at_med, keys = row[0], row[1], (row[2], row[3], row[4], row[5], row[6])
        j = i + AHEAD
        if j < n:  # (env j's positions take env i's row, read above)
            a = encode_at(actions, nvec, j)
            if a < 0:
                return 1, j, np.uint64(0), np.uint64(0)
            action[j] = a
            _ask(ring, j, index, action, ctx, state_keys, bases, codes, med_codes, reward_cls, reward, values)
        again = resetting and done[i]
        if t[i] >= max_steps and not again:
            return 1, i, np.uint64(0), np.uint64(0)
        draws = lanes8_next(consts)
        if again:
            restart_at(i, 0, nxt, mediated, changed, west_reset, floor, rew, t_next, t_info, truncated, ended)
            continue
        s = index[i]
        c = ctx[i]
        ph = state_keys[s, 0]
        row_t = min(t[i], last_row)
        rew[i] = reward[at_reward]
        out = _step_one(s, ph, med_values[at_med], values, down, keys, event_target[c, row_t, ph],
                        event_prob[c, row_t, ph], p_west[c], after_shock, draws)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        ends += clock_at(i, t[i], max_steps, t_next, t_info, truncated, ended)
    return 0, ends, consts[SCRATCH + 3], consts[SCRATCH + W + 3]


@numba.njit(cache=True, _nrt=False)
def write_context_observations(nxt, t_next, ctx, table_words, frac, feature_words, obs, obs_words):
    """Row i of ``obs``: ``obs_table[nxt[i]]`` then ``features[ctx[i]]``, copied as words (the three
    arrays seen through :func:`context_words`), then ``frac[t_next[i]]`` in the column after the one-hot
    when ``frac`` is not empty."""
    width, n_features = table_words.shape[1], feature_words.shape[1]
    for i in range(nxt.shape[0]):
        s, c = nxt[i], ctx[i]
        for j in range(width):
            obs_words[i, j] = table_words[s, j]
        for j in range(n_features):
            obs_words[i, width + j] = feature_words[c, j]
    if frac.shape[0] > 0:
        for i in range(nxt.shape[0]):
            obs[i, _ONE_HOT] = frac[t_next[i]]


def context_words(table: np.ndarray, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, type]:
    """The observation table and the features (C-contiguous float32) as machine words, the same bytes:
    uint64 when both widths are even (every piece of a row starts on 8 bytes), else uint32; and that
    word type (the observations' view)."""
    word = np.uint64 if table.shape[1] % 2 == 0 and features.shape[1] % 2 == 0 else np.uint32
    return table.view(word), np.ascontiguousarray(features, dtype=np.float32).view(word), word


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)

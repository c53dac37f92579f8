"""The contextual vector env's whole step in one compiled call (issue 30), as ``envs.kernel.advance_into``
is the plain vector env's: the actions checked and encoded, the eight uniforms of each env drawn in the
loop (``envs.pcg64.lanes8_next``: ``random((N, 8))``'s numbers), :func:`envs.model.step_index` on each
env's context's tables (``envs.context_tables``: the look-up positions of env ``i + AHEAD`` worked out
and asked for from the memory while env ``i`` steps), the clock and next-step autoreset's restarts,
r(s, a) of every env after that loop (``envs.context_rewards.rewards_into``: put together from its
context's terms), then the observations with each env's context features (:func:`write_context_observations`).

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
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from envs.context_rewards import CHUNK, rewards_into
from envs.context_tables import AHEAD, _ask
from envs.jit_cache import freshen
from envs.kernel import _step_one, clock_at, encode_at, restart_at
from envs.params import N_PHASES
from envs.pcg64 import SCRATCH, W, lanes8_next, lanes8_start
from envs.spaces import ONE_HOT_SIZE as _ONE_HOT


@numba.njit(cache=True, _nrt=False)
def advance_contexts_into(actions, nvec, index, t, max_steps, ctx, state_keys, bases, codes, values, down,  # noqa: PLR0913
                          med_codes, med_values, factors, ctx_terms, autonomy, autonomy_of, event_target, event_prob,
                          p_west, after_shock, consts, ring, scratch, done, action, nxt, mediated, changed, west_reset,
                          floor, rew, t_next, t_info, truncated, ended):
    """``envs.kernel.advance_into`` (without the observations) with a context per env, ``ctx`` (N,), and
    the tables as ``envs.context_tables.step_contexts`` reads them; ``ring`` and ``scratch`` as
    ``envs.context_tables._scratch`` makes them.
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
        _ask(ring, j, index, action, ctx, state_keys, bases, codes, med_codes, values)
    for i in range(n):
        row = ring[i & (AHEAD - 1)]
        at_med, keys = row[1], (row[2], row[3], row[4], row[5], row[6])
        j = i + AHEAD
        if j < n:  # (env j's positions take env i's row, read above)
            a = encode_at(actions, nvec, j)
            if a < 0:
                return 1, j, np.uint64(0), np.uint64(0)
            action[j] = a
            _ask(ring, j, index, action, ctx, state_keys, bases, codes, med_codes, values)
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
        out = _step_one(s, ph, med_values[at_med], values, down, keys, event_target[c, row_t, ph],
                        event_prob[c, row_t, ph], p_west[c], after_shock, draws)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        ends += clock_at(i, t[i], max_steps, t_next, t_info, truncated, ended)
    for lo in range(0, n, CHUNK):  # r(s, a) of each env, those started again excepted
        rewards_into(lo, min(lo + CHUNK, n), index, action, ctx, N_PHASES, bases, factors, ctx_terms, autonomy,
                     autonomy_of, scratch, rew)
    if resetting:
        for i in range(n):
            if done[i]:
                rew[i] = 0.0  # restart_at's
    return 0, ends, consts[SCRATCH + 3], consts[SCRATCH + W + 3]


def _unaligned_copy(bits: int):
    """An intrinsic ``copy(dst, dst_at, src, src_at)``: ``bits / 8`` bytes from byte ``src_at`` of the
    C-contiguous array ``src``'s data to byte ``dst_at`` of ``dst``'s, one load and one store at any
    alignment (x86 moves unaligned words at full speed; numba's views need aligned ones)."""
    @intrinsic
    def copy(typingctx, dst, dst_at, src, src_at):
        sig = types.void(dst, types.int64, src, types.int64)

        def codegen(context, builder, signature, args):
            word, byte = ir.IntType(bits).as_pointer(), ir.IntType(8).as_pointer()

            def at(k):
                data = context.make_array(signature.args[k])(context, builder, args[k]).data
                return builder.bitcast(builder.gep(builder.bitcast(data, byte), [args[k + 1]]), word)

            builder.store(builder.load(at(2), align=1), at(0), align=1)
            return context.get_dummy_value()

        return sig, codegen

    return copy


_copy8, _copy4 = _unaligned_copy(64), _unaligned_copy(32)


@numba.njit(cache=True, inline="always")
def _copy_bytes(dst, dst_at, src, src_at, n_bytes):
    """``n_bytes`` (a multiple of 4) from byte ``src_at`` of ``src`` to byte ``dst_at`` of ``dst``, 8 at a time."""
    for k in range(n_bytes // 8):
        _copy8(dst, dst_at + 8 * k, src, src_at + 8 * k)
    if n_bytes % 8:
        _copy4(dst, dst_at + n_bytes - 4, src, src_at + n_bytes - 4)


@numba.njit(cache=True, _nrt=False)
def write_context_observations(nxt, t_next, ctx, table, frac, features, obs):
    """Row i of ``obs`` (float32): ``table[nxt[i]]`` then ``features[ctx[i]]`` (both float32, C-contiguous),
    copied 8 bytes at a time whatever the alignment (rows of 26 + 25 floats start every 204 bytes: as
    4-byte words the copy took 28 us instead of 23 at N = 4,096), then ``frac[t_next[i]]`` in the column after
    the one-hot when ``frac`` is not empty."""
    row, width, n_features = np.int64(obs.shape[1] * 4), np.int64(table.shape[1] * 4), np.int64(features.shape[1] * 4)
    for i in range(nxt.shape[0]):
        at = i * row
        _copy_bytes(obs, at, table, np.int64(nxt[i]) * width, width)
        _copy_bytes(obs, at + width, features, np.int64(ctx[i]) * n_features, n_features)
    if frac.shape[0] > 0:
        for i in range(nxt.shape[0]):
            obs[i, _ONE_HOT] = frac[t_next[i]]


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)

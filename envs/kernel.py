"""Section 5's step for N states at once: :func:`envs.model.step_index` compiled by numba and run
in a loop over the states (``Tables.step_indices``, which the vector env steps by).

Why numba: the step is a few table look-ups and comparisons per state. In NumPy each of them is a
pass over N-long arrays (about 25 of them a step), and at N = 4,096 the vector env stayed at
0.35-0.5x Gymnasium's ``CartPoleVectorEnv`` however the passes were arranged (``benchmarks/
env_speed.py``). Compiled, the loop does the same work in one pass. It is the same source as the
single env's step, not a copy: ``numba.njit(model.step_index)`` compiles that Python function, so
the order of the draws, the draw -> move rule and the entry-shock key exist once. The compiled
code is cached beside this file (``cache=True``): a new process loads it instead of compiling.
numba's cache alone does not see a change of ``envs/model.py`` (``step_index`` is inlined here):
:func:`envs.jit_cache.freshen` at the end of this module empties it when ``envs``' source changed.

From N = 512 the vector env's step is one call, :func:`advance_into` (:func:`advance_plain`): the
uniforms are NumPy's ``PCG64`` numbers drawn inside the loop, an env's eight as one vector
(``envs.pcg64.lanes8_next``, the same stream as ``random((N, 8))``), with r(s, a), ``t + 1`` and
truncation in the same pass, and the loop reads int32 copies of ``envs.tables``' keys.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from envs import model, pcg64
from envs.jit_cache import freshen
from envs.pcg64 import SCRATCH, W, lanes8_next, lanes8_start
from envs.spaces import N_ACTIONS as _N_ACTIONS
from envs.spaces import ONE_HOT_SIZE as _ONE_HOT

_step_one = numba.njit(cache=True, inline="always")(model.step_index)


@intrinsic
def prefetch(typingctx, array, index):
    """Ask the memory for ``array[index]``'s cache line (LLVM's ``llvm.prefetch``, read, keep): a
    loop whose look-ups miss the caches (the contextual tables, hundreds of MB) asks for the entries of
    an env a few iterations ahead, so their fetches overlap instead of waiting one after another."""
    sig = types.void(array, index)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False, boundscheck=False)
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return sig, codegen


def step_many(index, action, t, phase_of, move_keys, med_keys, p_med, up, down,  # noqa: PLR0913
              event_target, event_prob, p_west, after_shock, u):
    """Section 5 for N flat states: ``index``/``action``/``t`` (N,) int64, uniforms ``u`` (N, 8) or a
    ``numpy.random.Generator`` to draw them from (as ``u.random((N, 8))``: the same numbers, drawn
    inside the loop by :func:`step_into_drawing` where ``envs.pcg64`` can); the tables as ``Tables``
    holds them (``event_target``/``event_prob`` [row, phase], row min(t, rows - 1)). Returns next
    indices and the events mediated, phase_changed, west_reset, threat_floor and new_phase, each (N,),
    new arrays (:func:`step_into` fills them)."""
    n = index.shape[0]
    out = (np.empty(n, np.int64), np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty(n, np.bool_),
           np.empty(n, np.int64), np.empty(n, np.int64))
    tables = (phase_of, move_keys, med_keys, p_med, up, down, event_target, event_prob, p_west, after_shock)
    if isinstance(u, np.random.Generator):
        consts = pcg64.begin(u, n * model.N_UNIFORMS)
        if consts is not None:
            pcg64.end(u, *step_into_drawing(index, action, t, *tables, consts, *out))
            return out
        u = u.random((n, model.N_UNIFORMS))
    step_into(index, action, t, *tables, np.ascontiguousarray(u, dtype=np.float64), *out)
    return out


# _nrt=False: the loop allocates nothing, and without numba's reference counting the arrays passed
# to the inlined step_index are not incref'd / decref'd (atomic operations) once per state: the
# loop runs about 2x faster at N = 4,096 (benchmarks/env_speed.py's vector rows).
@numba.njit(cache=True, inline="always")
def _step_at(s, a, t_i, draws, phase_of, move_keys, med_keys, p_med, up, down, event_target, event_prob,  # noqa: PLR0913
             p_west, after_shock):
    """One env's step on the plain tables (:func:`envs.model.step_index`): its phase, its row of the
    event tables (the clock held at the last row) and the five move keys of action ``a``, looked up
    here once for every loop of this module."""
    ph = phase_of[s]
    row = min(t_i, event_target.shape[0] - 1)
    col = a * 2
    keys = (move_keys[s, 0] + col, move_keys[s, 1] + col, move_keys[s, 2] + col, move_keys[s, 3] + col,
            move_keys[s, 4] + col)
    return _step_one(s, ph, p_med[med_keys[s] + a], up, down, keys, event_target[row, ph], event_prob[row, ph],
                     p_west, after_shock, draws)


@numba.njit(cache=True, _nrt=False)
def step_into(index, action, t, phase_of, move_keys, med_keys, p_med, up, down,  # noqa: PLR0913
              event_target, event_prob, p_west, after_shock, u, nxt, mediated, changed, west_reset, floor, new_phase):
    """:func:`step_many` writing into the (N,) arrays ``nxt`` (int64), ``mediated``, ``changed``,
    ``west_reset`` (bool), ``floor`` and ``new_phase`` (int64)."""
    for i in range(index.shape[0]):
        draws = (u[i, 0], u[i, 1], u[i, 2], u[i, 3], u[i, 4], u[i, 5], u[i, 6], u[i, 7])
        out = _step_at(index[i], action[i], t[i], draws, phase_of, move_keys, med_keys, p_med, up, down,
                       event_target, event_prob, p_west, after_shock)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        new_phase[i] = phase_of[out[0]]


@numba.njit(cache=True, _nrt=False)
def step_into_drawing(index, action, t, phase_of, move_keys, med_keys, p_med, up, down,  # noqa: PLR0913
                      event_target, event_prob, p_west, after_shock, consts, nxt, mediated, changed, west_reset,
                      floor, new_phase):
    """:func:`step_into` drawing the uniforms itself: NumPy's ``PCG64`` stream from ``consts``
    (``envs.pcg64.begin``), env i's eight uniforms being the stream's numbers 8 i .. 8 i + 7, as
    ``random((N, 8))`` gives them, so the numbers and the trajectories are the same; no (N, 8) array
    is written and read back, and the generator's arithmetic overlaps the table look-ups. Returns the
    last lane's state for ``envs.pcg64.end``."""
    lanes8_start(consts)
    for i in range(index.shape[0]):
        out = _step_at(index[i], action[i], t[i], lanes8_next(consts), phase_of, move_keys, med_keys, p_med, up, down,
                       event_target, event_prob, p_west, after_shock)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        new_phase[i] = phase_of[out[0]]
    return consts[SCRATCH + 3], consts[SCRATCH + W + 3]


def advance_plain(index, action, t, max_steps, generator, phase_of, move_keys, med_keys, tables):  # noqa: PLR0913
    """The plain vector env's step on flat action indices in one compiled call (:func:`advance_into`,
    no observation): r(s, a), ``t + 1``, truncated, the next indices and the events (without
    ``new_phase``), the uniforms drawn inside the loop as :func:`step_into_drawing` does. Returns
    ``(bad, reward, t_next, truncated, nxt, events)``, ``bad >= 0`` the first env whose ``t`` already
    reached ``max_steps`` (then nothing is drawn and the rest is None), or None when ``envs.pcg64``
    cannot draw ``generator``'s numbers (the caller steps by :func:`reward_and_clock` and
    :func:`step_many`). ``tables``: an ``envs.tables.Tables``; the keys ``envs.tables``' (or their
    int32 copies, ``MOVE_KEYS32`` ...)."""
    n = index.shape[0]
    consts = pcg64.begin(generator, n * model.N_UNIFORMS)
    if consts is None:
        return None
    out = fused_outputs(n, 0)
    code, bad, hi, lo = advance_into(np.ascontiguousarray(action, dtype=np.int64).reshape(n, 1), FLAT_NVEC, index,
                                     t, max_steps, tables.reward_blocks.reshape(-1), phase_of, move_keys, med_keys,
                                     tables.p_med, tables.up, tables.down, tables.event_target, tables.event_prob,
                                     tables.p_west, tables.after_shock, consts, NO_OBS, NO_FRAC, NO_DONE, 0, *out,
                                     out[-1])
    if code == 1:  # (the actions were checked by the caller) an env already at the end
        return int(np.flatnonzero(t >= max_steps)[0]), None, None, None, None, None
    pcg64.end(generator, hi, lo)
    _, nxt, mediated, changed, west_reset, floor, reward, t_next, _, truncated, _, _ = out
    return -1, reward, t_next, truncated, nxt, {"mediated": mediated, "phase_changed": changed,
                                                 "west_reset": west_reset, "threat_floor": floor}


FLAT_NVEC = np.array([_N_ACTIONS], dtype=np.int64)  # flat action indices: one "component" of 96 levels
NO_OBS = np.zeros((1, 0), np.float32)  # advance_plain writes no observation
NO_FRAC = np.zeros(0, np.float32)  # (observation_table's t / horizon are float32)
NO_DONE = np.zeros(0, np.bool_)  # advance_into: no env to start again


def fused_outputs(n: int, width: int) -> tuple[np.ndarray, ...]:
    """New arrays :func:`advance_into` fills: the flat actions, next indices, the four events, reward,
    ``t + 1`` twice (one for the caller's clock, one for the info), truncated twice (one returned, one
    kept for the next autoreset) and the ``(n, width)`` float32 observations."""
    return (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.bool_), np.empty(n, np.bool_),
            np.empty(n, np.bool_), np.empty(n, np.int64), np.empty(n, np.float64), np.empty(n, np.int64),
            np.empty(n, np.int64), np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty((n, width), np.float32))


def row_words(rows: np.ndarray) -> np.ndarray:
    """A C-contiguous ``(n, w)`` float32 array seen as machine words, the same bytes: ``(n, w / 2)``
    uint64 when ``w`` is even, else ``(n, w)`` uint32 (rows of 27 floats are not 8-byte aligned)."""
    return rows.view(np.uint64 if rows.shape[1] % 2 == 0 else np.uint32)


@numba.njit(cache=True, _nrt=False)
def write_observations(nxt, t_next, table_words, frac, obs, obs_words):
    """Row i of ``obs``: ``obs_table[nxt[i]]`` copied as words (``table_words``/``obs_words``,
    :func:`row_words` of the table and of ``obs``: a 26-float row in 13 moves instead of 26, 13 us ->
    10 us at N = 4,096), then ``frac[t_next[i]]`` in the column after the one-hot when ``frac`` is not
    empty. A function of its own, not inlined: inside the step's loop the row copy took 20 us instead
    of 12 at N = 4,096, and inlined after it, still more."""
    width = table_words.shape[1]
    for i in range(nxt.shape[0]):
        s = nxt[i]
        for j in range(width):
            obs_words[i, j] = table_words[s, j]
    if frac.shape[0] > 0:
        for i in range(nxt.shape[0]):
            obs[i, _ONE_HOT] = frac[t_next[i]]


@numba.njit(cache=True, inline="always")
def encode_at(actions, nvec, i):
    """Row i of the actions ``(N, k)`` as a flat index (mixed radix ``nvec``), -1 if a component is
    outside ``0 <= a < nvec``."""
    a = np.int64(0)
    for j in range(nvec.shape[0]):
        v = np.int64(actions[i, j])
        if v < 0 or v >= nvec[j]:
            return np.int64(-1)
        a = a * nvec[j] + v
    return a


@numba.njit(cache=True, inline="always")
def restart_at(i, start, nxt, mediated, changed, west_reset, floor, rew, t_next, t_info, truncated, ended):  # noqa: PLR0913
    """Env i's outputs when it starts again (next-step autoreset): state ``start``, t = 0, reward 0, no
    event, not truncated."""
    nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = start, False, False, False, 0
    rew[i], t_next[i], t_info[i], truncated[i], ended[i] = 0.0, 0, 0, False, False


@numba.njit(cache=True, inline="always")
def clock_at(i, t_i, max_steps, t_next, t_info, truncated, ended):
    """Env i's clock after a step from ``t_i``: ``t + 1`` into ``t_next`` and ``t_info``, ``t + 1 >=
    max_steps`` into ``truncated`` and ``ended``; returns that flag (1 or 0)."""
    tn = t_i + 1
    t_next[i] = tn
    t_info[i] = tn
    end = tn >= max_steps
    truncated[i] = end
    ended[i] = end
    return np.int64(end)


@numba.njit(cache=True, _nrt=False)
def advance_into(actions, nvec, index, t, max_steps, reward, phase_of, move_keys, med_keys, p_med, up, down,  # noqa: PLR0913
                 event_target, event_prob, p_west, after_shock, consts, table_words, frac, done, start, action, nxt,
                 mediated, changed, west_reset, floor, rew, t_next, t_info, truncated, ended, obs, obs_words):
    """The vector env's whole step: the actions ``(N, k)`` (components below ``nvec``) checked and
    encoded into ``action`` (flat, mixed radix) and the clock checked, env by env, then
    :func:`step_into_drawing`'s step with r(s, a) into ``rew``, ``t + 1`` into ``t_next`` and
    ``t_info``, ``t + 1 >= max_steps`` into ``truncated`` and ``ended``; then (:func:`write_observations`)
    row i of ``obs`` the observation of the state reached (``obs_table``'s row; ``frac[t + 1]`` in
    the column after the one-hot when ``frac`` is not empty). Where ``done`` (bool (N,), or empty) holds,
    Gymnasium's next-step autoreset: the env's eight numbers are drawn and its state is ``start`` at
    t = 0, reward 0, no event, not truncated. Returns ``(code, i, hi, lo)``: code 1 when
    env ``i`` has an action outside ``nvec`` or a ``t`` already at ``max_steps`` (the loop stops there;
    the outputs are then meaningless, and the generator, whose state only :func:`envs.pcg64.end`
    writes, untouched: the caller finds which error to raise), 0 done, ``i`` the envs truncated and
    ``(hi, lo)`` the last lane's state for ``envs.pcg64.end``."""
    n = index.shape[0]
    ends = 0
    resetting = done.shape[0] > 0
    lanes8_start(consts)
    for i in range(n):
        a = encode_at(actions, nvec, i)
        again = resetting and done[i]
        if a < 0 or (t[i] >= max_steps and not again):
            return 1, i, np.uint64(0), np.uint64(0)
        action[i] = a
        draws = lanes8_next(consts)
        if again:  # the step by parts steps it from the start (its draws spent), then starts it again
            restart_at(i, start, nxt, mediated, changed, west_reset, floor, rew, t_next, t_info, truncated, ended)
            continue
        s = index[i]
        out = _step_at(s, a, t[i], draws, phase_of, move_keys, med_keys, p_med, up, down, event_target,
                       event_prob, p_west, after_shock)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        rew[i] = reward[s * _N_ACTIONS + a]
        ends += clock_at(i, t[i], max_steps, t_next, t_info, truncated, ended)
    write_observations(nxt, t_next, table_words, frac, obs, obs_words)
    return 0, ends, consts[SCRATCH + 3], consts[SCRATCH + W + 3]


@numba.njit(cache=True)
def encode_actions(actions, nvec):
    """``(N, 4)`` integer joint actions -> ``(N,)`` flat indices ``((m*2 + k)*3 + g)*4 + d`` in one
    pass, and the first row outside ``0 <= a < nvec`` (-1 if none; the caller raises)."""
    n = actions.shape[0]
    out = np.empty(n, np.int64)
    for i in range(n):
        index = 0
        for j in range(4):
            a = np.int64(actions[i, j])
            if a < 0 or a >= nvec[j]:
                return out, i
            index = index * nvec[j] + a
        out[i] = index
    return out, -1


@numba.njit(cache=True)
def reward_and_clock(index, action, t, max_steps, reward):
    """The vector env's bookkeeping around a step, in one pass over (N,) ``index``/``action``/``t``:
    r(s, a) ``reward[index * 96 + action]`` (zeros if ``reward`` is empty), ``t + 1``, ``t + 1 >=
    max_steps``, and the first env whose ``t`` already reached ``max_steps`` (-1 if none; the caller
    raises)."""
    n = index.shape[0]
    r = np.zeros(n, np.float64)
    t_next = np.empty(n, np.int64)
    truncated = np.empty(n, np.bool_)
    look_up = reward.shape[0] > 0
    for i in range(n):
        if t[i] >= max_steps:
            return r, t_next, truncated, i
        if look_up:
            r[i] = reward[index[i] * _N_ACTIONS + action[i]]
        t_next[i] = t[i] + 1
        truncated[i] = t_next[i] >= max_steps
    return r, t_next, truncated, -1


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)

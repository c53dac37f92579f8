"""The tables of many contexts side by side, for the contextual vector env (issue 30).

Each context's blocks are built once by :class:`envs.tables.Tables` (the model's functions, never a
second copy) and copied into shared arrays, a slot per (context, phase) built, without repeats:

- moves: an entry is a moving variable's (combination of the levels it reads, action) with its four
  numbers Pr(up) and Pr(down) under M = 0 and 1. :class:`EntryClasses` groups the entries whose four
  numbers are *equal* in every block stored (found from the numbers, bit for bit, not from the model's
  formulas; a later block that tells two grouped entries apart splits the class, the stored values
  re-expanded): one code per entry shared by every context (``codes``), the numbers once per class
  and slot (``values``). On ``war``'s 256 sampled contexts the 31,872 entries fall into 1,121 classes
  (T 144, A 499 of its 25,920 entries, R 432, W 42, X 4); Pr(M = 1) the same way (480 entries, 2 classes).
- r(s, a): no table (0.41 MB per context and block, 106 MB over 256 contexts, which missed every
  cache): the few terms r is made of, per context and slot (``envs.context_rewards``: 0.5 KB per
  context, 0.7 KB per slot), put together in the step by the model's own last steps.

Every look-up returns the very number the context's own ``Tables`` holds, and r(s, a) is
``envs.model.reward``'s bit for bit: results do not change (tests/envs/test_contexts.py steps every
phase and date against each context's ``Tables``; tests/envs/test_context_rewards.py every (s, a)).

The step is :func:`envs.model.step_index` compiled, as ``envs.kernel.step_many`` runs it: each
variable's key is the slot's start in ``values`` plus 4 x the code of (the state's combination, the
action) (``k + M`` inside ``step_index``: ``values`` holds (up M=0, up M=1, down M=0, down M=1) per
class, ``down`` is ``values[2:]``), with the context's phase-event row and Pr(W <- 0): the control
flow of a step stays the one in ``envs.model``. Every key part is precomputed: a row per state
(``state_keys``, half a cache line) and per (context, phase) (``bases``, one line). The vector env's
step runs it with the draws, the clock, autoreset, r(s, a) (a loop of its own after the step's,
``envs.context_rewards.rewards_into``) and the observations in one compiled call (``envs.context_step``);
:func:`step_contexts` is the step and r(s, a) alone.

Memory (``war``, one block, phase 4, 256 sampled contexts; ``ContextTables.nbytes``): the moves' values
36 KB per context, r(s, a)'s terms 1.2 KB, Pr(M = 1) 16 B, the (context, phase) rows 320 B, the phase events
120 B: 0.04 MB per context and block (0.45 MB with a table of r(s, a) per context, 0.84 MB besides with a
column per action group for the moves, 1.85 MB with every column), with the shared codes and state rows
(0.24 MB in all) counted in. The :class:`Tables` a block is built from is dropped once copied.

Speed (N = 4,096, C = 256; ``benchmarks/context_speed.py``'s docstring has the history). With r(s, a)
read from a table per context, the step took 372-419 us against the plain env's 142 (0.41-0.44x): 327-340
us with every context's r(s, a) pointed at context 0's, 300-322 us with its moves' values so, 171-172 us
with both (wrong numbers, timing only). Put together from its terms, r(s, a) costs 25-30 us of compiled
work (gathering 22, the arithmetic 8.5, in its own loop: in the step's loop, where each env's division
and square roots wait on each other, 50-65) and about 40 us of misses at C = 256 (its 0.3 MB of terms
pushed out of the 2 MB L2 by the moves' records): less than the table's misses, more so on a loaded
machine (alternating with the tree before: 0.33-0.34x -> 0.40-0.42x), but more than the table cost
with one context (0.90x -> 0.74-0.76x). What is left is the moves' T, A and R records (8.7 MB over 256
contexts, each env's three lines miss the L2; pointing any one variable at context 0 saves 10-30 us,
all five, timing only, gives 0.65x: the arithmetic of r(s, a) is then the rest), asked 8 envs ahead (16
was slower, more misses in flight than the core keeps). Stepping the envs sorted by context was tried
twice: slower; so were asking a chunk of envs' records at once and copying them side by side.
"""

from __future__ import annotations

import numba
import numpy as np

from envs import pcg64
from envs.context_rewards import CHUNK, N_INPUTS, STRIDE_A, context_terms, rewards_into, slot_factors
from envs.jit_cache import freshen
from envs.kernel import _step_one, prefetch
from envs.model import N_UNIFORMS
from envs.params import N_PHASES, AllianceParams
from envs.pcg64 import N_CONSTS, SCRATCH, W, lanes8_next, lanes8_start
from envs.spaces import N_ACTIONS, N_STATES
from envs.tables import (
    BLOCK,
    MED_KEYS,
    MED_SIZE,
    MOVE_KEYS,
    MOVE_OFFSETS,
    MOVE_SIZE,
    MOVE_SIZES,
    N_COLS,
    PHASE_OF,
    VARS,
    Tables,
    after_shock,
)

N_VARS = len(VARS)
LOCAL_COMBO = np.stack([(MOVE_KEYS[:BLOCK, j] - MOVE_OFFSETS[j]) // N_COLS for j in range(N_VARS)], axis=1)
"""(1080, 5): each local state's combination of the levels variable j reads (its row in the table)."""
COMBOS = np.array([size // N_COLS for size in MOVE_SIZES], dtype=np.int64)
CODE_OFFSETS = np.concatenate([[0], np.cumsum(COMBOS * N_ACTIONS)[:-1]]).astype(np.int64)
"""Where variable j's entries (combination, action) start in ``ContextTables.codes``."""
RECORD = 4  # numbers per move class: up M=0, up M=1, down M=0, down M=1 (32 bytes, one cache line)
AHEAD = 8  # envs ahead whose entries the loop asks the memory for (a power of 2; 4, 12, 16 and 32 were slower)


def aligned_zeros(n: int) -> np.ndarray:
    """``n`` float64 zeros starting on a 64-byte boundary: a 32-byte record of ``values`` never straddles
    two cache lines (NumPy's arrays start 16 bytes past one; aligned, the step at C = 256 was 10 % faster)."""
    raw = np.zeros(n + 8)
    start = (-raw.ctypes.data % 64) // 8
    return raw[start:start + n]


def step_contexts(index, action, t, ctx, state_keys, bases, codes, values, med_codes, med_values,  # noqa: PLR0913
                  factors, ctx_terms, autonomy, autonomy_of, event_target, event_prob, p_west, after_shock, u):
    """``envs.kernel.step_many`` with a context per state, ``ctx`` (N,) ids: ``bases[ctx * 5 + phase]``
    the (context, phase)'s row, ``state_keys[s]`` the state's (see :meth:`ContextTables._flatten`);
    variable j's key ``bases[b, 3 + j] + 4 * codes[state_keys[s, 3 + j] + a]`` into ``values`` (``+ M``
    in ``step_index``, ``down = values[2:]``); Pr(M = 1) ``med_values[bases[b, 2] + med_codes[
    state_keys[s, 2] + a]]``; ``event_target``/``event_prob`` ``[c, row, phase]``, ``p_west`` ``[c,
    phase]``. Returns next indices and the events as ``step_many``, and r(s, a) of each state before
    the step (``envs.context_rewards.rewards_into`` on ``factors[bases[b, 1] + ...]`` and the context's row
    of ``ctx_terms``)."""
    n = index.shape[0]
    out = (np.empty(n, np.int64), np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty(n, np.bool_),
           np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64))
    tables = (index, action, t, ctx, state_keys, bases, codes, values, values[2:], med_codes, med_values, factors,
              ctx_terms, autonomy, autonomy_of, event_target, event_prob, p_west, after_shock)
    consts = pcg64.begin(u, n * N_UNIFORMS) if isinstance(u, np.random.Generator) else None
    if consts is not None:  # drawn in the loop where envs.pcg64 can, else by NumPy
        pcg64.end(u, *_step_contexts_into(*tables, _NO_DRAWS, consts, True, *_scratch(), *out))
        return out
    if isinstance(u, np.random.Generator):
        u = u.random((n, N_UNIFORMS))
    _step_contexts_into(*tables, np.ascontiguousarray(u, dtype=np.float64), _NO_CONSTS, False, *_scratch(), *out)
    return out


@numba.njit(cache=True, inline="always")
def _ask(ring, j, index, action, ctx, state_keys, bases, codes, med_codes, values):
    """Env j's look-up positions into ``ring[j % AHEAD]`` (Pr(M = 1) at 1, the five move keys at 2..6; r(s, a)
    is put together after the loop), and its move entries asked for from the memory (far apart: they miss
    the caches)."""
    s, a = index[j], action[j]
    b = ctx[j] * N_PHASES + state_keys[s, 0]
    row = ring[j & (AHEAD - 1)]
    row[1] = bases[b, 2] + med_codes[state_keys[s, 2] + a]
    for v in range(N_VARS):
        row[2 + v] = bases[b, 3 + v] + RECORD * codes[state_keys[s, 3 + v] + a]
        prefetch(values, row[2 + v])


# _nrt=False as envs.kernel.step_into: the loop allocates nothing, so numba's reference counting of
# the arrays handed to the inlined step_index (once per state) is left out. The rewards of 256
# contexts (106 MB) and the moves' values (9 MB) miss the caches: each iteration works out where env
# i + AHEAD will read and asks the memory for it; env i reads its positions back from ``ring``.
# Stepping the envs sorted by context was tried twice: slower (the indirection costs more than the
# locality gains).
@numba.njit(cache=True, _nrt=False)
def _step_contexts_into(index, action, t, ctx, state_keys, bases, codes, values, down, med_codes,  # noqa: PLR0913
                        med_values, factors, ctx_terms, autonomy, autonomy_of, event_target, event_prob, p_west,
                        after_shock, u, consts,
                        drawing, ring, scratch, nxt, mediated, changed, west_reset, floor, new_phase, rew):
    """The step of every env on the uniforms ``u`` (N, 8), or, with ``drawing``, on those drawn in the
    loop from ``consts`` as ``envs.kernel.step_into_drawing`` does (env i's are ``random((N, 8))``'s row
    i; ``u`` unread). ``ring``, ``scratch``: :func:`_scratch`. Returns the last lane's state for
    ``envs.pcg64.end`` (meaningless without ``drawing``). One loop for both: a second loop calling a
    shared body was slower (not inlined)."""
    last_row = event_target.shape[1] - 1
    n = index.shape[0]
    if drawing:
        lanes8_start(consts)
    for j in range(min(AHEAD, n)):
        _ask(ring, j, index, action, ctx, state_keys, bases, codes, med_codes, values)
    for i in range(n):
        if drawing:
            draws = lanes8_next(consts)
        else:
            draws = (u[i, 0], u[i, 1], u[i, 2], u[i, 3], u[i, 4], u[i, 5], u[i, 6], u[i, 7])
        row = ring[i & (AHEAD - 1)]
        at_med, keys = row[1], (row[2], row[3], row[4], row[5], row[6])
        if i + AHEAD < n:  # (env i + AHEAD's positions take env i's row, read above)
            _ask(ring, i + AHEAD, index, action, ctx, state_keys, bases, codes, med_codes, values)
        s = index[i]
        c = ctx[i]
        ph = state_keys[s, 0]
        out = _step_one(s, ph, med_values[at_med], values, down, keys, event_target[c, min(t[i], last_row), ph],
                        event_prob[c, min(t[i], last_row), ph], p_west[c], after_shock, draws)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        new_phase[i] = state_keys[out[0], 0]
    for lo in range(0, n, CHUNK):
        rewards_into(lo, min(lo + CHUNK, n), index, action, ctx, N_PHASES, bases, factors, ctx_terms, autonomy,
                     autonomy_of, scratch, rew)
    return consts[SCRATCH + 3], consts[SCRATCH + W + 3]


def _scratch() -> tuple[np.ndarray, np.ndarray]:
    """The compiled steps' scratch: env i + AHEAD's look-up positions (AHEAD, 8) and the numbers of a chunk
    of envs' r(s, a) (``envs.context_rewards.rewards_into``)."""
    return np.empty((AHEAD, 8), np.int64), np.empty((N_INPUTS, CHUNK))


_NO_DRAWS = np.zeros((1, N_UNIFORMS))  # u when the loop draws
_NO_CONSTS = np.zeros(N_CONSTS, np.uint64)  # consts when u is given


@numba.njit(cache=True)
def with_features(table, index, features, ctx):
    """Observations ``table[index[i]]`` followed by ``features[ctx[i]]``, ``(N, width + F)`` float32, in
    one pass (NumPy's gather and concatenate took 7x as long at N = 4096, a fifth of a step)."""
    n, width, n_features = index.shape[0], table.shape[1], features.shape[1]
    out = np.empty((n, width + n_features), np.float32)
    for i in range(n):
        row, c = index[i], ctx[i]
        for j in range(width):
            out[i, j] = table[row, j]
        for j in range(n_features):
            out[i, width + j] = features[c, j]
    return out


class EntryClasses:
    """Classes of a table's entries whose numbers are equal in every block added: ``code[e]`` (0..n-1),
    one for every block, and each block's numbers once per class (``values[k]``, (n, width))."""

    def __init__(self, n_entries: int) -> None:
        self.code = np.zeros(n_entries, dtype=np.int64)
        self.n = 1
        self.values: list[np.ndarray] = []
        self._first = np.zeros(1, dtype=np.int64)  # an entry of each class

    def add(self, block: np.ndarray) -> None:
        """Store ``block`` (entries, width), splitting classes it tells apart (stored values re-expanded)."""
        block = np.ascontiguousarray(block, dtype=np.float64)
        kept = block[self._first]
        if self.values and np.array_equal(kept[self.code].view(np.uint64), block.view(np.uint64)):
            self.values.append(kept)  # no class split (compared bit for bit): the usual case, no sort
            return
        rows = block.view(np.dtype((np.void, block.shape[1] * 8))).ravel()  # equal bytes: equal numbers
        own = np.unique(rows, return_inverse=True)[1].ravel()
        _, first, joint = np.unique(self.code * (int(own.max()) + 1) + own, return_index=True, return_inverse=True)
        if len(first) > self.n:  # split: each new class lies inside one old class
            old_of_new = self.code[first]
            self.values = [v[old_of_new] for v in self.values]
            self.code, self.n = joint.ravel().astype(np.int64), len(first)
        self._first = first
        self.values.append(block[first])  # first[i]: an entry of class i (in class order)


def _codes(code: np.ndarray, n: int) -> np.ndarray:
    """Codes as the kernel reads them: 2 bytes each while they fit (a cache line holds 32), else 4."""
    return code.astype(np.uint16 if n <= 1 << 16 else np.int32)


class ContextTables:
    """The built blocks of C parameter sets in shared arrays (see the module docstring)."""

    def __init__(self, params: tuple[AllianceParams, ...]):
        self.params = params
        c = len(params)
        first = Tables(params[0])
        n_t = first.event_target.shape[0]
        self.event_target = np.zeros((c, n_t, N_PHASES), dtype=first.event_target.dtype)
        self.event_prob = np.zeros((c, n_t, N_PHASES))
        self.p_west = np.zeros((c, N_PHASES))
        self._reachable: list[dict[int, list[int]]] = []
        for i, p in enumerate(params):
            tb = first if i == 0 else Tables(p)
            self.event_target[i], self.event_prob[i], self.p_west[i] = tb.event_target, tb.event_prob, tb.p_west
            self._reachable.append({ph: tb.reachable(ph) for ph in range(N_PHASES)})
        self.slot = np.full((c, N_PHASES), -1, dtype=np.int64)  # (context, phase) -> slot, -1 not built
        self._moves = [EntryClasses(int(COMBOS[j]) * N_ACTIONS) for j in range(N_VARS)]  # (combination, action)
        self._med = EntryClasses(MED_SIZE)  # (combination of R, action)
        rows, autonomy = zip(*(context_terms(p) for p in params))  # r(s, a)'s terms per context
        self.ctx_terms = np.stack(rows).ravel()
        kinds, of = np.unique(np.stack(autonomy).view(np.uint64), axis=0, return_inverse=True)  # equal bits: once
        self.autonomy, self.autonomy_of = kinds.view(np.float64).ravel(), of.ravel() * kinds.shape[1]
        self._factors: list[np.ndarray] = []  # (shield, economy) per slot (envs.context_rewards)
        # envs.tables' entry-shock table in 2-byte integers (its numbers are states, < 5400): the step's
        # hot tables take less of the cache the far look-ups pass through (a step 2-3 % faster at C = 256)
        self.after_shock = after_shock().astype(np.int16)
        self._flatten()

    def _flatten(self) -> None:
        """The stored blocks as the flat arrays the compiled step reads: ``values`` (a slot's classes of
        T, A, R, W, X one after another), ``codes``, ``med_codes``/``med_values``, ``reward``;
        ``state_keys[s]`` (phase, r(s, a)'s row in a slot, Pr(M = 1)'s entry and each variable's entry
        without the action) and ``bases[c * 5 + phase]`` (0, the slot's start in ``reward``, in
        ``med_values`` and of each variable in ``values``)."""
        n_slots = len(self._med.values)
        n = np.array([m.n for m in self._moves], dtype=np.int64)
        var_start = np.concatenate([[0], np.cumsum(n)[:-1]]) * RECORD
        per_slot = int(n.sum()) * RECORD
        self.values = aligned_zeros(n_slots * per_slot)
        by_slot = self.values.reshape(n_slots, per_slot)
        for j, m in enumerate(self._moves):
            if m.values:
                by_slot[:, var_start[j]:var_start[j] + n[j] * RECORD] = np.stack(m.values).reshape(n_slots, -1)
        self.codes = _codes(np.concatenate([m.code for m in self._moves]), int(n.max()))
        self.med_codes = _codes(self._med.code, self._med.n)
        self.med_values = np.concatenate(self._med.values).ravel() if n_slots else np.zeros(0)
        self.factors = np.concatenate(self._factors) if n_slots else np.zeros(0)
        local = np.arange(N_STATES) % BLOCK
        self.state_keys = np.zeros((N_STATES, 8), dtype=np.int32)  # half a cache line per state
        self.state_keys[:, 0] = PHASE_OF
        self.state_keys[:, 1] = local % STRIDE_A * 2
        self.state_keys[:, 2] = MED_KEYS - PHASE_OF * MED_SIZE
        self.state_keys[:, 3:] = CODE_OFFSETS + LOCAL_COMBO[local] * N_ACTIONS
        slot = self.slot.reshape(-1, 1)
        self.bases = np.zeros((slot.shape[0], 8), dtype=np.int64)  # one cache line per (context, phase)
        self.bases[:, 1:2] = slot * STRIDE_A * 2
        self.bases[:, 2:3] = slot * self._med.n
        self.bases[:, 3:] = slot * per_slot + var_start
        self.bases[slot[:, 0] < 0] = 0  # not built: never read

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays of the contexts' tables (the shared codes and state rows included)."""
        return sum(a.nbytes for a in (self.values, self.codes, self.med_codes, self.med_values, self.factors,
                                      self.ctx_terms, self.autonomy, self.autonomy_of, self.state_keys, self.bases, self.event_target, self.event_prob, self.p_west))

    def ensure_reachable(self, contexts: np.ndarray, phases: np.ndarray) -> None:
        """Build (once) every block reachable from ``phases[i]`` in context ``contexts[i]``."""
        contexts, phases = np.asarray(contexts, dtype=np.int64), np.asarray(phases, dtype=np.int64)
        if (self.slot[contexts, phases] >= 0).all():  # a slot is given once all blocks reachable from it are built
            return
        need: dict[int, set[int]] = {}
        for c, ph in set(zip(np.asarray(contexts).tolist(), np.asarray(phases).tolist())):
            need.setdefault(c, set()).update(r for r in self._reachable[c][ph] if self.slot[c, r] < 0)
        need = {c: phs for c, phs in need.items() if phs}
        if not need:
            return
        k = len(self._med.values)
        for c in sorted(need):
            tb = Tables(self.params[c]).ensure(need[c])  # built by envs.model, copied, dropped
            for ph in sorted(need[c]):
                for j, classes in enumerate(self._moves):
                    at = slice(ph * MOVE_SIZE + MOVE_OFFSETS[j], ph * MOVE_SIZE + MOVE_OFFSETS[j] + MOVE_SIZES[j])
                    # entries (combination, action), each (up M=0, up M=1, down M=0, down M=1)
                    classes.add(np.stack([tb.up[at].reshape(-1, 2), tb.down[at].reshape(-1, 2)], axis=1).reshape(-1, RECORD))
                self._med.add(tb.p_med[ph * MED_SIZE:(ph + 1) * MED_SIZE].reshape(-1, 1))
                self._factors.append(slot_factors(self.params[c], ph))
                self.slot[c, ph] = k
                k += 1
        self._flatten()

    def step_indices(self, index: np.ndarray, action: np.ndarray, t: np.ndarray, ctx: np.ndarray,
                     u: np.ndarray | np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One step of section 5 of every env in its context (:func:`step_contexts`): next indices,
        r(s, a) before the step and the events."""
        nxt, mediated, changed, west_reset, floor, new_phase, reward = step_contexts(
            index, action, t, ctx, self.state_keys, self.bases, self.codes, self.values, self.med_codes,
            self.med_values, self.factors, self.ctx_terms, self.autonomy, self.autonomy_of, self.event_target, self.event_prob, self.p_west,
            self.after_shock, u)
        return nxt, reward, {"mediated": mediated, "phase_changed": changed, "west_reset": west_reset,
                             "threat_floor": floor, "new_phase": new_phase}


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)

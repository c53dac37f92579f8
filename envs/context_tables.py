"""The tables of many contexts side by side, for the contextual vector env (issue 30).

Each context's blocks are built once by :class:`envs.tables.Tables` (the model's functions, never a
second copy) and copied into shared arrays, a slot per (context, phase) built. Copied without the
columns that repeat: a moving variable's Pr(up)/Pr(down) depends on only some parts of the action
(T reads 24 of the 192 (action, M) columns, X 2), and r(s, a) reads d only as d != 0 (48 of 96
columns). :class:`ActionClasses` groups the actions whose columns are *equal* in every block stored
(found from the numbers, not from the model's formulas; a later block that tells two grouped actions
apart splits the group, the stored blocks re-expanded), and one column per group is kept, so every
look-up returns the very number the context's own ``Tables`` holds: results do not change.

The step is :func:`envs.model.step_index` compiled, as ``envs.kernel.step_many`` runs it, with each
variable's key computed from the context's slot, the state's combination of the levels the variable
reads and the action's group (``k + M`` inside ``step_index`` as for the plain tables), and the
context's phase-event row and Pr(W <- 0): the control flow of a step stays the one in ``envs.model``.

Memory (``war``, one block, phase 4, per context): 26,502 move entries (up and down, float64) = 0.42
MB, r(s, a) 1,080 x 48 float64 = 0.41 MB, Pr(M = 1) 4 KB: 0.84 MB per context and block (it was 1.85
MB with every column). The :class:`Tables` a block is built from is dropped once copied.
"""

from __future__ import annotations

import numba
import numpy as np

from envs import pcg64
from envs.jit_cache import freshen
from envs.kernel import PREFETCH_AHEAD, _step_one, prefetch
from envs.model import N_UNIFORMS
from envs.params import N_PHASES, AllianceParams
from envs.pcg64 import lanes_next, lanes_start
from envs.spaces import N_ACTIONS
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


@numba.njit(cache=True, inline="always")
def _key(j, slot, local, a, var_off, combos, local_combo, n_cls, move_cls):
    """Variable j's key for a state's local index and action in a slot (``+ M`` in ``step_index``)."""
    return var_off[j] + ((slot * combos[j] + local_combo[local, j]) * n_cls[j] + move_cls[j, a]) * 2


def step_contexts(index, action, t, ctx, slot, phase_of, local_combo, var_off, combos, n_cls,  # noqa: PLR0913
                  move_cls, med_keys, med_base, p_med, up, down, event_target, event_prob, p_west, after_shock, u,
                  reward, reward_cls, n_reward_cls):
    """``envs.kernel.step_many`` with a context per state: ``ctx`` (N,) ids, ``slot[c, phase]``;
    variable j's key ``var_off[j] + ((slot * combos[j] + local_combo[s % 1080, j]) * n_cls[j] +
    move_cls[j, a]) * 2`` (``+ M`` in ``step_index``); Pr(M = 1) at ``med_base[c, phase] +
    med_keys[s] + a``; ``event_target``/``event_prob`` ``[c, row, phase]``, ``p_west`` ``[c, phase]``.
    Returns next indices and the events as ``step_many``, and r(s, a) of each state before the step
    (``reward[(slot * 1080 + s % 1080) * n_reward_cls + reward_cls[a]]``)."""
    n = index.shape[0]
    out = (np.empty(n, np.int64), np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty(n, np.bool_),
           np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64))
    tables = (index, action, t, ctx, slot, phase_of, local_combo, var_off, combos, n_cls, move_cls, med_keys,
              med_base, p_med, up, down, event_target, event_prob, p_west, after_shock)
    consts = pcg64.begin(u, n * N_UNIFORMS) if isinstance(u, np.random.Generator) else None
    if consts is not None:  # drawn in the loop where envs.pcg64 can, else by NumPy
        pcg64.end(u, *_step_contexts_into(*tables, _NO_DRAWS, consts, True, reward, reward_cls, n_reward_cls, *out))
        return out
    if isinstance(u, np.random.Generator):
        u = u.random((n, N_UNIFORMS))
    _step_contexts_into(*tables, u, _NO_CONSTS, False, reward, reward_cls, n_reward_cls, *out)
    return out


# _nrt=False as envs.kernel.step_into: the loop allocates nothing, so numba's reference counting of
# the arrays handed to the inlined step_index (once per state) is left out. The tables of 256 contexts
# (216 MB) miss the caches: each iteration asks for the entries of the env PREFETCH_AHEAD ahead
# (kernel alone at N = 4,096, C = 256: 287 -> 224 us). Stepping the envs sorted by context was
# tried: slower (the indirection costs more than the locality gains).
@numba.njit(cache=True, _nrt=False)
def _step_contexts_into(index, action, t, ctx, slot, phase_of, local_combo, var_off, combos, n_cls,  # noqa: PLR0913
                        move_cls, med_keys, med_base, p_med, up, down, event_target, event_prob, p_west,
                        after_shock, u, consts, drawing, reward, reward_cls, n_reward_cls, nxt, mediated, changed,
                        west_reset, floor, new_phase, rew):
    """The step of every env on the uniforms ``u`` (N, 8), or, with ``drawing``, on those drawn in the
    loop from ``consts`` as ``envs.kernel.step_into_drawing`` does (env i's are ``random((N, 8))``'s row
    i; ``u`` unread). Returns the last lane's state for ``envs.pcg64.end`` (meaningless without
    ``drawing``). One loop for both: a second loop calling a shared body was slower (not inlined)."""
    last_row = event_target.shape[1] - 1
    n = index.shape[0]
    lanes = lanes_start(consts)
    for i in range(n):
        if drawing:
            first, lanes = lanes_next(lanes, consts)
            second, lanes = lanes_next(lanes, consts)
            draws = first + second
        else:
            draws = (u[i, 0], u[i, 1], u[i, 2], u[i, 3], u[i, 4], u[i, 5], u[i, 6], u[i, 7])
        j = i + PREFETCH_AHEAD  # the entries env j will read, asked for now (far apart in memory)
        if j < n:
            s2, a2, c2 = index[j], action[j], ctx[j]
            ph2 = phase_of[s2]
            k2, l2 = slot[c2, ph2], s2 - ph2 * 1080
            prefetch(reward, (k2 * 1080 + l2) * n_reward_cls + reward_cls[a2])
            for v in range(5):
                prefetch(up, _key(v, k2, l2, a2, var_off, combos, local_combo, n_cls, move_cls))
            prefetch(p_med, med_base[c2, ph2] + med_keys[s2] + a2)
        s = index[i]
        a = action[i]
        c = ctx[i]
        ph = phase_of[s]
        k = slot[c, ph]
        local = s - ph * 1080
        rew[i] = reward[(k * 1080 + local) * n_reward_cls + reward_cls[a]]
        row = min(t[i], last_row)
        keys = (_key(0, k, local, a, var_off, combos, local_combo, n_cls, move_cls),
                _key(1, k, local, a, var_off, combos, local_combo, n_cls, move_cls),
                _key(2, k, local, a, var_off, combos, local_combo, n_cls, move_cls),
                _key(3, k, local, a, var_off, combos, local_combo, n_cls, move_cls),
                _key(4, k, local, a, var_off, combos, local_combo, n_cls, move_cls))
        out = _step_one(s, ph, p_med[med_base[c, ph] + med_keys[s] + a], up, down, keys, event_target[c, row, ph],
                        event_prob[c, row, ph], p_west[c], after_shock, draws)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        new_phase[i] = phase_of[out[0]]
    return lanes[6], lanes[7]


_NO_DRAWS = np.zeros((1, N_UNIFORMS))  # u when the loop draws
_NO_CONSTS = np.zeros(10, np.uint64)  # consts when u is given


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


class ActionClasses:
    """Groups of the 96 actions whose columns are equal in every block added (``label[a]``, 0..n-1),
    and the blocks kept at one column per group (axis 1 of each block is the action)."""

    def __init__(self) -> None:
        self.label = np.zeros(N_ACTIONS, dtype=np.int64)
        self.n = 1
        self.blocks: list[np.ndarray] = []

    def add(self, block: np.ndarray) -> None:
        """Store ``block`` (rows, 96, ...), splitting groups it tells apart (stored blocks re-expanded)."""
        columns = np.ascontiguousarray(np.moveaxis(block, 1, 0).reshape(N_ACTIONS, -1))
        seen: dict[bytes, int] = {}  # equal bytes: equal numbers (a -0.0 kept apart from 0.0 costs a column)
        own = np.array([seen.setdefault(col.tobytes(), len(seen)) for col in columns], dtype=np.int64)
        _, first, joint = np.unique(np.stack([self.label, own], axis=1), axis=0, return_index=True,
                                    return_inverse=True)
        if len(first) > self.n:  # split: each new group lies inside one old group
            old_of_new = self.label[first]
            self.blocks = [np.take(b, old_of_new, axis=1) for b in self.blocks]
            self.label, self.n = joint.ravel().astype(np.int64), len(first)
        keep = np.unique(self.label, return_index=True)[1]  # one action per group, in group order
        self.blocks.append(np.ascontiguousarray(np.take(block, keep, axis=1)))


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
        self.med_base = np.zeros((c, N_PHASES), dtype=np.int64)
        self.slot = np.full((c, N_PHASES), -1, dtype=np.int64)  # (context, phase) -> slot, -1 not built
        self._moves = [ActionClasses() for _ in range(N_VARS)]  # blocks (combos, groups, 2 M, 2 up/down)
        self._reward = ActionClasses()  # blocks (1080, groups)
        self._p_med: list[np.ndarray] = []
        self.after_shock = after_shock()
        self._flatten()

    def _flatten(self) -> None:
        """The stored blocks as the flat arrays the compiled step reads."""
        parts = [np.concatenate(m.blocks).reshape(-1, 2) if m.blocks else np.zeros((0, 2)) for m in self._moves]
        self.var_off = np.concatenate([[0], np.cumsum([len(p) for p in parts])[:-1]]).astype(np.int64)
        self.moves = np.concatenate(parts)  # [key, 0] Pr(up), [key, 1] Pr(down): one cache line for both
        self.n_cls = np.array([m.n for m in self._moves], dtype=np.int64)
        self.move_cls = np.stack([m.label for m in self._moves])
        self.reward = np.concatenate(self._reward.blocks).reshape(-1) if self._reward.blocks else np.zeros(0)
        self.p_med = np.concatenate(self._p_med) if self._p_med else np.zeros(0)

    @property
    def nbytes(self) -> int:
        """Bytes held by the per-context arrays."""
        return sum(a.nbytes for a in (self.moves, self.p_med, self.reward, self.event_target, self.event_prob,
                                      self.p_west))

    def ensure_reachable(self, contexts: np.ndarray, phases: np.ndarray) -> None:
        """Build (once) every block reachable from ``phases[i]`` in context ``contexts[i]``."""
        need: dict[int, set[int]] = {}
        for c, ph in set(zip(np.asarray(contexts).tolist(), np.asarray(phases).tolist())):
            need.setdefault(c, set()).update(r for r in self._reachable[c][ph] if self.slot[c, r] < 0)
        need = {c: phs for c, phs in need.items() if phs}
        if not need:
            return
        k = len(self._p_med)
        for c in sorted(need):
            tb = Tables(self.params[c]).ensure(need[c])  # built by envs.model, copied, dropped
            for ph in sorted(need[c]):
                for j, classes in enumerate(self._moves):
                    at = slice(ph * MOVE_SIZE + MOVE_OFFSETS[j], ph * MOVE_SIZE + MOVE_OFFSETS[j] + MOVE_SIZES[j])
                    pair = np.stack([tb.up[at], tb.down[at]], axis=-1)  # (entries, 2): (combo, a, M) rows
                    classes.add(pair.reshape(COMBOS[j], N_ACTIONS, 2, 2))
                self._reward.add(tb.reward_blocks[ph])
                self._p_med.append(tb.p_med[ph * MED_SIZE:(ph + 1) * MED_SIZE].copy())
                self.slot[c, ph] = k
                self.med_base[c, ph] = (k - ph) * MED_SIZE
                k += 1
        self._flatten()

    @property
    def up(self) -> np.ndarray:
        """Pr(up) of every stored entry (a strided view of ``moves``)."""
        return self.moves[:, 0]

    @property
    def down(self) -> np.ndarray:
        return self.moves[:, 1]

    def step_indices(self, index: np.ndarray, action: np.ndarray, t: np.ndarray, ctx: np.ndarray,
                     u: np.ndarray | np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One step of section 5 of every env in its context (:func:`step_contexts`): next indices,
        r(s, a) before the step and the events."""
        nxt, mediated, changed, west_reset, floor, new_phase, reward = step_contexts(
            index, action, t, ctx, self.slot, PHASE_OF, LOCAL_COMBO, self.var_off, COMBOS, self.n_cls,
            self.move_cls, MED_KEYS, self.med_base, self.p_med, self.up, self.down, self.event_target,
            self.event_prob, self.p_west, self.after_shock, u, self.reward, self._reward.label, self._reward.n)
        return nxt, reward, {"mediated": mediated, "phase_changed": changed, "west_reset": west_reset,
                             "threat_floor": floor, "new_phase": new_phase}


freshen(__name__, ("envs",))  # numba's cache re-made when the code it calls changed (envs/jit_cache.py)

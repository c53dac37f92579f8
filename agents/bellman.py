"""The expectation E[V(s') | s, a] of docs/model.md section 10, from ``envs.tables`` (whose numbers all
come from ``envs.model``; no second copy of any equation), for one parameter set or K at once.

Structure used (section 10). A state's flat index is ``phase * 1080 + local`` with ``local`` the
row-major index of (T, A, R, W, X): phase blocks are contiguous. Given (s, a, M) the five moving
variables move independently by -1/0/+1 with the probabilities of the phase of s, so

    E[V(s') | s, a, M] = sum over the 3^5 offsets o of prod_j p_j(o_j | s, a, M) c_phase(s)[s + o]

where ``c`` is the *continuation vector* of the source phase: the next step's values without the
phase event, and with it the values of the next phase passed through the entry shock (section
5.4), ``c = (1 - e) V_phase + e Vtilde_next``. The event (probability ``e`` and target phase) comes
from ``envs.model.phase_event``; it is the same for every state of a block.

Speed and memory: the sum is done one variable at a time (a 3-tap stencil along that variable's
axis, ``g[l] + up (g[l+1] - g[l]) + down (g[l-1] - g[l])``), in an order where each variable comes
after the variables its probabilities read (``envs.model.MOVE_READS``: X, W, T, R, A), so that
each stage's weights are indexed by levels already summed over and broadcast from the compact
tables. One sweep over a block is 5 x 3 products per (state, action, M) column instead of 243,
and nothing larger than (K, columns, 1080) is ever held. Each stage runs once per *action class*
(the columns whose probabilities agree on every stage so far: :func:`_groups`), about 250 column
sweeps instead of 5 x 105 on a block; the sums are bitwise those of the plain stencil. Each stage,
and Q from the last one, runs compiled (:mod:`agents.compiled`: :func:`_stage`'s arithmetic, bit for
bit, in one pass instead of NumPy's several over broadcast temporaries).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from agents import compiled, compiled_eval
from envs import model
from envs.params import N_PHASES, AllianceParams
from envs.spaces import ALL_STATES, N_ACTIONS, STATE_LEVELS, encode_states
from envs.tables import BLOCK, LEVELS, MED_KEYS, MED_SIZE, MOVE_KEYS, VARS, Tables, build_tables

N_OFFSETS = model.OFFSETS.shape[0]  # 243
LOCAL_STATES = ALL_STATES[:BLOCK]  # the block of phase 0; columns 1.. are T, A, R, W, X


def _order() -> tuple[str, ...]:
    """The variables, each after the variables its move probabilities read."""
    done: list[str] = []
    while len(done) < len(VARS):
        ready = [v for v in VARS if v not in done and all(r in done for r in model.MOVE_READS[v])]
        if not ready:
            raise ValueError(f"envs.model.MOVE_READS has a cycle: {model.MOVE_READS}; the stencil needs an order")
        done.append(ready[0])
    return tuple(done)


ORDER = _order()


def _neighbours() -> np.ndarray:
    """(1080, 243) local index of the state reached by each offset (clipped at the bounds, where
    the offset always has probability 0 because up := 0 at the top and down := 0 at level 0)."""
    out = np.zeros((BLOCK, N_OFFSETS), dtype=np.int64)  # a variable at a time: no (1080, 243, 6) temporaries at import
    for j, stride in enumerate(model.LOCAL_STRIDES):
        out += np.clip(LOCAL_STATES[:, 1 + j, None] + model.OFFSETS[None, :, j], 0, STATE_LEVELS[1 + j] - 1) * stride
    return out


NEIGHBOURS = _neighbours()


def _stage(g: np.ndarray, up: np.ndarray, down: np.ndarray, axis: int, own: bool) -> np.ndarray:
    """Sum over one variable's move along ``axis``: ``g[l] + up (g[l+1] - g[l]) + down (g[l-1] -
    g[l])``; ``up``/``down`` broadcast against ``g`` (up = 0 at the top, down = 0 at level 0).
    ``own``: ``g`` is a temporary of the stencil and may be overwritten."""
    n = g.shape[axis]
    pre = (slice(None),) * axis
    lo, hi = pre + (slice(0, n - 1),), pre + (slice(1, n),)
    diff = np.diff(g, axis=axis)
    shape = np.broadcast_shapes(g.shape, up.shape)
    if own and g.shape == shape:
        out = g
    else:
        out = np.empty(shape)
        out[...] = g
    term = up[lo] * diff
    out[lo] += term
    np.multiply(down[hi], diff, out=term)
    out[hi] -= term
    return out




def _steps(j: int) -> tuple[np.ndarray, np.ndarray]:
    """Each local state's neighbour one level up and one level down along variable j (itself at
    the top and at level 0)."""
    level, stride, top = LOCAL_STATES[:, 1 + j], model.LOCAL_STRIDES[j], LEVELS[j] - 1
    here = np.arange(BLOCK)
    return (np.where(level < top, here + stride, here).astype(np.uint32),
            np.where(level > 0, here - stride, here).astype(np.uint32))


_STEPS = [_steps(j) for j in range(len(VARS))]


@lru_cache(maxsize=64)
def _compact_key(shape: tuple[int, ...]) -> np.ndarray:
    """Each local state's flat position in a compact table of ``shape`` (axes of size 1 not read)."""
    strides = [int(np.prod(shape[j + 1:])) if shape[j] > 1 else 0 for j in range(5)]
    return (LOCAL_STATES[:, 1:] @ np.array(strides, dtype=np.int64)).astype(np.uint32)


def _groups(columns: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[list, np.ndarray]:
    """Action classes of the stencil: after each stage (in :data:`ORDER`), the columns whose move
    probabilities agree exactly on every stage so far (over all K sets and levels) hold the same
    partial sums, so a stage runs once per class. Returns per stage ``(var, first column of each
    class, parent class of the previous stage)`` and each column's class after the last stage.
    (X reads only d: 2 classes; W about 24; T about 72; R and A about every column.)"""
    n_cols = next(iter(columns.values()))[0].shape[1]
    key = np.zeros(n_cols, dtype=np.int64)
    plan = []
    for var in ORDER:
        up, down = columns[var]
        rows = np.concatenate([np.moveaxis(x, 1, 0).reshape(n_cols, -1) for x in (up, down)], axis=1)
        rows = np.ascontiguousarray(np.concatenate([key[:, None].astype(np.float64), rows], axis=1))
        seen: dict[bytes, int] = {}  # a row's bytes -> its class, classes in order of first appearance
        inverse = np.array([seen.setdefault(row.tobytes(), len(seen)) for row in rows], dtype=np.int64)
        first = np.unique(inverse, return_index=True)[1]
        plan.append((var, first, key[first]))
        key = inverse
    return plan, key


class BlockColumns:
    """The move probabilities of every (a, M) column of one phase block for K parameter sets,
    stacked from their tables (small: the compact tables, not 1080 x 96 rows), grouped by action
    class for each stage of the stencil (:func:`_groups`)."""

    def __init__(self, tables: list[Tables], phase: int):
        for tb in tables:
            tb.ensure([phase])
        seg = slice(phase * MED_SIZE, (phase + 1) * MED_SIZE)  # Pr(M = 1) compact: (K, P, 96), state l's row med_key[l]
        self.med_table = np.stack([tb.p_med[seg].reshape(-1, N_ACTIONS) for tb in tables])
        self.med_key = ((MED_KEYS[phase * BLOCK:(phase + 1) * BLOCK] - phase * MED_SIZE) // N_ACTIONS).astype(np.uint32)
        self.med_actions = np.flatnonzero((self.med_table > 0).any(axis=(0, 1)))
        col_a = np.concatenate([np.arange(N_ACTIONS), self.med_actions])
        col_m = np.concatenate([np.zeros(N_ACTIONS, np.int64), np.ones(self.med_actions.size, np.int64)])
        columns = {}
        for var in VARS:
            pairs = [tb.move_table(var, phase) for tb in tables]
            columns[var] = tuple(np.stack([np.moveaxis(pair[i][..., col_a, col_m], -1, 0) for pair in pairs])
                                 for i in (0, 1))
        plan, self.final = _groups(columns)
        self.stages = [(2 + VARS.index(var), columns[var][0][:, first], columns[var][1][:, first], parent)
                       for var, first, parent in plan]
        self.reward = np.stack([tb.reward_block(phase) for tb in tables])  # (K, 1080, 96)

    def _compiled_stages(self) -> list[tuple]:
        """The stages as :func:`agents.compiled.stage` reads them: probabilities (K, classes, P)
        compact, each local state's key into P and its neighbours one level up and down along the
        stage's variable (itself at the bounds), and the parent classes (made once)."""
        if getattr(self, "_flat", None) is None:
            self._flat = [(np.ascontiguousarray(up.reshape(up.shape[0], up.shape[1], -1)),
                           np.ascontiguousarray(down.reshape(down.shape[0], down.shape[1], -1)),
                           _compact_key(up.shape[2:]), *_STEPS[axis - 2], np.ascontiguousarray(parent, dtype=np.uint32))
                          for axis, up, down, parent in self.stages]
        return self._flat

    def grouped(self, c: np.ndarray, sets: np.ndarray | None = None) -> np.ndarray:
        """The stencil (the module docstring) for values ``c`` (K, 1080), a stage at a time (each
        :func:`_stage`'s sums, compiled: :func:`agents.compiled.stage`), on the action classes:
        (K, classes, 1080); column j of the block is class ``self.final[j]``."""
        g = np.ascontiguousarray(c, dtype=np.float64).reshape(c.shape[0], 1, BLOCK)
        for up, down, key, above, below, parent in self._compiled_stages():
            if sets is not None and up.shape[0] > 1:
                up, down = up[sets], down[sets]
            out = np.empty((g.shape[0], parent.size, BLOCK))
            compiled.stage(g, parent, up, down, key, above, below, out)
            g = out
        return g

    def expect(self, c: np.ndarray, sets: np.ndarray | None = None) -> np.ndarray:
        """E[V(s')] for every (s, a) of the block, (K, 1080, 96), from continuation values (K, 1080)
        (``sets``: the rows of the batch that ``c`` is for; default all)."""
        return compiled.expect(self.grouped(c, sets), *self._gather(sets))

    def q(self, c: np.ndarray, gamma: np.ndarray, sets: np.ndarray | None = None) -> np.ndarray:
        """Q(s, a) = r(s, a) + gamma E[V(s')] for every (s, a) of the block, (K, 1080, 96): ``c``
        and ``sets`` as :meth:`expect`, ``gamma`` (K,) one discount per row of ``c``."""
        reward = self.reward if sets is None else self.reward[sets]
        return compiled.q_values(self.grouped(c, sets), *self._gather(sets), reward,
                                 np.ascontiguousarray(gamma, dtype=np.float64))

    def q_greedy(self, c: np.ndarray, gamma: np.ndarray, tie: float,
                 sets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`q` and, per state, the maximum of Q and the lowest action within ``tie`` of it
        (``agents.solver.lowest_argmax``), in one pass: ``(q, best, greedy)``."""
        reward = self.reward if sets is None else self.reward[sets]
        q = np.empty(reward.shape)
        best = np.empty(reward.shape[:2])
        greedy = np.empty(reward.shape[:2], dtype=np.int64)
        compiled.q_greedy(self.grouped(c, sets), *self._gather(sets), reward,
                          np.ascontiguousarray(gamma, dtype=np.float64), tie, q, best, greedy)
        return q, best, greedy

    def greedy_near(self, c: np.ndarray, gamma: np.ndarray, tie: float, near_tol: float, near: np.ndarray,
                    sets: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`q_greedy` without keeping Q: ``(best, greedy)``, and ``near`` (K, 1080, 96) bool,
        possibly a view, set to Q >= best - ``near_tol``."""
        reward = self.reward if sets is None else self.reward[sets]
        best = np.empty(reward.shape[:2])
        greedy = np.empty(reward.shape[:2], dtype=np.int64)
        compiled.q_near(self.grouped(c, sets), *self._gather(sets), reward,
                        np.ascontiguousarray(gamma, dtype=np.float64), tie, near_tol, best, greedy, near)
        return best, greedy

    def q_policy(self, c: np.ndarray, gamma: np.ndarray, tie: float, pol: np.ndarray, sets: np.ndarray | None = None,
                 v: np.ndarray | None = None, near_tol: float = 0.0,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """A step of policy iteration on :meth:`q` without keeping Q: ``(best, greedy, keep, near)``,
        per state the maximum of Q, the lowest action within ``tie`` of it and whether the policy
        ``pol`` (one row per set of the batch, read at ``sets``) is within ``tie`` of it; with values
        ``v`` (one row per row of ``c``) also ``near`` (rows, 1080, 96) = Q >= v - ``near_tol``."""
        sets = np.arange(self.reward.shape[0]) if sets is None else np.asarray(sets, dtype=np.int64)
        n = sets.size
        best = np.empty((n, BLOCK))
        greedy = np.empty((n, BLOCK), dtype=np.int64)
        keep = np.empty((n, BLOCK), dtype=np.bool_)
        near = np.empty((n if v is not None else 0, BLOCK, N_ACTIONS), dtype=np.bool_)
        final, med_of, _, _ = self._gather(None)
        compiled.q_policy(self.grouped(c, sets), final, med_of, self.med_table, self.med_key, self.reward, sets,
                          np.ascontiguousarray(gamma, dtype=np.float64), tie, np.ascontiguousarray(pol, dtype=np.int64),
                          best, greedy, keep, np.empty((0, BLOCK)) if v is None else np.ascontiguousarray(v),
                          near_tol, near)
        return best, greedy, keep, near if v is not None else None

    def _gather(self, sets: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Each column's class, each action's M = 1 column (-1: none), Pr(M = 1) of ``sets`` compact
        (K, P, 96) and each state's row in it."""
        if getattr(self, "_med_of", None) is None:
            self._med_of = np.full(N_ACTIONS, -1, dtype=np.int64)
            self._med_of[self.med_actions] = np.arange(self.med_actions.size)
            self._final = np.ascontiguousarray(self.final, dtype=np.uint32)
        return self._final, self._med_of, self.med_table if sets is None else self.med_table[sets], self.med_key


class Operator:
    """Bellman expectations for one parameter set: continuation vectors, E[V(s')] for every
    (s, a) of a phase block, and the move kernel of a policy (for evaluation and occupancy).

    ``dynamics`` is the parameter set whose move probabilities and rewards are used; it defaults
    to ``params``. For `timeline` and `calendar` the solver passes ``params.continuation()``:
    sections 5.1, 5.3 and 6 do not read the calendar or the horizon (a test checks the tables
    agree), so the 44-step problem and its continuation share one set of tables.
    """

    def __init__(self, params: AllianceParams, dynamics: AllianceParams | None = None,
                 tables: Tables | None = None):
        self.params = params
        self.tables = tables if tables is not None else build_tables(dynamics if dynamics is not None else params)
        self.gamma = params.gamma
        self.shock = np.empty((N_PHASES, 2, BLOCK), dtype=np.int64)  # local index after the entry shock
        self.west = np.empty(N_PHASES)  # Pr(W <- 0) on entering each phase
        changed = np.ones(BLOCK, dtype=bool)
        for ph in range(N_PHASES):
            new = np.full(BLOCK, ph)
            for reset in (0, 1):
                out = model.apply_entry_shock(LOCAL_STATES, new, changed, np.full(BLOCK, bool(reset)))
                self.shock[ph, reset] = encode_states(out) - ph * BLOCK
            self.west[ph] = model.west_shock_prob(np.array([ph]), np.array([True]), params)[0]
        self._events: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._columns: dict[int, BlockColumns] = {}

    def columns(self, phase: int) -> BlockColumns:
        if phase not in self._columns:
            self._columns[phase] = BlockColumns([self.tables], phase)
        return self._columns[phase]

    def reward_block(self, phase: int) -> np.ndarray:
        """r(s, a) on one block, (1080, 96)."""
        return self.tables.reward_block(phase)

    # ------------------------------------------------------------------ phase events
    def events(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(target phase, probability of the event), one per source phase, at step ``t``."""
        key = int(t) if self.params.calendar is not None else 0
        if key not in self._events:
            target, prob = model.phase_event(ALL_STATES, key, self.params)
            target, prob = target.reshape(N_PHASES, BLOCK), prob.reshape(N_PHASES, BLOCK)
            if np.any(target != target[:, :1]) or np.any(prob != prob[:, :1]):
                raise ValueError("phase_event differs within a phase block: the exact solver needs it per phase")
            self._events[key] = (target[:, 0].copy(), prob[:, 0].copy())
        return self._events[key]

    def shocked(self, values_block: np.ndarray, phase: int) -> np.ndarray:
        """Vtilde: values of ``phase``'s block seen from a state entering it (section 5.4)."""
        w = self.west[phase]
        out = values_block[self.shock[phase, 0]]
        if w > 0:
            out = (1.0 - w) * out + w * values_block[self.shock[phase, 1]]
        return out

    def continuation(self, v_next: np.ndarray, t: int) -> np.ndarray:
        """(5, 1080) continuation vectors c_phase = (1 - e) V_next[phase] + e Vtilde_next[target]
        ((5, 1080, n) for values (5400, n): n value functions at once)."""
        v_next = np.asarray(v_next, dtype=np.float64)
        vb = v_next.reshape((N_PHASES, BLOCK) + v_next.shape[1:])
        target, prob = self.events(t)
        out = vb.copy()
        for ph in range(N_PHASES):
            e = prob[ph]
            if e > 0:
                tilde = self.shocked(vb[target[ph]], int(target[ph]))
                out[ph] = tilde if e == 1.0 else (1.0 - e) * vb[ph] + e * tilde
        return out

    # ------------------------------------------------------------------ all actions
    def expect(self, c_block: np.ndarray, phase: int) -> np.ndarray:
        """E[V(s')] for every (s, a) of one phase block: (1080, 96)."""
        return self.columns(phase).expect(np.asarray(c_block, dtype=np.float64)[None])[0]

    def q_block(self, c_block: np.ndarray, phase: int) -> np.ndarray:
        """Q(s, a) = r(s, a) + gamma E[V(s')] on one phase block: (1080, 96)."""
        return self.reward_block(phase) + self.gamma * self.expect(c_block, phase)

    # ------------------------------------------------------------------ one policy
    def policy_moves(self, policy: np.ndarray, phases=range(N_PHASES)) -> np.ndarray:
        """Move distributions under a policy on the given phase blocks: (n_blocks * 1080, 243).

        ``policy`` is (S,) flat actions or (S, 96) action probabilities; the rows come from
        ``envs.model.move_distribution`` on the tables, mixed over M (a stochastic policy: from
        ``envs.model.move_mixture``, over actions and M, compiled: :func:`agents.compiled_eval.mixture`)."""
        rows = np.concatenate([np.arange(ph * BLOCK, (ph + 1) * BLOCK) for ph in phases])
        self.tables.ensure(phases)
        policy = np.asarray(policy)
        if policy.ndim == 1:
            return self._moves(rows, policy[rows])
        tb = self.tables  # a stochastic policy: the mixture over (a, M), compiled, reading the tables
        return compiled_eval.mixture(tb.up, tb.down, tb.p_med, MOVE_KEYS[rows], MED_KEYS[rows],
                                np.ascontiguousarray(policy[rows], dtype=np.float64))

    def _moves(self, rows: np.ndarray, actions: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Move distributions (N, 243) of (state, action) rows, mixed over M: ``d0 + Pr(M = 1) (d1 -
        d0)``, ``d1`` only where Pr(M = 1) > 0 (elsewhere the mixture is ``d0``, bit for bit); into
        ``out`` (N, 243) when given."""
        d0 = compiled.move_rows_into(*self.tables.move_probs(rows, actions, 0),
                                     np.empty((rows.shape[0], N_OFFSETS)) if out is None else out)
        pm = self.tables.mediation(rows, actions)
        on = np.flatnonzero(pm > 0)
        if on.size:
            d1 = compiled.move_rows(*self.tables.move_probs(rows[on], actions[on], 1))
            compiled.mix_rows(d0, on, d1, pm[on])
        return d0

    @staticmethod
    def block_matrix(moves_block: np.ndarray) -> np.ndarray:
        """(1080, 1080) within-block move kernel P[l, l'] of a policy (no phase event)."""
        flat = (np.arange(BLOCK)[:, None] * BLOCK + NEIGHBOURS).ravel()
        return np.bincount(flat, weights=moves_block.ravel(), minlength=BLOCK * BLOCK).reshape(BLOCK, BLOCK)

    def propagate(self, dist: np.ndarray, moves: np.ndarray | dict, t: int) -> np.ndarray:
        """One step of the state distribution under a policy: ``moves`` over all 5400 states
        (5400, 243), or a dict giving each occupied phase block its moves (1080, 243) or its move
        kernel (a sparse matrix, ``agents.linear.policy_kernel``)."""
        db = dist.reshape(N_PHASES, BLOCK)
        target, prob = self.events(t)
        out = np.zeros((N_PHASES, BLOCK))
        for ph in np.flatnonzero(db.any(axis=1)).tolist():  # the occupied blocks
            mb = moves[ph] if isinstance(moves, dict) else moves[ph * BLOCK:(ph + 1) * BLOCK]
            if getattr(mb, "format", None) == "csr":  # kernel.T @ dist, compiled (scipy's sums, bit for bit)
                moved = compiled_eval.push_csr(mb.data, compiled_eval.unsigned(mb.indices), mb.indptr, np.ascontiguousarray(db[ph]))
            elif not isinstance(mb, np.ndarray):
                moved = mb.T @ db[ph]
            else:
                moved = compiled_eval.push(np.ascontiguousarray(db[ph]), mb, NEIGHBOURS)  # the bincount of the moves
            e = prob[ph]
            out[ph] += (1.0 - e) * moved
            if e > 0:
                nt = int(target[ph])
                w = self.west[nt]
                out[nt] += e * (1.0 - w) * np.bincount(self.shock[nt, 0], weights=moved, minlength=BLOCK)
                if w > 0:
                    out[nt] += e * w * np.bincount(self.shock[nt, 1], weights=moved, minlength=BLOCK)
        return out.reshape(-1)


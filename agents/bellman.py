"""The expectation E[V(s') | s, a] of MODEL.md section 10, built from ``envs.tables`` and the pure
functions of ``envs.model`` (no second copy of any equation).

Structure used (section 10). A state's flat index is ``phase * 1080 + local`` with ``local`` the
row-major index of (T, A, R, W, X): phase blocks are contiguous. Given (s, a, M) the five moving
variables move independently by -1/0/+1 with the probabilities of the phase of s, so

    E[V(s') | s, a] = sum_k Wt[s, a, k] * c_phase(s)[neighbour(s, k)]

over the 243 offsets k of ``envs.model.OFFSETS``, where ``Wt`` mixes the move distributions of
M = 0 and M = 1 with Pr(M) and ``c`` is the *continuation vector* of the source phase: the next
step's values without the phase event, and with it the values of the next phase passed through
the entry shock (section 5.4), ``c = (1 - e) V_phase + e Vtilde_next``. The event (probability
``e`` and target phase) comes from ``envs.model.phase_event``; it is the same for every state of
a block (hazard by phase, or the calendar's date).

Speed: ``Wt`` (5400 x 96 x 243) is never stored. Each offset weight is a product over variables,
``Wt[s, a, (j, i)] = P_TAR[s, col, j] * P_WX[s, i, cls(col)]`` where ``j`` runs over the 27 moves
of (T, A, R), ``i`` over the 9 moves of (W, X), ``col`` over the (M, a) pairs and ``cls`` groups
the pairs whose (W, X) probabilities coincide in every state (found from the tables, not assumed:
30 classes for the model as written). One expectation sweep is then a small batched matmul per
class instead of a 126M-term sum.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from envs import model
from envs.params import N_PHASES, AllianceParams
from envs.spaces import ALL_STATES, N_ACTIONS, N_STATES, STATE_LEVELS, encode_states
from envs.tables import TransitionTables, build_tables

BLOCK = N_STATES // N_PHASES  # 1080 states per phase
N_OFFSETS = model.OFFSETS.shape[0]  # 243
LOCAL_STATES = ALL_STATES[:BLOCK]  # the block of phase 0; columns 1.. are T, A, R, W, X


def _neighbours() -> np.ndarray:
    """(1080, 243) local index of the state reached by each offset (clipped at the bounds, where
    the offset always has probability 0 because up := 0 at the top and down := 0 at level 0)."""
    moved = LOCAL_STATES[:, None, :].repeat(N_OFFSETS, axis=1)
    moved[:, :, 1:] = np.clip(moved[:, :, 1:] + model.OFFSETS[None], 0, STATE_LEVELS[1:] - 1)
    return encode_states(moved.reshape(-1, 6)).reshape(BLOCK, N_OFFSETS)


NEIGHBOURS = _neighbours()


def _per_variable(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """(..., 5) up/down -> (..., 5, 3) probabilities of the moves -1, 0, +1 (the order of OFFSETS)."""
    return np.stack([down, 1.0 - up - down, up], axis=-1)


def _classes(signature: np.ndarray) -> tuple[np.ndarray, int]:
    """Group identical rows of ``signature``: a random projection proposes the groups and an
    exact comparison confirms them (``np.unique(axis=0)`` if a projection ever collided)."""
    proj = signature @ np.random.default_rng(0).random(signature.shape[1])
    _, first, cls = np.unique(proj, return_index=True, return_inverse=True)
    if not np.array_equal(signature, signature[first[cls]]):
        _, first, cls = np.unique(signature, axis=0, return_index=True, return_inverse=True)
    return cls.ravel(), first.size


@dataclass(frozen=True, eq=False)
class MoveFactors:
    """Rewards and factorised move probabilities of every state-action (see the module docstring)."""

    tables: TransitionTables  # what they were built from
    reward: np.ndarray  # (S, A)
    p_mediation: np.ndarray  # (S, A)
    ptar: np.ndarray  # (S, n_cols, 27): moves of T, A, R per (M, a) column, columns grouped by class
    pwx: np.ndarray  # (S, n_classes, 9): moves of W, X per class
    bounds: np.ndarray  # (n_classes + 1,): the columns of class c are bounds[c]:bounds[c+1]
    counts: np.ndarray  # (n_classes,): columns per class
    pos0: np.ndarray  # (A,): column of (M=0, a)
    med_actions: np.ndarray  # actions with Pr(M=1) > 0 in some state
    pos1: np.ndarray  # column of (M=1, a) for a in med_actions


@lru_cache(maxsize=2)
def move_factors(params: AllianceParams) -> MoveFactors:
    """The factor tensors, built from ``build_tables(params)``. Cached per parameter set."""
    tb = build_tables(params)
    up = tb.up.reshape(2, N_STATES, N_ACTIONS, 5)
    down = tb.down.reshape(2, N_STATES, N_ACTIONS, 5)
    p_med = tb.p_mediation.reshape(N_STATES, N_ACTIONS)
    med_actions = np.flatnonzero((p_med > 0).any(axis=0))
    col_m = np.concatenate([np.zeros(N_ACTIONS, np.int64), np.ones(med_actions.size, np.int64)])
    col_a = np.concatenate([np.arange(N_ACTIONS), med_actions])
    ups, downs = up[col_m, :, col_a], down[col_m, :, col_a]  # (n_cols, S, 5)
    # classes: columns with identical (W, X) move probabilities in every state
    cls, n_cls = _classes(np.concatenate([ups[:, :, 3:], downs[:, :, 3:]], axis=2).reshape(col_a.size, -1))
    order = np.argsort(cls, kind="stable")
    bounds = np.searchsorted(cls[order], np.arange(n_cls + 1))
    per = _per_variable(ups[order], downs[order]).transpose(1, 0, 2, 3)  # (S, n_cols, 5, 3), sorted by class
    ptar = np.empty((N_STATES, col_a.size, 3, 3, 3))
    np.multiply(per[:, :, 0, :, None, None] * per[:, :, 1, None, :, None], per[:, :, 2, None, None, :], out=ptar)
    ptar = ptar.reshape(N_STATES, col_a.size, 27)
    rep = per[:, bounds[:-1]]  # one column per class
    pwx = np.empty((N_STATES, n_cls, 3, 3))
    np.multiply(rep[:, :, 3, :, None], rep[:, :, 4, None, :], out=pwx)
    pwx = pwx.reshape(N_STATES, n_cls, 9)
    where = np.empty_like(order)
    where[order] = np.arange(order.size)
    return MoveFactors(tables=tb, reward=tb.reward.reshape(N_STATES, N_ACTIONS), p_mediation=p_med, ptar=ptar, pwx=pwx,
                       bounds=bounds, counts=np.diff(bounds), pos0=where[:N_ACTIONS], med_actions=med_actions,
                       pos1=where[N_ACTIONS:])


class Operator:
    """Bellman expectations for one parameter set: continuation vectors, E[V(s')] for every
    (s, a) of a phase block, and the move kernel of a policy (for evaluation and occupancy).

    ``dynamics`` is the parameter set whose move probabilities and rewards are used; it defaults
    to ``params``. For `timeline` and `calendar` the solver passes ``params.continuation()``:
    sections 5.1, 5.3 and 6 do not read the calendar or the horizon (a test checks the tables
    agree), so the 44-step problem and its continuation share one set of tables.
    """

    def __init__(self, params: AllianceParams, dynamics: AllianceParams | None = None):
        self.params = params
        self.factors = move_factors(dynamics if dynamics is not None else params)
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
        f = self.factors
        rows = slice(phase * BLOCK, (phase + 1) * BLOCK)
        y = f.pwx[rows] @ c_block[NEIGHBOURS].reshape(BLOCK, 27, 9).transpose(0, 2, 1)  # (1080, n_classes, 27)
        y = np.repeat(y, f.counts, axis=1)  # (1080, n_cols, 27): each column's class
        out = np.einsum("scj,scj->sc", f.ptar[rows], y)
        e = out[:, f.pos0]
        if f.med_actions.size:
            pm = f.p_mediation[rows][:, f.med_actions]
            e[:, f.med_actions] += pm * (out[:, f.pos1] - e[:, f.med_actions])
        return e

    def q_block(self, c_block: np.ndarray, phase: int) -> np.ndarray:
        """Q(s, a) = r(s, a) + gamma E[V(s')] on one phase block: (1080, 96)."""
        rows = slice(phase * BLOCK, (phase + 1) * BLOCK)
        return self.factors.reward[rows] + self.gamma * self.expect(c_block, phase)

    # ------------------------------------------------------------------ one policy
    def policy_moves(self, policy: np.ndarray, phases=range(N_PHASES)) -> np.ndarray:
        """Move distributions under a policy on the given phase blocks: (n_blocks * 1080, 243).

        ``policy`` is (S,) flat actions (rows via ``envs.model.move_distribution`` on the tables)
        or (S, 96) action probabilities (mixed through the factor tensors)."""
        rows = np.concatenate([np.arange(ph * BLOCK, (ph + 1) * BLOCK) for ph in phases])
        policy = np.asarray(policy)
        if policy.ndim == 1:
            tb_rows = rows * N_ACTIONS + policy[rows]
            tb = self.factors.tables
            d0 = model.move_distribution(tb.up[0, tb_rows], tb.down[0, tb_rows])
            pm = tb.p_mediation[tb_rows]
            if not np.any(pm > 0):
                return d0
            d1 = model.move_distribution(tb.up[1, tb_rows], tb.down[1, tb_rows])
            return d0 + pm[:, None] * (d1 - d0)
        f = self.factors
        dist = policy[rows]
        wcol = np.zeros((rows.size, f.ptar.shape[1]))
        pm = f.p_mediation[rows]
        wcol[:, f.pos0] = dist * (1.0 - pm)
        wcol[:, f.pos1] = dist[:, f.med_actions] * pm[:, f.med_actions]
        ptar = f.ptar[rows]
        z = np.empty((rows.size, 27, f.bounds.size - 1))
        for c in range(f.bounds.size - 1):
            lo, hi = f.bounds[c], f.bounds[c + 1]
            z[:, :, c] = (wcol[:, None, lo:hi] @ ptar[:, lo:hi])[:, 0]
        return (z @ f.pwx[rows]).reshape(rows.size, N_OFFSETS)

    def expect_policy(self, c: np.ndarray, moves: np.ndarray, phase: int) -> np.ndarray:
        """E[V(s')] under a policy on one block, from its block of ``policy_moves``: (1080,)."""
        return np.einsum("sk,sk->s", moves, c[phase][NEIGHBOURS])

    @staticmethod
    def block_matrix(moves_block: np.ndarray) -> np.ndarray:
        """(1080, 1080) within-block move kernel P[l, l'] of a policy (no phase event)."""
        flat = (np.arange(BLOCK)[:, None] * BLOCK + NEIGHBOURS).ravel()
        return np.bincount(flat, weights=moves_block.ravel(), minlength=BLOCK * BLOCK).reshape(BLOCK, BLOCK)

    def propagate(self, dist: np.ndarray, moves: np.ndarray, t: int) -> np.ndarray:
        """One step of the state distribution under a policy (moves over all 5400 states)."""
        db = dist.reshape(N_PHASES, BLOCK)
        mb = moves.reshape(N_PHASES, BLOCK, N_OFFSETS)
        target, prob = self.events(t)
        out = np.zeros((N_PHASES, BLOCK))
        for ph in range(N_PHASES):
            if not db[ph].any():
                continue
            moved = np.bincount(NEIGHBOURS.ravel(), weights=(db[ph][:, None] * mb[ph]).ravel(), minlength=BLOCK)
            e = prob[ph]
            out[ph] += (1.0 - e) * moved
            if e > 0:
                nt = int(target[ph])
                w = self.west[nt]
                out[nt] += e * (1.0 - w) * np.bincount(self.shock[nt, 0], weights=moved, minlength=BLOCK)
                if w > 0:
                    out[nt] += e * w * np.bincount(self.shock[nt, 1], weights=moved, minlength=BLOCK)
        return out.reshape(-1)


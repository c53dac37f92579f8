"""The tables of many contexts side by side, for the contextual vector env (issue 30).

Each context's blocks are built once by :class:`envs.tables.Tables` (the model's functions, never a
second copy) and copied into one array per table, a slot per (context, phase) built: Pr(up),
Pr(down), Pr(M = 1) and r(s, a). A context's flat key into them is the single-context key
(``MOVE_KEYS``, ``MED_KEYS``) plus a base per (context, phase) (``move_base``, ``med_base``), so the
step is :func:`envs.model.step_index` compiled, as ``envs.kernel.step_many`` runs it, with the
context's base added to the keys and its phase-event row and Pr(W <- 0) taken: the control flow
of a step stays the one in ``envs.model``.

Memory: a built block holds 1.02 MB of move probabilities (up and down), 0.83 MB of rewards and
4 KB of Pr(M = 1) per context: 1.85 MB per context and block (``war`` needs one block, phase 4; the
44-step scenarios five). The :class:`Tables` a block is built from is dropped once copied.
"""

from __future__ import annotations

import numba
import numpy as np

from envs.kernel import _step_one
from envs.params import N_PHASES, AllianceParams
from envs.spaces import N_ACTIONS
from envs.tables import BLOCK, MED_KEYS, MED_SIZE, MOVE_KEYS, MOVE_SIZE, PHASE_OF, Tables, after_shock


@numba.njit(cache=True)
def step_contexts(index, action, t, ctx, phase_of, move_keys, med_keys, move_base, med_base,  # noqa: PLR0913
                  p_med, up, down, event_target, event_prob, p_west, after_shock, u, slot, reward):
    """``envs.kernel.step_many`` with a context per state: ``ctx`` (N,) ids; keys offset by
    ``move_base[c, phase]``/``med_base[c, phase]``; ``event_target``/``event_prob`` ``[c, row, phase]``,
    ``p_west`` ``[c, phase]``. Returns next indices and the events as ``step_many``, and r(s, a) of
    each state before the step (``reward`` ``(slots * 1080 * 96,)``, ``slot[c, phase]``)."""
    n = index.shape[0]
    nxt = np.empty(n, np.int64)
    mediated = np.empty(n, np.bool_)
    changed = np.empty(n, np.bool_)
    west_reset = np.empty(n, np.bool_)
    floor = np.empty(n, np.int64)
    new_phase = np.empty(n, np.int64)
    rew = np.empty(n, np.float64)
    last_row = event_target.shape[1] - 1
    for i in range(n):
        s = index[i]
        a = action[i]
        c = ctx[i]
        ph = phase_of[s]
        rew[i] = reward[((slot[c, ph] - ph) * BLOCK + s) * N_ACTIONS + a]
        row = min(t[i], last_row)
        col = a * 2 + move_base[c, ph]
        keys = (move_keys[s, 0] + col, move_keys[s, 1] + col, move_keys[s, 2] + col, move_keys[s, 3] + col,
                move_keys[s, 4] + col)
        draws = (u[i, 0], u[i, 1], u[i, 2], u[i, 3], u[i, 4], u[i, 5], u[i, 6], u[i, 7])
        out = _step_one(s, ph, p_med[med_base[c, ph] + med_keys[s] + a], up, down, keys, event_target[c, row, ph],
                        event_prob[c, row, ph], p_west[c], after_shock, draws)
        nxt[i], mediated[i], changed[i], west_reset[i], floor[i] = out
        new_phase[i] = phase_of[out[0]]
    return nxt, mediated, changed, west_reset, floor, new_phase, rew


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
        self.move_base = np.zeros((c, N_PHASES), dtype=np.int64)
        self.med_base = np.zeros((c, N_PHASES), dtype=np.int64)
        self.slot = np.full((c, N_PHASES), -1, dtype=np.int64)  # (context, phase) -> slot, -1 not built
        self.moves = np.zeros((0, 2))  # [key, 0] Pr(up), [key, 1] Pr(down): one cache line for both
        self.p_med = np.zeros(0)
        self.reward_blocks = np.zeros((0, BLOCK, N_ACTIONS))
        self.after_shock = after_shock()

    @property
    def nbytes(self) -> int:
        """Bytes held by the per-context arrays."""
        return sum(a.nbytes for a in (self.moves, self.p_med, self.reward_blocks, self.event_target,
                                      self.event_prob, self.p_west))

    def ensure_reachable(self, contexts: np.ndarray, phases: np.ndarray) -> None:
        """Build (once) every block reachable from ``phases[i]`` in context ``contexts[i]``."""
        need: dict[int, set[int]] = {}
        for c, ph in set(zip(np.asarray(contexts).tolist(), np.asarray(phases).tolist())):
            need.setdefault(c, set()).update(r for r in self._reachable[c][ph] if self.slot[c, r] < 0)
        need = {c: phs for c, phs in need.items() if phs}
        if not need:
            return
        n_new = sum(len(phs) for phs in need.values())
        first = self.reward_blocks.shape[0]
        moves = np.concatenate([self.moves, np.empty((n_new * MOVE_SIZE, 2))])
        p_med = np.concatenate([self.p_med, np.empty(n_new * MED_SIZE)])
        reward = np.concatenate([self.reward_blocks, np.empty((n_new, BLOCK, N_ACTIONS))])
        k = first
        for c in sorted(need):
            tb = Tables(self.params[c]).ensure(need[c])  # built by envs.model, copied, dropped
            for ph in sorted(need[c]):
                moves[k * MOVE_SIZE:(k + 1) * MOVE_SIZE, 0] = tb.up[ph * MOVE_SIZE:(ph + 1) * MOVE_SIZE]
                moves[k * MOVE_SIZE:(k + 1) * MOVE_SIZE, 1] = tb.down[ph * MOVE_SIZE:(ph + 1) * MOVE_SIZE]
                p_med[k * MED_SIZE:(k + 1) * MED_SIZE] = tb.p_med[ph * MED_SIZE:(ph + 1) * MED_SIZE]
                reward[k] = tb.reward_blocks[ph]
                self.slot[c, ph] = k
                self.move_base[c, ph] = (k - ph) * MOVE_SIZE
                self.med_base[c, ph] = (k - ph) * MED_SIZE
                k += 1
        self.moves, self.p_med, self.reward_blocks = moves, p_med, reward
        self._reward_flat = reward.reshape(-1)

    @property
    def up(self) -> np.ndarray:
        """Pr(up) of every slot (a strided view of ``moves``)."""
        return self.moves[:, 0]

    @property
    def down(self) -> np.ndarray:
        return self.moves[:, 1]

    def reward_at(self, index: np.ndarray, action: np.ndarray, ctx: np.ndarray) -> np.ndarray:
        """r(s, a) of each env's state and action in its context."""
        slot = self.slot[ctx, PHASE_OF[index]]
        return np.take(self._reward_flat, (slot * BLOCK + index % BLOCK) * N_ACTIONS + action)

    def step_indices(self, index: np.ndarray, action: np.ndarray, t: np.ndarray, ctx: np.ndarray,
                     u: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One step of section 5 of every env in its context (:func:`step_contexts`): next indices,
        r(s, a) before the step and the events."""
        nxt, mediated, changed, west_reset, floor, new_phase, reward = step_contexts(
            index, action, t, ctx, PHASE_OF, MOVE_KEYS, MED_KEYS, self.move_base, self.med_base, self.p_med,
            self.up, self.down, self.event_target, self.event_prob, self.p_west, self.after_shock, u, self.slot,
            self._reward_flat)
        return nxt, reward, {"mediated": mediated, "phase_changed": changed, "west_reset": west_reset,
                             "threat_floor": floor, "new_phase": new_phase}

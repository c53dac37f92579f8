"""Look-up tables of one parameter set, computed by the pure functions of :mod:`envs.model` (never a
second copy of the dynamics) and shared by the env, the vector env and the exact solver.

What is stored, per phase block (the 1,080 states of one phase), built only for the blocks asked
for (:meth:`Tables.ensure`: the blocks reachable from the start, or a state an env is reset to):

- each moving variable's clipped Pr(up) and Pr(down) over the levels of the variables it reads
  (``envs.model.MOVE_READS``), every action and M: shape ``(T?, A?, R?, W?, X?, 96, 2)`` with 1 on
  the axes not read. 332 state combinations instead of 1,080, about 1 MB per block for both.
- Pr(M = 1) over the levels of R (``envs.model.MEDIATION_READS``) and every action;
- r(s, a) of every state-action of the block, ``(1080, 96)``.

The single env fills the same entries one state at a time instead (:meth:`Tables.fill_state`, on
a state's first visit: its 96 actions' moves under both M, Pr(M = 1) and r(s, a), by the same
functions of ``envs.model``), so creating an env costs milliseconds; the solver and the vector env
build whole blocks. Either way the entries are the same numbers in the same places.

All blocks live in arrays with a slot per phase (``np.zeros``: pages of blocks never built are
never touched), so a flat key ``KEYS[s, j] + a * 2 + M`` finds variable j's entry for state s,
action a and M in ``Tables.up``/``Tables.down`` whatever the phase. Phase events (5.2), Pr(W <- 0)
(5.4) and the entry-shock table are built here too; the control flow of a step is
``envs.model.step_index``, run as Python by the single env and compiled over N states by
``envs.kernel`` (arrays).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from envs import model
from envs.entry_shock import after_shock
from envs.params import N_PHASES, AllianceParams
from envs.spaces import ACTION_NVEC, ALL_ACTIONS, ALL_STATES, N_ACTIONS, N_STATES, STATE_LEVELS
from envs.state_rows import N_COLS, lazy_zeros, state_entries

BLOCK = N_STATES // N_PHASES  # 1080 states per phase
VARS = ("T", "A", "R", "W", "X")
LEVELS = tuple(int(n) for n in STATE_LEVELS[1:])


def _shape(reads: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(n if v in reads else 1 for v, n in zip(VARS, LEVELS))


MOVE_SHAPES = {v: _shape((v,) + model.MOVE_READS[v]) for v in VARS}
MOVE_SIZES = [int(np.prod(MOVE_SHAPES[v])) * N_COLS for v in VARS]
MOVE_OFFSETS = np.concatenate([[0], np.cumsum(MOVE_SIZES)[:-1]]).astype(np.int64)
MOVE_SIZE = int(sum(MOVE_SIZES))  # per block
MED_SHAPE = _shape(model.MEDIATION_READS)
MED_SIZE = int(np.prod(MED_SHAPE)) * N_ACTIONS
LOCAL = ALL_STATES[:BLOCK, 1:]  # (1080, 5) levels of T, A, R, W, X


def _key(shape: tuple[int, ...], levels: np.ndarray) -> np.ndarray:
    """Flat position of each state's combination in a table of ``shape`` (axes of size 1 not read)."""
    strides = [int(np.prod(shape[j + 1:])) if shape[j] > 1 else 0 for j in range(5)]
    return levels @ np.array(strides, dtype=np.int64)


def _keys() -> tuple[np.ndarray, np.ndarray]:
    """(5400, 5) flat keys into ``up``/``down`` (add ``a * 2 + M``) and (5400,) into ``p_med``."""
    local = np.stack([MOVE_OFFSETS[j] + _key(MOVE_SHAPES[v], LOCAL) * N_COLS for j, v in enumerate(VARS)], axis=1)
    phase = np.repeat(np.arange(N_PHASES), BLOCK)[:, None]
    move = np.tile(local, (N_PHASES, 1)) + phase * MOVE_SIZE
    med = np.tile(_key(MED_SHAPE, LOCAL) * N_ACTIONS, N_PHASES) + phase[:, 0] * MED_SIZE
    return move, med


MOVE_KEYS, MED_KEYS = _keys()
PHASE_OF = ALL_STATES[:, 0].copy()  # flat index -> phase (a take is faster than // 1080)
# the same keys and phases as int32, for the vector env's compiled loop (envs.kernel.advance_into):
# half the bytes, fewer cache lines read per state (N = 4,096: 133 -> 128 us)
MOVE_KEYS32, MED_KEYS32, PHASE_OF32 = (a.astype(np.int32) for a in (MOVE_KEYS, MED_KEYS, PHASE_OF))
for _a in (MOVE_KEYS, MED_KEYS, PHASE_OF, MOVE_KEYS32, MED_KEYS32, PHASE_OF32):
    _a.setflags(write=False)


def _grid(shape: tuple[int, ...], phase: int) -> np.ndarray:
    """States of one phase whose levels run over ``shape`` (0 on the axes not read)."""
    grid = np.zeros((int(np.prod(shape)), 6), dtype=np.int64)
    grid[:, 0] = phase
    grid[:, 1:] = np.stack(np.unravel_index(np.arange(grid.shape[0]), shape), axis=1)
    return grid


CHUNK_ROWS = 8192  # rows per call of envs.model's functions in a block build: their temporaries stay in the cache


def _by_chunks(fn, n: int, n_out: int) -> tuple[np.ndarray, ...]:
    """``fn(slice)`` over ``n`` rows a chunk of :data:`CHUNK_ROWS` at a time, its ``n_out`` outputs
    stacked (the model's functions work row by row: the numbers of one call over every row)."""
    out: list[np.ndarray] = []
    for lo in range(0, n, CHUNK_ROWS):
        part = fn(slice(lo, min(lo + CHUNK_ROWS, n)))
        if not out:
            out = [np.empty((n,) + x.shape[1:]) for x in part]
        for o, x in zip(out, part):
            o[lo:lo + x.shape[0]] = x
    return tuple(out[:n_out])


def _at_phase(states: np.ndarray, phase: int) -> np.ndarray:
    out = states.copy()
    out[:, 0] = phase
    return out


# Section 5.3 read off: before clipping, each variable's Pr(up)/Pr(down) reads the levels of
# envs.model.MOVE_READS and no other, and its own level only for the variables in RAW_READS_OWN
# (T: its drift reads T); clipping (envs.model.clip_move_probs) reads each entry's own level alone.
# So a block's moves are envs.model.raw_move_probs on a few representative states (every combination
# of what each variable's raw probabilities read, about 45 states x 96 actions x 2 M instead of
# 332 x 192 rows), then envs.model.clip_move_probs on every table entry with its own level: the
# numbers of envs.model.move_probs on that entry's state, bit for bit (tests/agents/test_compiled.py
# and tests/envs/test_lazy_tables.py check every entry).
RAW_READS_OWN = ("T",)


@lru_cache(maxsize=1)
def _raw_plan() -> tuple[np.ndarray, ...]:
    """The representative states (phase column 0) x 96 actions x M of a block build's raw moves, and
    for every table entry (column j: variable j's entries in table order, (combination, action, M),
    padded) the flat position in the raw (rows, 5) array it reads and its own level (made once)."""
    raw_reads = {v: [VARS.index(r) for r in (v,) * (v in RAW_READS_OWN) + model.MOVE_READS[v]] for v in VARS}
    keys = {v: LOCAL[:, cols] @ np.cumprod([1] + [LEVELS[c] for c in cols][:-1]) if cols else np.zeros(BLOCK, np.int64)
            for v, cols in raw_reads.items()}
    covered = {v: np.zeros(int(keys[v].max()) + 1, dtype=bool) for v in VARS}
    reps: list[int] = []
    while not all(c.all() for c in covered.values()):  # greedy: the state covering most missing combinations
        gain = sum((~covered[v][keys[v]]).astype(np.int64) for v in VARS)
        best = int(np.argmax(gain))
        reps.append(best)
        for v in VARS:
            covered[v][keys[v][best]] = True
    rep_of = {v: np.zeros(covered[v].size, dtype=np.int64) for v in VARS}
    for i, l in reversed(list(enumerate(reps))):
        for v in VARS:
            rep_of[v][keys[v][l]] = i
    n_rep = len(reps)
    states = np.zeros((n_rep, 6), dtype=np.int64)
    states[:, 1:] = LOCAL[reps]
    longest = max(MOVE_SIZES)
    take = np.zeros((longest, 5), dtype=np.int64)
    level = np.zeros((longest, 5), dtype=np.int64)
    for j, v in enumerate(VARS):
        grid = _grid(MOVE_SHAPES[v], 0)[:, 1:]  # the table's combinations (0 on the axes not read)
        cols = raw_reads[v]
        key = grid[:, cols] @ np.cumprod([1] + [LEVELS[c] for c in cols][:-1]) if cols else np.zeros(len(grid), np.int64)
        rep = rep_of[v][key]  # (combinations,)
        entry = np.arange(MOVE_SIZES[j])
        combo, action, med = entry // (2 * N_ACTIONS), entry // 2 % N_ACTIONS, entry % 2
        take[:MOVE_SIZES[j], j] = ((med * n_rep + rep[combo]) * N_ACTIONS + action) * len(VARS) + j
        level[:MOVE_SIZES[j], j] = grid[combo, j]
    rows = (np.tile(np.repeat(states, N_ACTIONS, axis=0), (2, 1)), np.tile(ALL_ACTIONS, (2 * n_rep, 1)),
            np.repeat([0, 1], n_rep * N_ACTIONS))
    packed_take, packed_level = _packed(take, level)
    # held in the smallest exact integer types (levels and actions < 128, positions < 2^31): 0.4 MB, not
    # 1.7; Tables._build reads them back as int64, so envs.model sees the arrays it always saw
    full = rows + (packed_take, packed_level)
    out = tuple(a.astype(np.int32 if a is packed_take else np.int8) for a in full)
    if not all(np.array_equal(a, b) for a, b in zip(out, full)):
        raise ValueError("envs.tables._raw_plan: a level, action or position does not fit its compact integer type")
    for a in out:
        a.setflags(write=False)
    return out


# Clipping (envs.model.clip_move_probs) works entry by entry and reads an entry's own level only as
# "at the top" (>= MOVING_LEVELS - 1) or "at 0"; every variable has a level between (3 levels or more).
# So the table's entries, in table order (variable by variable, MOVE_OFFSETS), are clipped five to a
# row, an entry of variable j sitting in column k = its position % 5 with its level read in column
# k's terms (0 -> 0, top -> k's top, else 1): about 12.7k rows instead of 51.8k padded ones, the same
# operations on each entry (bit for bit; the tests compare every entry with envs.model.move_probs).
def _packed(take: np.ndarray, level: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The padded ``(longest, 5)`` positions and levels of :func:`_raw_plan` packed in table order,
    ``(ceil(MOVE_SIZE / 5), 5)``, each level mapped to its column's terms (padding reads entry 0)."""
    top = np.asarray(model.MOVING_LEVELS, dtype=np.int64) - 1
    if top.min() < 2:
        raise ValueError(f"envs.model.MOVING_LEVELS={model.MOVING_LEVELS}: packing the clip needs 3 levels or more")
    n_rows = -(-MOVE_SIZE // 5)
    flat_take = np.zeros(n_rows * 5, dtype=np.int64)
    flat_level = np.zeros(n_rows * 5, dtype=np.int64)
    for j in range(len(VARS)):
        pos = MOVE_OFFSETS[j] + np.arange(MOVE_SIZES[j])
        own = level[:MOVE_SIZES[j], j]
        flat_take[pos] = take[:MOVE_SIZES[j], j]
        flat_level[pos] = np.where(own <= 0, 0, np.where(own >= top[j], top[pos % 5], 1))
    return flat_take.reshape(n_rows, 5), flat_level.reshape(n_rows, 5)


# Section 6 read off: diplomacy d enters r(s, a) only through its last part, diplomacy_cost, which
# reads d alone (tests/envs/test_lazy_tables.py checks the claim on every state-action of a block).
# So a block's rewards are those of its d = 0 actions (a quarter of the rows) less that cost:
# r = (ces + bonus - troop - basing) - diplomacy_cost, and at d = 0 the cost is 0, so the
# difference is the model's own sum bit for bit.
REWARD_D_PART = "diplomacy_cost"
if list(model.REWARD_PARTS)[-1] != REWARD_D_PART or model.REWARD_PARTS[REWARD_D_PART] != -1.0:
    raise ValueError(f"envs.model.REWARD_PARTS={model.REWARD_PARTS}: envs.tables needs -{REWARD_D_PART} last")
N_D = int(ACTION_NVEC[3])  # diplomacy's levels: the fastest digit of a flat action


D0_ACTIONS = ALL_ACTIONS[ALL_ACTIONS[:, 3] == 0]  # the actions at d = 0, in flat order


def _reward_rows(sl: slice, phase: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``sl`` of a block's rewards at d = 0, state-major: row i is the block's state i // 24 with
    the (i % 24)-th action at d = 0 (made a chunk at a time: nothing held between builds)."""
    n_a = D0_ACTIONS.shape[0]
    first, last = sl.start // n_a, -(-sl.stop // n_a)  # the states the rows touch
    rows = slice(sl.start - first * n_a, sl.stop - first * n_a)
    states = np.repeat(ALL_STATES[first:last], n_a, axis=0)[rows]  # a new array (phase column 0: the first block)
    states[:, 0] = phase
    return states, np.tile(D0_ACTIONS, (last - first, 1))[rows]


def _reward_block(p: AllianceParams, ph: int) -> np.ndarray:
    """r(s, a) of one block, (1080, 96): ``envs.model.reward`` at d = 0 less each d's diplomacy cost
    (``envs.model.reward_terms`` of one state; see :data:`REWARD_D_PART`)."""
    r0 = _by_chunks(lambda sl: (model.reward(*_reward_rows(sl, ph), p),), BLOCK * D0_ACTIONS.shape[0], 1)[0]
    probe = np.zeros((N_D, 4), dtype=np.int64)
    probe[:, 3] = np.arange(N_D)
    cost = model.reward_terms(_reward_rows(slice(0, N_D), ph)[0], probe, p)[REWARD_D_PART]
    return (r0.reshape(BLOCK, -1, 1) - cost).reshape(BLOCK, N_ACTIONS)


class Tables:
    """The tables of one parameter set (see the module docstring); blocks are filled on demand."""

    def __init__(self, params: AllianceParams):
        self.params = params
        self.up = lazy_zeros(N_PHASES * MOVE_SIZE)
        self.down = lazy_zeros(N_PHASES * MOVE_SIZE)
        self.p_med = lazy_zeros(N_PHASES * MED_SIZE)
        self.reward_blocks = lazy_zeros((N_PHASES, BLOCK, N_ACTIONS))
        self.built = np.zeros(N_PHASES, dtype=bool)
        self.info_terms: dict[int, memoryview] = {}  # state -> its (96, 7) reward terms, flat (envs.info.term_row)
        self.timed = params.calendar is not None
        n_t = params.horizon if self.timed else 1
        probe = np.zeros((n_t * N_PHASES, 6), dtype=np.int64)
        probe[:, 0] = np.tile(np.arange(N_PHASES), n_t)
        target, prob = model.phase_event(probe, np.repeat(np.arange(n_t), N_PHASES), params)
        self.event_target = target.reshape(n_t, N_PHASES)  # [t or 0, phase]
        self.event_prob = prob.reshape(n_t, N_PHASES)
        phases = np.arange(N_PHASES)
        self.p_west = model.west_shock_prob(phases, np.ones(N_PHASES, dtype=bool), params)  # on entering

    @property
    def after_shock(self) -> np.ndarray:
        """:func:`after_shock` (made on first use: the exact solvers never read it)."""
        return after_shock()

    # ------------------------------------------------------------------ building
    def reachable(self, phase: int) -> list[int]:
        """Phases reachable from ``phase`` (itself included) by phase events at any date."""
        seen, todo = {int(phase)}, [int(phase)]
        while todo:
            ph = todo.pop()
            for t in range(self.event_target.shape[0]):
                if self.event_prob[t, ph] > 0 and int(self.event_target[t, ph]) not in seen:
                    seen.add(int(self.event_target[t, ph]))
                    todo.append(int(self.event_target[t, ph]))
        return sorted(seen)

    def ensure(self, phases) -> Tables:
        """Build the blocks of ``phases`` not built yet (by ``envs.model``); returns ``self``."""
        for ph in sorted({int(p) for p in phases}):
            if not self.built[ph]:
                self._build(ph)
        return self

    def ensure_reachable(self, states_phases) -> Tables:
        """Build every block reachable from the given phases."""
        return self.ensure({r for ph in set(np.asarray(states_phases).ravel().tolist()) for r in self.reachable(ph)})

    def _build(self, ph: int) -> None:
        p = self.params
        reps, actions, mediated, take, level = _raw_plan()  # compact integers (_raw_plan): as int64 here
        up_raw, down_raw = model.raw_move_probs(_at_phase(reps.astype(np.int64), ph), actions.astype(np.int64),
                                                mediated.astype(np.int64), p)
        # the table's entries in table order, five to a row (_packed)
        up_raw, down_raw = up_raw.ravel(), down_raw.ravel()  # take holds flat positions (row * 5 + column)
        up, down = _by_chunks(lambda sl: model.clip_move_probs(up_raw[take[sl]], down_raw[take[sl]],
                                                               level[sl].astype(np.int64)), take.shape[0], 2)
        seg = slice(ph * MOVE_SIZE, (ph + 1) * MOVE_SIZE)  # packed in table order (_packed)
        self.up[seg] = up.ravel()[:MOVE_SIZE]
        self.down[seg] = down.ravel()[:MOVE_SIZE]
        grid = _grid(MED_SHAPE, ph)
        self.p_med[ph * MED_SIZE:(ph + 1) * MED_SIZE] = model.mediation_prob(
            np.repeat(grid, N_ACTIONS, axis=0), np.tile(ALL_ACTIONS, (grid.shape[0], 1)), p)
        self.reward_blocks[ph] = _reward_block(p, ph)
        self.built[ph] = True

    def fill_state(self, s: int) -> dict[str, np.ndarray]:
        """Fill the entries of flat state ``s`` that its block's build would fill (:func:`state_entries`,
        skipped when the block is built) and return ``envs.model.reward_terms`` of its 96 actions (the
        single env's first visit)."""
        if self.built[s // BLOCK]:
            return state_entries(self.params, s, moves=False)[3]
        up, down, p_med, terms = state_entries(self.params, s)
        cols = MOVE_KEYS[s][:, None] + np.arange(N_COLS)  # (5, 192): column a * 2 + M
        self.up[cols], self.down[cols] = up, down
        self.p_med[MED_KEYS[s]:MED_KEYS[s] + N_ACTIONS] = p_med
        self.reward_blocks.reshape(-1)[s * N_ACTIONS:(s + 1) * N_ACTIONS] = terms["reward"]
        return terms

    # ------------------------------------------------------------------ views for the solver
    def move_table(self, var: str, phase: int) -> tuple[np.ndarray, np.ndarray]:
        """Views ``(up, down)`` of one variable on one block: ``MOVE_SHAPES[var] + (96, 2)``."""
        self.ensure([phase])
        j = VARS.index(var)
        seg = slice(phase * MOVE_SIZE + MOVE_OFFSETS[j], phase * MOVE_SIZE + MOVE_OFFSETS[j] + MOVE_SIZES[j])
        shape = MOVE_SHAPES[var] + (N_ACTIONS, 2)
        return self.up[seg].reshape(shape), self.down[seg].reshape(shape)

    def mediation_block(self, phase: int) -> np.ndarray:
        """Pr(M = 1) of every (s, a) of one block, (1080, 96)."""
        self.ensure([phase])
        return self.p_med[MED_KEYS[phase * BLOCK:(phase + 1) * BLOCK, None] + np.arange(N_ACTIONS)]

    def reward_block(self, phase: int) -> np.ndarray:
        """r(s, a) of one block, (1080, 96)."""
        self.ensure([phase])
        return self.reward_blocks[phase]

    # ------------------------------------------------------------------ look-ups by flat index
    def move_probs(self, state_index: np.ndarray, action_index: np.ndarray,
                   mediated: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
        """Clipped Pr(up), Pr(down) of T, A, R, W, X, (N, 5) each (built blocks only)."""
        key = MOVE_KEYS[state_index] + (np.asarray(action_index) * 2 + np.asarray(mediated, dtype=np.int64))[:, None]
        return self.up[key], self.down[key]

    def mediation(self, state_index: np.ndarray, action_index: np.ndarray) -> np.ndarray:
        return self.p_med[MED_KEYS[state_index] + action_index]

    def reward_at(self, state_index: np.ndarray, action_index: np.ndarray) -> np.ndarray:
        return self.reward_blocks.reshape(-1)[np.asarray(state_index) * N_ACTIONS + action_index]

    @property
    def reward(self) -> np.ndarray:
        """r(s, a) of all 5400 x 96 state-actions, row ``s * 96 + a`` (builds every block)."""
        self.ensure(range(N_PHASES))
        return self.reward_blocks.reshape(-1)

    @property
    def p_mediation(self) -> np.ndarray:
        """Pr(M = 1) of all state-actions, row ``s * 96 + a`` (builds every block)."""
        self.ensure(range(N_PHASES))
        return (self.p_med[MED_KEYS[:, None] + np.arange(N_ACTIONS)]).reshape(-1)

    def step_indices(self, state_index: np.ndarray, action_index: np.ndarray, t: np.ndarray | int,
                     u: np.ndarray | np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One step of section 5 on flat indices, uniforms ``u`` (N, 8), or drawn from the generator
        ``u`` as ``u.random((N, 8))`` would: ``envs.model.step_index`` for each state, compiled
        (:func:`envs.kernel.step_many`)."""
        from envs.kernel import step_many  # numba only where arrays are stepped

        index = np.ascontiguousarray(state_index, dtype=np.int64)
        t = np.asarray(t, dtype=np.int64)
        if t.shape != index.shape or not t.flags.c_contiguous:  # (the vector env passes (N,) int64 already)
            t = np.ascontiguousarray(np.broadcast_to(t, index.shape))
        nxt, mediated, changed, west_reset, floor, new_phase = step_many(
            index, np.ascontiguousarray(action_index, dtype=np.int64), t, PHASE_OF, MOVE_KEYS, MED_KEYS, self.p_med,
            self.up, self.down, self.event_target, self.event_prob, self.p_west, self.after_shock, u)
        return nxt, {"mediated": mediated, "phase_changed": changed, "west_reset": west_reset,
                     "threat_floor": floor, "new_phase": new_phase}

    def step(self, states: np.ndarray, state_index: np.ndarray, action_index: np.ndarray,
             t: np.ndarray | int, u: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One step of section 5 by table look-up (uniforms ``u``: (N, 8)); next states (N, 6) and
        the events ``mediated``, ``phase_changed``, ``threat_floor``, ``west_reset``."""
        self.ensure_reachable(np.asarray(state_index) // BLOCK)
        nxt, ev = self.step_indices(np.asarray(state_index), np.asarray(action_index), t, u)
        ev.pop("new_phase")
        return ALL_STATES[nxt], ev


@lru_cache(maxsize=64)
def shared_tables(params: AllianceParams) -> Tables:
    """The one :class:`Tables` of ``params`` (cached per parameter set), no block built yet: the
    single env fills it state by state, :func:`build_tables` block by block."""
    return Tables(params)


def build_tables(params: AllianceParams) -> Tables:
    """The shared tables of ``params`` (:func:`shared_tables`), with the blocks reachable from its start."""
    return shared_tables(params).ensure_reachable([params.start[0]])


build_tables.cache_clear = shared_tables.cache_clear  # type: ignore[attr-defined]  # the one cache

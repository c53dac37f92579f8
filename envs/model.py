"""The model of docs/model.md, sections 5 and 6, as pure functions over arrays.

This module is the one copy of the dynamics. The single env, the vector env, the transition
tables and the exact solver all call these functions; nothing else computes a probability or a
reward.

Conventions: ``states`` is an ``(N, 6)`` integer array ``(phase, T, A, R, W, X)``; ``actions`` is an
``(N, 4)`` integer array ``(m, k, g, d)``; ``p`` is an :class:`envs.params.AllianceParams`. Every
parameter is read for the phase of the state *before* the step (section 5.3). The order of moving
variables in ``(N, 5)`` arrays is the state's order: ``T, A, R, W, X`` (columns 1..5 of a state).

The strategic patron (section 11): ``patron`` is an ``(N, 3)`` integer array of the patron's actions
``(D, IP, sigma)``. Where it is None the patron plays its table, :func:`table_patron` ``(D_phase,
IP_phase, support_phase)`` (support 2 unless a commitment overrides it): the single-agent model is
the game with that patron, through the same lines below, so its numbers are bit for bit those of
sections 5-6 (sigma = 2 makes kappa * sigma / 2 = kappa and .10 (2 - sigma) = 0 exactly).
"""

from __future__ import annotations

import numpy as np

from envs.params import AllianceParams
from envs.spaces import STATE_LEVELS
from envs.utility import REWARD_PARTS as REWARD_PARTS  # (re-exported: r's parts, section 6)
from envs.utility import ces_of, ces_part, reward_sum, security_of

MOVING_LEVELS = STATE_LEVELS[1:]  # levels of T, A, R, W, X
MAX_MOVE_PROB = 0.95  # section 5.3: clip to [0, .95], rescale when up + down > .95


def _phase_param(p: AllianceParams, name: str, phase: np.ndarray) -> np.ndarray:
    return np.asarray(getattr(p, name), dtype=np.float64)[phase]


PATRON_NVEC = np.array([4, 2, 3], dtype=np.int64)  # section 11: D in 0..3, IP in 0..1, sigma in 0..2
N_PATRON_ACTIONS = int(np.prod(PATRON_NVEC))  # 24, flat index (D * 2 + IP) * 3 + sigma
ALL_PATRON_ACTIONS = np.stack(np.unravel_index(np.arange(N_PATRON_ACTIONS), tuple(PATRON_NVEC)), axis=1).astype(np.int64)


def table_patron(states: np.ndarray, p: AllianceParams) -> np.ndarray:
    """Section 11: the table patron's action (D_phase, IP_phase, support_phase) in each state, ``(N, 3)``."""
    phase = np.asarray(states, dtype=np.int64)[:, 0]
    return np.stack([np.asarray(p.demand, dtype=np.int64)[phase], np.asarray(p.pressure, dtype=np.int64)[phase],
                     np.asarray(p.support, dtype=np.int64)[phase]], axis=1)


def _patron(states: np.ndarray, patron: np.ndarray | None, p: AllianceParams) -> tuple[np.ndarray, ...]:
    """(D, IP, sigma) as float columns, the table patron's where ``patron`` is None."""
    a_p = table_patron(states, p) if patron is None else np.asarray(patron, dtype=np.int64)
    a_p = np.broadcast_to(a_p, (np.asarray(states).shape[0], 3))
    return a_p[:, 0].astype(np.float64), a_p[:, 1].astype(np.float64), a_p[:, 2].astype(np.float64)


def _split(states: np.ndarray, actions: np.ndarray):
    s = np.asarray(states, dtype=np.int64)
    a = np.asarray(actions, dtype=np.int64)
    return (s[:, 0], s[:, 1].astype(np.float64), s[:, 2], s[:, 3].astype(np.float64),
            s[:, 4].astype(np.float64), s[:, 5].astype(np.float64),
            a[:, 0], a[:, 1].astype(np.float64), a[:, 2], a[:, 3])


# --------------------------------------------------------------------------- section 5.1
def mediation_prob(states: np.ndarray, actions: np.ndarray, p: AllianceParams) -> np.ndarray:
    """Section 5.1, Mediation: Pr(M = 1) = q_phase [d=1][R>=2][m<=2][k=0]."""
    phase, _T, _A, R, _W, _X, m, k, _g, d = _split(states, actions)
    q = _phase_param(p, "mediation", phase)
    return q * ((d == 1) & (R >= 2) & (m <= 2) & (k == 0))


# --------------------------------------------------------------------------- section 5.2
def phase_event(states: np.ndarray, t: np.ndarray | int, p: AllianceParams) -> tuple[np.ndarray, np.ndarray]:
    """Section 5.2, Phase: returns ``(phase_if_event, prob_event)``, both ``(N,)``.

    By hazard, the event moves phase to phase + 1 with probability h_phase (h = 0 in phase 4).
    With a calendar, the phase at step t + 1 is ``calendar[t + 1]`` for certain (the last phase of
    the calendar holds after it ends); the event is "the date's phase differs from the state's".
    Without the event the phase stays.
    """
    phase = np.asarray(states, dtype=np.int64)[:, 0]
    if p.calendar is None:
        h = _phase_param(p, "hazard", phase)
        return np.minimum(phase + 1, len(p.hazard) - 1), np.where(phase < len(p.hazard) - 1, h, 0.0)
    cal = np.asarray(p.calendar + (p.calendar[-1],), dtype=np.int64)
    t_next = np.minimum(np.broadcast_to(np.asarray(t, dtype=np.int64), phase.shape) + 1, len(cal) - 1)
    nxt = cal[t_next]
    return nxt, (nxt != phase).astype(np.float64)


# --------------------------------------------------------------------------- section 5.3
def raw_move_probs(states: np.ndarray, actions: np.ndarray, mediated: np.ndarray | int,
                   p: AllianceParams, patron: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Section 5.3, the table of Pr(up) and Pr(down) before clipping, ``(N, 5)`` each; the patron's
    (D, IP) in place of the table's and R's fall + .10 (2 - sigma) (section 11)."""
    phase, T, A, R, W, X, m, k, g, d = _split(states, actions)
    M = np.broadcast_to(np.asarray(mediated, dtype=np.float64), phase.shape)
    tau = _phase_param(p, "tau", phase)
    D, IP, sigma = _patron(states, patron, p)
    L = _phase_param(p, "lockout", phase)
    c, iota, aw, ax = p.power, p.identification, p.alpha_west, p.alpha_far
    mf, gf = m.astype(np.float64), g.astype(np.float64)

    t_up = (0.05 + 0.25 * np.maximum(tau - T, 0) + 0.04 * T + 0.35 * (m == 3) + 0.10 * (m == 2) + 0.05 * k)
    med, far = p.mediation_effect_scale, p.far_arc_scale  # mediation's effects; far-arc ties' effects
    t_down = 0.05 + 0.25 * np.maximum(T - tau, 0) + 0.10 * ((d == 3) & (W >= 1)) + 0.04 * far * X + 0.25 * med * M

    r_up = 0.05 + 0.05 * iota + 0.20 * (mf >= D) + 0.05 * (mf > D) + 0.08 * k + 0.06 * gf + 0.40 * med * M
    ab = p.abandonment_scale  # abandonment: trust falls for doing less than the patron demands
    r_down = (0.03 + 0.18 * ab * np.maximum(D - mf, 0) * (1 - 0.6 * c) + (0.06 + 0.04 * T) * (d == 3)
              + 0.04 * (d == 2) + 0.10 * (g == 0) * IP - 0.02 * iota) + 0.10 * (2 - sigma)

    w_up = aw * L * (0.30 * (d == 3) + 0.05 * ((m <= 1) & (k == 0)))
    lo = p.west_lockout_scale  # the West's lock-out: every term of W's fall but its .05 drift
    w_down = (0.05 + lo * 0.20 * (m >= 2) + lo * 0.20 * (m == 3) + lo * 0.15 * k + lo * 0.05 * (g == 2)
              + lo * 0.2 * (1 - L))

    x_up = 0.30 * ax * (d == 2)
    x_down = np.full_like(T, 0.04)

    a_up = (0.04 * ((g == 0) & (m <= 2)) + 0.12 * far * ax * (d == 2) + 0.08 * aw * L * ((d == 3) & (W >= 1))
            + 0.5 * med * M + 0.05 * c)
    coercion = 0.25 * p.coercion_scale * ((R <= 1) & (phase >= 1)) * (1 - far * X / 4) * (1 - c / 2)
    a_down = (0.35 * p.deep_cost_scale * (g == 2) + 0.12 * (g == 1) + 0.10 * (m >= 2) + 0.08 * k + coercion)

    up = np.stack([t_up, a_up, r_up, w_up, x_up], axis=1)
    down = np.stack([t_down, a_down, r_down, w_down, x_down], axis=1)
    return up, down


def clip_move_probs(up: np.ndarray, down: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Section 5.3's rule, in its order: clip each to [0, .95]; if up + down > .95 scale both by
    .95 / (up + down); then up := 0 at the top level and down := 0 at level 0 (that mass stays).
    ``levels`` are the current levels of T, A, R, W, X, ``(N, 5)``."""
    up = np.clip(up, 0.0, MAX_MOVE_PROB)
    down = np.clip(down, 0.0, MAX_MOVE_PROB)
    total = up + down
    scale = np.where(total > MAX_MOVE_PROB, MAX_MOVE_PROB / np.where(total > 0, total, 1.0), 1.0)
    up, down = up * scale, down * scale
    up = np.where(levels >= MOVING_LEVELS - 1, 0.0, up)
    down = np.where(levels <= 0, 0.0, down)
    return up, down


def move_probs(states: np.ndarray, actions: np.ndarray, mediated: np.ndarray | int,
               p: AllianceParams, patron: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Section 5.3: clipped Pr(up), Pr(down) of T, A, R, W, X given (s, a, M) (and the patron's
    action, section 11), ``(N, 5)`` each."""
    up, down = raw_move_probs(states, actions, mediated, p, patron)
    return clip_move_probs(up, down, np.asarray(states, dtype=np.int64)[:, 1:])


def sample_moves(up: np.ndarray, down: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Moves in {-1, 0, +1} from uniforms ``u`` (same shape): up if u < Pr(up), down if
    u >= 1 - Pr(down), else stay."""
    return (u < up).view(np.int8) - (u >= 1.0 - down).view(np.int8)


# --------------------------------------------------------------------------- section 5.4
def entry_shock_floor(new_phase: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """Section 5.4: the threat floor on entering phase 1 or 2 (T <- max(T, 2)); 0 otherwise."""
    return np.where(changed & ((new_phase == 1) | (new_phase == 2)), 2, 0)


def west_shock_prob(new_phase: np.ndarray, changed: np.ndarray, p: AllianceParams) -> np.ndarray:
    """Section 5.4: Pr(W <- 0) on entering phase 1 (0.9 by default), independent of the rest."""
    return np.where(changed & (new_phase == 1), p.west_shock, 0.0)


def apply_entry_shock(moved: np.ndarray, new_phase: np.ndarray, changed: np.ndarray,
                      west_reset: np.ndarray) -> np.ndarray:
    """Section 5.4 applied to states after step 3's moves: sets the new phase, floors T on entry
    into phase 1 or 2 and sets W to 0 where ``west_reset`` (drawn with :func:`west_shock_prob`)."""
    out = np.array(moved, dtype=np.int64, copy=True)
    out[:, 0] = new_phase
    out[:, 1] = np.maximum(out[:, 1], entry_shock_floor(new_phase, changed))
    out[:, 4] = np.where(west_reset & changed & (new_phase == 1), 0, out[:, 4])
    return out


# --------------------------------------------------------------------------- section 6
# r's parts (REWARD_PARTS) and its last steps, security to r, are envs.utility's: one copy, which the
# contextual vector env's step compiles (envs.context_rewards).


def reward_terms(states: np.ndarray, actions: np.ndarray, p: AllianceParams,
                 patron: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Section 6, Morrow's utility in CES form: every term, each ``(N,)``, and ``reward``; kappa is
    kappa_phase * sigma / 2 (section 11)."""
    phase, T, A, R, W, X, m, k, g, d = _split(states, actions)
    _D, _IP, sigma = _patron(states, patron, p)
    kappa = _phase_param(p, "capacity", phase) * sigma / 2
    c, iota = p.power, p.identification
    w_s, w_a, w_e = p.weights
    mf, gf = m.astype(np.float64), g.astype(np.float64)

    far = p.far_arc_scale  # far-arc ties' share of the shield
    shield = 1 - (1 - 0.5 * c) * (1 - 0.7 * kappa * R / 4) * (1 - 0.3 * W / 2) * (1 - 0.1 * far * X / 2)
    trap = p.entrapment_scale * ((m == 3) * (0.15 + 0.35 * T / 3) + (m == 2) * 0.08 * T / 3)
    autonomy = 0.6 * A / 5 + 0.4 * (1 - 0.12 * mf - 0.15 * k - 0.12 * gf)
    economy = 0.4 * kappa * R / 4 + 0.4 * W / 2 + 0.2 * X / 2
    security = security_of(T, shield, trap)
    ces = ces_of(ces_part(w_s, security), ces_part(w_a, autonomy), ces_part(w_e, economy))
    identity_bonus = 0.15 * iota * (mf / 3 + k) / 2
    troop_cost = 0.25 * (1 - iota) * (m == 3)
    basing_cost = 0.03 * (1 - iota) * (m == 2)
    diplomacy_cost = 0.01 * (d != 0)
    terms = {
        "shield": shield, "trap": trap, "security": security, "autonomy": autonomy, "economy": economy,
        "ces": ces, "identity_bonus": identity_bonus, "troop_cost": troop_cost,
        "basing_cost": basing_cost, "diplomacy_cost": diplomacy_cost,
    }
    return {**terms, "reward": reward_sum(ces, identity_bonus, troop_cost, basing_cost, diplomacy_cost)}


def reward(states: np.ndarray, actions: np.ndarray, p: AllianceParams, patron: np.ndarray | None = None) -> np.ndarray:
    """Section 6: r(s, a), ``(N,)`` (r(s, a, a_P) with the patron's action, section 11)."""
    return reward_terms(states, actions, p, patron)["reward"]


def patron_reward(states: np.ndarray, actions: np.ndarray, patron: np.ndarray | None, p: AllianceParams,
                  terms: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Section 11: the patron's reward u_P(s, a, a_P) on the state before the step, ``(N,)``:
    w1 (tau/3)(m/3) + w2 k + w3 g + w4 (1 - A/5) + w5 S - w6 W - w7 [d=3] - w8 (sigma/2)(1.5 - kappa_phase),
    with S of section 6 under kappa_phase * sigma / 2 and w = ``p.patron_weights``. ``terms``:
    :func:`reward_terms` of the same rows, when the caller has them (S is read from there)."""
    phase, T, A, R, W, X, m, k, g, d = _split(states, actions)
    _D, _IP, sigma = _patron(states, patron, p)
    tau, kappa = _phase_param(p, "tau", phase), _phase_param(p, "capacity", phase)
    security = (reward_terms(states, actions, p, patron) if terms is None else terms)["security"]
    w1, w2, w3, w4, w5, w6, w7, w8 = p.patron_weights
    return (w1 * (tau / 3) * (m / 3) + w2 * k + w3 * g + w4 * (1 - A / 5) + w5 * security - w6 * W
            - w7 * (d == 3) - w8 * (sigma / 2) * (1.5 - kappa))


# --------------------------------------------------------------------------- one whole step
N_UNIFORMS = 8  # M, phase event, T, A, R, W, X, west shock


def step_from_probs(states: np.ndarray, p_mediation: np.ndarray, up_down: tuple, t: np.ndarray | int,
                    p: AllianceParams, u: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Sections 5.1-5.4 given the step's probabilities, with uniforms ``u`` of shape (N, 8).

    ``up_down(mediated) -> (up, down)`` returns the clipped move probabilities for the drawn M,
    so the caller may compute them (:func:`move_probs`) or look them up (``envs.tables``).
    Returns the next states and the events: ``mediated``, ``phase_changed``, ``threat_floor``
    (the threat floor applied) and ``west_reset``.
    """
    states = np.asarray(states, dtype=np.int64)
    mediated = u[:, 0] < p_mediation  # 5.1
    phase_if, p_event = phase_event(states, t, p)  # 5.2
    event = u[:, 1] < p_event
    new_phase = np.where(event, phase_if, states[:, 0])
    changed = new_phase != states[:, 0]
    up, down = up_down(mediated)  # 5.3, with the phase of s
    moved = states.copy()
    moved[:, 1:] += sample_moves(up, down, u[:, 2:7])
    west_reset = u[:, 7] < west_shock_prob(new_phase, changed, p)  # 5.4
    nxt = apply_entry_shock(moved, new_phase, changed, west_reset)
    floor = entry_shock_floor(new_phase, changed)
    events = {"mediated": mediated, "phase_changed": changed, "threat_floor": floor, "west_reset": west_reset}
    return nxt, events


def sample_step(states: np.ndarray, actions: np.ndarray, t: np.ndarray | int, p: AllianceParams,
                rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One step of section 5 for N states, drawing from ``rng``. The reward is :func:`reward`
    on the states before the step (5.5)."""
    states = np.asarray(states, dtype=np.int64)
    u = rng.random((states.shape[0], N_UNIFORMS))
    return step_from_probs(states, mediation_prob(states, actions, p),
                           lambda med: move_probs(states, actions, med, p), t, p, u)


# --------------------------------------------------------------------------- exact outcomes
OFFSETS = np.array(np.meshgrid(*[[-1, 0, 1]] * 5, indexing="ij")).reshape(5, -1).T  # (243, 5)


def move_distribution(up: np.ndarray, down: np.ndarray) -> np.ndarray:
    """Probabilities of the 243 joint offsets in :data:`OFFSETS` (T slowest, X fastest), the
    product of independent per-variable moves (section 10), ``(N, 243)``."""
    per_var = np.stack([down, 1.0 - up - down, up], axis=2)  # (N, 5, 3) for offsets -1, 0, +1
    out = per_var[:, 0, :]
    for j in range(1, 5):
        out = (out[:, :, None] * per_var[:, j, None, :]).reshape(out.shape[0], -1)
    return out


def move_mixture(up: np.ndarray, down: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A mixture of :func:`move_distribution` rows: up/down ``(N, B, 5)`` for B branches (actions,
    M) of each row, ``weights`` ``(N, B)``; returns sum over b of weights x the product of the
    per-variable moves, ``(N, 243)``, without the (N, B, 243) array (the last variable is summed
    over the branches by a matrix product)."""
    per_var = np.stack([down, 1.0 - up - down, up], axis=3)  # (N, B, 5, 3) for offsets -1, 0, +1
    out = per_var[:, :, 0, :] * weights[:, :, None]
    for j in range(1, 4):
        out = (out[:, :, :, None] * per_var[:, :, j, None, :]).reshape(out.shape[0], out.shape[1], -1)
    return np.matmul(out.transpose(0, 2, 1), per_var[:, :, 4, :]).reshape(out.shape[0], -1)


def outcomes(states: np.ndarray, actions: np.ndarray, p: AllianceParams,
             t: np.ndarray | int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Every next state of each (s, a) with its probability: ``(next_states (N, K, 6), probs (N, K))``
    over the K = 2 (M) x 2 (phase event) x 243 (moves) x 2 (west shock) branches. Rows sum to 1;
    the same next state may appear in several branches, and impossible branches have probability 0.
    """
    states = np.asarray(states, dtype=np.int64)
    actions = np.asarray(actions, dtype=np.int64)
    n = states.shape[0]
    p_med = mediation_prob(states, actions, p)
    phase_if, p_event = phase_event(states, t, p)
    all_next, all_prob = [], []
    for med in (0, 1):
        w_med = p_med if med else 1.0 - p_med
        up, down = move_probs(states, actions, med, p)
        moves = move_distribution(up, down)  # (N, 243)
        moved = states[:, None, :].repeat(OFFSETS.shape[0], axis=1)
        moved[:, :, 1:] += OFFSETS[None]
        moved = np.clip(moved, 0, STATE_LEVELS - 1)  # only zero-probability offsets are clipped
        for event in (0, 1):
            w_event = p_event if event else 1.0 - p_event
            new_phase = np.where(event == 1, phase_if, states[:, 0])
            changed = new_phase != states[:, 0]
            p_reset = west_shock_prob(new_phase, changed, p)
            for reset in (0, 1):
                w_reset = p_reset if reset else 1.0 - p_reset
                flat = moved.reshape(-1, 6)
                rep = lambda x: np.repeat(x, OFFSETS.shape[0])  # noqa: E731
                nxt = apply_entry_shock(flat, rep(new_phase), rep(changed), np.full(flat.shape[0], bool(reset)))
                all_next.append(nxt.reshape(n, -1, 6))
                all_prob.append((w_med * w_event * w_reset)[:, None] * moves)
    return np.concatenate(all_next, axis=1), np.concatenate(all_prob, axis=1)


# --------------------------------------------------------------------------- what each table reads
# Section 5.3's table read off row by row: besides its own level and the phase's parameters, the
# state variables whose levels each variable's Pr(up)/Pr(down) reads (T's fall reads W and X, R's
# fall reads T, A's moves read R, W and X); every action component and M may be read. envs.tables
# stores each variable's probabilities over these only (tests/test_tables.py checks the claim on
# every state-action); agents.bellman contracts the variables in an order where each comes after
# the variables it reads.
MOVE_READS = {"T": ("W", "X"), "A": ("R", "W", "X"), "R": ("T",), "W": (), "X": ()}
MEDIATION_READS = ("R",)  # section 5.1: q_phase [d=1][R>=2][m<=2][k=0]
U_MEDIATION, U_PHASE, U_WEST = 0, 1, 7  # columns of the step's uniforms; 2..6 move T, A, R, W, X
LOCAL_STRIDES = tuple(int(np.prod(MOVING_LEVELS[j + 1:])) for j in range(5))  # flat-index steps of T..X
_N_PHASES = int(STATE_LEVELS[0])
# section 5.4's threat floor by (new phase, changed), as entry_shock_floor gives it
ENTRY_FLOOR = entry_shock_floor(np.repeat(np.arange(_N_PHASES), 2), np.tile([False, True], _N_PHASES)).reshape(-1, 2)


# --------------------------------------------------------------------------- one step by look-up
def step_index(index: int, phase: int, p_mediation: float, up, down, keys: tuple, target: int, p_event: float,
               p_west, after_shock, u) -> tuple[int, bool, bool, bool, int]:
    """Section 5 for one state, with probabilities looked up (``envs.tables``): the one definition
    of a step's control flow. The single env calls it as Python (lists: its speed); the vector env
    and ``Tables.step_indices`` run it compiled over N states (``envs.kernel``, numba), the same
    source. The order of the draws ``u`` (8: M, phase event, T, A, R, W, X, west shock), the
    draw -> move rule (:func:`sample_moves`: up if u < Pr(up), down if u >= 1 - Pr(down)) and the
    key of the entry-shock table: ``up[keys[j] + M]``/``down[keys[j] + M]`` are the clipped
    probabilities of variable j (T, A, R, W, X) for this (s, a) and M; ``target``/``p_event`` the
    phase event (5.2), ``p_west`` Pr(W <- 0) on entering each phase (5.4), ``after_shock[((moved *
    5 + new_phase) * 2 + changed) * 2 + reset]`` the flat state after the shock (built by
    :func:`apply_entry_shock`). Returns ``(next, mediated, changed, west_reset, threat_floor)``."""
    u0, u1, u2, u3, u4, u5, u6, u7 = u
    mediated = u0 < p_mediation
    new_phase = target if u1 < p_event else phase
    changed = new_phase != phase
    moved = index
    for uj, k, stride in zip((u2, u3, u4, u5, u6), keys, LOCAL_STRIDES):
        k += mediated
        # sample_moves' rule (never both: Pr(up) + Pr(down) <= .95), without a branch: compiled, the
        # vector env's loop mispredicted these random outcomes (30 % of its step)
        moved += stride * ((uj < up[k]) - (uj >= 1.0 - down[k]))
    west_reset = (u7 < p_west[new_phase]) & changed
    nxt = after_shock[((moved * _N_PHASES + new_phase) * 2 + changed) * 2 + west_reset]
    return nxt, mediated, changed, west_reset, _FLOOR[new_phase][1 if changed else 0]


_FLOOR = tuple(tuple(row) for row in ENTRY_FLOOR.tolist())  # a constant tuple: plain Python and numba alike

"""An exact Markov perfect equilibrium of the patron game by support polishing (docs/model.md
section 11, concept 4): from a profile near an equilibrium (the logit path's), guess each state's
supports, solve the equilibrium's equations on them exactly, and repair the supports where the
solution is not an equilibrium.

On given supports (each state's small-state actions I(s) and patron actions J(s) in play), a
profile is a Markov perfect equilibrium when, in every state, each player is indifferent between
its own actions in play, their common value being its value:

    sum_{b in J(s)} pi_P(s, b) Q_S(s, a, b) = V_S(s)   for a in I(s),   sum_b pi_P(s, b) = 1,
    sum_{a in I(s)} pi_S(s, a) Q_P(s, a, b) = V_P(s)   for b in J(s),   sum_a pi_S(s, a) = 1,

with Q_i(s, a, b) = u_i(s, a, b) + gamma E[V_i(s') | s, a, b], and no action outside the supports
does better (the one-shot deviation principle: then no policy does, and NashConv is 0). The first
line's unknowns are (V_S, pi_P), the second's (V_P, pi_S): the system splits into two bilinear
systems, each square when |I(s)| = |J(s)| (the generic case), which Newton's method solves from the
path's profile with a sparse Jacobian (``gamma`` times the move rows of every (s, a, b) in play,
:func:`agents.game.kernels.pair_moves`, and the stage payoffs).

A wrong support shows in the solution: a probability below 0, or an action outside the support
that gains. In those states the stage game (Q_S(s), Q_P(s) at the solution's values) is solved
again by support enumeration over equal-sized supports of a few candidates (the actions in play,
the best replies, the path profile's likeliest) and the equilibrium nearest the current profile is
taken; then Newton again, until no state fails (a Lemke-Howson/support-enumeration polish per state
inside an outer loop on the values). The certificate is what counts: the exact NashConv of the
returned profile (:func:`agents.game.best_response.nash_conv`).

Where the stage games are decisive it ends at an exact MPE (the patron's weights all 0: 24 wrong
states repaired to NashConv 0 in 2 rounds, tests/agents/test_polish.py). From the logit path's
profile on `war` it does not (``benchmarks/game_speed.py --mpe``): the exact stage equilibria decide
the patron's near-ties in D and IP that the logit profile blends, values move by up to 0.5, the
first round certifies 0.20 with 116 states failing, and the repairs cascade (200-250 failing states
in the next rounds; with no limit on rounds it stops at round 31, when no repair lowers the total
violation), so the path's profile, certified 0.0076, is what it returns. `alliance game` does not run it (docs/model.md section 11).
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.sparse import linalg as splinalg

from agents.bellman import NEIGHBOURS
from agents.game.best_response import NashConv, nash_conv
from agents.game.kernels import pair_moves
from agents.game.operator import GameOperator
from envs.game_tables import N_PATRON
from envs.spaces import N_ACTIONS

LOG = logging.getLogger(__name__)
NEWTON_TOL = 1e-12  # max |residual| of the equations (payoff units)
GAIN_TOL = 1e-10  # an action outside the support that gains more than this is a violation
PROB_TOL = -1e-12  # a probability below this is a violation


@dataclass
class Supports:
    """Each state's actions in play: ``small`` (K_S, 2) and ``patron`` (K_P, 2) rows (state, action),
    sorted by state then action."""

    small: np.ndarray
    patron: np.ndarray

    @staticmethod
    def of(pi_s: np.ndarray, pi_p: np.ndarray, threshold: float) -> Supports:
        """The actions with probability at least ``threshold`` times their state's likeliest."""
        return Supports(np.argwhere(pi_s >= threshold * pi_s.max(axis=1, keepdims=True)),
                        np.argwhere(pi_p >= threshold * pi_p.max(axis=1, keepdims=True)))

    def sizes(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        return np.bincount(self.small[:, 0], minlength=n), np.bincount(self.patron[:, 0], minlength=n)

    def replace(self, state: int, small: np.ndarray, patron: np.ndarray) -> Supports:
        """These supports with ``state``'s replaced."""
        keep_s, keep_p = self.small[:, 0] != state, self.patron[:, 0] != state
        s = np.concatenate([self.small[keep_s], np.column_stack([np.full(len(small), state), small])])
        p = np.concatenate([self.patron[keep_p], np.column_stack([np.full(len(patron), state), patron])])
        return Supports(s[np.lexsort((s[:, 1], s[:, 0]))], p[np.lexsort((p[:, 1], p[:, 0]))])


class Triples:
    """Every (s, a, b) with a in I(s), b in J(s): its move row, neighbours and both rewards, and the
    positions of its a and b among the supports' pairs."""

    def __init__(self, op: GameOperator, sup: Supports):
        self.n = op.rows.size
        ks, kp = sup.sizes(self.n)
        start_s, start_p = np.concatenate([[0], np.cumsum(ks)]), np.concatenate([[0], np.cumsum(kp)])
        i_s, i_p = [], []
        for s in np.flatnonzero(ks * kp):  # pairs of positions, state by state
            a, b = np.meshgrid(np.arange(start_s[s], start_s[s + 1]), np.arange(start_p[s], start_p[s + 1]),
                               indexing="ij")
            i_s.append(a.ravel())
            i_p.append(b.ravel())
        self.i_s, self.i_p = np.concatenate(i_s), np.concatenate(i_p)
        self.state = sup.small[self.i_s, 0]
        self.a, self.b = sup.small[self.i_s, 1], sup.patron[self.i_p, 1]
        onehot = np.zeros((self.state.size, N_PATRON))
        onehot[np.arange(self.state.size), self.b] = 1.0
        self.moves = pair_moves(op, self.state, self.a[:, None], np.ones((self.state.size, 1)), onehot)
        self.nbr = NEIGHBOURS[self.state]
        self.reward = (op.game.reward_small[self.state, self.a, self.b], op.game.reward_patron[self.state, self.a, self.b])
        self.gamma = op.gamma

    def q(self, v: np.ndarray, player: int) -> np.ndarray:
        """Q of ``player`` (0 small state, 1 patron) at every triple for its values ``v`` (n,)."""
        return self.reward[player] + self.gamma * (self.moves * v[self.nbr]).sum(axis=1)


def _system(tr: Triples, sup: Supports, player: int, v: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, sparse.csr_matrix]:
    """The residual and Jacobian of ``player``'s indifference equations in (its values ``v`` (n,), the
    other's probabilities ``x`` on the other's pairs): rows = own pairs then one sum per state."""
    n = tr.n
    own, other = (sup.small, sup.patron) if player == 0 else (sup.patron, sup.small)
    i_own, i_other = (tr.i_s, tr.i_p) if player == 0 else (tr.i_p, tr.i_s)
    q = tr.q(v, player)
    k_own, k_other = len(own), len(other)
    res = np.bincount(i_own, weights=x[i_other] * q, minlength=k_own) - v[own[:, 0]]
    sums = np.bincount(other[:, 0], weights=x, minlength=n) - 1.0
    rows = np.concatenate([np.repeat(i_own, tr.nbr.shape[1]), np.arange(k_own), i_own,
                           k_own + other[:, 0]])
    cols = np.concatenate([tr.nbr.ravel(), own[:, 0], n + i_other, n + np.arange(k_other)])
    data = np.concatenate([(tr.gamma * x[i_other, None] * tr.moves).ravel(), -np.ones(k_own), q, np.ones(k_other)])
    jac = sparse.csr_matrix((data, (rows, cols)), shape=(k_own + n, n + k_other))
    return np.concatenate([res, sums]), jac


def solve_on_supports(op: GameOperator, sup: Supports, v_s: np.ndarray, v_p: np.ndarray, pi_s: np.ndarray,
                      pi_p: np.ndarray, max_iter: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Newton's method on both indifference systems from (values, the profile restricted to the
    supports and renormalised): (V_S, V_P, x_S, x_P, max |residual|); x on the supports' pairs."""
    n = op.rows.size
    ks, kp = sup.sizes(n)
    if np.any(ks != kp) or np.any(ks == 0):
        bad = int(np.flatnonzero(ks != kp)[0])
        raise ValueError(f"supports of state {bad} are not allowed: {ks[bad]} small-state and {kp[bad]} patron actions "
                         "(equal sizes, at least one)")
    tr = Triples(op, sup)
    x_s = pi_s[sup.small[:, 0], sup.small[:, 1]]
    x_p = pi_p[sup.patron[:, 0], sup.patron[:, 1]]
    x_s = x_s / np.bincount(sup.small[:, 0], weights=x_s, minlength=n)[sup.small[:, 0]]
    x_p = x_p / np.bincount(sup.patron[:, 0], weights=x_p, minlength=n)[sup.patron[:, 0]]
    out, worst = [], 0.0
    for player, v, x in ((0, v_s.copy(), x_p), (1, v_p.copy(), x_s)):
        for _ in range(max_iter):
            res, jac = _system(tr, sup, player, v, x)
            err = float(np.abs(res).max())
            if err < NEWTON_TOL:
                break
            step = splinalg.spsolve(jac.tocsc(), -res)
            v, x = v + step[:n], x + step[n:]
        worst = max(worst, err)
        out.append((v, x))
    (v_s, x_p), (v_p, x_s) = out
    return v_s, v_p, x_s, x_p, worst


def profile(sup: Supports, x_s: np.ndarray, x_p: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Full policies (n, 96) and (n, 24) from the probabilities on the supports' pairs (negative ones
    clipped to 0, each row renormalised: a no-op on an equilibrium)."""
    pi_s, pi_p = np.zeros((n, N_ACTIONS)), np.zeros((n, N_PATRON))
    pi_s[sup.small[:, 0], sup.small[:, 1]] = np.maximum(x_s, 0.0)
    pi_p[sup.patron[:, 0], sup.patron[:, 1]] = np.maximum(x_p, 0.0)
    return pi_s / pi_s.sum(axis=1, keepdims=True), pi_p / pi_p.sum(axis=1, keepdims=True)


@dataclass
class Violations:
    """Where a solution on supports is not an equilibrium: each player's best one-shot gain per state
    (max over its actions of its expected Q minus its value) and the most negative probability."""

    gain_s: np.ndarray
    gain_p: np.ndarray
    negative: np.ndarray

    @property
    def states(self) -> np.ndarray:
        return np.flatnonzero((self.gain_s > GAIN_TOL) | (self.gain_p > GAIN_TOL) | (self.negative < PROB_TOL))

    @property
    def per_state(self) -> np.ndarray:
        """Each state's worst violation (0 where it has none)."""
        return np.maximum.reduce([self.gain_s, self.gain_p, -self.negative, np.zeros_like(self.gain_s)])

    @property
    def worst(self) -> float:
        return float(self.per_state.max())

    @property
    def total(self) -> float:
        return float(self.per_state.sum())


def stage_payoffs(op: GameOperator, v_s: np.ndarray, v_p: np.ndarray, states: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Q_S and Q_P (len(states), 96, 24) at the given values (one player's expectations at a time)."""
    rows = slice(None) if states is None else states
    q_s = op.game.reward_small[rows] + op.gamma * op.expect(v_s)[rows]
    q_p = op.game.reward_patron[rows] + op.gamma * op.expect(v_p)[rows]
    return q_s, q_p


def violations(op: GameOperator, sup: Supports, v_s: np.ndarray, v_p: np.ndarray, x_s: np.ndarray,
               x_p: np.ndarray) -> Violations:
    """Each state's one-shot gains and most negative probability of a solution on ``sup``."""
    n = op.rows.size
    pi_s, pi_p = profile(sup, x_s, x_p, n)
    gain_s = np.einsum("sap,sp->sa", op.game.reward_small + op.gamma * op.expect(v_s), pi_p).max(axis=1) - v_s
    gain_p = np.einsum("sap,sa->sp", op.game.reward_patron + op.gamma * op.expect(v_p), pi_s).max(axis=1) - v_p
    negative = np.zeros(n)
    np.minimum.at(negative, sup.small[:, 0], x_s)
    np.minimum.at(negative, sup.patron[:, 0], x_p)
    return Violations(gain_s=gain_s, gain_p=gain_p, negative=negative)


def stage_nash(q_s: np.ndarray, q_p: np.ndarray, cand_s: np.ndarray, cand_p: np.ndarray, ref_s: np.ndarray,
               ref_p: np.ndarray, max_size: int = 3, tol: float = 1e-9) -> tuple[np.ndarray, ...] | None:
    """A Nash equilibrium of one stage game (payoffs ``q_s``, ``q_p`` (96, 24)) by support enumeration
    over equal-sized supports (up to ``max_size``) of the candidate actions: of those that pass (no
    negative probability, no action of the whole game better by ``tol``), the one nearest the
    reference policies (L1 over both), as (its small-state actions, its patron actions, their
    probabilities); None if none."""
    best, best_d = None, np.inf
    for k in range(1, max_size + 1):
        for i_set in itertools.combinations(cand_s, k):
            i_set = np.array(i_set)
            for j_set in itertools.combinations(cand_p, k):
                j_set = np.array(j_set)
                y = _indifferent(q_s[np.ix_(i_set, j_set)])
                x = _indifferent(q_p[np.ix_(i_set, j_set)].T)
                if y is None or x is None or y[0].min() < -tol or x[0].min() < -tol:
                    continue
                if (q_s[:, j_set] @ y[0]).max() > y[1] + tol or (x[0] @ q_p[i_set]).max() > x[1] + tol:
                    continue
                d = (np.abs(ref_s).sum() - np.abs(ref_s[i_set]).sum() + np.abs(ref_s[i_set] - x[0]).sum()
                     + np.abs(ref_p).sum() - np.abs(ref_p[j_set]).sum() + np.abs(ref_p[j_set] - y[0]).sum())
                if d < best_d:
                    best, best_d = (i_set, j_set, x[0], y[0]), d
    return best


def _indifferent(m: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The mix y (sum 1) over m's columns making every row's payoff m y equal, and that payoff."""
    k = m.shape[0]
    lhs = np.zeros((k + 1, k + 1))
    lhs[:k, :k], lhs[:k, k], lhs[k, :k] = m, -1.0, 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    try:
        sol = np.linalg.solve(lhs, rhs)
    except np.linalg.LinAlgError:
        return None
    if np.linalg.cond(lhs) > 1e12:
        return None
    return sol[:k], float(sol[k])


def candidates(q_s: np.ndarray, q_p: np.ndarray, pi_s: np.ndarray, pi_p: np.ndarray, count: int,
               keep: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
               ) -> tuple[np.ndarray, np.ndarray]:
    """One state's candidate actions: ``keep`` (the supports in play), each player's ``count`` best
    replies to the other's policy and its ``count`` likeliest actions."""
    best_s = np.argsort(-(q_s @ pi_p), kind="stable")[:count]
    best_p = np.argsort(-(pi_s @ q_p), kind="stable")[:count]
    like_s = np.argsort(-pi_s, kind="stable")[:min(count, int((pi_s > 0).sum()))]
    like_p = np.argsort(-pi_p, kind="stable")[:min(count, int((pi_p > 0).sum()))]
    return (np.unique(np.concatenate([keep[0], best_s, like_s])), np.unique(np.concatenate([keep[1], best_p, like_p])))


def stage_supports(op: GameOperator, v_s: np.ndarray, v_p: np.ndarray, ref_s: np.ndarray, ref_p: np.ndarray,
                   states: np.ndarray, keep: Supports | None = None, count: int = 3, max_size: int = 3,
                   tols: tuple[float, ...] = (1e-9,), widen: bool = True) -> dict[int, tuple[np.ndarray, ...]]:
    """For each of ``states``, a stage equilibrium at the values (:func:`stage_nash` among
    :func:`candidates`, nearest the reference policies), trying each tolerance of ``tols`` in turn
    with ``count`` candidates (then ``2 count`` if ``widen``); states without one are left out."""
    q_s, q_p = stage_payoffs(op, v_s, v_p, states)
    found = {}
    for i, s in enumerate(states):
        held = (np.zeros(0, np.int64), np.zeros(0, np.int64)) if keep is None else (
            keep.small[keep.small[:, 0] == s, 1], keep.patron[keep.patron[:, 0] == s, 1])
        for tol in tols:
            for c in (count, 2 * count) if widen else (count,):
                cs, cp = candidates(q_s[i], q_p[i], ref_s[s], ref_p[s], c, held)
                hit = stage_nash(q_s[i], q_p[i], cs, cp, ref_s[s], ref_p[s], max_size, tol)
                if hit is not None:
                    break
            if hit is not None:
                found[int(s)] = hit
                break
    return found


@dataclass
class Polished:
    """The best certified profile of the polish, its certificate, the rounds and the curve (per round:
    the states failing, the worst one-shot violation, Newton's residual, NashConv at s0 and max)."""

    pi_small: np.ndarray
    pi_patron: np.ndarray
    certificate: NashConv
    rounds: int
    seconds: float
    curve: list[dict] = field(default_factory=list)
    exact: bool = False  # the last solution had no violation (an MPE up to round-off)


def polish(op: GameOperator, pi_s: np.ndarray, pi_p: np.ndarray, max_rounds: int = 20, count: int = 3,
           max_size: int = 3, budget_seconds: float | None = None) -> Polished:
    """Support polish from the profile (``pi_s``, ``pi_p``) (module docstring): supports from each
    state's stage equilibrium at the profile's exact values nearest the profile, then rounds of
    Newton's method on the supports and repair of the failing states (stage equilibria at the
    solution's values nearest the solution); a round whose Newton's method does not converge or
    whose total violation (the sum over states of each one's worst) grows is undone and retried with the worse half of its repairs only.
    Every round's profile is certified (exact NashConv), the start's too (round 0); the best
    certified one is returned (the start itself if no round does better)."""
    start = time.perf_counter()
    n = op.rows.size
    given = nash_conv(op, pi_s, pi_p)  # the start's certificate: returned if no round does better
    v_s, v_p = given.v_small, given.v_patron
    everywhere = stage_supports(op, v_s, v_p, pi_s, pi_p, np.arange(n), None, count, max_size,
                                (1e-9, 1e-6, 1e-4, 1e-2, 1e-1, 1.0, np.inf), widen=False)
    sup = Supports(np.zeros((0, 2), np.int64), np.zeros((0, 2), np.int64))
    cur_s, cur_p = np.zeros_like(pi_s), np.zeros_like(pi_p)
    small, patron = [], []
    for s, (i_set, j_set, x, y) in everywhere.items():
        small += [(s, a) for a in i_set]
        patron += [(s, b) for b in j_set]
        cur_s[s, i_set], cur_p[s, j_set] = x, y
    sup = Supports(np.array(small), np.array(patron))
    curve: list[dict] = [{"round": 0, "seconds": round(time.perf_counter() - start, 2),
                          "nashconv_s0": given.at_start, "nashconv_max": given.max}]
    best = (pi_s, pi_p, given)
    state = (sup, v_s, v_p, cur_s, cur_p)
    last_total, exact, rounds, repairs = np.inf, False, 0, None
    while rounds < max_rounds:
        trial_sup, t_vs, t_vp, t_s, t_p = state
        if repairs is not None:
            for s, (i_set, j_set, x, y) in repairs.items():
                trial_sup = trial_sup.replace(s, i_set, j_set)
                t_s, t_p = t_s.copy(), t_p.copy()
                t_s[s], t_p[s] = 0.0, 0.0
                t_s[s, i_set], t_p[s, j_set] = x, y
        nv_s, nv_p, x_s, x_p, err = solve_on_supports(op, trial_sup, t_vs, t_vp, t_s, t_p)
        viol = violations(op, trial_sup, nv_s, nv_p, x_s, x_p) if err < 1e-9 else None
        rounds += 1
        entry = {"round": rounds, "repaired": 0 if repairs is None else len(repairs), "newton_residual": err}
        if viol is None or viol.total > last_total:  # undo: retry with the worse half of the repairs
            entry["undone"] = True
            curve.append(entry)
            LOG.info("polish %s", entry)
            if repairs is None or len(repairs) <= 1:
                break
            repairs = dict(list(repairs.items())[:len(repairs) // 2])
            continue
        ps, pp = profile(trial_sup, x_s, x_p, n)
        nc = nash_conv(op, ps, pp)
        entry.update({"failing": int(viol.states.size), "worst_violation": viol.worst, "total_violation": viol.total,
                      "seconds": round(time.perf_counter() - start, 2), "nashconv_s0": nc.at_start,
                      "nashconv_max": nc.max})
        curve.append(entry)
        LOG.info("polish %s", entry)
        if nc.max < best[2].max:
            best = (ps, pp, nc)
        state, last_total = (trial_sup, nv_s, nv_p, ps, pp), viol.total
        if not viol.states.size:
            exact = True
            break
        if budget_seconds is not None and time.perf_counter() - start > budget_seconds:
            break
        bad = viol.states[np.argsort(-viol.per_state[viol.states])]
        repairs = stage_supports(op, nv_s, nv_p, ps, pp, bad, trial_sup, count, max_size)
        if not repairs:
            break
    return Polished(pi_small=best[0], pi_patron=best[1], certificate=best[2], rounds=rounds,
                    seconds=time.perf_counter() - start, curve=curve, exact=exact)

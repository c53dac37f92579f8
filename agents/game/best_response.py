"""Exact best responses and NashConv in the patron game (docs/model.md section 11, concepts 1-2).

Against a stationary (possibly mixed) policy of the other player, each player faces an MDP on the
block; it is solved as section 10 solves the small state's: policy iteration with exact
evaluations (a dense factorisation of the 1,080-state block), keeping a state's action while it is
within 1e-12 of the best and otherwise taking the lowest flat index within 1e-12 of the best.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.game.operator import GameOperator, by_sigma_weights, check_policy, pure
from agents.solver import MAX_ITERATIONS, TIE, lowest_argmax
from envs.game_tables import N_PATRON, SIGMA
from envs.spaces import N_ACTIONS

PLAYERS = ("small_state", "patron")


@dataclass(frozen=True, eq=False)
class Response:
    """A best response: its pure policy (1080,) flat actions, its values on the block (both
    players', under the profile (response, other's policy)) and the policy-iteration sweeps."""

    player: str
    policy: np.ndarray
    values: np.ndarray  # the responder's values
    other_values: np.ndarray  # the other player's values under the same profile
    iterations: int


def _reward_now(op: GameOperator, player: str, other: np.ndarray) -> np.ndarray:
    """The responder's expected reward now for each of its actions, the other's policy folded in:
    (1080, n) (from the rewards by the patron's sigma, ``PatronBlock.reward_small_sigma``)."""
    if player == "small_state":
        return np.einsum("saz,sz->sa", op.game.reward_small_sigma, by_sigma_weights(other))
    return np.einsum("saz,sa->sz", op.game.reward_patron_sigma, other)[:, SIGMA]


def _q(op: GameOperator, player: str, values: np.ndarray, other: np.ndarray, now: np.ndarray | None = None) -> np.ndarray:
    """The responder's Q over its own actions, the other's mixed policy folded in: (1080, n)
    (``now``: :func:`_reward_now`, when the caller has it). E[V] is folded over the other's actions
    in play as it is made (``GameOperator.expect_folded``): nothing over every (s, a_S, a_P)."""
    now = _reward_now(op, player, other) if now is None else now
    return now + op.gamma * op.expect_folded(values, player, other)


def best_response(op: GameOperator, player: str, other: np.ndarray, start: np.ndarray | None = None) -> Response:
    """The exact best response of ``player`` ("small_state" or "patron") to the other's stationary
    policy ``other`` ((1080, n) probabilities or (1080,) actions). ``start``: a first policy (flat
    actions; default greedy on "the best expected reward now, forever")."""
    if player not in PLAYERS:
        raise ValueError(f"player={player!r} is not allowed: one of {', '.join(PLAYERS)}")
    small = player == "small_state"
    n_own, n_other = (N_ACTIONS, N_PATRON) if small else (N_PATRON, N_ACTIONS)
    other = check_policy(other, n_other, "patron policy" if small else "small-state policy")
    now = _reward_now(op, player, other)
    if start is None:
        pol = lowest_argmax(now)
    else:
        pol = np.asarray(start, dtype=np.int64).copy()
    v = None
    for sweep in range(1, MAX_ITERATIONS + 1):
        own = pure(pol, n_own)
        profile = (own, other) if small else (other, own)
        kernel = op.kernel(*profile)  # policies checked above: built once per sweep, both players' values
        (v,) = op.values(kernel, *profile, (player,), (v,))
        q = _q(op, player, v, other, now)
        keep = q[np.arange(q.shape[0]), pol] >= q.max(axis=1) - TIE
        if keep.all():
            (v_other,) = op.values(kernel, *profile, (PLAYERS[1 - PLAYERS.index(player)],))
            return Response(player=player, policy=pol, values=v, other_values=v_other, iterations=sweep)
        pol = np.where(keep, pol, lowest_argmax(q))
    raise RuntimeError(f"the {player}'s best response did not converge in {MAX_ITERATIONS} sweeps")


@dataclass(frozen=True, eq=False)
class NashConv:
    """NC(s) = [V_S^BR(s) - V_S(s)] + [V_P^BR(s) - V_P(s)] of a profile on the block (section 11)."""

    per_state: np.ndarray
    at_start: float
    max: float
    v_small: np.ndarray
    v_patron: np.ndarray
    small_br: Response
    patron_br: Response
    s0: int  # the start state's index on the block

    @property
    def gains(self) -> tuple[float, float]:
        """Each player's gain from deviating, at s0 (small state, patron)."""
        s0 = self.s0
        return (float(self.small_br.values[s0] - self.v_small[s0]), float(self.patron_br.values[s0] - self.v_patron[s0]))


def nash_conv(op: GameOperator, pi_s: np.ndarray, pi_p: np.ndarray) -> NashConv:
    """NashConv of the profile (``pi_s``, ``pi_p``) on every state of the block: exact values of the
    profile and of each player's exact best response to the other."""
    pi_s = check_policy(pi_s, N_ACTIONS, "small-state policy")
    pi_p = check_policy(pi_p, N_PATRON, "patron policy")
    v_s, v_p = op.evaluate(pi_s, pi_p)
    start_s = lowest_argmax(_q(op, "small_state", v_s, pi_p))  # greedy on the profile's values: a close start
    start_p = lowest_argmax(_q(op, "patron", v_p, pi_s))
    br_s = best_response(op, "small_state", pi_p, start_s)
    br_p = best_response(op, "patron", pi_s, start_p)
    nc = (br_s.values - v_s) + (br_p.values - v_p)
    return NashConv(per_state=nc, at_start=float(nc[op.s0]), max=float(nc.max()), v_small=v_s, v_patron=v_p,
                    small_br=br_s, patron_br=br_p, s0=op.s0)

"""Phase-level commitments of the patron (docs/model.md section 11, concept 3: Stackelberg).

The patron commits to one action a_P = (D, IP, sigma) per phase; a commitment is a scenario override
of ``demand``, ``pressure`` and ``support`` (so in `timeline`/`calendar` it holds after 2024Q4 too,
in the continuation model of section 7). The small state answers with its optimum under the
committed values, solved by the single-agent solver (``agents.solver.solve_batch``: the model with
that table patron); the patron's value is the exact value of u_P under that answer
(``agents.exact_eval.policy_values`` with u_P in place of r: for `timeline`/`calendar` its 44
quarters plus gamma^44 times its value under the small state's continuation optimum). The patron
picks the commitment with the highest V_P(s0).

Stationary scenarios: only the start phase's block is ever visited, so a phase-level commitment is
one of the 24 actions, all solved exactly (:func:`commitment_table`). `timeline`/`calendar` have 24^5
phase-level commitments: :func:`search_commitments` runs a coordinate ascent (each phase in turn,
all 24 actions with the others held, until no phase improves), which is not exhaustive and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from agents.archetypes import label, stats_from_occupancy
from agents.bellman import Operator
from agents.exact_eval import (
    _finite_values,
    _stationary_values,
    occupancy_of,
    state_distribution,
)
from agents.solver import Solution, check_params, reachable_phases, solve_with_operators
from envs import model
from envs.game_tables import SIGMA_FIRST, STATE_CHUNK, check_rewards_read_sigma_only
from envs.params import N_PHASES, AllianceParams
from envs.spaces import ALL_ACTIONS, ALL_STATES, N_ACTIONS, N_STATES, encode_states
from envs.state_rows import lazy_zeros
from envs.tables import BLOCK

SOLVE_CHUNK = 1  # commitments solved one at a time: the table as fast as with 2 at once (side by side), a few MB less at its peak


@dataclass(frozen=True)
class Commitment:
    """One phase-level commitment (a patron action per phase) and the small state's answer."""

    actions: tuple[int, ...]  # flat patron action per phase 0..4
    value_small: float  # V_S(s0) of the small state's optimum under the commitment
    value_patron: float  # V_P(s0) under that optimum
    archetype: str  # section 9's label of the small state's optimum

    def action(self, phase: int) -> tuple[int, int, int]:
        """(D, IP, sigma) committed in ``phase``."""
        return tuple(int(x) for x in model.ALL_PATRON_ACTIONS[self.actions[phase]])


def committed(params: AllianceParams, actions: tuple[int, ...]) -> AllianceParams:
    """``params`` with the patron's per-phase actions as the table: the overrides of a commitment."""
    acts = model.ALL_PATRON_ACTIONS[list(actions)]
    return params.with_overrides({"demand": tuple(int(x) for x in acts[:, 0]), "pressure": tuple(int(x) for x in acts[:, 1]),
                                  "support": tuple(int(x) for x in acts[:, 2])})


def table_commitment(params: AllianceParams) -> tuple[int, ...]:
    """The table patron's actions per phase (D_phase, IP_phase, support_phase)."""
    probe = np.zeros((N_PHASES, 6), dtype=np.int64)
    probe[:, 0] = np.arange(N_PHASES)
    acts = model.table_patron(probe, params)
    return tuple(int(x) for x in np.ravel_multi_index(tuple(acts.T), tuple(model.PATRON_NVEC)))


def patron_reward_table(params: AllianceParams, actions: tuple[int, ...], phases) -> np.ndarray:
    """u_P(s, a_S, a_P(phase of s)) on the blocks of ``phases`` (5400, 96); 0 elsewhere (never read:
    in fresh memory, ``envs.state_rows.lazy_zeros``, so those blocks take no resident memory)."""
    out = lazy_zeros((N_STATES, N_ACTIONS))
    for ph in phases:
        check_rewards_read_sigma_only(params, int(ph))  # so u_P of an action is that of the first with its sigma
        out[ph * BLOCK:(ph + 1) * BLOCK] = _patron_reward_block(params, int(ph), int(SIGMA_FIRST[actions[ph]]))
    return out


@lru_cache(maxsize=256)
def _patron_reward_block(params: AllianceParams, phase: int, action: int) -> np.ndarray:
    """u_P of one block's (s, a_S) under one patron action, (1080, 96), by ``envs.model.patron_reward``."""
    out = np.empty((BLOCK, N_ACTIONS))
    for lo in range(0, BLOCK, STATE_CHUNK):  # a chunk of states at a time: small temporaries
        states = np.repeat(ALL_STATES[phase * BLOCK + lo:phase * BLOCK + lo + STATE_CHUNK], N_ACTIONS, axis=0)
        patron = np.broadcast_to(model.ALL_PATRON_ACTIONS[action], (states.shape[0], 3))
        actions = np.tile(ALL_ACTIONS, (states.shape[0] // N_ACTIONS, 1))
        out[lo:lo + STATE_CHUNK] = model.patron_reward(states, actions, patron, params).reshape(-1, N_ACTIONS)
    out.setflags(write=False)
    return out


def _phases_used(params: AllianceParams) -> list[int]:
    if not params.finite_horizon:
        return [int(params.start[0])] if params.hazard[params.start[0]] == 0 else list(range(params.start[0], N_PHASES))
    return list(range(N_PHASES))


def _answer(base: AllianceParams, actions: tuple[int, ...], sol: Solution, op: Operator) -> Commitment:
    """The commitment's values and label, on the tables its solve built (``op``)."""
    params = sol.params
    u_p = patron_reward_table(base, actions, _phases_used(base))
    s0 = int(encode_states(np.array([params.start]))[0])
    table = sol.start_table()
    if params.finite_horizon:  # the blocks reachable from s0 at each quarter, then after 2024Q4
        at = reachable_phases(op, int(params.start[0]), params.horizon + 1)
        cont_params = params.continuation()
        cont_params = replace(cont_params, start=(min(at[-1]),) + cont_params.start[1:])  # block_order from there
        cont_op = Operator(cont_params, tables=op.tables)  # sections 5.1, 5.3, 6 do not read the calendar
        v_end = _stationary_values(cont_op, cont_params, sol.continuation.start_table()[0], reward=u_p)[0]
        v_p = _finite_values(op, params, table, v_end, reward=u_p, phases_at=at[:-1])[0, s0]
    else:
        v_p = _stationary_values(op, params, table[0], reward=u_p)[0, s0]
    occupancy, _ = occupancy_of(table, state_distribution(op, table, s0, params.horizon))
    return Commitment(actions=tuple(actions), value_small=sol.value, value_patron=float(v_p),
                      archetype=label(stats_from_occupancy(occupancy)))


def evaluate_commitments(params: AllianceParams, commitments: list[tuple[int, ...]]) -> list[Commitment]:
    """Each commitment's answer and values: solved ``SOLVE_CHUNK`` at a time (a batch of the
    single-agent solver), each evaluated on its batch's tables, which go before the next batch."""
    params = check_params(params)
    out = []
    for i in range(0, len(commitments), SOLVE_CHUNK):
        part = commitments[i:i + SOLVE_CHUNK]
        for c, (sol, op) in zip(part, solve_with_operators([committed(params, c) for c in part])):
            out.append(_answer(params, c, sol, op))
    return out


def commitment_table(params: AllianceParams) -> list[Commitment]:
    """All 24 commitments of a stationary scenario whose start phase is held (the same action in
    every phase; only the start phase's block is visited), in flat order (D * 2 + IP) * 3 + sigma."""
    params = check_params(params)
    if params.finite_horizon or (params.hazard[params.start[0]] > 0 and params.start[0] < N_PHASES - 1):
        raise ValueError(f"scenario={params.name!r} is not allowed for the commitment table: a stationary scenario whose "
                         "start phase is held fixed; timeline/calendar: search_commitments")
    return evaluate_commitments(params, [(a,) * N_PHASES for a in range(model.N_PATRON_ACTIONS)])


def best_commitment(table: list[Commitment]) -> Commitment:
    """The patron's choice: the highest V_P(s0) (ties to the first in flat order)."""
    return max(table, key=lambda c: (c.value_patron, -table.index(c)))


@dataclass(frozen=True)
class Search:
    """A search over phase-level commitments: the best found, how many were evaluated, whether the
    search covered every commitment, and how it went."""

    best: Commitment
    evaluated: int
    exhaustive: bool
    method: str
    path: list[Commitment]


def search_commitments(params: AllianceParams, max_rounds: int = 3) -> Search:
    """Coordinate ascent over the phases of a `timeline`/`calendar` commitment (24^5 in all): from
    the table patron, each phase in turn tries all 24 actions with the others held; a round that
    improves no phase ends the search. Not exhaustive (a local optimum under one-phase changes)."""
    params = check_params(params)
    current = evaluate_commitments(params, [table_commitment(params)])[0]
    path, evaluated = [current], 1
    for _ in range(max_rounds):
        improved = False
        for ph in range(N_PHASES):
            trials = [current.actions[:ph] + (a,) + current.actions[ph + 1:] for a in range(model.N_PATRON_ACTIONS)]
            answers = evaluate_commitments(params, trials)
            evaluated += len(trials)
            best = best_commitment(answers)
            if best.value_patron > current.value_patron + 1e-12:
                current, improved = best, True
                path.append(current)
        if not improved:
            break
    return Search(best=current, evaluated=evaluated, exhaustive=False,
                  method=f"coordinate ascent over the {N_PHASES} phases from the table patron, all 24 actions per phase, "
                         f"{max_rounds} rounds at most", path=path)


__all__ = ["Commitment", "Search", "best_commitment", "commitment_table", "committed",
           "evaluate_commitments", "search_commitments", "table_commitment"]

"""Many parameter sets at once: solve each exactly and evaluate the optimum and N baselines from s0.

Scenario discovery solves thousands of parameter sets and, per set, needs V*(s0), the optimum's
episode-average occupancy from s0 (its archetype statistics, docs/model.md section 9) and each
baseline's exact value V^pi(s0) (section 10, scored as section 7 says). :func:`evaluate_samples`
gives these for K sets in one call, with the numbers of :func:`agents.exact_eval.evaluate_table`
and :func:`agents.exact_eval.policy_values` (a test checks them to 1e-10) at a fraction of the cost:

- one solve for the batch (:func:`agents.solver.iter_with_operators`), and every evaluation on
  the tables that solve built (nothing built twice, every number still from ``envs.model``);
- the optimum is not evaluated again: its value is V*(s0); only its state distribution is stepped
  (:func:`agents.exact_eval.state_distribution`);
- a baseline is read off only on the phase blocks reachable from s0 and evaluated only there
  (stationary: the blocks of :func:`agents.solver.block_order`; finite horizon: the blocks
  reachable at each quarter, :func:`agents.solver.reachable_phases`), by the sparse kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from agents import baselines as bl
from agents.bellman import BLOCK
from agents.exact_eval import (
    _finite_values,
    _stationary_values,
    occupancy_of,
    state_distribution,
)
from agents.solver import Operator, Solution, block_order, iter_with_operators, reachable_phases
from envs.params import AllianceParams
from envs.spaces import ALL_STATES, N_ACTIONS, N_STATES, encode_actions, encode_states, observe


@dataclass(frozen=True, eq=False)
class SampleResult:
    """One parameter set: its solution, V*(s0), the optimum's episode-average occupancy from s0
    (5400, 96) and each baseline's exact V^pi(s0)."""

    params: AllianceParams
    solution: Solution
    value: float
    occupancy: np.ndarray
    baseline_values: dict[str, float] = field(default_factory=dict)

    def share(self, baseline: str) -> float:
        """V^pi(s0) / V*(s0) of a baseline."""
        return self.baseline_values[baseline] / self.value


def _blocks(op: Operator, params: AllianceParams) -> list[int]:
    start = int(params.start[0])
    if params.finite_horizon:
        return sorted({ph for at in reachable_phases(op, start, params.horizon) for ph in at})
    return sorted(block_order(op, start))


def baseline_row(name: str, params: AllianceParams, op: Operator, phases: list[int]) -> np.ndarray:
    """A baseline's table row on the given phase blocks, as ``agents.policy.policy_table`` reads it
    (flat actions (5400,), or action probabilities (5400, 96) for `random`); other blocks hold
    action 0 (never visited from s0). `myopic` reads the reward of ``op``'s tables."""
    rows = np.concatenate([np.arange(ph * BLOCK, (ph + 1) * BLOCK) for ph in phases])
    states = ALL_STATES[rows]
    policy = bl.make_policy(name, params, seed=0)
    if not policy.deterministic_table:
        out = np.full((N_STATES, N_ACTIONS), 1.0 / N_ACTIONS)
        out[rows] = policy.action_probabilities(observe(states, None, params.horizon))
        return out
    actions = bl.myopic(states, params, tables=op.tables) if name == "myopic" else policy.rule(states, params)
    out = np.zeros(N_STATES, dtype=np.int64)
    out[rows] = encode_actions(actions)
    return out


def baseline_value(name: str, sol: Solution, op: Operator, phases: list[int] | None = None) -> float:
    """A baseline's exact V^pi(s0) (as ``policy_values`` gives it), on ``op``'s tables."""
    params = sol.params
    phases = _blocks(op, params) if phases is None else phases
    row = baseline_row(name, params, op, phases)
    s0 = int(encode_states(np.array([params.start]))[0])
    if params.finite_horizon:
        at = reachable_phases(op, int(params.start[0]), params.horizon)
        return float(_finite_values(op, params, row[None], sol.values[params.horizon], phases_at=at)[0, s0])
    return float(_stationary_values(op, params, row)[0, s0])


def evaluate_samples(params_list: Sequence[AllianceParams | Mapping], baselines: Sequence[str] | None = None,
                     ) -> list[SampleResult]:
    """Solve K parameter sets (``agents.solve_batch``'s input and errors) and evaluate, per set,
    the optimum (V*(s0), occupancy from s0) and each of ``baselines`` (None: all ten; empty: none)."""
    names = bl.baseline_names() if baselines is None else list(baselines)
    unknown = [b for b in names if b not in bl.baseline_names()]
    if unknown:
        raise ValueError(f"baselines={unknown[0]!r} is not allowed: one of {', '.join(bl.baseline_names())}")
    out = []
    for sol, op in iter_with_operators(params_list):  # a chunk's tables at a time
        params = sol.params
        s0 = int(encode_states(np.array([params.start]))[0])
        table = sol.start_table()
        dist = state_distribution(op, table, s0, params.horizon)
        occupancy, _ = occupancy_of(table, dist)
        phases = _blocks(op, params)
        values = {name: baseline_value(name, sol, op, phases) for name in names}
        out.append(SampleResult(params=params, solution=sol, value=sol.value, occupancy=occupancy,
                                baseline_values=values))
    return out

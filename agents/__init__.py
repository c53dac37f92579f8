"""Deciders behind one interface (SB3's ``predict``): the baselines of docs/model.md section 8, the
exact optimum of section 10, any trained model; their exact and Monte Carlo evaluation and the
archetype labels of section 9.

    from agents import make_policy, evaluate_policy, solve
    p = make_params("war")
    solve(p).value                                  # V*(s0)
    evaluate_policy(make_policy("baseline:limited", p), p).share
"""

from agents.archetypes import ArchetypeStats, label, stats_from_episodes, stats_from_occupancy
from agents.baselines import baseline_names, make_policy, policy_names
from agents.decompose import StateExplanation, explain_state
from agents.exact_eval import ExactResult, evaluate_policy, evaluate_table, optimal_policy
from agents.frontier import Frontier, trade_off_frontier
from agents.monte_carlo import RolloutResult, rollout_returns
from agents.policy import Policy, TablePolicy, policy_table
from agents.sample_eval import SampleResult, evaluate_samples
from agents.solver import Solution, solve, solve_batch
from agents.streams import StreamReport, compare_streams, policy_streams

__all__ = [
    "ArchetypeStats", "ExactResult", "Frontier", "Policy", "RolloutResult", "SampleResult", "Solution", "StateExplanation",
    "StreamReport", "TablePolicy", "baseline_names", "compare_streams", "evaluate_policy", "evaluate_samples", "evaluate_table",
    "explain_state", "label", "make_policy", "optimal_policy", "policy_names", "policy_streams", "policy_table",
    "rollout_returns", "solve", "solve_batch", "stats_from_episodes", "stats_from_occupancy", "trade_off_frontier",
]

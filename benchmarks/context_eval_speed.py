"""Seconds per context of the exact evaluation of one policy over many contexts (issue 30: "the exact
evaluation of one policy over 256 contexts <= 60 s on 2 cores"), `war` and `calendar` side by side.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/context_eval_speed.py [--contexts 16] [--repeats 3]

The policy is an untrained SB3 PPO network (``MlpPolicy``, seed 0) on the contextual env
(``contexts={"sample": C, "seed": 0}, context_in_obs=True``): reading it off costs what a trained one's
does. For each scenario, in ``--repeats`` alternating rounds (war, calendar, war, ...), the script times
``agents.context_eval.evaluate_contexts`` end to end on C fresh contexts (the optima cache cleared
first), and its parts: the policy's tables (``context_policy_tables``: every (t, state)'s observation,
the network read off), the optima (the solve) and the exact scores (``agents.exact_eval.start_scores``
per context; on a tree before it, ``evaluate_table``: run the script there for a before/after pair). A warm-up round first (compiled code loaded).
Prints the median seconds per context of each and the calendar / war ratio, and the 256-context
estimate of the end-to-end time. A script, not a test.

Measured 2026-12-07 (2 shared cores, loaded; 8 contexts, 2 rounds), on the tree before this script's
branch and on the branch back to back, seconds per context end to end: war 0.065 -> 0.038, calendar
0.951 -> 0.219 (256 calendar contexts ~243 s -> ~56 s: goal met). After: calendar's network 0.102,
solve 0.076, exact scores 0.044 s per context. One call of ``evaluate_contexts`` on 256 contexts (the
same untrained network, seed 0): calendar 149.7 s on the base tree, 61.4 s on the branch (load ~3),
52.9 s once the near-optimal share no longer builds the occupancy (load ~2); war 16.3 -> 10.5 s;
values within 7e-15 of the base tree's, optima and near-optimal shares bit for bit.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from timing import machine


def scenario_setup(scenario: str, n: int):
    import gymnasium as gym
    from stable_baselines3 import PPO

    import envs  # noqa: F401  (registers SmallStateAlliance-v0)
    from envs.contexts import make_contexts
    from envs.scenarios import make_params

    spec = {"sample": n, "seed": 0}
    env = gym.make("SmallStateAlliance-v0", scenario=scenario, contexts=spec, context_in_obs=True)
    return make_contexts(spec, make_params(scenario)), PPO("MlpPolicy", env, seed=0, device="cpu")


def one_round(contexts, model) -> dict[str, float]:
    import agents.context_eval as ce
    import agents.exact_eval as ee

    n = len(contexts)
    out = {}
    ce._OPTIMA.clear()
    start = time.perf_counter()
    ce.evaluate_contexts(model, contexts)
    out["end to end"] = (time.perf_counter() - start) / n
    ce._OPTIMA.clear()
    start = time.perf_counter()
    tables = ce.context_policy_tables(model, contexts)
    out["  policy tables"] = (time.perf_counter() - start) / n
    start = time.perf_counter()
    if hasattr(ce, "_optima_with_operators"):  # this tree: the optima beside their solve's operators
        pairs = list(ce._optima_with_operators(contexts.params))
    else:  # the tree before (issue 30's speed goal): the optima cached, evaluate_table's own operator
        pairs = [(sol, None) for sol in ce.context_optima(contexts.params)]
    out["  optima (solve)"] = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for c, (sol, op) in enumerate(pairs):
        if hasattr(ee, "start_scores"):
            ee.start_scores(contexts.params[c], tables[c], sol, op)
        else:
            ee.evaluate_table(contexts.params[c], tables[c], solution=sol)
    out["  exact scores"] = (time.perf_counter() - start) / n
    ce._OPTIMA.clear()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contexts", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    setups = {s: scenario_setup(s, args.contexts) for s in ("war", "calendar")}
    for ctx, model in (scenario_setup(s, 2) for s in setups):  # warm-up: compiled code loaded
        one_round(ctx, model)
    times: dict[str, dict[str, list[float]]] = {s: {} for s in setups}
    for _ in range(args.repeats):
        for s, (ctx, model) in setups.items():
            for k, v in one_round(ctx, model).items():
                times[s].setdefault(k, []).append(v)
    print(f"machine: {machine()}")
    print(f"{args.contexts} contexts per scenario, {args.repeats} alternating rounds, median seconds per context")
    print(f"{'':22s}{'war':>10s}{'calendar':>10s}{'ratio':>8s}")
    for k in times["war"]:
        w, c = (float(np.median(times[s][k])) for s in ("war", "calendar"))
        print(f"{k:22s}{w:10.3f}{c:10.3f}{c / w:8.1f}")
    for s in setups:
        print(f"256 contexts of {s}: ~{256 * float(np.median(times[s]['end to end'])):.0f} s end to end (goal <= 60 s)")


if __name__ == "__main__":
    main()

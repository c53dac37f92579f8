"""How many steps and seconds PPO (configs/ppo_war.yaml) needs to come within 2 % of V* in `war`.

For each seed: the config's model and env (``training.run.train.build_model``/``make_vec_env``),
``learn`` up to the config's ``total_timesteps`` (so the learning-rate schedule is the config's),
and every ``--check-every`` env steps the greedy policy is read off on all states
(``agents.policy.policy_table``) and evaluated exactly (``agents.exact_eval.policy_values``);
training stops at the first check with V^pi(s0) >= V*(s0) - 2 % |V*(s0)|. Reported: the steps,
the training seconds (the exact checks' time excluded, shown apart) and, at the end,
``agents.exact_eval.evaluate_table`` of the final policy (regret, near-optimal share).
Goal: under 2 minutes.

    .venv/bin/python benchmarks/ppo_war_to_optimum.py [--seeds 0 1 2] [--check-every 10240]
    .venv/bin/python benchmarks/ppo_war_to_optimum.py --config configs/dqn_war.yaml --seeds 0
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def run_seed(cfg, params, v_star: float, tolerance: float, check_every: int) -> dict:
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.utils import set_random_seed

    from agents.exact_eval import evaluate_table, policy_values
    from agents.policy import policy_table
    from envs.spaces import encode_states
    from training.run.train import build_model, make_vec_env

    s0 = int(encode_states(np.array([params.start]))[0])
    target = v_star - tolerance * abs(v_star)

    class ExactCheck(BaseCallback):
        def __init__(self):
            super().__init__()
            self.next, self.check_seconds, self.history, self.reached = check_every, 0.0, [], None

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next:
                return True
            self.next += check_every
            clock = time.perf_counter()
            value = float(policy_values(params, policy_table(self.model, params))[0, s0])
            self.check_seconds += time.perf_counter() - clock
            self.history.append((self.num_timesteps, round(value, 4)))
            if value >= target:
                self.reached = self.num_timesteps
                return False
            return True

    set_random_seed(cfg.seed)
    env = make_vec_env(cfg, cfg.n_envs, cfg.seed)
    model = build_model(cfg, env, params.gamma)
    check = ExactCheck()
    clock = time.perf_counter()
    model.learn(cfg.total_timesteps, callback=check)
    wall = time.perf_counter() - clock
    env.close()
    final = evaluate_table(params, policy_table(model, params))
    return {"seed": cfg.seed, "reached_at_steps": check.reached, "steps": int(model.num_timesteps),
            "train_seconds": round(wall - check.check_seconds, 2), "exact_check_seconds": round(check.check_seconds, 2),
            "value": round(final.value, 4), "share_of_v_star": round(final.share, 4),
            "regret": round(final.regret, 4), "near_optimal_share": round(final.near_optimal_share, 4),
            "history": check.history}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "ppo_war.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, as for alliance train")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--check-every", type=int, default=10_240, help="env steps between exact checks")
    parser.add_argument("--tolerance", type=float, default=0.02)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    import torch

    from agents.solver import solve
    from envs.scenarios import make_params
    from training.config.run import load_config

    torch.set_num_threads(1)
    base = load_config(args.config, args.overrides)
    params = make_params(base.env.scenario, base.env.overrides)
    v_star = solve(params).value
    print(f"{args.config}: {base.algo} on {base.env.scenario}, V*(s0) = {v_star:.4f}, target "
          f">= {v_star - args.tolerance * abs(v_star):.4f} ({args.tolerance:.0%}), budget {base.total_timesteps} steps")
    results = []
    for seed in args.seeds:
        r = run_seed(base.model_copy(update={"seed": seed}), params, v_star, args.tolerance, args.check_every)
        results.append(r)
        where = f"{r['reached_at_steps']:>7} steps" if r["reached_at_steps"] else "  not reached"
        print(f"seed {seed}: {where} in {r['train_seconds']:6.1f} s training (+{r['exact_check_seconds']:.1f} s "
              f"exact checks); V^pi = {r['value']:.4f} = {r['share_of_v_star']:.2%} of V*, near-optimal share "
              f"{r['near_optimal_share']:.2f}")
    reached = [r for r in results if r["reached_at_steps"]]
    if reached:
        steps = np.array([r["reached_at_steps"] for r in reached])
        secs = np.array([r["train_seconds"] for r in reached])
        print(f"reached by {len(reached)}/{len(results)} seeds: median {np.median(steps):,.0f} steps, "
              f"{np.median(secs):.1f} s (max {steps.max():,} steps, {secs.max():.1f} s); goal < 120 s")
    if args.json:
        args.json.write_text(json.dumps({"v_star": v_star, "results": results}, indent=2))


if __name__ == "__main__":
    main()

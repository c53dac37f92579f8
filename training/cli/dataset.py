"""``alliance dataset --policy P --episodes N``: a Minari dataset of one behaviour policy whose metadata
carries its exact V^pi(s0), V* and share (see training/dataset/)."""

from __future__ import annotations

import argparse
import json

HELP = "write a Minari dataset of optimal, baseline:NAME or a run's episodes, with the policy's exact V^pi, V* and share"
EXAMPLES = """examples:
  alliance dataset --policy optimal --episodes 1000                        expert data on war
  alliance dataset --policy baseline:limited --episodes 1000 --scenario calendar
  alliance dataset --policy baseline:random --episodes 1000 --seed 3      random data (its own seeded draws)
  alliance dataset --policy RUN_DIR --episodes 500 --dataset-id alliance/war/ppo-v1
  alliance dataset --policy optimal --episodes 100 --out /tmp/datasets --force

The dataset is written to --out (default: $MINARI_DATASETS_PATH, else ~/.minari/datasets) under
--dataset-id (default alliance/<scenario>/<policy>-v0). Its metadata (dataset.storage.metadata) holds
value (V^pi(s0), scored as `alliance evaluate` scores it: docs/model.md section 7), optimum (V*),
share_of_optimum, regret, gamma, episode_steps and the exact expected discounted and undiscounted return
of one recorded episode; dataset.recover_environment() makes the registered env with the scenario and
its overrides. --scenario is a scenario name, optionally NAME[key=value,...] (default: a run's own, war
otherwise). A run's model is loaded only if its sha256 is the manifest's, unless --trust. Needs the
optional extra: pip install -e '.[datasets]' (minari[create], which pulls jax).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, metavar="P", help="optimal, baseline:NAME or a run folder")
    parser.add_argument("--episodes", required=True, type=int, metavar="N", help="episodes to record (>= 1)")
    parser.add_argument("--scenario", default=None, metavar="S",
                        help="scenario name, optionally NAME[key=value,...] (default: the run's own; war otherwise)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="seed of the episodes (default 0)")
    parser.add_argument("--dataset-id", default=None, metavar="ID",
                        help="Minari id (namespace/)name-vN (default alliance/<scenario>/<policy>-v0)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="datasets root (default $MINARI_DATASETS_PATH, else ~/.minari/datasets)")
    parser.add_argument("--force", action="store_true", help="replace a dataset with the same id")
    parser.add_argument("--best", action="store_true", help="a run's best_model.zip instead of model.zip")
    parser.add_argument("--trust", action="store_true",
                        help="load a run's model even if its sha256 does not match the run's manifest")
    parser.add_argument("--json", action="store_true", help="print the metadata as one JSON object")


def check_arguments(args: argparse.Namespace) -> None:
    """Numbers out of range, before anything is loaded.

    :raises ValueError: one line naming the option and what is allowed
    """
    from training.config.hyperparams import MAX_SEED
    from training.dataset.writer import MAX_EPISODES

    if not 1 <= args.episodes <= MAX_EPISODES:
        raise ValueError(f"--episodes={args.episodes} is not allowed: an integer in [1, {MAX_EPISODES:,}]")
    if not 0 <= args.seed <= MAX_SEED:
        raise ValueError(f"--seed={args.seed} is not allowed: an integer in [0, {MAX_SEED}]")


def run(args: argparse.Namespace) -> int:
    import torch

    from training.dataset.behaviour import resolve_behaviour
    from training.dataset.writer import check_dataset_id, require_minari, write_dataset

    check_arguments(args)
    require_minari()
    if args.dataset_id is not None:
        check_dataset_id(args.dataset_id)
    torch.set_num_threads(1)
    behaviour = resolve_behaviour(args.policy, args.scenario, seed=args.seed, best=args.best, trust=args.trust)
    path, meta = write_dataset(behaviour, args.episodes, args.seed, dataset_id=args.dataset_id, out=args.out,
                               force=args.force)
    if args.json:
        print(json.dumps({"path": str(path), **meta}, indent=2))
        return 0
    print(f"dataset:   {path}  ({args.episodes} episodes of {meta['episode_steps']} steps, seed {args.seed})")
    print(f"policy:    {meta['behaviour_policy']} on {meta['scenario']}; env {meta['env_id']} {meta['env_kwargs']}")
    print(f"  exact value V^pi(s0)            {meta['value']:12.4f}   ({meta['value_definition']})")
    print(f"  optimum V*(s0)                  {meta['optimum']:12.4f}")
    print(f"  share of V*                     {meta['share_of_optimum']:12.2%}")
    print(f"  expected discounted episode     {meta['expected_discounted_episode_return']:12.4f}   "
          f"(an episode's {meta['episode_steps']} steps, no tail)")
    return 0

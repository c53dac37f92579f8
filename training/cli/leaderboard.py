"""``alliance leaderboard CONFIG``: every algorithm that fits the action space, trained with the tuned
hyperparameters of ``configs/zoo/leaderboard/`` on the config's scenarios and seeds with one step budget,
as Ray tasks (resumable: stored units whose content key is unchanged are skipped); each checkpoint valued
exactly; then ``results/leaderboard/`` (tables, figures, ``LEADERBOARD.md``) from the stored units.
``--tune`` runs the Optuna study that writes the zoo entries first.
"""

from __future__ import annotations

import argparse
import shlex

HELP = "the leaderboard: every algorithm that fits, scored by its exact share of V* (tuned with Optuna)"
EXAMPLES = """examples:
  alliance leaderboard configs/leaderboard.yaml                 compute what is missing, then the report
  alliance leaderboard configs/leaderboard.yaml --tune          the Optuna study: configs/zoo/leaderboard/*.yaml
  alliance leaderboard configs/leaderboard.yaml --report-only   the report from the stored units
  alliance leaderboard configs/leaderboard.yaml --verify 2      recompute 2 stored units at random and compare (1e-9)
  alliance leaderboard configs/leaderboard.yaml --set seeds=1 --set out=/tmp/lb   a smaller run elsewhere
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="a leaderboard config (configs/leaderboard.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (value read as YAML)")
    parser.add_argument("--tune", action="store_true", help="run the Optuna study and write the zoo entries")
    parser.add_argument("--algo", dest="algos", action="append", default=None, metavar="ALGO",
                        help="with --tune: only this algorithm (repeatable)")
    parser.add_argument("--report-only", action="store_true", help="render the report from the stored units")
    parser.add_argument("--verify", type=int, default=None, metavar="N", help="recompute N stored units and compare")
    parser.add_argument("--num-cpus", type=int, default=1, metavar="N",
                        help="CPUs of the local Ray instance (default 1: the machine is shared)")
    parser.add_argument("--address", default=None, help="a running Ray cluster to join")


def run(args: argparse.Namespace) -> int:
    from training.config.hyperparams import canonical_algo
    from training.leaderboard import driver
    from training.leaderboard.config import load_leaderboard_config
    from training.leaderboard.report import write_report
    from training.results.lock import folder_lock

    if args.num_cpus < 1:
        raise ValueError(f"--num-cpus={args.num_cpus} is not allowed: an integer >= 1")
    if args.verify is not None and args.verify < 1:
        raise ValueError(f"--verify={args.verify} is not allowed: an integer >= 1")
    cfg = load_leaderboard_config(args.config, args.overrides)
    if args.algos and not args.tune:
        raise ValueError("--algo is not allowed without --tune: the leaderboard runs the config's algos")
    if args.tune:
        from training.leaderboard.tune import tune

        algos = [canonical_algo(a) for a in args.algos or cfg.algos]
        bad = [a for a, c in zip(args.algos or [], algos) if c not in cfg.algos]
        if bad:
            raise ValueError(f"--algo={bad[0]} is not allowed: one of the config's algos ({', '.join(cfg.algos)})")
        tune(cfg, algos)
        return 0
    driver.plan(cfg)  # a missing or bad zoo entry: one line, before Ray starts
    if args.verify is not None:
        verdicts = driver.verify(cfg, args.verify, num_cpus=args.num_cpus, address=args.address)
        bad = [v for v in verdicts if v.difference]
        print(f"{len(verdicts) - len(bad)} of {len(verdicts)} units agree")
        return 1 if bad else 0
    # one writer per folder (a second `alliance leaderboard` on the same out is refused in one line)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(cfg.out_dir, shlex.join(["alliance", "leaderboard", args.config, *args.overrides]), note=print):
        if not args.report_only:
            out = driver.run(cfg, num_cpus=args.num_cpus, address=args.address)
            print(f"{len(out.done)} computed, {len(out.skipped)} already done, {len(out.failed)} failed "
                  f"({out.seconds:.0f} s)")
            if out.failed:
                return 1
        path = write_report(cfg)
    print(f"report: {path}")
    return 0

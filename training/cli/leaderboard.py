"""``alliance leaderboard CONFIG``: every algorithm that fits the action space, trained with the tuned
hyperparameters of ``configs/zoo/leaderboard/`` on the config's scenarios and seeds with one step budget,
as Ray tasks (resumable: stored units whose content key is unchanged are skipped); each checkpoint valued
exactly; then ``results/leaderboard/`` (tables, figures, ``LEADERBOARD.md``) from the stored units.
``--tune`` runs the Optuna study that writes the zoo entries first.
"""

from __future__ import annotations

import argparse

from training.cli.keyed import add_keyed_arguments, check_keyed_arguments, run_keyed

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
    parser.add_argument("--tune", action="store_true", help="run the Optuna study and write the zoo entries")
    parser.add_argument("--algo", dest="algos", action="append", default=None, metavar="ALGO",
                        help="with --tune: only this algorithm (repeatable)")
    add_keyed_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from training.config.hyperparams import canonical_algo
    from training.leaderboard import driver
    from training.leaderboard.config import load_leaderboard_config
    from training.leaderboard.report import write_report

    check_keyed_arguments(args)
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
    return run_keyed(args, "leaderboard", cfg, driver, write_report)

"""``alliance generalization CONFIG``: the generalization study (issue 30, docs/generalization.md):
learners trained on contexts drawn from the discovery's ranges, with the context visible or hidden,
scored exactly against V*_c on their training contexts and on disjoint held-out ones, beside the ten
baselines, the default point's optimum carried to every context and the oracle; units as Ray tasks
(resumable: stored units whose content key is unchanged are skipped); then ``results/generalization/``
(tables, ``GENERALIZATION.md``, ``generalization.json``) and its section of ``results/REPORT.md``.
"""

from __future__ import annotations

import argparse

from training.cli.keyed import add_keyed_arguments, check_keyed_arguments, run_keyed

HELP = "the generalization study: learners across contexts, exact share of V*_c on train vs held-out contexts"
EXAMPLES = """examples:
  alliance generalization configs/generalization.yaml                 compute what is missing, then the report
  alliance generalization configs/generalization.yaml --report-only   the report from the stored units
  alliance generalization configs/generalization.yaml --verify 2      recompute 2 stored units at random and compare (1e-9)
  alliance generalization configs/generalization.yaml --set seeds=1 --set out=/tmp/gen   a smaller run elsewhere
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="a generalization config (configs/generalization.yaml)")
    add_keyed_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from training.generalization import driver
    from training.generalization.config import load_generalization_config
    from training.generalization.report import write_report

    check_keyed_arguments(args)
    cfg = load_generalization_config(args.config, args.overrides)
    driver.plan(cfg)  # a missing or bad zoo entry: one line, before Ray starts
    return run_keyed(args, "generalization", cfg, driver, write_report)

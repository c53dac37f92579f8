"""``alliance h8 CONFIG``: hypothesis H8 (docs/h8.md) at the scenario's point and across the discovery
space extended by the patron's eight weights: the commitment table on every Latin-hypercube row, the
equilibrium search on the first ``n_mpe``, as Ray tasks (resumable: stored units whose content key is
unchanged are skipped); then ``results/h8/`` (tables, figures, ``H8.md``) from the stored units.
"""

from __future__ import annotations

import argparse

from training.cli.keyed import add_keyed_arguments, check_keyed_arguments, run_keyed

HELP = "hypothesis H8: the strategic patron at war and across the space (commitment table, MPE search)"
EXAMPLES = """examples:
  alliance h8 configs/h8.yaml                    compute what is missing, then the report (results/h8/)
  alliance h8 configs/h8.yaml --report-only      the report from the stored units
  alliance h8 configs/h8.yaml --verify 3         recompute 3 stored units at random and compare (1e-9)
  alliance h8 configs/h8.yaml --set n_mpe=4 --set out=/tmp/h8   a smaller run elsewhere
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="an H8 config (configs/h8.yaml)")
    add_keyed_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from training.config.h8 import load_h8_config
    from training.h8 import driver
    from training.h8.report import write_report

    check_keyed_arguments(args)
    cfg = load_h8_config(args.config, args.overrides)
    return run_keyed(args, "h8", cfg, driver, write_report)

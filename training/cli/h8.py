"""``alliance h8 CONFIG``: hypothesis H8 (docs/h8.md) at the scenario's point and across the discovery
space extended by the patron's eight weights: the commitment table on every Latin-hypercube row, the
equilibrium search on the first ``n_mpe``, as Ray tasks (resumable: stored units whose content key is
unchanged are skipped); then ``results/h8/`` (tables, figures, ``H8.md``) from the stored units.
"""

from __future__ import annotations

import argparse
import shlex

HELP = "hypothesis H8: the strategic patron at war and across the space (commitment table, MPE search)"
EXAMPLES = """examples:
  alliance h8 configs/h8.yaml                    compute what is missing, then the report (results/h8/)
  alliance h8 configs/h8.yaml --report-only      the report from the stored units
  alliance h8 configs/h8.yaml --verify 3         recompute 3 stored units at random and compare (1e-9)
  alliance h8 configs/h8.yaml --set n_mpe=4 --set out=/tmp/h8   a smaller run elsewhere
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="an H8 config (configs/h8.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (value read as YAML)")
    parser.add_argument("--report-only", action="store_true", help="render the report from the stored units")
    parser.add_argument("--verify", type=int, default=None, metavar="N", help="recompute N stored units and compare")
    parser.add_argument("--num-cpus", type=int, default=1, metavar="N",
                        help="CPUs of the local Ray instance (default 1: the machine is shared)")
    parser.add_argument("--address", default=None, help="a running Ray cluster to join")


def run(args: argparse.Namespace) -> int:
    from training.config.h8 import load_h8_config
    from training.h8 import driver
    from training.h8.report import write_report
    from training.results.lock import folder_lock

    if args.num_cpus < 1:
        raise ValueError(f"--num-cpus={args.num_cpus} is not allowed: an integer >= 1")
    if args.verify is not None and args.verify < 1:
        raise ValueError(f"--verify={args.verify} is not allowed: an integer >= 1")
    cfg = load_h8_config(args.config, args.overrides)
    if args.verify is not None:
        verdicts = driver.verify(cfg, args.verify, num_cpus=args.num_cpus, address=args.address)
        bad = [v for v in verdicts if v.difference]
        print(f"{len(verdicts) - len(bad)} of {len(verdicts)} units agree")
        return 1 if bad else 0
    # one writer per folder (a second `alliance h8` on the same out is refused in one line)
    with folder_lock(cfg.out_dir, shlex.join(["alliance", "h8", args.config, *args.overrides]), note=print):
        if not args.report_only:
            out = driver.run(cfg, num_cpus=args.num_cpus, address=args.address)
            print(f"{len(out.done)} computed, {len(out.skipped)} already done, {len(out.failed)} failed "
                  f"({out.seconds:.0f} s)")
            if out.failed:
                return 1
        path = write_report(cfg)
    print(f"report: {path}")
    return 0

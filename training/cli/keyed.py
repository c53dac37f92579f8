"""What ``alliance h8`` and ``alliance leaderboard`` share (not a subcommand): their options for a
keyed run on Ray, and its course -- ``--verify N`` recomputes and compares, otherwise one writer at a
time computes what is missing (unless ``--report-only``) and writes the report."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_keyed_arguments(parser: argparse.ArgumentParser) -> None:
    """``--set``, ``--report-only``, ``--verify N``, ``--num-cpus N`` and ``--address``."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (value read as YAML)")
    parser.add_argument("--report-only", action="store_true", help="render the report from the stored units")
    parser.add_argument("--verify", type=int, default=None, metavar="N", help="recompute N stored units and compare")
    parser.add_argument("--num-cpus", type=int, default=1, metavar="N",
                        help="CPUs of the local Ray instance (default 1: the machine is shared)")
    parser.add_argument("--address", default=None, help="a running Ray cluster to join")


def check_keyed_arguments(args: argparse.Namespace) -> None:
    """One line for a count that is not one (before the config is read)."""
    if args.num_cpus < 1:
        raise ValueError(f"--num-cpus={args.num_cpus} is not allowed: an integer >= 1")
    if args.verify is not None and args.verify < 1:
        raise ValueError(f"--verify={args.verify} is not allowed: an integer >= 1")


def run_keyed(args: argparse.Namespace, command: str, cfg: Any, driver: Any,
              write_report: Callable[[Any], Path]) -> int:
    """``driver.verify`` (exit 1 if a unit differs), or under the folder's lock ``driver.run`` (exit 1 if
    a unit failed) and ``write_report``."""
    from training.results.lock import folder_lock

    if args.verify is not None:
        verdicts = driver.verify(cfg, args.verify, num_cpus=args.num_cpus, address=args.address)
        bad = [v for v in verdicts if v.difference]
        print(f"{len(verdicts) - len(bad)} of {len(verdicts)} units agree")
        return 1 if bad else 0
    # one writer per folder (a second run of the command on the same out is refused in one line)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    with folder_lock(cfg.out_dir, shlex.join(["alliance", command, args.config, *args.overrides]), note=print):
        if not args.report_only:
            out = driver.run(cfg, num_cpus=args.num_cpus, address=args.address)
            print(f"{len(out.done)} computed, {len(out.skipped)} already done, {len(out.failed)} failed "
                  f"({out.seconds:.0f} s)")
            if out.failed:
                return 1
        path = write_report(cfg)
    print(f"report: {path}")
    return 0

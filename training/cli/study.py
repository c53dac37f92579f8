"""``alliance study CONFIG``: run a study on Ray and write its report (see training/study/driver.py)."""

from __future__ import annotations

import argparse
import sys

HELP = "run a study (exact optima, baselines, sweeps, RL runs) on Ray and write its REPORT.md"

EXAMPLES = """examples:
  alliance study configs/quick.yaml                  the quick study (what `make run` runs) -> results/quick/
  alliance study configs/study.yaml                  the full study -> results/study/, results/REPORT.md
  alliance study configs/study.yaml --num-cpus 8     a local Ray instance with 8 CPUs
  alliance study configs/study.yaml --address auto   join a running Ray cluster (shared filesystem)
  alliance study configs/study.yaml --report-only    re-render the report from the stored results
  alliance study configs/quick.yaml --verify 5       recompute 5 stored units and compare (1e-9); writes nothing

Finished units are found on disk and skipped if their inputs are unchanged (each is stored with a
hash of its resolved inputs and the model's version; a stale one is computed again): run the same
command again to continue an interrupted study. A bad config prints one line per problem and exits 2.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="study YAML, e.g. configs/quick.yaml")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="address of a running Ray cluster (default: start a local one)")
    parser.add_argument("--num-cpus", type=int, default=None, metavar="N",
                        help="CPUs of the local Ray instance (default: all); one per task")
    parser.add_argument("--report-only", action="store_true",
                        help="do not run anything: render the report from the stored results")
    parser.add_argument("--verify", type=int, default=None, metavar="N",
                        help="recompute N stored units chosen at random (at least one per RL algorithm) and "
                        "compare them with the stored ones (1e-9); exit 1 naming a unit that differs")


def check_address(address: str | None) -> None:
    """A HOST:PORT address must answer before Ray is asked to join it (Ray itself retries for ever).

    :raises ValueError: one line naming the address and what is allowed
    """
    import socket

    if address is None or address in ("auto", "local") or address.startswith("ray://"):
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--address={address!r} is not allowed: HOST:PORT of a running Ray cluster's head, "
                         "'auto' or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as exc:
        raise ValueError(f"--address={address} is not allowed: no Ray cluster answers there "
                         f"({exc.strerror or exc})") from None


def run(args: argparse.Namespace) -> int:
    from training.config.errors import ConfigError
    from training.config.study import load_study_config

    if args.num_cpus is not None and not 1 <= args.num_cpus <= 4096:
        raise ValueError(f"--num-cpus={args.num_cpus} is not allowed: a positive integer, at most 4096")
    try:
        cfg = load_study_config(args.config)
    except ConfigError as exc:
        for line in exc.problems:
            print(f"alliance study: error: {line}", file=sys.stderr)
        return 2
    if args.verify is not None:
        return _verify(cfg, args)
    if args.report_only:
        from training.study.report import write_report

        print(f"report: {write_report(cfg)}")
        return 0
    from training.study.driver import run_study

    check_address(args.address)
    outcome = run_study(cfg, address=args.address, num_cpus=args.num_cpus, log=_log)
    print(f"study {cfg.name}: {len(outcome.done)} units run, {len(outcome.skipped)} skipped, "
          f"{len(outcome.failed)} failed in {outcome.seconds:.0f} s; report: {outcome.report}")
    if outcome.failed:
        for key, line in outcome.failed.items():
            print(f"alliance study: error: {key}: {line}", file=sys.stderr)
        return 1
    return 0


def _verify(cfg, args: argparse.Namespace) -> int:
    from training.study.verify import verify

    if not 1 <= args.verify <= 100_000:
        raise ValueError(f"--verify={args.verify} is not allowed: a positive number of units, at most 100,000")
    check_address(args.address)
    verdicts = verify(cfg, args.verify, address=args.address, num_cpus=args.num_cpus, log=_log)
    bad = [v for v in verdicts if v.difference is not None]
    print(f"verified {len(verdicts)} units of {cfg.name}: {len(verdicts) - len(bad)} agree, {len(bad)} differ")
    for v in bad:
        print(f"alliance study: error: {cfg.out_dir / v.unit}: {v.difference}", file=sys.stderr)
    return 1 if bad else 0


def _log(line: str) -> None:
    print(line, flush=True)

"""The ``alliance`` command line: one subcommand per module, dispatched here.

Each subcommand lives in ``training/cli/<name>.py`` and exposes ``HELP`` (one line),
``EXAMPLES`` (text shown under ``--help``), ``add_arguments(parser)`` and ``run(args) -> int``.
The parser imports every command module, so a command module imports the project (and torch, SB3,
ray) inside ``run``, never at its top: ``alliance --help`` stays fast. A name in
:data:`SUBCOMMANDS` without its module is skipped (``explain`` and ``scenarios`` are reserved).

A user's mistake (``ValueError``, a missing or unreadable file) ends in one line on stderr and exit
code 2, never a traceback. A reader that closes the pipe early (``alliance scenarios | head -1``)
ends the command quietly with the status a Unix tool killed by SIGPIPE has (:data:`EXIT_BROKEN_PIPE`).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # 141: what the shell reports for `seq 1 1000000 | head -1`'s seq
SUBCOMMANDS = ("solve", "scenarios", "explain", "game", "explore", "train", "selfplay", "evaluate", "benchmark", "study", "h8", "dataset", "leaderboard", "generalization")

EXAMPLES = """examples:
  alliance solve war                      exact optimum, its archetype, baselines' share of V*
  alliance train configs/ppo_war.yaml     train PPO on the protracted-war scenario
  alliance evaluate baseline:limited --scenario war
  alliance study configs/quick.yaml       the quick study (what `make run` runs)
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="alliance", description="alliance-gym: a small state in an asymmetric alliance.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"training.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"training.cli.{name}":
                raise
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP, epilog=module.EXAMPLES,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def error_lines(exc: BaseException) -> list[str]:
    """What the user reads for a ``ValueError`` or ``OSError``: one line per problem (a
    ``ConfigError`` holds several); an ``OSError`` as ``FILE: reason``."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return [f"{exc.filename}: {exc.strerror}"]
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines or [type(exc).__name__]


def main(argv: Sequence[str] | None = None) -> int:
    from training.run.determinism import pin_cpu_kernels

    pin_cpu_kernels()  # before torch's first operation: the same numbers on every CPU
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's flush at exit
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except (ValueError, OSError) as exc:
        for line in error_lines(exc):
            print(f"alliance {args.command}: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"alliance {args.command}: interrupted", file=sys.stderr)
        return 130


def _quiet_broken_pipe() -> int:
    """The reader of stdout has gone: point stdout at /dev/null (so the flush at exit cannot fail
    again and print "Exception ignored") and end quietly, as a Unix tool does."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())

"""``alliance selfplay CONFIG``: alternating PPO self-play in the patron game, scored per round by
its exact NashConv (see training/selfplay/loop.py)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HELP = ("PPO self-play in the patron game from a YAML config, each round's learned profile scored by its exact "
        "NashConv, into results/selfplay/<scenario>/ppo_selfplay_s<seed>_<time>/")

EXAMPLES = """examples:
  alliance selfplay configs/game_ppo_war.yaml
  alliance selfplay configs/game_ppo_war.yaml --seed 3 --set rounds=5 --set steps_per_round=8192
  alliance selfplay --resume results/selfplay/war/ppo_selfplay_s0_20250101T120000Z
  alliance selfplay --resume RUN_DIR --set rounds=6   (continue a finished run for more rounds)

Each round prints the profile's exact NashConv at the start state s0 and its maximum over the
block's 1,080 states (0 = a Markov perfect equilibrium), the players' values at s0 and each one's
gain from its exact best response. A bad config prints one line per problem and exits 2.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", metavar="CONFIG", help="YAML config (optional with --resume)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, dotted for nested keys; the value is read as YAML")
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="the run's seed (overrides the config)")
    parser.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                        help="continue RUN_DIR from its last finished round to the config's rounds")
    parser.add_argument("--trust", action="store_true",
                        help="with --resume: load files whose sha256 the run's manifest does not list "
                        "(model files can carry pickled code: only for folders you trust)")


def run(args: argparse.Namespace) -> int:
    from training.config.errors import ConfigError
    from training.config.selfplay import load_selfplay_config

    if args.config is None and args.resume is None:
        print("alliance selfplay: error: CONFIG is missing: a YAML file, or --resume RUN_DIR (see --help)",
              file=sys.stderr)
        return 2
    try:
        cfg = load_selfplay_config(args.config, args.overrides, args.seed) if args.config else None
        if args.resume is not None:
            cfg = _resume_config(args.resume, cfg, args.overrides, args.seed, args.trust)
        from training.selfplay.loop import selfplay

        command = shlex.join(["alliance", "selfplay", *_argv(args)])
        try:
            run_dir = selfplay(cfg, args.resume, resume=args.resume is not None, command=command, trust=args.trust,
                               log=_printer())
        except KeyboardInterrupt:
            where = args.resume or f"<the new folder under {cfg.output}/{cfg.env.scenario}>"
            print(f"alliance selfplay: to continue: alliance selfplay --resume {where}", file=sys.stderr)
            raise
    except ConfigError as exc:
        for line in exc.problems:
            print(f"alliance selfplay: error: {line}", file=sys.stderr)
        return 2
    print(f"run folder: {run_dir}")
    return 0


HEADER = (f"{'round':>5s} {'steps S/P':>15s} {'NC(s0)':>9s} {'NC max':>9s} {'V_S(s0)':>9s} {'V_P(s0)':>9s} "
          f"{'gain S':>8s} {'gain P':>8s} {'greedy NC(s0)':>14s} {'seconds':>8s}")


def _printer():
    """A ``log`` for :func:`training.selfplay.loop.selfplay`: the header with the first round, then a line a round."""
    printed = []

    def log(row: dict) -> None:
        if not printed:
            print(HEADER)
            printed.append(True)
        _print_round(row)

    return log


def _print_round(row: dict) -> None:
    s, g = row["stochastic"], row["greedy"]
    print(f"{row['round']:5d} {row['steps_small_state']:>7d}/{row['steps_patron']:<7d} {s['nashconv_s0']:9.4f} "
          f"{s['nashconv_max']:9.4f} {s['v_small_s0']:9.4f} {s['v_patron_s0']:9.4f} {s['gain_small_s0']:8.4f} "
          f"{s['gain_patron_s0']:8.4f} {g['nashconv_s0']:14.4f} {row['train_seconds'] + row['score_seconds']:8.1f}",
          flush=True)


def _resume_config(run_dir: Path, given, overrides: list[str], seed: int | None, trust: bool = False):
    """The run's own config.yml (checked against its manifest) with --set/--seed/CONFIG on top: a
    resume continues the same experiment, so the only change allowed is ``rounds`` upward.

    :raises ConfigError: one line naming the first key that would change
    """
    from training.cli.train import _flatten
    from training.config.errors import ConfigError
    from training.config.files import parse_yaml
    from training.config.run import apply_overrides
    from training.config.selfplay import selfplay_config_from_dict
    from training.results.manifest import read_config_text
    from training.results.run_folder import CONFIG

    if not (run_dir / CONFIG).is_file():
        raise FileNotFoundError(f"{run_dir / CONFIG}: no such file; is {run_dir} a self-play run folder?")
    data = parse_yaml(read_config_text(run_dir, trust), str(run_dir / CONFIG))
    if not isinstance(data, dict):
        raise ConfigError([f"{run_dir / CONFIG}: a {type(data).__name__} is not allowed: a mapping of config keys"])
    own = selfplay_config_from_dict(data)
    if given is None:
        given = selfplay_config_from_dict(apply_overrides(own.model_dump(mode="json"), overrides, seed))
    mine, theirs = _flatten(own.model_dump(mode="json")), _flatten(given.model_dump(mode="json"))
    for key in sorted(set(mine) | set(theirs)):
        if key != "rounds" and mine.get(key) != theirs.get(key):
            raise ConfigError([f"{key}={theirs.get(key)!r} is not allowed with --resume: the run has {key}="
                               f"{mine.get(key)!r} and a resume continues the same experiment (start a new run "
                               "to change it; only rounds may be raised)"])
    if given.rounds < own.rounds:
        raise ConfigError([f"rounds={given.rounds} is not allowed with --resume: the run's rounds are {own.rounds}; "
                           "they may only be raised"])
    return given


def _argv(args: argparse.Namespace) -> list[str]:
    from training.cli.train import _argv as train_argv  # the same arguments, in the same order

    return train_argv(args)

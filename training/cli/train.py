"""``alliance train CONFIG``: train one SB3 agent into a run folder (see training/run/train.py)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

HELP = "train PPO, A2C, DQN, QRDQN, TRPO, ARS, RecurrentPPO or MaskablePPO from a YAML config into results/runs/<scenario>/<algo>_s<seed>_<time>/"

EXAMPLES = """examples:
  alliance train configs/ppo_war.yaml
  alliance train configs/ppo_war.yaml --seed 3 --set total_timesteps=50000 --set hyperparams.n_epochs=5
  alliance train configs/dqn_war.yaml --set env.overrides.identification=0.9 --no-progress
  alliance train --resume results/runs/war/ppo_s0_20250101T120000Z
  alliance train --resume RUN_DIR --set total_timesteps=400000   (continue a finished run further)
  alliance train --resume RUN_DIR --trust   (resume from checkpoints the manifest does not list: a folder you trust)

A bad config prints one line per problem (the dotted key, its value, what is allowed) and exits 2.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", metavar="CONFIG", help="YAML config (optional with --resume)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, dotted for nested keys; the value is read as YAML")
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="the run's seed (overrides the config)")
    parser.add_argument("--resume", type=Path, default=None, metavar="RUN_DIR",
                        help="continue RUN_DIR from its newest complete checkpoint to total_timesteps")
    parser.add_argument("--trust", action="store_true",
                        help="with --resume: load a checkpoint whose sha256 the run's manifest does not list "
                        "(model files can carry pickled code: only for folders you trust)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from training.config.errors import ConfigError
    from training.config.run import load_config

    if args.config is None and args.resume is None:
        print("alliance train: error: CONFIG is missing: a YAML file, or --resume RUN_DIR (see --help)",
              file=sys.stderr)
        return 2
    try:
        cfg = load_config(args.config, args.overrides, args.seed) if args.config else None
        if args.resume is not None:
            cfg = _resume_config(args.resume, cfg, args.overrides, args.seed, args.trust)
        from training.run.train import train

        progress = not args.no_progress and sys.stdout.isatty()
        command = shlex.join(["alliance", "train", *_argv(args)])
        try:
            run_dir = train(cfg, args.resume, resume=args.resume is not None, progress_bar=progress,
                            command=command, trust=args.trust)
        except KeyboardInterrupt:
            where = args.resume or f"<the new folder under {cfg.output}/{cfg.env.scenario}>"
            print(f"alliance train: to continue: alliance train --resume {where}", file=sys.stderr)
            raise
    except ConfigError as exc:
        for line in exc.problems:
            print(f"alliance train: error: {line}", file=sys.stderr)
        return 2
    _print_summary(run_dir)
    return 0


def _resume_config(run_dir: Path, given, overrides: list[str], seed: int | None, trust: bool = False):
    """The run's own config.yml (checked against its manifest) with --set/--seed/CONFIG on top:
    a resume continues the same experiment, so the only change allowed is total_timesteps upward.

    :raises ConfigError: one line naming the first key that would change
    """
    from training.config.errors import ConfigError
    from training.config.run import apply_overrides, config_from_dict
    from training.results.run_folder import CONFIG
    from training.run.train import run_config

    if not (run_dir / CONFIG).is_file():
        raise FileNotFoundError(f"{run_dir / CONFIG}: no such file; is {run_dir} a run folder?")
    own = run_config(run_dir, trust)
    if given is None:
        given = config_from_dict(apply_overrides(own.model_dump(mode="json"), overrides, seed))
    mine, theirs = _flatten(own.model_dump(mode="json")), _flatten(given.model_dump(mode="json"))
    for key in sorted(set(mine) | set(theirs)):
        if key != "total_timesteps" and mine.get(key) != theirs.get(key):
            raise ConfigError([f"{key}={theirs.get(key)!r} is not allowed with --resume: the run has {key}="
                               f"{mine.get(key)!r} and a resume continues the same experiment (train a new run "
                               "to change it; only total_timesteps may be raised)"])
    if given.total_timesteps < own.total_timesteps:
        raise ConfigError([f"total_timesteps={given.total_timesteps} is not allowed with --resume: the run's "
                           f"budget is {own.total_timesteps}; it may only be raised"])
    return given


def _flatten(data, prefix: str = "") -> dict:
    """Nested mappings as dotted keys (``hyperparams.policy_kwargs.net_arch``)."""
    if not isinstance(data, dict) or not data:
        return {prefix: data}
    out: dict = {}
    for k, v in data.items():
        out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    return out


def _argv(args: argparse.Namespace) -> list[str]:
    out = [args.config] if args.config else []
    for item in args.overrides:
        out += ["--set", item]
    if args.seed is not None:
        out += ["--seed", str(args.seed)]
    if args.resume is not None:
        out += ["--resume", str(args.resume)]
    if args.trust:
        out += ["--trust"]
    if getattr(args, "no_progress", False):  # alliance selfplay's arguments have no --no-progress
        out += ["--no-progress"]
    return out


def _print_summary(run_dir: Path) -> None:
    from training.results.run_folder import read_manifest

    m = read_manifest(run_dir)
    session = m.get("last_session", {})
    print(f"run folder: {run_dir}")
    print(f"steps: {m.get('num_timesteps')} (this session {session.get('steps')} in "
          f"{session.get('seconds', 0):.1f} s: {session.get('steps_per_second', 0):,.0f} steps/s)")
    if m.get("last_mean_reward") is not None:
        print(f"evaluation mean return: last {m['last_mean_reward']:.3f}, best {m['best_mean_reward']:.3f}")

"""``alliance explain SCENARIO``: why the optimum wins — value streams beside every baseline, one
state's Q* decomposition (``--state``), or the autonomy-security frontier (``--frontier``)."""

from __future__ import annotations

import argparse
import json

HELP = "why the optimum wins: its value streams beside the baselines', one state's Q* split, or the frontier"
EXAMPLES = """examples:
  alliance explain war                                  the optimum beside all ten baselines
  alliance explain calendar --policy bandwagon --policy hedge --json
  alliance explain war --policy results/runs/war/ppo_s0_20250101T120000Z     a trained model too
  alliance explain war --state phase=4,threat=2,autonomy=3,trust=3,west=0,fararc=1
  alliance explain calendar --state phase=0,threat=1,autonomy=4,trust=3,west=1,fararc=0 --t 10
  alliance explain alt_open --frontier --out frontier_alt_open.png

SCENARIO is a name (alliance scenarios lists them) or a scenario file (.yaml, docs/scenarios.md).
Streams are exact discounted means (x (1 - gamma)) of each reward term (docs/model.md section 6),
scored as section 7 scores values; the frontier solves the optimum for w_A = 0 .. 0.8 (17 solves).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", help="a scenario name or a scenario file (.yaml)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--state", default=None, metavar="VARS",
                      help="explain one state: phase=..,threat=..,autonomy=..,trust=..,west=..,fararc=..")
    mode.add_argument("--frontier", action="store_true", help="the autonomy-security frontier (17 solves)")
    parser.add_argument("--policy", action="append", default=None, metavar="NAME",
                        help="a baseline name (repeatable; default: all ten), or a run folder (a trained model)")
    parser.add_argument("--t", type=int, default=0, metavar="T",
                        help="with --state: the quarter (timeline/calendar; default 0)")
    parser.add_argument("--out", default=None, metavar="FILE.png", help="with --frontier: write the figure here")
    parser.add_argument("--trust", action="store_true",
                        help="load a run's model even if its sha256 does not match the manifest")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def check_arguments(args: argparse.Namespace) -> None:
    """Options that do not go together, before anything is computed.

    :raises ValueError: one line naming the option
    """
    if args.t != 0 and args.state is None:
        raise ValueError(f"--t={args.t} is not allowed without --state")
    if args.out is not None and not args.frontier:
        raise ValueError(f"--out={args.out!r} is not allowed without --frontier")
    if args.out is not None and not args.out.lower().endswith(".png"):
        raise ValueError(f"--out={args.out!r} is not allowed: a file name ending in .png")
    if args.policy is not None and (args.state is not None or args.frontier):
        raise ValueError("--policy is not allowed with --state or --frontier (they explain the optimum; the "
                         "frontier shows every baseline)")


def _policies(params, names: list[str] | None, trust: bool) -> list:
    """StreamReports of the optimum and each named policy (a baseline or a run folder)."""
    from pathlib import Path

    from agents.baselines import baseline_names, make_policy
    from agents.streams import optimum_streams, policy_streams

    reports = [optimum_streams(params)]
    for name in baseline_names() if names is None else names:
        bare = name.removeprefix("baseline:")
        if bare in baseline_names():
            reports.append(policy_streams(params, make_policy(bare, params), bare))
        elif Path(name).is_dir():
            import torch

            from training.evaluate.evaluation import resolve_target

            torch.set_num_threads(1)
            target = resolve_target(name, params, trust=trust)
            reports.append(policy_streams(params, target.policy, name))
        else:
            raise ValueError(f"--policy={name!r} is not allowed: a baseline ({', '.join(baseline_names())}) "
                             "or a run folder")
    return reports


def run(args: argparse.Namespace) -> int:
    from training.config.params import load_params
    from training.render import explain as render

    check_arguments(args)
    params = load_params(args.scenario)
    if args.state is not None:
        from agents.decompose import explain_state

        rep = explain_state(params, args.state, args.t).to_dict()
        print(json.dumps(rep, indent=2) if args.json else render.state_text(rep))
        return 0
    if args.frontier:
        from agents.frontier import trade_off_frontier

        frontier = trade_off_frontier(params)
        rep = frontier.to_dict()
        if args.out is not None:
            from training.render.frontier import plot_frontier

            rep["figure"] = str(plot_frontier(frontier, args.out))
        text = render.frontier_table(rep) + (f"\n\nfigure: {rep['figure']}" if args.out else "")
        print(json.dumps(rep, indent=2) if args.json else f"scenario {params.name}: the autonomy-security "
              f"frontier\n\n{text}")
        return 0
    reports = [r.to_dict() for r in _policies(params, args.policy, args.trust)]
    if args.json:
        print(json.dumps({"scenario": params.name, "policies": reports}, indent=2))
    else:
        print(f"scenario {params.name}: V*(s0) = {reports[0]['optimum']:.6f}\n\n{render.streams_text(reports)}"
              f"\n\n{render.STREAMS_LEGEND}")
    return 0

"""``alliance solve SCENARIO``: the exact optimum of a scenario, its archetype and the baselines."""

from __future__ import annotations

import argparse
import json

HELP = "exact optimum of a scenario: V*, its archetype, action shares and every baseline's share of V*"
EXAMPLES = """examples:
  alliance solve war                 the protracted war, stationary optimum
  alliance solve calendar --json     phases by date, 44 quarters + continuation, as JSON
  alliance solve my_scenario.yaml    a YAML mapping: {scenario: war, overrides: {identification: 0.9}}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a scenario name (war, calendar, timeline, ...; an unknown name lists "
                        "them all) or a YAML file holding a mapping")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def report(params) -> dict:
    """The JSON-ready result: scenario, value, label, stats (whole and per phase), baselines."""
    from agents.solver import solve
    from agents.summary import baseline_results, summarize_optimum

    opt = summarize_optimum(params)
    sol = solve(params)
    baselines = baseline_results(params)
    return {
        "scenario": params.name,
        "value": opt.result.optimum,
        "label": opt.label,
        "phase_labels": {str(k): v for k, v in opt.phase_labels.items()},
        "stats": opt.stats.to_dict(),
        "phase_stats": {str(k): v.to_dict() for k, v in opt.phase_stats.items()},
        "nearest_baseline": opt.nearest,
        "agreement": opt.agreement,
        "top_actions": [{"action": list(a), "share": s} for a, s in opt.top_actions()],
        "bellman_residual": sol.bellman_residual,
        "baselines": {name: r.value for name, r in baselines.items()},
        "baseline_shares": {name: r.share for name, r in baselines.items()},
    }


def _text(rep: dict) -> str:
    from envs.params import PHASE_NAMES

    names = ("m_bar", "f3", "f2", "k_bar", "g2", "f_med", "f_far", "f_west", "R_bar")
    lines = [f"scenario {rep['scenario']}: V*(s0) = {rep['value']:.6f}  (Bellman residual {rep['bellman_residual']:.1e})",
             f"optimal archetype: {rep['label']}   nearest baseline: {rep['nearest_baseline']}", "",
             "action shares (episode averages from s0)", f"  {'':22s}" + "".join(f"{n:>8s}" for n in names)]
    rows = [("whole episode", rep["stats"])]
    rows += [(f"phase {k} {PHASE_NAMES[int(k)]}", v) for k, v in rep["phase_stats"].items()]
    for title, st in rows:
        lines.append(f"  {title:22s}" + "".join(f"{st[n]:8.3f}" for n in names))
    if len(rep["phase_stats"]) > 1:
        lines.append("  per phase: " + ", ".join(f"{k}: {v}" for k, v in rep["phase_labels"].items()))
    lines += ["", "most used joint actions (m, k, g, d): "
              + ", ".join(f"{tuple(a['action'])} {a['share']:.3f}" for a in rep["top_actions"]), "",
              "baselines: exact value and share of V*"]
    for name, value in sorted(rep["baselines"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:18s} {value:10.4f}  {rep['baseline_shares'][name]:7.1%}   "
                     f"agreement {rep['agreement'][name]:6.1%}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from training.config.params import load_params

    params = load_params(args.scenario)
    rep = report(params)
    print(json.dumps(rep, indent=2) if args.json else _text(rep))
    return 0

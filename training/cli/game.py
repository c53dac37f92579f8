"""``alliance game SCENARIO``: the strategic patron (docs/model.md section 11) on a stationary scenario.

Prints (or with ``--json`` returns one object with) ``table_check`` (the game with the table patron
against the single-agent optimum), ``commitments`` (all 24 phase-level commitments: the small
state's optimum under each), ``best_commitment`` (the patron's pick), ``table_profile`` (NashConv of
the single-agent optimum against the table patron, and the patron's best-response value), and
``mpe`` (the equilibrium search of ``agents.game.equilibrium`` with its certificate and curve).
For `timeline` and `calendar` (phases move, 24^5 phase-level commitments) it runs the search of
``agents.game.commitment.search_commitments`` instead and reports ``table_commitment`` and
``commitment_search`` (the best found, how many were evaluated, ``exhaustive``: false, the path).
"""

from __future__ import annotations

import argparse
import json

HELP = "the strategic patron: commitments, NashConv of the table profile, an equilibrium search"
EXAMPLES = """examples:
  alliance game war                              commitment table, table profile, MPE search
  alliance game war --set identification=0.9     with an override (KEY=VALUE, the value read as YAML)
  alliance game war --json --no-mpe              as one JSON object, without the MPE search (minutes)
  alliance game calendar --rounds 1              phase-level commitments by coordinate ascent (minutes)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a stationary scenario whose phase is held (war, phase0..phase4, the war "
                        "counterfactuals) or a YAML file")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a parameter override, e.g. identification=0.9 or patron_weights=[.3,.15,.05,.2,.2,.05,.05,.15]")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--no-mpe", action="store_true", help="skip the equilibrium search (a few minutes)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="timeline/calendar: rounds of the "
                        "commitment search over the five phases (1..10, default 3)")


def _overrides(items: list[str]) -> dict:
    from training.config.files import parse_yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r} is not allowed: KEY=VALUE, e.g. identification=0.9")
        out[key.strip()] = parse_yaml(value, f"--set {key.strip()}")
    return out


def _commitment(c) -> dict:
    from envs.params import N_PHASES

    return {"actions": [dict(zip(("D", "IP", "sigma"), c.action(ph))) for ph in range(N_PHASES)],
            "V_S": c.value_small, "V_P": c.value_patron, "archetype": c.archetype}


def search_report(params, rounds: int) -> dict:
    """timeline/calendar: the table patron's commitment and the coordinate-ascent search."""
    from agents.game.commitment import evaluate_commitments, search_commitments, table_commitment
    from agents.solver import solve

    table = evaluate_commitments(params, [table_commitment(params)])[0]
    found = search_commitments(params, max_rounds=rounds)
    return {"scenario": params.name,
            "table_check": {"max_abs_diff": abs(table.value_small - solve(params).value)},
            "table_commitment": _commitment(table),
            "commitment_search": {"best": _commitment(found.best), "evaluated": found.evaluated,
                                  "exhaustive": found.exhaustive, "method": found.method,
                                  "path": [_commitment(c) for c in found.path]}}


def report(params, mpe: bool = True) -> dict:
    """The JSON-ready result (see the module docstring)."""
    import numpy as np

    from agents.game.best_response import nash_conv
    from agents.game.commitment import best_commitment, commitment_table
    from agents.game.equilibrium import STANDARD, search_mpe, summarize_search
    from agents.game.operator import game_operator, pure
    from agents.solver import solve
    from envs.game_tables import N_PATRON
    from envs.spaces import N_ACTIONS

    op = game_operator(params)
    sol = solve(params)
    table = pure(np.full(op.rows.size, op.table_patron), N_PATRON)
    optimum = pure(sol.policy[0, op.rows], N_ACTIONS)
    commitments = commitment_table(params)
    best = best_commitment(commitments)
    nc = nash_conv(op, optimum, table)  # its profile values are the table check's too
    rows = [{"D": c.action(op.phase)[0], "IP": c.action(op.phase)[1], "sigma": c.action(op.phase)[2],
             "V_S": c.value_small, "V_P": c.value_patron, "archetype": c.archetype} for c in commitments]
    out = {
        "scenario": params.name,
        "table_check": {"max_abs_diff": float(np.abs(nc.v_small - sol.values[0, op.rows]).max())},
        "commitments": rows,
        "best_commitment": {k: rows[commitments.index(best)][k] for k in ("D", "IP", "sigma")},
        "table_profile": {"nashconv_s0": nc.at_start, "nashconv_max": nc.max, "V_S": float(nc.v_small[op.s0]),
                          "V_P": float(nc.v_patron[op.s0]), "V_P_br": float(nc.patron_br.values[op.s0])},
    }
    if mpe:
        out["mpe"] = summarize_search(op, search_mpe(op, **STANDARD))
    return out


def _search_text(rep: dict) -> str:
    def acts(c):
        return " ".join(f"({a['D']},{a['IP']},{a['sigma']})" for a in c["actions"])

    cs = rep["commitment_search"]
    lines = [f"scenario {rep['scenario']}: phase-level commitments of the patron (docs/model.md section 11)",
             f"table check: the table patron's commitment vs the single-agent optimum, |dV| = "
             f"{rep['table_check']['max_abs_diff']:.1e}", "", "per phase 0..4 (D, IP, sigma)   V_S(s0)    V_P(s0)  archetype"]
    t = rep["table_commitment"]
    lines.append(f"  table     {acts(t)}  {t['V_S']:9.4f} {t['V_P']:9.4f}  {t['archetype']}")
    b = cs["best"]
    lines.append(f"  best found {acts(b)}  {b['V_S']:9.4f} {b['V_P']:9.4f}  {b['archetype']}")
    lines += ["", f"search: {cs['method']}; {cs['evaluated']} commitments evaluated of 24^5 = 7,962,624; "
              f"exhaustive: {'yes' if cs['exhaustive'] else 'no'}"]
    return "\n".join(lines)


def _text(rep: dict) -> str:
    if "commitment_search" in rep:
        return _search_text(rep)
    lines = [f"scenario {rep['scenario']}: the strategic patron (docs/model.md section 11)",
             f"table check: the game with the table patron vs the single-agent optimum, max |dV| = "
             f"{rep['table_check']['max_abs_diff']:.1e}", "",
             "commitments (D, IP, sigma): the small state's optimum under each",
             f"  {'D':>2s} {'IP':>3s} {'sigma':>6s} {'V_S(s0)':>10s} {'V_P(s0)':>10s}  archetype"]
    for r in rep["commitments"]:
        mark = "  <- the patron's choice" if {k: r[k] for k in ("D", "IP", "sigma")} == rep["best_commitment"] else ""
        lines.append(f"  {r['D']:2d} {r['IP']:3d} {r['sigma']:6d} {r['V_S']:10.4f} {r['V_P']:10.4f}  {r['archetype']}{mark}")
    tp = rep["table_profile"]
    lines += ["", f"table profile (the small state's optimum vs the table patron): V_S = {tp['V_S']:.4f}, "
              f"V_P = {tp['V_P']:.4f}; the patron's best response would give it {tp['V_P_br']:.4f}",
              f"  NashConv at s0 {tp['nashconv_s0']:.4f}, max over states {tp['nashconv_max']:.4f}"]
    if "mpe" in rep:
        m = rep["mpe"]
        lines += ["", f"equilibrium search: {m['method']}",
                  f"  best certificate: NashConv at s0 {m['nashconv_s0']:.2g}, max over states {m['nashconv_max']:.2g} "
                  f"({m['iterations']} rounds, {m['seconds']:.0f} s); V_S = {m['V_S']:.4f}, V_P = {m['V_P']:.4f}; "
                  f"small state: {m['archetype']}", "  curve (lambda: max NashConv): "
                  + ", ".join(_stage(c) + f": {c['nashconv_max']:.2g}" for c in m["curve"] if c.get("polished", 0) % 25 == 0)]
    return "\n".join(lines)


def _stage(c: dict) -> str:
    """A curve entry's label: its precision, and what was done there (averaging, the extrapolation's
    certifications from its range of precisions, the path with a prior, fictitious play, the proximal polish)."""
    if "polished" in c:
        return f"polish {c['polished']}"
    if c.get("proximal"):
        return f"proximal round {c['round']}"
    if c.get("prior"):
        return f"with prior {c['lambda']:.3g}"
    if "extrapolated_from" in c:
        lo, hi = c["extrapolated_from"]
        return f"extrapolated from {lo:.4g}..{hi:.4g}"
    return f"{c['lambda']:.3g}" + (f" avg {c['averaged']}" if "averaged" in c else "")


def run(args: argparse.Namespace) -> int:
    from training.config.params import load_params

    params = load_params(args.scenario)
    if args.overrides:
        params = params.with_overrides(_overrides(args.overrides))
    if not 1 <= args.rounds <= 10:
        raise ValueError(f"--rounds={args.rounds} is not allowed: an integer in 1..10")
    rep = search_report(params, args.rounds) if params.finite_horizon else report(params, mpe=not args.no_mpe)
    print(json.dumps(rep, indent=2) if args.json else _text(rep))
    return 0

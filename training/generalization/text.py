"""The generalization study's Markdown: ``GENERALIZATION.md`` (:func:`markdown`) and its section of
``results/REPORT.md`` (:func:`section`), from the readings of :mod:`training.generalization.report`."""

from __future__ import annotations

from typing import Any

from training.generalization.analysis import CARRIED, ORACLE
from training.generalization.config import GeneralizationConfig
from training.render.tables import ci, fmt, table

TOP = 5  # factors shown per learner


def criteria(cfg: GeneralizationConfig) -> list[str]:
    """The criteria as the config fixed them before the first run."""
    c = cfg.criteria
    return [
        f"- **Q1 generalizes?** gap = mean share of V*_c on training contexts − on held-out contexts (same runs). "
        f"*Generalizes*: the gap's 95 % interval lies below {fmt(c.gap_margin, 2)}; *does not generalize*: above it; "
        "else *undecided*.",
        f"- **Q2 does the context matter?** (a) to the optimum: the default point's optimum carried to every held-out "
        f"context has a mean share whose interval lies below {fmt(1 - c.context_margin, 2)} → *matters* (above → "
        "*does not matter*); (b) to the learner: visible − hidden held-out mean share, interval above 0 → *seeing "
        "helps*, below 0 → *seeing hurts*.",
        f"- **Q3 which factors make a context hard?** A context is hard for a learner when its mean share over runs is "
        f"below {fmt(1 - c.hard_loss, 2)} (it loses more than {fmt(100 * c.hard_loss, 0)} %); the per-context share "
        "regressed on the 26 factors scaled to [0, 1] (OLS; a factor *makes contexts hard* when its coefficient's "
        f"interval lies below 0) and PRIM boxes of the hard contexts (density ≥ {fmt(c.prim_threshold, 2)}).",
        "- **Q4 does it learn when to participate?** Agreement = share of (run, context) cells whose archetype family "
        "(docs/model.md §9's label, +mediation/+fararc dropped) is the optimum's. *Learns when*: on held-out "
        "contexts the learner's agreement exceeds the carried optimum's (which plays one table everywhere), the "
        "interval of the excess above 0; below 0 → *does not learn when*.",
        f"- Intervals: 95 % percentile bootstrap ({cfg.resamples} resamples, seeded) resampling runs and contexts "
        "independently (the design's two sources), runs paired between training and held-out contexts, contexts "
        "paired between policies.",
    ]


def _share_rows(d: dict[str, Any]) -> list[list[str]]:
    rows = []
    for r in d["shares"]:
        learner = r["gap"] is not None
        rows.append([r["policy"], str(r["runs"]) if learner else "–", ci(r["train_mean"], collapse=True),
                     ci(r["test_mean"], collapse=True), ci(r["test_iqm"], collapse=True), ci(r["gap"]) if learner else "–", r["generalizes"] or "–"])
    return rows


def _scenario(cfg: GeneralizationConfig, name: str, d: dict[str, Any]) -> list[str]:
    n = d["contexts"]
    lines = [f"## `{name}`: {n['train']} training + {n['test']} held-out contexts", "",
             f"The default point's optimum is labelled `{d['default_label']}`.", "",
             "### Q1: share of V*_c on training vs held-out contexts", "",
             table(["policy", "runs", "train mean", "held-out mean", "held-out IQM", "gap (train − held-out)",
                    "verdict"], _share_rows(d), ["---", "---:", "---:", "---:", "---:", "---:", "---"]), "",
             f"`{ORACLE}` is 1 by definition; `{CARRIED}`: the default point's optimal table played unchanged "
             "in every context; the others: the ten hand-coded baselines (deterministic: their interval is over "
             "contexts only).", "", "### Q2: does the context matter?", ""]
    cm = d["context_matters"]
    lines.append(f"- To the optimum: the carried optimum's held-out mean share {ci(cm['carried_test_mean'])} → "
                 f"**{cm['to_the_optimum']}**.")
    for k, v in cm.items():
        if isinstance(v, dict) and "verdict" in v:
            lines.append(f"- {k} (held-out mean share): {ci(v['difference'])} → **{v['verdict']}**.")
    for k, v in cm["learner_vs_carried"].items():
        lines.append(f"- {k} − carried optimum (held-out mean share; descriptive, no criterion): {ci(v)}.")
    lines += ["", "### Q3: which factors make a context hard?", ""]
    for learner, h in d["hard"].items():
        lines.append(f"- **{learner}**: {h['hard']} of {h['contexts']} contexts hard (share < "
                     f"{fmt(1 - cfg.criteria.hard_loss, 2)}, mean over runs, both sets).")
        if h["effects"]:
            r2 = h["effects"][0]["r2"]
            worst = [f"`{e['factor']}` {ci([e['coefficient'], e['low'], e['high']])}" for e in h["effects"][:TOP]]
            lines.append(f"  - Regression (R² {fmt(r2, 2)}), most negative coefficients (share change from the low to "
                         f"the high end of the range): {'; '.join(worst)}.")
            lines.append("  - Factors that make contexts hard (interval below 0): "
                         + (", ".join(f"`{f}`" for f in h["hardening"]) or "none") + ".")
        else:
            lines.append("  - No regression: fewer contexts than factors + 1.")
        boxes = sorted({b["box"] for b in h["prim"]})
        if not boxes:
            why = (" (fewer than 5 hard contexts: not run)." if h["hard"] < 5 else " (every context is hard: not run)."
                   if h["hard"] == h["contexts"] else ".")
            lines.append("  - PRIM: no box reaches the density threshold" + why)
        for b in boxes:
            parts = [p for p in h["prim"] if p["box"] == b]
            lims = "; ".join(f"{p['input']} ∈ [{fmt(p['low'], 3)}, {fmt(p['high'], 3)}]" for p in parts)
            lines.append(f"  - PRIM box {b}: {lims} (coverage {fmt(parts[0]['coverage'], 2)}, density "
                         f"{fmt(parts[0]['density'], 2)}).")
    lines += ["", "### Q4: archetype agreement with the optimum (by family)", "",
              table(["policy", "contexts", "agreement", "excess over carried optimum", "verdict"],
                    [[r["policy"], "training" if r["set"] == "train" else "held-out", ci(r["agreement"]),
                      "–" if r["excess"] is None else ci(r["excess"]), r["learns_when"] or "–"] for r in d["agreement"]],
                    ["---", "---", "---:", "---:", "---"]), ""]
    pols = sorted({k for r in d["families"] for k in r if k not in ("scenario", "set", "family")},
                  key=lambda k: (k != "optimum", k != CARRIED, k))
    lines += ["Archetype families on held-out contexts (cells: contexts for the optimum and the carried optimum, "
              "runs × contexts for a learner):", "",
              table(["family", *pols], [[r["family"], *[str(r.get(p, 0)) for p in pols]]
                                        for r in d["families"] if r["set"] == "test"],
                    ["---", *["---:"] * len(pols)]), ""]
    return lines


def markdown(cfg: GeneralizationConfig, data: dict[str, Any]) -> str:
    """``GENERALIZATION.md``."""
    u, c = data["units"], data["config"]
    scen = ", ".join(f"`{s}` {n['train']} + {n['test']}" + (f" ({', '.join(n['algos'])} only)" if n.get("algos") else "")
                     for s, n in c["scenarios"].items())
    lines = ["# Generalization across the plausible space (issue 30)", "",
             "Learners trained on contexts drawn from the discovery's ranges (`configs/discovery/ranges.yaml`, 26 "
             "factors), with the context's features in the observation (*visible*) or not (*hidden*, CARL's "
             "conventions), each scored **exactly** against the optimum V*_c of every training context and of as "
             "many held-out contexts drawn with another seed (checked disjoint): no Monte Carlo noise in any share.",
             "", "## What was run", "",
             f"- Command: `nice -n 10 alliance generalization {cfg.source or 'CONFIG'} --num-cpus 1` (units as Ray "
             "tasks, one CPU); re-check with `--verify N`; `--report-only` renders this file again byte for byte.",
             f"- Contexts (training + held-out): {scen}; training seed {c['context_seed']}, held-out seed "
             f"{c['context_seed']} + 1000003.",
             f"- Learners: {', '.join(c['algos'])} × {', '.join(c['visibility'])} context × {c['seeds']} seeds, "
             f"{c['total_timesteps']:,} env steps each, the leaderboard's tuned hyperparameters (`{c['zoo']}`) "
             "unchanged; the final greedy policy scored.",
             f"- Units stored: {u['stored']} of {u['planned']}; summed unit time {u['seconds'] / 60:.0f} min "
             f"(training {u['train_seconds'] / 60:.0f} min)."]
    if u["missing"]:
        lines.append(f"- **Missing units** (not in the readings): {', '.join(u['missing'])}.")
    lines += ["", "## Questions and criteria (fixed in the config before the first run)", "", *criteria(cfg), ""]
    if any(d["learners"] for d in data["scenarios"].values()):
        lines += ["![learners vs carried optimum](learners_vs_carried.png)", "",
                  "Each held-out context's share of V*_c under each learner (mean over its runs) against the default "
                  "point's optimum carried there; above the diagonal the learner does better.", ""]
    for name, d in data["scenarios"].items():
        lines += _scenario(cfg, name, d)
    return "\n".join(lines).rstrip("\n") + "\n"


def section(cfg: GeneralizationConfig, data: dict[str, Any], rel: str) -> str:
    """The study's section of ``results/REPORT.md``: its verdicts in a few lines, the whole in ``rel``."""
    lines = ["## Generalization across the plausible space (issue 30)", "",
             f"Made by `alliance generalization {cfg.source or 'CONFIG'}`; the whole section, with its criteria, "
             f"tables and intervals, is [{rel}]({rel}). Shares of V*_c are exact; intervals resample runs and "
             "contexts.", ""]
    for name, d in data["scenarios"].items():
        n = d["contexts"]
        for r in d["shares"]:
            if r["gap"] is not None:
                lines.append(f"- `{name}` ({n['train']} + {n['test']} contexts), {r['policy']}: train "
                             f"{ci(r['train_mean'])}, held-out {ci(r['test_mean'])}, gap {ci(r['gap'])} → "
                             f"**{r['generalizes']}**.")
        cm = d["context_matters"]
        lines.append(f"- `{name}`: the default optimum carried to the held-out contexts reaches {ci(cm['carried_test_mean'])} "
                     f"→ does the context matter to the optimum: **{cm['to_the_optimum']}**"
                     + "".join(f"; {k}: {ci(v['difference'])} → **{v['verdict']}**" for k, v in cm.items()
                               if isinstance(v, dict) and "verdict" in v) + ".")
        for r in d["agreement"]:
            if r["set"] == "test" and r["excess"] is not None:
                lines.append(f"- `{name}`, {r['policy']}: archetype family agreement on held-out contexts "
                             f"{ci(r['agreement'])}, excess over the carried optimum {ci(r['excess'])} → "
                             f"**{r['learns_when']}**.")
        for learner, h in d["hard"].items():
            if h["hardening"]:
                lines.append(f"- `{name}`, {learner}: {h['hard']} of {h['contexts']} contexts hard (share < "
                             f"{fmt(1 - cfg.criteria.hard_loss, 2)}); factors whose coefficient's interval lies below 0 "
                             f"(strongest first): {', '.join(f'`{f}`' for f in h['hardening'][:TOP])}.")
    if data["units"]["missing"]:
        lines.append(f"- Missing units: {len(data['units']['missing'])} (named in {rel}).")
    return "\n".join(lines)

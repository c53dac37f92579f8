"""Render a benchmark (the data of ``training.scoring.benchmark.benchmark``) as benchmark.md, CSV tables and PNG
figures. Nothing here evaluates or resamples: every number comes from the data, so a report can be
re-rendered from ``benchmark.json`` alone. Files are written atomically.

Files in ``out``: ``benchmark.json`` (the data), ``benchmark.md``, ``benchmark.csv`` (one row per policy
and scenario, plus ``all`` for the aggregate), ``benchmark_runs.csv`` (one row per run and scenario) and
``figures/``: ``intervals_all.png`` and ``intervals_<scenario>.png`` (IQM share of V* with 95 % CIs),
``action_shares_<scenario>.png`` (the optimum's and each algorithm's action shares by phase) and
``learning_curves[_<training scenario>].png`` (EvalCallback's returns with the optimum's expected return).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from envs.params import PHASE_NAMES
from training.config.params import scenario_label
from training.evaluate.evaluation import FEATURES
from training.render import figures as fg
from training.render.tables import ci, csv_text
from training.results import store
from training.results.schemas import BenchmarkResult

ALL = "all"  # the aggregate over scenarios, in the CSV's scenario column


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "scenario"


def _display(name: str, kind: str, n_runs: int, copies: int = 0) -> str:
    if kind == "algorithm":
        also = f"; {copies} duplicate{'s' if copies != 1 else ''} counted once" if copies else ""
        return f"{name} ({n_runs} seed{'s' if n_runs != 1 else ''}{also})"
    return "optimum" if kind == "optimum" else f"baseline: {name}"


def duplicate_counts(data: dict[str, Any]) -> dict[str, int]:
    """Per group, how many run folders were left out as copies of one of its runs."""
    group_of = {r["run_dir"]: r["group"] for r in data["runs"]}
    counts: dict[str, int] = {}
    for dup in data.get("duplicates", []):
        group = group_of.get(dup["same_as"])
        if group is not None:
            counts[group] = counts.get(group, 0) + 1
    return counts


def display_names(data: dict[str, Any]) -> dict[str, str]:
    """Each policy's name in tables and figures: an algorithm with its seeds (and copies left out)."""
    agg = data["aggregate"]
    copies = duplicate_counts(data)
    return {name: _display(name, kind, agg["n_runs"][name], copies.get(name, 0)) for name, kind in agg["kinds"].items()}


def _pct(confidence: float) -> str:
    return f"{100 * confidence:g} %"


def save_data(data: dict[str, Any], out: str | Path) -> Path:
    """Write ``benchmark.json`` atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return store.write_stored(out / "benchmark.json", BenchmarkResult, data)


def load_data(out: str | Path) -> dict[str, Any]:
    """``benchmark.json`` of ``out``.

    :raises FileNotFoundError: there is none (one line)
    :raises ValueError: it is not UTF-8 JSON holding a mapping of :class:`~training.results.schemas.BenchmarkResult`
        (one line naming the file and the field)
    """
    path = Path(out) / "benchmark.json"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file; run the benchmark first") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a text file: byte 0x{raw[exc.start]:02x} at position {exc.start} is not "
                         "UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise ValueError(f"{path}: not allowed: lists or mappings nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ValueError(f"{path}: not valid JSON: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a {type(data).__name__} is not allowed: the mapping `alliance benchmark` writes")
    store.check_stored(path, BenchmarkResult, data)
    return {k: v for k, v in data.items() if k != "schema_version"}


# ------------------------------------------------------------------------------------ tables
def summary_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """benchmark.csv: one row per policy and scenario (and ``all``)."""
    agg = data["aggregate"]
    rows = []
    for name, kind in agg["kinds"].items():
        for scen in [*data["scenarios"], ALL]:
            est = agg["iqm"][name]["aggregate"] if scen == ALL else agg["iqm"][name]["per_scenario"][scen]
            poi = agg["poi"].get(name)
            poi_x = (poi["aggregate"] if scen == ALL else poi["per_scenario"][scen]) if poi else [None] * 3
            if kind == "algorithm":
                lab = agg["labels"][name]
                labels = (";".join(sorted(set(lab["per_scenario"][scen]["labels"]))) if scen != ALL else "")
                agree = lab["agree"] if scen == ALL else lab["per_scenario"][scen]["agree"]
            else:
                labels = "" if scen == ALL else (agg["optimum_labels"][scen] if kind == "optimum"
                                                 else agg["baseline_labels"][name][scen])
                agree = None
            rows.append({"policy": name, "kind": kind, "scenario": scen, "n_runs": agg["n_runs"][name],
                         "iqm_share": est[0], "ci_low": est[1], "ci_high": est[2],
                         "poi_vs_best_baseline": poi_x[0], "poi_low": poi_x[1], "poi_high": poi_x[2],
                         "labels": labels, "label_agreement_with_optimum": agree})
    return rows


def run_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """benchmark_runs.csv: one row per run and scenario."""
    rows = []
    for run in data["runs"]:
        for scen in data["scenarios"]:
            r = run["results"][scen]
            rows.append({"run_dir": run["run_dir"], "group": run["group"], "algo": run["algo"], "seed": run["seed"],
                         "trained_on": scenario_label(run["trained_on"], run.get("overrides")), "num_timesteps": run["num_timesteps"], "scenario": scen,
                         "value": r["value"], "optimum": r["optimum"], "regret": r["regret"],
                         "share_of_optimum": r["share_of_optimum"], "near_optimal_share": r["near_optimal_share"],
                         "label": r["label"], "optimum_label": data["optimum"][scen]["label"]})
    return rows


# ----------------------------------------------------------------------------------- figures
def phase_action_shares(results: list[dict[str, Any]]) -> np.ndarray:
    """(5, 12) action shares by phase of one or more evaluations pooled (each run's occupancy weighs
    the same): per phase, the mean of the runs' shares weighted by the phase's weight; NaN if no run
    visits the phase."""
    out = np.full((5, len(FEATURES)), np.nan)
    for ph in range(5):
        parts = [(r["phase_weights"][str(ph)], [r["phase_actions"][str(ph)][f] for f in FEATURES])
                 for r in results if str(ph) in r["phase_actions"]]
        if parts:
            w = np.array([p[0] for p in parts])
            out[ph] = (w[:, None] * np.array([p[1] for p in parts])).sum(axis=0) / w.sum()
    return out


def _figures(data: dict[str, Any], folder: Path) -> dict[str, Path]:
    agg = data["aggregate"]
    names = display_names(data)
    settings = agg["settings"]
    ci_text = f"{_pct(settings['confidence'])} stratified-bootstrap CI"
    out = {"intervals_all": fg.plot_interval_estimates(
        {names[k]: tuple(v["aggregate"]) for k, v in agg["iqm"].items()}, folder / "intervals_all.png",
        xlabel="share of V* (1 = optimum): IQM over seeds × scenarios",
        title=f"All scenarios ({', '.join(data['scenarios'])}): IQM, {ci_text}")}
    groups = [k for k, kind in agg["kinds"].items() if kind == "algorithm"]
    for scen in data["scenarios"]:
        safe = _safe(scen)
        out[f"intervals_{safe}"] = fg.plot_interval_estimates(
            {names[k]: tuple(v["per_scenario"][scen]) for k, v in agg["iqm"].items()},
            folder / f"intervals_{safe}.png", xlabel="share of V* (1 = optimum): IQM over seeds",
            title=f"Scenario {scen}: IQM, {ci_text}")
    out["action_shares"] = _action_heatmap(data, groups, names, folder / "action_shares.png")
    out.update(_learning_curves(data, folder))
    return out


def _action_heatmap(data: dict[str, Any], groups: list[str], names: dict[str, str], path: Path) -> Path:
    """One panel for the optimum and one per algorithm; rows are the (scenario, phase) pairs that some
    panel visits (a stationary scenario has one phase)."""

    panels: dict[str, list[np.ndarray]] = {"optimum": [], **{names[g]: [] for g in groups}}
    rows = []
    for scen in data["scenarios"]:
        shares = {"optimum": phase_action_shares([data["optimum"][scen]])}
        for g in groups:
            shares[names[g]] = phase_action_shares([r["results"][scen] for r in data["runs"] if r["group"] == g])
        for ph in range(len(PHASE_NAMES)):
            if any(not np.isnan(a[ph]).all() for a in shares.values()):
                rows.append(f"{scen} · Φ{ph} {PHASE_NAMES[ph]}")
                for k, a in shares.items():
                    panels[k].append(a[ph])
    horizons = sorted({data["optimum"][s]["horizon"] for s in data["scenarios"]})
    return fg.plot_action_heatmap({k: np.array(v) for k, v in panels.items()}, FEATURES, rows, path,
                                  ylabel="scenario · phase", title="Action shares by scenario and phase (exact occupancy from s0 over "
                                        f"{'/'.join(map(str, horizons))} steps; seeds pooled)")


def _learning_curves(data: dict[str, Any], folder: Path) -> dict[str, Path]:
    """One figure per training scenario: each algorithm's evaluation returns and the optimum's line."""
    by_training: dict[str, dict[str, list]] = {}
    for run in data["runs"]:
        if run["curve"]:
            key = data["curve_optimum"][run["group"]]["training"]
            curve = (np.array(run["curve"]["timesteps"]), np.array(run["curve"]["mean_return"]))
            by_training.setdefault(key, {}).setdefault(run["group"], []).append(curve)
    out = {}
    for key, curves in by_training.items():
        group = next(iter(curves))
        opt = data["curve_optimum"][group]
        episodes = sorted({r["curve"]["n_episodes"] for r in data["runs"] if r["curve"] and r["group"] in curves})
        n_ep = "/".join(map(str, episodes))
        suffix = "" if len(by_training) == 1 else f"_{_safe(key)}"
        out[f"learning_curves{suffix}"] = fg.plot_learning_curves(
            curves, opt["episode_return"], folder / f"learning_curves{suffix}.png",
            ylabel=f"evaluation return: sum of {opt['horizon']} rewards,\nundiscounted (mean of {n_ep} greedy episodes)",
            title=f"Learning curves on {key} (line: mean over seeds; band: min–max)",
            optimum_label=f"optimal policy: exact expected return ({opt['episode_return']:.2f})")
    return out


# ---------------------------------------------------------------------------------- markdown
def markdown(data: dict[str, Any], figure_paths: dict[str, Path], out: Path) -> str:
    """benchmark.md (the command that made it from ``data["command"]``, if recorded)."""
    agg = data["aggregate"]
    scen = data["scenarios"]
    n = agg["n_runs"]
    st = agg["settings"]
    best = agg["best_baseline"]
    groups = [k for k, kind in agg["kinds"].items() if kind == "algorithm"]
    names = display_names(data)
    model = data.get("model_file") or "model.zip"
    check = "its sha256 checked against the run's manifest" if data["hash_checked"] else "sha256 NOT checked (--trust)"
    lines = ["# Benchmark: share of the optimum", ""]
    if data.get("command"):
        lines += [f"Command: `{data['command']}`", ""]
    lines += [
        f"Scenarios: {', '.join(f'`{s}`' for s in scen)}. Runs: {len(data['runs'])} ({model} of each, {check}).",
        "",
        "Every policy is evaluated exactly (docs/model.md §10): its value V^π(s0), scored as §7 says, as a share of "
        "V*(s0) — a trained run's greedy policy read off on every (t, state). Baselines and the optimum are "
        "deterministic (one value each; `random` through its uniform distribution), so their intervals have "
        "zero width. Across seeds and scenarios: the interquartile mean (IQM) and "
        f"{_pct(st['confidence'])} percentile intervals of a stratified bootstrap ({st['backend']}, "
        f"{st['reps']} resamples, seed {st['seed']}; Agarwal et al. 2021).", "",
        f"## Share of V* (IQM [{_pct(st['confidence'])} CI])", "",
        "| policy | kind | runs | " + " | ".join(f"`{s}`" for s in scen) + " | all scenarios |",
        "|---|---|---:|" + "---:|" * (len(scen) + 1)]
    for name, kind in agg["kinds"].items():
        runs = kind == "algorithm"
        cells = ([ci(agg["iqm"][name]["per_scenario"][s], collapse=not runs) for s in scen]
                 + [ci(agg["iqm"][name]["aggregate"], collapse=not runs)])
        shown = names[name] if runs and duplicate_counts(data).get(name) else name  # copies said in the table
        lines.append(f"| {shown} | {agg['kinds'][name]} | {n[name]} | " + " | ".join(cells) + " |")
    dups = data.get("duplicates", [])
    if dups:
        lines += ["", f"Duplicates, counted once ({len(dups)} run folder{'s' if len(dups) != 1 else ''} left out: "
                  "copies are not seeds, and counting them would narrow the intervals):", ""]
        lines += [f"- `{d['run_dir']}`: {d.get('why', 'the same model bytes')} as `{d['same_as']}`" for d in dups]
    lines += ["", f"## Probability of improvement over the best baseline (`{best}`)", "",
              f"P(share of a seed > share of `{best}`), ties counting 1/2, averaged over scenarios; "
              f"{_pct(st['confidence'])} bootstrap CI. The best baseline has the highest mean share over the "
              "scenarios.", ""]
    if groups:
        lines += ["| algorithm | " + " | ".join(f"`{s}`" for s in scen) + " | all scenarios |",
                  "|---|" + "---:|" * (len(scen) + 1)]
        for g in groups:
            p = agg["poi"][g]
            lines.append(f"| {names[g]} | " + " | ".join(ci(p["per_scenario"][s]) for s in scen)
                         + f" | {ci(p['aggregate'])} |")
    else:
        lines.append("No runs.")
    lines += ["", "## Archetypes (docs/model.md §9)", "",
              "| scenario | optimum | " + " | ".join(f"{names[g]}: seeds' labels (agree with optimum)" for g in groups)
              + " |", "|---|---|" + "---|" * len(groups)]
    for s in scen:
        cells = []
        for g in groups:
            cell = agg["labels"][g]["per_scenario"][s]
            counts = {lab: cell["labels"].count(lab) for lab in sorted(set(cell["labels"]))}
            cells.append(", ".join(f"{lab} ×{c}" for lab, c in counts.items()) + f" ({cell['agree']:.0%})")
        lines.append(f"| `{s}` | {agg['optimum_labels'][s]} | " + " | ".join(cells) + " |")
    if agg["label_agreement"] is not None:
        total = sum(len(agg["labels"][g]["per_scenario"][s]["labels"]) for g in groups for s in scen)
        lines += ["", f"A run's label is the optimum's in {agg['label_agreement']:.0%} of {total} (run, scenario) pairs."]
    lines += ["", "Baselines' labels:", "", "| baseline | " + " | ".join(f"`{s}`" for s in scen) + " |",
              "|---|" + "---|" * len(scen)]
    for b, labs in agg["baseline_labels"].items():
        lines.append(f"| {b} | " + " | ".join(labs[s] for s in scen) + " |")
    lines += ["", "## Runs", "", "| run | algorithm | seed | steps | " + " | ".join(f"`{s}`: share, label" for s in scen)
              + " |", "|---|---|---:|---:|" + "---|" * len(scen)]
    for run in data["runs"]:
        cells = [f"{run['results'][s]['share_of_optimum']:.4f}, {run['results'][s]['label']}" for s in scen]
        lines.append(f"| `{Path(run['run_dir']).name}` | {run['group']} | {run['seed']} | {run['num_timesteps']:,} | "
                     + " | ".join(cells) + " |")
    lines += ["", "## Figures", ""]
    for key, path in figure_paths.items():
        lines.append(f"![{key}]({Path(path).relative_to(out).as_posix()})")
    curves = data["curve_optimum"]
    if curves:
        lines += ["", "Learning curves: the y-axis is what SB3's `EvalCallback` logs — the undiscounted sum of "
                  "one evaluation episode's rewards (80 steps in a stationary scenario, 44 in timeline/calendar), "
                  "averaged over the greedy evaluation episodes. The dashed line is the optimal policy's exact "
                  "expected value of that same sum (horizon × the mean reward under its occupancy); it is the "
                  "return of the policy that maximises the *discounted* objective, so a run may sit slightly "
                  "above it."]
    lines += ["", "CSV: `benchmark.csv` (per policy and scenario; `all` = aggregate), `benchmark_runs.csv` (per run "
              "and scenario). Data: `benchmark.json`.", ""]
    return "\n".join(lines)


def render(data: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write benchmark.md, benchmark.csv, benchmark_runs.csv and the figures into ``out``; return the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figs = _figures(data, out / "figures")
    paths = {"csv": store.atomic_write_text(out / "benchmark.csv", csv_text(summary_rows(data), digits=None)),
             "runs_csv": store.atomic_write_text(out / "benchmark_runs.csv", csv_text(run_rows(data), digits=None))}
    paths["md"] = store.atomic_write_text(out / "benchmark.md", markdown(data, figs, out))
    return {**paths, **figs}

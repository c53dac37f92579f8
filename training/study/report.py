"""The study's report, rendered from its stored results only (no solving, no training).

:func:`write_report` reads ``exact/``, ``sweeps/`` and ``runs/*/*/evaluation.json`` of the study's
out folder, computes the verdicts (``training/study/hypotheses/``), and writes ``study.json`` (the
aggregate), ``tables/*.csv``, ``figures/*.png`` and ``REPORT.md``, each atomically. The same stored
results give the same files byte for byte: no timestamps, no absolute paths, fixed bootstrap seeds.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines import baseline_names
from envs.params import PHASE_NAMES
from envs.scenarios import CALENDAR
from training.config.study import StudyConfig, plan_points, plan_runs
from training.evaluate.evaluation import FEATURES
from training.evaluate.stats import bootstrap_ci, per_task_estimates
from training.render import discovery as render_discovery
from training.render import figures as fg
from training.render.study_text import render_markdown
from training.render.tables import write_csv
from training.render.why import why_figures, why_section, why_tables
from training.results import store
from training.results.lock import folder_lock
from training.results.manifest import read_evaluations
from training.results.schemas import Environment, PointAnalysis, RunEvaluation, StudyResult
from training.results.store import EVALUATION, read_stored
from training.study import hypotheses as hy
from training.study import robustness
from training.study.explain_units import load_explain, plan_explain

PHASE_TITLES = tuple(f"Φ{i} {name}" for i, name in enumerate(PHASE_NAMES))  # docs/model.md's phases, numbered
STATS = hy.STAT_KEYS
FEATURE_WORDS = {"m": ("participation", ("abstain", "political support", "territory/basing", "combat troops")),
                 "k": ("recognition", ("no", "yes")), "g": ("integration", ("resist", "token", "deep")),
                 "d": ("diplomacy", ("none", "mediation", "far-arc outreach", "West signal"))}


def feature_words(feature: str) -> str:
    """'m=2' -> 'participation=territory/basing' (the group before '=' names a panel)."""
    var, level = feature.split("=")
    group, words = FEATURE_WORDS[var]
    return f"{group}={words[int(level)]}"


# ------------------------------------------------------------------------------------- loading
def load_study_data(cfg: StudyConfig) -> dict[str, Any]:
    """The stored results of the units the config plans (files of other configs are ignored).

    :raises ValueError: a stored file does not match its schema (one line naming it and the field)
    """
    out = cfg.out_dir
    scenarios: dict[str, Any] = {}
    sweeps: dict[str, list] = {}
    missing: list[str] = []
    for p in plan_points(cfg):
        path = out / p.relpath()
        if not path.is_file():
            missing.append(p.relpath())
            continue
        data = read_stored(path, PointAnalysis)
        if p.kind == "scenario":
            scenarios[p.key] = data
        else:
            sweeps.setdefault(p.sweep, []).append(data)
    runs = []
    for r in plan_runs(cfg):
        path = out / r.relpath() / EVALUATION
        if path.is_file():
            runs.append({**read_stored(path, RunEvaluation), "run_dir": r.relpath()})
        else:
            missing.append(f"{r.relpath()}/{EVALUATION}")
    env_path = out / "environment.json"
    environment = read_stored(env_path, Environment) if env_path.is_file() else {}
    return {"scenarios": scenarios, "sweeps": sweeps, "runs": runs, "missing": missing, "environment": environment}


# ------------------------------------------------------------------------------------ aggregate
def best_baseline(a: Mapping) -> tuple[str, float]:
    name = max(a["baselines"], key=lambda b: a["baselines"][b]["share"])
    return name, float(a["baselines"][name]["share"])


def glance_rows(data: Mapping) -> list[dict[str, Any]]:
    """One row per named scenario: the optimum's archetype and value, the best baseline."""
    rows = []
    for name, a in data["scenarios"].items():
        best, share = best_baseline(a)
        rows.append({"scenario": name, "label": a["optimum"]["label"], "value": a["optimum"]["value"],
                     "best_baseline": best, "best_share": share,
                     "limited": a["baselines"].get("limited", {}).get("share"),
                     "bandwagon": a["baselines"].get("bandwagon", {}).get("share"),
                     "nearest_baseline": a["optimum"]["nearest_baseline"]})
    return rows


def point_rows(analyses: Sequence[Mapping]) -> list[dict[str, Any]]:
    """A flat row per analysis: coordinates, archetype, V*, statistics, best baseline."""
    rows = []
    for a in analyses:
        best, share = best_baseline(a)
        row = {"key": a["key"], **{f"coord:{k}": v for k, v in a.get("coords", {}).items()},
               "label": a["optimum"]["label"], "value": a["optimum"]["value"]}
        row.update({k: a["optimum"]["stats"][k] for k in STATS})
        row.update({"best_baseline": best, "best_share": share})
        rows.append(row)
    return rows


def build_study(cfg: StudyConfig, data: Mapping) -> dict[str, Any]:
    """``study.json``: the verdicts, the learners' summary and the compact tables behind the report.
    Like the report, a function of the stored results alone: what depends on how the study ran
    (each unit's seconds, whether a run was trained, reused or resumed) stays in the unit's own file."""
    return {
        "name": cfg.name, "config": cfg.source, "out": cfg.out, "missing": list(data["missing"]),
        "hypotheses": hy.all_hypotheses(data),
        "rl": hy.rl_summary(data["runs"], cfg.bootstrap_reps, cfg.bootstrap_seed),
        "glance": glance_rows(data),
        "sweeps": {name: point_rows(points) for name, points in data["sweeps"].items()},
        "units": {"analyses": len(data["scenarios"]) + sum(len(v) for v in data["sweeps"].values()),
                  "runs": len(data["runs"])},
    }


# --------------------------------------------------------------------------------------- tables
def write_tables(cfg: StudyConfig, data: Mapping, study: Mapping) -> dict[str, Path]:
    folder = cfg.out_dir / "tables"
    out = {"scenarios": write_csv(folder / "scenarios.csv", point_rows(list(data["scenarios"].values())),
                                  header=("key", "label", "value", *STATS, "best_baseline", "best_share"))}
    shares = [{"scenario": n, **{b: v["share"] for b, v in a["baselines"].items()}}
              for n, a in data["scenarios"].items()]
    out["baselines"] = write_csv(folder / "baseline_shares.csv", shares, header=("scenario", *baseline_names()))
    for name, rows in study["sweeps"].items():
        out[f"sweep_{name}"] = write_csv(folder / f"sweep_{name}.csv", rows)
    if data["runs"]:
        keys = ("scenario", "algo", "seed", "total_timesteps", "value", "optimum", "regret", "share",
                "near_optimal_share", "label", "optimal_label", "label_agrees")
        out["rl_runs"] = write_csv(folder / "rl_runs.csv", [{k: r[k] for k in keys} for r in data["runs"]])
    verdicts = [{"id": h["id"], "verdict": h["verdict"], "criteria_held": sum(c["holds"] for c in h["criteria"]),
                 "criteria": len(h["criteria"])} for h in [*study["hypotheses"], study["rl"]]]
    out["verdicts"] = write_csv(folder / "verdicts.csv", verdicts)
    return out


# -------------------------------------------------------------------------------------- figures
def _label_grid(points: Sequence[Mapping], x: str, y: str) -> tuple[np.ndarray, list, list] | None:
    xs = list(dict.fromkeys(p["coords"][x] for p in points))
    ys = list(dict.fromkeys(p["coords"][y] for p in points))
    grid = np.full((len(ys), len(xs)), "n/a", dtype=object)
    for p in points:
        grid[ys.index(p["coords"][y]), xs.index(p["coords"][x])] = p["optimum"]["label"]
    return grid, xs, ys


def _ticks(values: Sequence[Any]) -> list[str]:
    return [f"{v:g}" if isinstance(v, int | float) else str(v) for v in values]


def render_figures(cfg: StudyConfig, data: Mapping, study: Mapping) -> dict[str, Path]:
    """Every figure the data allows; returns name -> path."""

    folder = cfg.out_dir / "figures"
    out: dict[str, Path] = {}
    sweeps, scen = data["sweeps"], data["scenarios"]
    if len(sweeps.get("threat_alternatives", [])) == 4:
        pts = sweeps["threat_alternatives"]
        order = {"low": 0, "high": 1, "closed": 0, "open": 1}
        grid = np.empty((2, 2), dtype=object)
        for p in pts:
            grid[order[p["coords"]["threat"]], order[p["coords"]["alternatives"]]] = p["optimum"]["label"]
        out["grid_ta"] = fg.plot_phase_diagram(grid, ["closed (L = .1)", "open (L = 1)"], ["low (τ = .8)", "high (τ war)"],
                                               folder / "grid_threat_alternatives.png",
                                               "Optimal archetype: threat × alternatives (on `war`)",
                                               "alternatives (the West)", "threat")
    if sweeps.get("identification_power"):
        grid, xs, ys = _label_grid(sweeps["identification_power"], "identification", "power")
        out["grid_ic"] = fg.plot_phase_diagram(grid, _ticks(xs), _ticks(ys), folder / "grid_identification_power.png",
                                               "Optimal archetype: identification ι × power c (on `war`)",
                                               "identification ι", "power c")
    sens = [s for s in ("entrapment_scale", "deep_cost_scale") if sweeps.get(s)]
    if sens:
        scales = sorted({p["coords"][s] for s in sens for p in sweeps[s]})
        grid = np.full((len(scales), len(sens)), "n/a", dtype=object)
        for j, s in enumerate(sens):
            for p in sweeps[s]:
                grid[scales.index(p["coords"][s]), j] = p["optimum"]["label"]
        names = {"entrapment_scale": "entrapment", "deep_cost_scale": "deep integration"}
        out["sensitivity"] = fg.plot_phase_diagram(grid, [names[s] for s in sens], [f"× {v:g}" for v in scales],
                                                   folder / "sensitivity.png", "Optimal archetype when a number is scaled",
                                                   "the number scaled (on `war`)", "scale (1 = docs/model.md)")
    if "war" in scen:
        b = scen["war"]["baselines"]
        out["baselines_war"] = fg.plot_bar_shares({n: (v["share"],) * 3 for n, v in b.items()},
                                                  folder / "baselines_war.png",
                                                  title="Baselines in `war`: exact value as a share of V*")
    if len(scen) >= 2:

        names = list(next(iter(scen.values()))["baselines"])
        est = {n: bootstrap_ci([a["baselines"][n]["share"] for a in scen.values()], reps=cfg.bootstrap_reps,
                               seed=cfg.bootstrap_seed) for n in names}
        out["baselines_all"] = fg.plot_bar_shares(
            est, folder / "baselines_scenarios.png", ylabel="mean share of V* over the scenarios",
            title=f"Baselines over {len(scen)} scenarios (bars: 95 % bootstrap CI over scenarios)")
    if "calendar" in scen and "quarters" in scen["calendar"]:
        q = scen["calendar"]["quarters"]

        bounds = []
        for ph in sorted(set(CALENDAR)):
            ts = [t for t, p in enumerate(CALENDAR) if p == ph]
            bounds.append((f"Φ{ph}", ts[0], ts[-1]))
        out["calendar"] = fg.plot_strategy_timeline(q["t_labels"],
                                                    {feature_words(f): np.array(v) for f, v in q["actions"].items()},
                                                    folder / "calendar_strategy.png", bounds,
                                                    title="The optimum along the calendar 2014–2024 (shares of its "
                                                          "state distribution)")
    timed = {n: scen[n] for n in ("calendar", "timeline") if n in scen}
    if timed:

        shares = {}
        for n, a in timed.items():
            arr = np.full((5, len(FEATURES)), np.nan)
            for ph, v in a["optimum"]["phases"].items():
                arr[int(ph)] = [v["actions"][f] for f in FEATURES]
            shares[f"optimum, {n}"] = arr
        out["phase_actions"] = fg.plot_action_heatmap(shares, FEATURES, PHASE_TITLES, folder / "phase_actions.png",
                                                      title="The optimum's actions by phase")
    out.update(_rl_figures(cfg, data, study, folder))
    return out


def _rl_figures(cfg: StudyConfig, data: Mapping, study: Mapping, folder: Path) -> dict[str, Path]:

    rl = study["rl"]
    if not rl.get("algos"):
        return {}
    out: dict[str, Path] = {}
    est = {f"{a} (all scenarios)": tuple(v["share"]) for a, v in rl["algos"].items()}

    for algo in rl["algos"]:
        for s in rl["scenarios"]:
            vals = np.array([r["share"] for r in data["runs"] if r["algo"] == algo and r["scenario"] == s])
            if vals.size:
                est[f"{algo} · {s}"] = per_task_estimates({"x": vals}, "iqm", cfg.bootstrap_reps, cfg.bootstrap_seed)["x"][0]
    out["rl_share"] = fg.plot_interval_estimates(est, folder / "rl_share.png",
                                                 title="Trained policies: IQM share of V* (95 % stratified-bootstrap CI)")
    for s in rl["scenarios"]:
        curves: dict[str, list] = {}
        for r in data["runs"]:
            log = read_evaluations(cfg.out_dir / r["run_dir"]) if r["scenario"] == s else None  # checked
            if log is None:
                continue
            curves.setdefault(r["algo"], []).append((log["timesteps"], log["results"].mean(axis=1)))
        if curves:
            opt = data["scenarios"].get(s, {}).get("optimum", {}).get("episode_return")
            out[f"learning_{s}"] = fg.plot_learning_curves(
                dict(sorted(curves.items())), opt, folder / f"learning_{s}.png",
                ylabel="mean return of an evaluation episode (undiscounted)",
                title=f"Learning curves on `{s}` (line: mean over seeds; band: min–max; dashed: the optimum)")
    return out


# ---------------------------------------------------------------------------------------- write
def stored_units(cfg: StudyConfig) -> list[str]:
    """The units the config plans whose files are in its out folder (relative paths): analyses, RL
    runs' evaluations, explain units, discovery batches."""
    names = [p.relpath() for p in plan_points(cfg)] + [f"{r.relpath()}/{EVALUATION}" for r in plan_runs(cfg)]
    names += [u.relpath() for u in plan_explain(cfg)] + [b.relpath() for b in robustness.plan_discovery(cfg)]
    return [n for n in names if (cfg.out_dir / n).is_file()]


def check_renderable(cfg: StudyConfig) -> None:
    """A report is rendered only beside its study's results: into a folder that holds at least one
    unit this config plans (issue 28: ``out: /`` rendered someone's REPORT.md over at the root).

    :raises ValueError: one line naming ``out``, the folder and what to do
    """
    if not stored_units(cfg):
        example = next(iter(p.relpath() for p in plan_points(cfg)), None) or "runs/<scenario>/<algo>_s<seed>"
        raise ValueError(f"out={cfg.out!r} is not allowed for a report: {cfg.out_dir} holds none of study "
                         f"{cfg.name!r}'s stored units (such as {example}), and a report is rendered only beside "
                         f"its study's results; run the study first (alliance study {cfg.source or 'CONFIG'})")


def write_report(cfg: StudyConfig) -> Path:
    """Render ``study.json``, the tables, the figures and the report from the stored results, holding
    the study folder's lock (``training/results/lock.py``; re-entrant: the driver holds it already).

    :raises ValueError: the folder holds none of the study's units (:func:`check_renderable`), or a
        stored unit does not match its schema (one line)
    :raises training.results.lock.FolderBusy: another process writes the study's folder (one line)
    """
    check_renderable(cfg)  # before the lock: nothing, not even a lock file, in a folder of someone else's
    with folder_lock(cfg.out_dir, f"alliance study {cfg.source or cfg.name} --report-only"):
        return _write_report(cfg)


def _write_report(cfg: StudyConfig) -> Path:
    data = load_study_data(cfg)
    data["discovery"] = robustness.analyse(cfg)  # discovery/*.csv; read by H7 and "How robust is the answer?"
    why, data["missing"] = load_explain(cfg, data["missing"])
    study = build_study(cfg, data)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    store.write_stored(cfg.out_dir / "study.json", StudyResult, study)
    write_tables(cfg, data, study)
    why_tables(why, cfg.out_dir / "tables")
    figures = render_figures(cfg, data, study)
    figures.update(render_discovery.render_figures(data["discovery"], cfg.out_dir / "figures"))
    figures.update(why_figures(why, cfg.out_dir / "figures"))
    report = cfg.report_path
    report.parent.mkdir(parents=True, exist_ok=True)
    rel = {k: _relative(v, report.parent) for k, v in figures.items()}
    text = render_markdown(cfg, data, study, rel, why=why_section(why, rel))
    store.atomic_write_text(report, text + carried_sections(report))
    return report


# A section another command writes into this report (``alliance h8``: H8's), between its markers
# ``<!-- NAME: begin ... -->`` and ``<!-- NAME: end -->``: a re-rendered report keeps it, at the end.
_CARRIED = re.compile(r"<!-- (\w+): begin[^>]*-->.*?<!-- \1: end -->", re.S)


def carried_sections(report: Path) -> str:
    """The marked sections of other commands in the report as it stands ("" if none or no report)."""
    if not report.is_file():
        return ""
    found = [m.group(0) for m in _CARRIED.finditer(report.read_text(encoding="utf-8"))]
    return "".join("\n" + block + "\n" for block in found)


def _relative(path: Path, start: Path) -> str:

    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()

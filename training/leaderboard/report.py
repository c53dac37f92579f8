"""``results/leaderboard/``: tables (CSV), figures and ``LEADERBOARD.md`` from the stored units alone (no
training, no solving): the same stored units give the same report byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.leaderboard import figures
from training.leaderboard import scores as sc
from training.leaderboard.checkpoints import why_not_exact
from training.leaderboard.config import LeaderboardConfig, load_zoo, zoo_path
from training.leaderboard.driver import stored_units
from training.render.figures import plot_interval_estimates
from training.render.tables import ci, fmt, table, write_csv
from training.results import store

REPORT = "LEADERBOARD.md"


def compute(cfg: LeaderboardConfig) -> dict[str, Any]:
    """Every number of the report, from the stored units."""
    scenario_units, runs = stored_units(cfg)
    if not runs:
        raise ValueError(f"{cfg.out_dir}: no stored run of this leaderboard; run `alliance leaderboard "
                         f"{cfg.source or 'CONFIG'}` first")
    whole = sc.complete_scenarios(runs, cfg.scenarios, cfg.algos, cfg.seeds)
    if not whole:
        raise ValueError(f"{cfg.out_dir}: no scenario has all {cfg.seeds} seeds of every algorithm stored yet; "
                         "nothing to aggregate")
    runs = [r for r in runs if r["scenario"] in whole]
    agg = sc.aggregate(runs, whole, cfg.resamples)
    return {"scenario_units": scenario_units, "runs": runs, "agg": agg, "efficiency": sc.sample_efficiency(runs),
            "curves": sc.curves(runs), "per_scenario": sc.per_scenario(runs, scenario_units), "scenarios": whole}


def leaderboard_rows(cfg: LeaderboardConfig, data: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per algorithm, best IQM first: the README's and LEADERBOARD.md's main table."""
    agg, eff = data["agg"], data["efficiency"]
    rows = []
    for algo in agg["order"]:
        mine = [e for e in eff if e["algo"] == algo]
        row = {"algo": algo, "runs": agg["n_runs"][algo], "iqm_share": agg["iqm"][algo][0],
               "iqm_share_lo": agg["iqm"][algo][1], "iqm_share_hi": agg["iqm"][algo][2],
               "mean_share": agg["mean"][algo][0], "mean_share_lo": agg["mean"][algo][1],
               "mean_share_hi": agg["mean"][algo][2], "iqm_regret": agg["regret_iqm"][algo][0],
               "iqm_regret_lo": agg["regret_iqm"][algo][1], "iqm_regret_hi": agg["regret_iqm"][algo][2]}
        for th in sc.THRESHOLDS:
            tag = f"{round(100 * th)}"
            row[f"runs_reaching_{tag}"] = sum(e[f"reached_{tag}"] for e in mine)
        row["poi_best_over"] = agg["poi"][algo][0] if algo in agg["poi"] else None
        row["exact"] = all(r["exact"] for r in data["runs"] if r["algo"] == algo)
        row["max_steps_trained"] = max(r["total_timesteps"] for r in data["runs"] if r["algo"] == algo)
        rows.append(row)
    return rows


def markdown_table(rows: list[dict[str, Any]], best: str) -> str:
    """The leaderboard as a Markdown table (README and LEADERBOARD.md)."""
    cells = []
    for i, r in enumerate(rows):
        cells.append([i + 1, r["algo"] + ("" if r["exact"] else " †"),
                      ci((r["iqm_share"], r["iqm_share_lo"], r["iqm_share_hi"])),
                      ci((r["iqm_regret"], r["iqm_regret_lo"], r["iqm_regret_hi"])),
                      f"{r['runs_reaching_95']}/{r['runs']}", f"{r['runs_reaching_99']}/{r['runs']}",
                      "–" if r["poi_best_over"] is None else fmt(r["poi_best_over"], 2)])
    return table(["#", "algorithm", "IQM share of V* [95 % CI]", "IQM regret (1 − share) [95 % CI]",
                  "runs reaching 95 % of V*", "runs reaching 99 % of V*", f"P({best} > it)"], cells,
                 ["---:", "---", "---:", "---:", "---:", "---:", "---:"])


def write_report(cfg: LeaderboardConfig) -> Path:
    """Tables, figures and LEADERBOARD.md under the config's ``out``."""
    data = compute(cfg)
    out = cfg.out_dir
    agg = data["agg"]
    rows = leaderboard_rows(cfg, data)
    write_csv(out / "leaderboard.csv", rows)
    write_csv(out / "per_scenario.csv", data["per_scenario"])
    write_csv(out / "sample_efficiency.csv", data["efficiency"])
    write_csv(out / "curves.csv", [{"algo": a, "scenario": s, "checkpoint": k + 1, "steps": c["steps"][k],
                                    "mean_share": c["mean"][k], "min_share": c["min"][k], "max_share": c["max"][k]}
                                   for (a, s), c in sorted(data["curves"].items()) for k in range(len(c["steps"]))])
    write_csv(out / "profiles.csv", [{"algo": a, "tau": t, "fraction": p[0], "lo": p[1], "hi": p[2]}
                                     for a in agg["order"] for t, p in zip(agg["taus"], agg["profiles"][a])])
    write_csv(out / "poi.csv", [{"x": agg["best"], "y": a, "p": v[0], "lo": v[1], "hi": v[2]}
                                for a, v in agg["poi"].items()])
    baselines = {u["scenario"]: (name, b["share"]) for u in data["scenario_units"]
                 for name, b in [sc.best_baseline(u)]}
    figures.plot_curves(data["curves"], data["scenarios"], agg["order"], baselines, out / "curves.png",
                        f"Share of V* at each checkpoint (mean over {cfg.seeds} seeds, band min-max)")
    figures.plot_profiles(agg["profiles"], agg["taus"], agg["order"], out / "profiles.png",
                          "Performance profiles (runs = seeds x scenarios, 95 % stratified-bootstrap bands)")
    plot_interval_estimates(agg["iqm"], out / "iqm.png", title="IQM share of V* over seeds x scenarios (95 % CI)")
    text = _markdown(cfg, data, rows, baselines)
    return store.atomic_write_text(out / REPORT, text)


def _markdown(cfg: LeaderboardConfig, data: dict[str, Any], rows: list[dict[str, Any]],
              baselines: dict[str, tuple[str, float]]) -> str:
    agg, runs = data["agg"], data["runs"]
    seconds = sum(r["seconds"] for r in runs) + sum(u["seconds"] for u in data["scenario_units"])
    planned = len(cfg.scenarios) * len(cfg.algos) * cfg.seeds
    left_out = [s for s in cfg.scenarios if s not in data["scenarios"]]
    lines = [f"# Leaderboard: {len(agg['order'])} algorithms against the exact optimum", "",
             f"Every algorithm trained for **{cfg.total_timesteps:,} env steps** (one budget for all) with "
             f"{cfg.seeds} seeds on {', '.join(f'`{s}`' for s in data['scenarios'])}; scored by the share of V* its "
             "final greedy policy reaches, computed exactly (`agents.exact_eval`, docs/model.md section 10) — no "
             "Monte Carlo noise in the score, except for RecurrentPPO (†): " + why_not_exact() +
             f" ({cfg.recurrent_episodes} episodes per checkpoint, the interval in the unit files).", "",
             "## What was run", "",
             f"- Command: `nice -n 10 alliance leaderboard {cfg.source or 'CONFIG'}` (units as Ray tasks, one CPU); "
             f"re-check with `--verify N`.",
             f"- Units stored: {len(runs)} runs of {planned} planned, {len(data['scenario_units'])} scenario units; "
             f"summed unit time {seconds / 60:.0f} min.",
             f"- Scenarios aggregated: {', '.join(data['scenarios'])}" + (
                 f"; **not in this run: {', '.join(left_out)}** (its units did not all finish in the time this "
                 "session had; `alliance leaderboard` on the same config computes what is missing)" if left_out else "."),
             f"- Hyperparameters: tuned with Optuna on `{cfg.tune.scenario}` ({cfg.tune.trials} trials per algorithm, "
             f"each one run of the same {cfg.total_timesteps:,} steps), stored in `{cfg.zoo}/` with the reason for "
             "each value, reused unchanged on every scenario and seed.",
             f"- Checkpoints: every {cfg.checkpoint_freq():,} steps, each valued exactly (the sample-efficiency curves).",
             *_overshoot(cfg, rows),
             "", "## Leaderboard", "", markdown_table(rows, agg["best"]), "",
             "IQM: the interquartile mean over all runs (seeds x scenarios); intervals: stratified bootstrap "
             f"({cfg.resamples} resamples, runs resampled within each scenario; rliable's scheme). Regret is "
             "normalised, 1 − V^π/V*. A run reaches 95 % (99 %) of V* if one of its checkpoints does. The last column is rliable's probability of improvement of the best "
             "algorithm over each other one.", "", "![IQM](iqm.png)", "",
             "## Per scenario", "", _scenario_table(data["per_scenario"], data["scenarios"], agg["order"]), "",
             "## Sample efficiency", "",
             f"Steps to reach 95 % and 99 % of V*: the first checkpoint (every {cfg.checkpoint_freq():,} steps) whose "
             "exact share is at least that; the median over seeds counts a run that never reaches it as infinite "
             "(– : fewer than half the seeds reach it within the budget).", "",
             _efficiency_table(data["efficiency"], data["scenarios"], agg["order"]), "",
             "![curves](curves.png)", "", "## Performance profiles", "", "![profiles](profiles.png)", "",
             "## Tuning", "", _tuning_table(cfg, agg["order"]), ""]
    return "\n".join(lines)


def _overshoot(cfg: LeaderboardConfig, rows: list[dict[str, Any]]) -> list[str]:
    """A line naming the algorithms that trained past the budget (SB3 stops at the first update boundary
    past it: ARS's update is a whole population of episodes, an on-policy algorithm's a whole rollout)."""
    over = [f"{r['algo']} {r['max_steps_trained']:,}" for r in rows if r["max_steps_trained"] > cfg.total_timesteps]
    if not over:
        return []
    return [f"- Steps trained past the budget (SB3 stops at the first update boundary after it): at most "
            f"{', '.join(over)}. ARS scores each of its 2 x n_delta candidates on one episode in each of its "
            "n_envs envs, so one update is 2 x n_delta x n_envs episodes (with the tuned n_delta 16, 8 envs and "
            "80-quarter episodes, 20,480 steps): it makes few updates in the budget, and has a checkpoint only "
            "after each."]


def _scenario_table(per: list[dict[str, Any]], scenarios: list[str], order: list[str]) -> str:
    cells = []
    for s in scenarios:
        for algo in order:
            r = next((p for p in per if p["scenario"] == s and p["algo"] == algo), None)
            if r is None:
                continue
            cells.append([s, algo, fmt(r["mean_share"]), f"{fmt(r['min_share'])}–{fmt(r['max_share'])}",
                          fmt(r["mean_regret"], 4), f"{r.get('best_baseline', '–')} {fmt(r.get('best_baseline_share'))}",
                          fmt(r.get("optimum"), 4)])
    return table(["scenario", "algorithm", "mean share", "min–max", "mean regret V*−V^π", "best baseline (share)", "V*"],
                 cells, ["---", "---", "---:", "---:", "---:", "---", "---:"])


def _efficiency_table(eff: list[dict[str, Any]], scenarios: list[str], order: list[str]) -> str:
    cells = []
    for algo in order:
        row = [algo]
        for s in scenarios:
            e = next((x for x in eff if x["algo"] == algo and x["scenario"] == s), None)
            row.append("–" if e is None else f"{fmt(e['median_steps_95'])} / {fmt(e['median_steps_99'])} "
                       f"({e['reached_95']}, {e['reached_99']} of {e['runs']})")
        cells.append(row)
    return table(["algorithm", *[f"{s}: steps to 95 % / 99 % (seeds reaching)" for s in scenarios]], cells)


def _tuning_table(cfg: LeaderboardConfig, order: list[str]) -> str:
    cells = []
    for algo in order:
        entry = load_zoo(cfg, algo)
        searched = {k: v for k, v in entry.hyperparams.items() if entry.reasons.get(k, "").startswith("searched")}
        cells.append([algo, f"`{zoo_path(cfg, algo)}`", fmt(entry.tuned.get("best_share")),
                      ", ".join(f"{k}={fmt(v, 4) if isinstance(v, float) else v}" for k, v in searched.items())])
    return table(["algorithm", "zoo file", f"best trial's share on {cfg.tune.scenario}", "searched values chosen"], cells)

"""H8's report from the stored units (no solving): ``<out>/h8.json`` (schema ``H8Result``), the tables
``<out>/tables/*.csv``, the figures ``<out>/figures/*.png`` and ``<out>/H8.md``; and, when the run's
``out`` sits beside a ``REPORT.md`` (``results/h8`` next to ``results/REPORT.md``), H8's section of
that report between two markers (replaced whole on every rendering). The same stored units give the
same files byte for byte."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.config.h8 import H8Config
from training.discovery.ranges import load_ranges
from training.h8 import analysis as an
from training.h8.design import factor_names, patron_bounds
from training.h8.design import values as design_values
from training.h8.driver import plan, stored_units
from training.h8.figures import plot_commitment_heatmap, plot_mpe_vs_commitment
from training.h8.text import OUTPUTS, interval, markdown
from training.render.tables import write_csv
from training.results import store
from training.results.schemas import H8Result

BEGIN, END = "<!-- h8: begin (alliance h8 writes this section) -->", "<!-- h8: end -->"


def compute(cfg: H8Config) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame, list[dict], dict | None]:
    """Everything the report shows: h8.json's content, the two frames, the drivers, the point's table."""
    commits, mpes = stored_units(cfg)
    if not commits:
        raise ValueError(f"{cfg.out_dir} holds no stored unit of this run: run `alliance h8 CONFIG` first")
    c, m = an.frames(commits, mpes)
    ranges = load_ranges(cfg.ranges)
    names = factor_names(ranges)
    design_rows = c[c.index >= 0]
    coords = np.array([r["coords"] for u in commits for r in u["rows"] if r["row"] >= 0])
    order = [r["row"] for u in commits for r in u["rows"] if r["row"] >= 0]
    coords = coords[np.argsort(order)] if len(coords) else coords
    outputs = {k: design_rows[k].to_numpy(dtype=float) for k in OUTPUTS}
    drivers = an.drivers(names, coords, outputs, cfg.seed) if len(coords) else []
    point_table = next((r for u in commits for r in u["rows"] if r["row"] == -1), None)
    if len(m):
        m["V_S_commitment"] = c.loc[m.index, "V_S"]
        m["V_P_commitment"] = c.loc[m.index, "V_P"]
    commits_planned, mpes_planned = plan(cfg)
    data = {
        "config": {"source": cfg.source, "scenario": cfg.scenario, "ranges": cfg.ranges, "seed": cfg.seed,
                   "n_commitment": cfg.n_commitment, "n_mpe": cfg.n_mpe, "mpe": cfg.mpe_settings()},
        "design": {"factors": names, "patron_bounds": {k: list(v) for k, v in patron_bounds().items()},
                   "rows_commitment": int(len(design_rows)), "rows_mpe": int((m.index >= 0).sum()) if len(m) else 0,
                   "planned_commitment_units": len(commits_planned), "planned_mpe_units": len(mpes_planned),
                   "stored_commitment_units": len(commits), "stored_mpe_units": len(mpes),
                   "commitment_seconds": float(sum(u["seconds"] for u in commits)),
                   "mpe_seconds": float(sum(u["seconds"] for u in mpes))},
        "point": an.point_readings(c, m),
        "space": an.space_readings(c, m, cfg.seed, cfg.resamples),
        "verdicts": {},
        "drivers": drivers,
    }
    data["verdicts"] = {"point": data["point"].get("verdict"), "space": data["space"]["verdict"]}
    return data, c, m, drivers, point_table


def write_report(cfg: H8Config) -> Path:
    """Write every file of H8's report; returns ``<out>/H8.md``."""
    data, c, m, drivers, point_table = compute(cfg)
    out = cfg.out_dir
    store.write_stored(out / "h8.json", H8Result, data)
    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    write_csv(tables / "commitment.csv", _with_values(cfg, c, commits_coords(cfg, c)).reset_index().to_dict("records"))
    if len(m):
        write_csv(tables / "mpe.csv", m.reset_index().to_dict("records"))
    shares = [{"criterion": k, **{f: v for f, v in r.items()}} for k, r in data["space"].items() if isinstance(r, dict)]
    write_csv(tables / "shares.csv", shares)
    if drivers:
        write_csv(tables / "drivers.csv", drivers)
    figs = []
    if point_table is not None:
        rows = [{"action": a, "D": a // 6, "IP": (a // 3) % 2, "sigma": a % 3, "V_S": point_table["table_V_S"][a],
                 "V_P": point_table["table_V_P"][a], "label": point_table["table_labels"][a]} for a in range(24)]
        write_csv(tables / "commitment_table_point.csv", rows)
        figs.append(plot_commitment_heatmap(point_table["table_V_S"], point_table["table_V_P"], point_table["table_labels"],
                                            point_table["pick"], out / "figures" / "commitment_heatmap.png",
                                            f"{cfg.scenario}: the 24 stationary commitments and the small state's answer"))
    if len(m):
        figs.append(plot_mpe_vs_commitment(m, out / "figures" / "mpe_vs_commitment.png",
                                           f"{cfg.scenario} and {int((m.index >= 0).sum())} design rows: equilibrium "
                                           "found vs the patron's chosen commitment"))
    text = markdown(cfg, data, c, m, drivers, point_table)
    path = store.atomic_write_text(out / "H8.md", text)
    _section(cfg, data)
    return path


def commits_coords(cfg: H8Config, c: pd.DataFrame) -> pd.DataFrame:
    """The design rows' factor values (the point's row: the scenario's defaults are not factor values: left empty)."""
    ranges = load_ranges(cfg.ranges)
    rows = c[c.index >= 0]
    if not len(rows):
        return pd.DataFrame(index=c.index)
    vals = design_values(ranges, np.array(list(rows["coords"])))
    vals.index = rows.index
    return vals


def _with_values(cfg: H8Config, c: pd.DataFrame, vals: pd.DataFrame) -> pd.DataFrame:
    return c.drop(columns=["coords"]).join(vals)


def _section(cfg: H8Config, data: dict[str, Any]) -> None:
    """H8's section of the ``REPORT.md`` beside the run's folder, between the markers (if that report exists)."""
    report = cfg.out_dir.parent / "REPORT.md"
    if not report.is_file():
        return
    rel = f"{cfg.out_dir.name}/H8.md"
    p, s = data["point"], data["space"]
    lines = [BEGIN, "", "## H8: the strategic patron (docs/h8.md)", "",
             f"Made by `alliance h8 {cfg.source or 'CONFIG'}`; the whole section, with its criteria quoted, tables and "
             f"figures, is [{rel}]({rel}).", ""]
    for k in ("H8a", "H8b", "H8c"):
        at = p.get(k, {}).get("status", "–")
        lines.append(f"- **{k}** {an.CRITERIA[k]} At `{cfg.scenario}`: {at}. Across the space: {interval(s[k], of_n=True)} "
                     f"→ **{s[k]['status']}**" + (f" (searches certified: {interval(s['certified'], of_n=True)})" if k == "H8c" else "")
                     + ".")
    lines += ["", f"**H8 at `{cfg.scenario}`: {p.get('verdict', '–')}; across the space: {s['verdict']}.**", "", END]
    text = report.read_text(encoding="utf-8")
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    store.atomic_write_text(report, text)

"""H8.md: the criteria quoted (docs/h8.md), the readings at the point, the shares across the space
with their intervals and statuses, the verdicts, the drivers, the cost and the figures."""

from __future__ import annotations

from typing import Any

import pandas as pd

from training.config.h8 import H8Config
from training.h8 import analysis as an
from training.h8.design import PATRON_REASON
from training.render.tables import fmt, pct, table

TOP = 5  # drivers shown per output
INERT = ("demand_war", "demand_peace", "pressure_low")  # overridden by every commitment
OUTPUTS = {"gap": "D − m̄ under the chosen commitment (H8b's margin)", "m_bar": "m̄ under the chosen commitment",
           "H8a": "H8a (0/1)", "H8b": "H8b (0/1)", "V_P": "V_P(s₀) of the patron's pick"}


def interval(r: dict[str, Any], of_n: bool = False) -> str:
    """A share with its 95 % interval ("47 % [40 %, 54 %]", with ``of_n`` " of 192"), or "no rows"."""
    if r.get("share") is None:
        return "– (no rows)"
    return f"{pct(r['share'])} [{pct(r['low'])}, {pct(r['high'])}]" + (f" of {r['n']}" if of_n else "")


def markdown(cfg: H8Config, data: dict[str, Any], c: pd.DataFrame, m: pd.DataFrame, drivers: list[dict],
             point_table: dict | None) -> str:
    p, s, d = data["point"], data["space"], data["design"]
    sc = cfg.scenario
    lines = [f"# H8: the strategic patron at `{sc}` and across the space", "",
             f"Made by `alliance h8 {cfg.source or 'CONFIG'}` from the stored units in `{cfg.out}/units/` "
             "(`--report-only` renders it again; `--verify N` recomputes N units and compares them to 1e-9). "
             "The criteria were written in docs/h8.md before the first run; they are quoted here as written.", "",
             "## Criteria (quoted from docs/h8.md)", ""]
    lines += [f"- **{k}** {an.CRITERIA[k]}" for k in ("H8a", "H8b", "H8c")]
    lines += ["", an.RULE, "", "The no-commitment readings are taken only where the search's certificate max_s NashConv "
              f"≤ {an.CERTIFIED:g}; the share of searches so certified stands beside every share that uses them.", ""]
    # ---------------------------------------------------------------- the point
    lines += [f"## At `{sc}`", ""]
    if point_table is not None:
        pr = c.loc[-1]
        lines += [f"Commitment table (24 stationary commitments, exact): the patron picks (D, IP, σ) = "
                  f"({int(pr['D'])}, {int(pr['IP'])}, {int(pr['sigma'])}) with V_P(s₀) = {fmt(pr['V_P'])}; the small "
                  f"state's optimum under it is `{pr['label']}` with V_S(s₀) = {fmt(pr['V_S'])} and m̄ = {fmt(pr['m_bar'])}.", ""]
    if len(m) and -1 in m.index:
        mr = m.loc[-1]
        lines += [f"Equilibrium search ({'certified' if mr['certified'] else 'NOT certified'}: max_s NashConv = "
                  f"{fmt(mr['nashconv_max'])}, at s₀ {fmt(mr['nashconv_s0'])}): V_S(s₀) = {fmt(mr['V_S'])}, V_P(s₀) = "
                  f"{fmt(mr['V_P'])}; along the path from s₀ σ̄ = {fmt(mr['sigma_bar'])}, D̄ = {fmt(mr['D_bar'])}, "
                  f"m̄ = {fmt(mr['m_bar'])} (`{mr['label']}`).", ""]
    rows = [[k, p[k]["observed"], p[k]["status"]] for k in ("H8a", "H8b", "H8c") if k in p]
    lines += [table(["criterion", f"observed at `{sc}`", "reading"], rows), "",
              f"**H8 at `{sc}`: {p.get('verdict', '–')}.** (Not blind: docs/h8.md's disclosure.)", ""]
    # ---------------------------------------------------------------- the space
    lines += ["## Across the space", "",
              f"A Latin hypercube of {d['rows_commitment']} rows (seed {cfg.seed}) over the discovery's "
              f"{len(d['factors']) - 8} factors (`{cfg.ranges}`, mapped exactly as the discovery maps them) and the "
              f"patron's eight reward weights, each uniform on [w/2, 2w] ({PATRON_REASON}). The commitment table on "
              f"every row; the equilibrium search on the first {d['rows_mpe']} rows (each row of a Latin hypercube is "
              "uniform on the space, but its rows are not independent: they share the strata. The bootstrap "
              "resamples them as independent units, which does not understate the uncertainty: a Latin "
              "hypercube's mean has asymptotically no larger variance than independent draws' (Stein 1987). "
              "The first rows are not themselves a Latin hypercube). Intervals: 95 % percentile bootstrap over the rows "
              f"(`training.discovery.analysis.share_interval`, {cfg.resamples} resamples), the study's method.", ""]
    srows = [["H8a: limited participation under commitment", interval(s["H8a"]), s["H8a"]["n"], s["H8a"]["status"]],
             ["H8b: D − m̄ > .05 under commitment", interval(s["H8b"]), s["H8b"]["n"], s["H8b"]["status"]],
             ["searches certified (max NashConv ≤ .10)", interval(s["certified"]), s["certified"]["n"], "–"],
             ["H8c: σ̄ < 1 and m̄ falls by > .05 (of certified rows)", interval(s["H8c"]), s["H8c"]["n"], s["H8c"]["status"]]]
    for key, text in (("sigma_low", "  part: σ̄ < 1 (of certified rows)"), ("m_falls", "  part: m̄ falls by > .05 (of certified rows)"),
                      ("H8c_all", "H8c counting uncertified rows as not holding (not the criterion)")):
        if key in s:
            srows.append([text, interval(s[key]), s[key]["n"], "–"])
    lines += [table(["criterion", "share [95 % interval]", "rows", "status"], srows), "",
              f"**H8 across the space: {s['verdict']}.**", ""]
    lines += _distribution(c, m)
    lines += _drivers(drivers)
    lines += _cost(cfg, d)
    lines += ["## Figures", "", "![commitment table](figures/commitment_heatmap.png)", "",
              "![MPE vs commitment](figures/mpe_vs_commitment.png)", "",
              "Tables: `tables/commitment.csv` (every row: the pick, its answer, the flags), `tables/mpe.csv`, "
              "`tables/shares.csv`, `tables/drivers.csv`, `tables/commitment_table_point.csv`; all numbers in `h8.json`.", ""]
    return "\n".join(lines)


def _distribution(c: pd.DataFrame, m: pd.DataFrame) -> list[str]:
    rows = c[c.index >= 0]
    picks = rows.groupby(["D", "IP", "sigma"]).size().sort_values(ascending=False)
    labels = rows["label"].value_counts()
    out = ["### What the patron picks, and the answer", "",
           table(["pick (D, IP, σ)", "rows"], [[f"({d}, {ip}, {sg})", n] for (d, ip, sg), n in picks.head(8).items()]), "",
           table(["the small state's answer (section 9)", "rows"], [[f"`{k}`", v] for k, v in labels.items()]), ""]
    if len(m):
        mp = m[m.index >= 0]
        cert = mp[mp["certified"]]
        if len(cert):
            lower_s = int((cert["V_S"] < cert["V_S_commitment"]).sum())
            lower_p = int((cert["V_P"] < cert["V_P_commitment"]).sum())
            out += [f"Without commitment both players do worse: in the certified equilibrium V_S(s₀) is below its value "
                    f"under the chosen commitment in {lower_s} of {len(cert)} rows, V_P(s₀) in {lower_p} of {len(cert)} "
                    "(the figure below).", ""]
            out += [f"Certified equilibria ({len(cert)} rows): σ̄ median {fmt(cert['sigma_bar'].median())} (range "
                    f"{fmt(cert['sigma_bar'].min())}–{fmt(cert['sigma_bar'].max())}); m̄ falls from the commitment's by "
                    f"{fmt(cert['m_drop'].median())} at the median; max NashConv median {fmt(mp['nashconv_max'].median())} "
                    f"over all {len(mp)} searches.", ""]
    return out


def _drivers(drivers: list[dict]) -> list[str]:
    out = ["## Drivers", "",
           "Sobol indices need Saltelli's design, which a Latin hypercube is not. SALib's `rbd_fast` estimates each "
           "factor's first-order index S1 (the share of the output's variance that factor explains alone; not its "
           "interactions) from any sample of independent inputs, such as this one, with 95 % bootstrap intervals. "
           "SALib's `delta` also takes such samples, but at this size its floor for a factor without effect "
           "(.07–.17) is above the effects, and on a synthetic 0/1 output decided by one factor it missed that "
           "factor; `rbd_fast` found it (S1 .96). The commitment overrides the table's demand and pressure, so "
           "`demand_*` and `pressure_low` cannot act on the commitment's outputs: their S1 shows the noise floor.", ""]
    if not drivers:
        return out + ["(no rows)", ""]
    frame = pd.DataFrame(drivers)
    for output, group in frame.groupby("output", sort=False):
        top = group.sort_values("S1", ascending=False).head(TOP)
        inert = group[group["factor"].isin(INERT)]["S1"].max()
        out += [f"**{OUTPUTS.get(output, output)}** ({int(group['n'].iloc[0])} rows): " + "; ".join(
            f"`{r.factor}` {fmt(r.S1, 2)} ± {fmt(r.S1_conf, 2)}" for r in top.itertuples())
            + f" (the inert factors' largest S1, the noise floor: {fmt(inert, 2)})", ""]
    return out


def _cost(cfg: H8Config, d: dict[str, Any]) -> list[str]:
    n_c, n_m = d["stored_commitment_units"], d["stored_mpe_units"]
    return ["## Cost", "",
            f"Stored units: {n_c} commitment batches ({fmt(d['commitment_seconds'] / 60, 1)} min of task time) and "
            f"{n_m} equilibrium searches ({fmt(d['mpe_seconds'] / 60, 1)} min; "
            f"{fmt(d['mpe_seconds'] / max(n_m, 1), 0)} s each on average), each Ray task on one CPU. The MPE method is "
            f"config `mpe:` (keyword arguments of `agents.game.equilibrium.search_mpe`): "
            f"`{cfg.mpe if isinstance(cfg.mpe, str) else ', '.join(f'{k}={v}' for k, v in cfg.mpe.items() if k != 'lambdas')}`"
            " with the logit path's λ from 1 to 178 (10 geometric stages); a better method behind the same interface "
            "reruns H8 by changing that one entry (only the MPE units are recomputed).", ""]

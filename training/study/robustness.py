"""A study's discovery (issue 15), from its stored batches: which batches are missing, and the
tables behind "How robust is the answer?" — ``results/<study>/discovery/``:

- ``samples.csv``: one row per sample: its design (sobol / lhs), every factor's value, and per
  scenario its outputs (``war.value``, ``war.label``, ``war.m_bar``, …, ``war.share_limited``).
- ``archetype_shares.csv``: per scenario (and per phase for a finite-horizon one) the share of samples
  whose optimum has each archetype, with a 95 % bootstrap interval.
- ``sobol.csv``: first-order and total Sobol indices with 95 % intervals, per scenario and output.
- ``boxes.csv``: PRIM boxes for "limited participation optimal", "hedging optimal" and "mediation
  share >= .3".
- ``diagram_<name>.csv``: the fine phase diagrams' cells.

Everything is a function of the stored batches and the config (seeded bootstraps): the same files
give the same tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from training.config.study import StudyConfig
from training.discovery.analysis import grouped_indices, prim_boxes, share_interval, sobol_indices
from training.discovery.plan import (
    FOLDER,
    GROUPED,
    Batch,
    diagram_cells,
    group_names,
    grouped_rows,
    plan_batches,
    sample_rows,
)
from training.discovery.ranges import load_ranges
from training.render.tables import write_csv
from training.results.schemas import DiscoveryBatch, GroupedBatch
from training.results.store import read_stored
from training.study.keys import KEY_FIELD, unit_key

SOBOL_OUTPUTS = ("limited_family", "m_bar", "f_med", "f_west", "share_limited", "hedging", "k_bar")
"""Outputs whose Sobol indices are computed: the five of issue 15, then two that H2 and H4 read."""
MEDIATION_SHARE = 0.3
QUESTIONS = {"limited participation optimal": lambda f: f["limited_family"].astype(bool),
             "hedging optimal": lambda f: f["label"] == "hedging",
             f"mediation share >= {MEDIATION_SHARE}": lambda f: f["f_med"] >= MEDIATION_SHARE - 1e-9}


def plan_discovery(cfg: StudyConfig) -> list[Batch]:
    """Every batch of the study's discovery (none without one).

    :raises training.discovery.ranges.RangesError: a bad ranges file (one line, before any work)
    """
    return [] if cfg.discovery is None else plan_batches(cfg.discovery)


def batch_schema(batch: Batch) -> type[DiscoveryBatch]:
    """The schema of a batch's file: a grouped design's batch has its own (issue 31)."""
    return GroupedBatch if batch.kind == GROUPED else DiscoveryBatch


def stored_batch(cfg: StudyConfig, batch: Batch) -> dict[str, Any] | None:
    """The stored result of ``batch`` if its file holds that batch's unit key
    (:func:`training.study.keys.unit_key`), else None (no file, or a stale one: stored from other inputs).

    :raises ValueError: a stored batch that does not match its schema (one line naming it)
    """
    path = cfg.out_dir / batch.relpath()
    if not path.is_file():
        return None
    data = read_stored(path, batch_schema(batch))
    return data if data.get(KEY_FIELD) == unit_key(batch) else None


def _frames(cfg: StudyConfig) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict,
                                       dict[str, pd.DataFrame]]:
    """(factor values per sample, outputs per scenario, diagram cells per name, solves stored per
    batch kind and scenario, the grouped design's outputs per scenario); rows of batches not on disk are
    missing (NaN). Nothing here reads a
    batch's ``seconds``: the report depends on the stored results, not on how long they took."""
    dcfg = cfg.discovery
    ranges = load_ranges(dcfg.ranges)
    rows, design = sample_rows(ranges, dcfg)
    inputs = ranges.values(rows)
    inputs.insert(0, "design", design)
    outputs: dict[str, list] = {s: [None] * len(rows) for s in dcfg.scenarios}
    n_grouped = len(grouped_rows(ranges, dcfg))
    grouped: dict[str, list] = {s: [None] * n_grouped for s in dcfg.scenarios}
    diagrams: dict[str, list] = {}
    solved: dict[str, int] = {}
    for b in plan_batches(dcfg, ranges):
        data = stored_batch(cfg, b)
        if data is None:  # not computed yet, or stale: its rows are missing
            continue
        what = {"sample": "samples", GROUPED: "grouped samples"}.get(b.kind, "cells")
        solved[f"{b.scenario} {what}"] = solved.get(f"{b.scenario} {what}", 0) + len(data["rows"])
        if b.kind in ("sample", GROUPED):
            for i, r in enumerate(data["rows"]):
                (outputs if b.kind == "sample" else grouped)[b.scenario][b.first + i] = r
        else:
            cells = diagrams.setdefault(b.kind.split(":", 1)[1], [])
            cells += [{"x": c[0], "y": c[1], **r} for c, r in zip(data["coords"], data["rows"])]
    frames = {s: pd.DataFrame([r or {} for r in v]) for s, v in outputs.items()}
    grouped_frames = {s: pd.DataFrame([r or {} for r in v]) for s, v in grouped.items() if v}
    for f in [*frames.values(), *grouped_frames.values()]:
        if "label" in f:
            f["hedging"] = f["label"] == "hedging"
    return inputs, frames, {k: pd.DataFrame(v) for k, v in diagrams.items()}, solved, grouped_frames


def _complete(frame: pd.DataFrame) -> np.ndarray:
    return frame["value"].notna().to_numpy() if "value" in frame else np.zeros(len(frame), bool)


def analyse(cfg: StudyConfig) -> dict[str, Any] | None:
    """The discovery's tables as plain data (and the CSV files written); None without a discovery."""
    if cfg.discovery is None:
        return None
    dcfg = cfg.discovery
    ranges = load_ranges(dcfg.ranges)
    inputs, frames, diagrams, solved, grouped_frames = _frames(cfg)
    folder = cfg.out_dir / FOLDER
    factors = list(ranges.names)
    groups = {n: ranges.factors[n].group for n in factors}
    n_sobol = dcfg.sobol_n * (len(factors) + 2)
    samples = inputs.copy()
    for s, f in frames.items():
        for c in f.columns:
            samples[f"{s}.{c}"] = f[c]
    write_csv(folder / "samples.csv", samples.reset_index(names="sample").to_dict("records"))
    shares, sobol, boxes, complete = [], [], [], {}
    for s, f in frames.items():
        ok = _complete(f)
        complete[s] = int(ok.sum())
        if not ok.any():
            continue
        fo = f[ok]
        shares += _label_shares(s, "all", fo["label"], dcfg.seed)
        for ph in range(5):
            if f"phase{ph}_label" in fo:
                shares += _label_shares(s, f"phase{ph}", fo[f"phase{ph}_label"].fillna("not visited"), dcfg.seed)
        if ok[:n_sobol].all():
            for out in SOBOL_OUTPUTS:
                idx = sobol_indices(factors, f[out].iloc[:n_sobol].astype(float).to_numpy(), dcfg.seed)
                sobol += [{"scenario": s, "output": out, "factor": k, "group": groups[k],
                           **{c: float(idx.loc[k, c]) for c in ("S1", "S1_conf", "ST", "ST_conf")}} for k in factors]
        for question, test in QUESTIONS.items():
            found = prim_boxes(inputs[factors][ok].reset_index(drop=True), test(fo).to_numpy())
            boxes += [{"scenario": s, "question": question, **r} for r in found.to_dict("records")]
    write_csv(folder / "archetype_shares.csv", shares)
    write_csv(folder / "sobol.csv", sobol)
    grouped = _grouped_sobol(ranges, grouped_frames, dcfg.seed)
    if dcfg.grouped_n:
        write_csv(folder / "grouped_sobol.csv", grouped)
    write_csv(folder / "boxes.csv", boxes)
    grids = {}
    for name, cells in diagrams.items():
        write_csv(folder / f"diagram_{name}.csv", cells[["x", "y", "label", "value"]].to_dict("records"))
        (px, py), _ = diagram_cells(dcfg, name)
        grids[name] = {"x": px, "y": py, "n": dcfg.diagram.n, "scenario": dcfg.diagram.scenario,
                       "cells": cells[["x", "y", "label"]].values.tolist()}
    return {"scenarios": list(dcfg.scenarios), "factors": factors, "groups": groups, "n_samples": len(inputs),
            "n_sobol": n_sobol, "grouped_sobol": grouped, "n_grouped": len(grouped_rows(ranges, dcfg)),
            "complete": complete, "shares": shares, "sobol": sobol, "boxes": boxes,
            "diagrams": grids, "solved": solved, "batch": dcfg.batch, "config": cfg.source, "folder": str(folder),
            "correlations": _correlations(inputs[factors], frames), "indicators": _indicators(frames, dcfg.seed)}


GROUPED_OUTPUTS = ("limited_family", "m_bar", "f_med", "f_west", "hedging", "k_bar")
"""The grouped design's outputs: those of :data:`SOBOL_OUTPUTS` but the baselines' (its samples score none)."""


def _grouped_sobol(ranges: Any, frames: Mapping[str, pd.DataFrame], seed: int) -> list[dict[str, Any]]:
    """Each group's own first-order and total Sobol indices with 95 % intervals, per scenario and output,
    from the grouped design (issue 31); none until a scenario's grouped samples are all solved."""
    out = []
    for s, f in frames.items():
        if not _complete(f).all():
            continue
        for output in GROUPED_OUTPUTS:
            idx = grouped_indices(ranges.names, group_names(ranges), f[output].astype(float).to_numpy(), seed)
            out += [{"scenario": s, "output": output, "group": g,
                     **{c: float(idx.loc[g, c]) for c in ("S1", "S1_conf", "ST", "ST_conf")}} for g in idx.index]
    return out


def _label_shares(scenario: str, phase: str, labels: pd.Series, seed: int) -> list[dict[str, Any]]:
    out = []
    for lab in sorted(labels.unique()):
        share, low, high = share_interval((labels == lab).to_numpy(), seed)
        out.append({"scenario": scenario, "phase": phase, "label": lab, "share": share, "low": low, "high": high,
                    "n": len(labels)})
    return out


def _correlations(inputs: pd.DataFrame, frames: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, float]]:
    """Spearman's ρ of power with m̄ and Ā per scenario (H5's direction across the space)."""
    out = {}
    for s, f in frames.items():
        ok = _complete(f)
        if ok.sum() > 2:
            out[s] = {k: float(pd.Series(inputs["power"].to_numpy()[ok]).corr(f[k][ok].reset_index(drop=True),
                                                                             method="spearman"))
                      for k in ("m_bar", "A_bar")} if "power" in inputs else {}
    return out


def _indicators(frames: Mapping[str, pd.DataFrame], seed: int) -> dict[str, Any]:
    """The per-sample readings of the hypotheses (share of samples, 95 % interval)."""
    out: dict[str, Any] = {}
    war = frames.get("war")
    if war is not None and _complete(war).any():
        w = war[_complete(war)]
        h1 = w["limited_family"].astype(bool) & (w["f3"] <= 0.05 + 1e-9) & (w["k_bar"] <= 0.3 + 1e-9) & (w["g2"] <= 0.05 + 1e-9)
        out["H1"] = share_interval(h1.to_numpy(), seed)
        out["H4"] = share_interval((w["f3"] <= 0.05 + 1e-9).to_numpy(), seed)
    alt = frames.get("alt_open")
    if alt is not None and _complete(alt).any():
        out["H2"] = share_interval((alt[_complete(alt)]["label"] == "hedging").to_numpy(), seed)
    cal = frames.get("calendar")
    if cal is not None and _complete(cal).any() and "phase3_f_med" in cal:
        c = cal[_complete(cal)]
        med = c[[f"phase{p}_f_med" for p in range(5) if f"phase{p}_f_med" in c]].fillna(0.0)
        peak = (med["phase3_f_med"] > 0) & (med["phase3_f_med"] >= med.max(axis=1) - 1e-9)
        out["H6"] = share_interval(peak.to_numpy(), seed)
    return out


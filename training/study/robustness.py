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

from agents.archetypes import STAT_NAMES
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
    sample_units,
)
from training.discovery.ranges import load_ranges
from training.render.tables import write_csv
from training.results.schemas import DiscoveryBatch, GroupedBatch
from training.results.store import read_stored
from training.study import space
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
    units, block = sample_units(ranges, dcfg), len(factors) + 2
    for s, f in frames.items():
        ok = _complete(f)
        complete[s] = int(ok.sum())
        if not ok.any():
            continue
        fo = f[ok]
        stats = fo[list(STAT_NAMES)] if set(STAT_NAMES) <= set(fo.columns) else None
        shares += space.label_shares(s, "all", fo["label"], stats, units[ok], dcfg.seed)
        for ph in range(5):
            if f"phase{ph}_label" in fo:
                shares += space.label_shares(s, f"phase{ph}", fo[f"phase{ph}_label"], space.phase_stats_frame(fo, ph),
                                             units[ok], dcfg.seed)
        if ok[:n_sobol].all():
            for out in SOBOL_OUTPUTS:
                idx = sobol_indices(factors, f[out].iloc[:n_sobol].astype(float).to_numpy(), dcfg.seed)
                sobol += [{"scenario": s, "output": out, "factor": k, "group": groups[k],
                           **{c: float(idx.loc[k, c]) for c in ("S1", "S1_conf", "ST", "ST_conf")}} for k in factors]
        for question, test in QUESTIONS.items():
            found = prim_boxes(inputs[factors][ok].reset_index(drop=True), test(fo).to_numpy())
            boxes += [{"scenario": s, "question": question, **r} for r in found.to_dict("records")]
    write_csv(folder / "archetype_shares.csv", shares)
    values = inputs[factors]
    across = space.readings(frames, values, units, n_sobol, block, dcfg.seed)
    write_csv(folder / "criteria_across.csv", [{"hypothesis": h, **r} for h, rs in across.items() for r in rs])
    integers = [n for n in factors if ranges.factors[n].integer]
    conditional = space.conditional_table(
        lambda mask: _headlines(frames, values, units, n_sobol, block, dcfg.seed, mask), values, integers)
    write_csv(folder / "conditional_shares.csv", conditional)
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
            "correlations": _correlations(inputs[factors], frames), "readings": across, "not_read": space.NOT_READ,
            "conditional": conditional, "integers": integers, "interval_method": space.INTERVAL_METHOD,
            "shift": space.SHIFT, "ranges": dcfg.ranges, "fixed": dict(ranges.fixed),
            "params_varied": sorted({"weights" if ranges.factors[n].param.startswith("weight_") else ranges.factors[n].param
                                     for n in factors})}


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


def _headlines(frames: Mapping[str, pd.DataFrame], values: pd.DataFrame, units: np.ndarray, n_sobol: int,
               block: int, seed: int, mask: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """The headline shares on the samples of ``mask``: each scenario's whole-episode archetypes (those
    found in all samples) and each hypothesis's criteria across the space."""
    out = {}
    for s, f in frames.items():
        ok = _complete(f)
        if not ok.any():
            continue
        for lab in sorted(f["label"][ok].unique()):
            sub = ok & mask
            flags = (f["label"][sub] == lab).to_numpy()
            out[f"`{s}` optimum is {lab}"] = share_interval(flags, seed, units[sub]) if sub.any() else (np.nan,) * 3
    for hid, rs in space.readings(frames, values, units, n_sobol, block, seed, mask).items():
        out.update({f"{hid}: {r['text']}": (r["share"], r["low"], r["high"]) for r in rs if r["headline"]})
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

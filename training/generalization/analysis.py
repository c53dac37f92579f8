"""The generalization study's readings from its stored units (no solving, no training): shares of V*_c
on training and held-out contexts with their gap, the baselines and the carried optimum, which factors
make a context hard (regression, PRIM), archetype agreement, and the verdicts of the config's criteria
(configs/generalization.yaml, docs/generalization.md). Every interval: :func:`training.generalization.stats.two_way_interval`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from envs.contexts import make_contexts
from envs.scenarios import make_params
from training.discovery.analysis import prim_boxes
from training.generalization.config import SETS, GeneralizationConfig
from training.generalization.scoring import family
from training.generalization.stats import (
    difference_of_means,
    factor_effects,
    iqm_of,
    mean_of,
    two_way_interval,
    verdict,
)

ORACLE = "oracle V*_c"
CARRIED = "default optimum carried"


def _iv(iv: tuple[float, float, float]) -> list[float]:
    return [float(v) for v in iv]


class Scenario:
    """One scenario's stored units as arrays: per set the contexts' rows; per learner (algo, visibility)
    the runs' shares and families ``(runs, contexts)``."""

    def __init__(self, name: str, contexts: dict[str, dict], runs: Sequence[dict]):
        self.name = name
        self.contexts = contexts  # which -> the context unit's data
        self.optimum = {w: np.array([r["optimum"] for r in d["rows"]]) for w, d in contexts.items()}
        self.optimum_family = {w: np.array([family(r["label"]) for r in d["rows"]]) for w, d in contexts.items()}
        self.learners: dict[str, dict[str, Any]] = {}
        for run in runs:
            entry = self.learners.setdefault(f"{run['algo']} {run['visibility']}", {"seeds": [], "share": {w: [] for w in SETS},
                                                                                  "family": {w: [] for w in SETS}})
            entry["seeds"].append(run["seed"])
            for w in SETS:
                entry["share"][w].append([r["value"] / r["optimum"] for r in run[w]])
                entry["family"][w].append([family(r["label"]) for r in run[w]])
        for entry in self.learners.values():
            entry["share"] = {w: np.array(v, dtype=np.float64) for w, v in entry["share"].items()}
            entry["family"] = {w: np.array(v) for w, v in entry["family"].items()}

    def policy_share(self, which: str, policy: str) -> np.ndarray:
        """A deterministic policy's shares as a one-row block: a baseline's name, :data:`CARRIED` or :data:`ORACLE`."""
        rows = self.contexts[which]["rows"]
        if policy == ORACLE:
            return np.ones((1, len(rows)))
        if policy == CARRIED:
            return np.array([[r["carried_value"] / r["optimum"] for r in rows]])
        return np.array([[r["baselines"][policy] / r["optimum"] for r in rows]])

    def carried_agreement(self, which: str) -> np.ndarray:
        rows = self.contexts[which]["rows"]
        return np.array([[family(r["carried_label"]) == family(r["label"]) for r in rows]], dtype=np.float64)

    def agreement(self, learner: str, which: str) -> np.ndarray:
        return (self.learners[learner]["family"][which] == self.optimum_family[which][None, :]).astype(np.float64)


def _seed(cfg: GeneralizationConfig, *parts: str) -> int:
    """A bootstrap seed per reading, from its name (so a new reading does not move the others' intervals)."""
    return (cfg.context_seed + sum((i + 1) * ord(ch) for i, ch in enumerate("/".join(parts)))) % (2**31)


def shares(cfg: GeneralizationConfig, sc: Scenario) -> list[dict[str, Any]]:
    """Mean and IQM share of V*_c per policy and context set, and the learners' gaps (train - held-out)."""
    out = []
    reps = cfg.resamples
    for name, entry in sc.learners.items():
        row: dict[str, Any] = {"scenario": sc.name, "policy": name, "runs": len(entry["seeds"])}
        for w in SETS:
            block = entry["share"][w]
            row[f"{w}_mean"] = _iv(two_way_interval([block], mean_of, reps=reps, seed=_seed(cfg, sc.name, name, w)))
            row[f"{w}_iqm"] = _iv(two_way_interval([block], iqm_of, reps=reps, seed=_seed(cfg, sc.name, name, w, "iqm")))
        row["gap"] = _iv(two_way_interval([entry["share"]["train"], entry["share"]["test"]], difference_of_means,
                                          row_groups=[0, 0], col_groups=["train", "test"], reps=reps,
                                          seed=_seed(cfg, sc.name, name, "gap")))
        row["generalizes"] = verdict(row["gap"], cfg.criteria.gap_margin, "generalizes", "does not generalize")
        out.append(row)
    baselines = sorted(sc.contexts["train"]["rows"][0]["baselines"])
    for name in [ORACLE, CARRIED, *baselines]:
        row = {"scenario": sc.name, "policy": name, "runs": 1}
        for w in SETS:
            block = sc.policy_share(w, name)
            row[f"{w}_mean"] = _iv(two_way_interval([block], mean_of, reps=reps, seed=_seed(cfg, sc.name, name, w)))
            row[f"{w}_iqm"] = _iv(two_way_interval([block], iqm_of, reps=reps, seed=_seed(cfg, sc.name, name, w, "iqm")))
        row["gap"], row["generalizes"] = None, None
        out.append(row)
    return out


def context_matters(cfg: GeneralizationConfig, sc: Scenario, table: list[dict[str, Any]]) -> dict[str, Any]:
    """Q2: (a) the carried optimum's held-out mean share against 1 - margin; (b) visible - hidden held-out share."""
    carried = next(r for r in table if r["policy"] == CARRIED)
    out: dict[str, Any] = {"carried_test_mean": carried["test_mean"],
                           "to_the_optimum": verdict(carried["test_mean"], 1 - cfg.criteria.context_margin,
                                                     "matters", "does not matter")}
    carried_block = sc.policy_share("test", CARRIED)
    out["learner_vs_carried"] = {  # descriptive (no criterion): what a learner adds to the carried optimum
        name: _iv(two_way_interval([e["share"]["test"], carried_block], difference_of_means, row_groups=["l", "c"],
                                   col_groups=["test", "test"], reps=cfg.resamples,
                                   seed=_seed(cfg, sc.name, name, "vs-carried")))
        for name, e in sc.learners.items()}
    for algo in cfg.algos_of(sc.name):
        vis, hid = f"{algo} visible", f"{algo} hidden"
        if vis in sc.learners and hid in sc.learners:
            iv = two_way_interval([sc.learners[vis]["share"]["test"], sc.learners[hid]["share"]["test"]],
                                  difference_of_means, row_groups=["v", "h"], col_groups=["test", "test"],
                                  reps=cfg.resamples, seed=_seed(cfg, sc.name, algo, "visible-hidden"))
            out[f"{algo} visible − hidden"] = {"difference": _iv(iv),
                                               "verdict": verdict(iv, 0.0, "seeing hurts", "seeing helps")}
    return out


def agreement(cfg: GeneralizationConfig, sc: Scenario) -> list[dict[str, Any]]:
    """Q4: per learner and set, the share of (run, context) cells whose archetype family is the optimum's,
    the carried optimum's, and the learner's excess over the carried optimum with its verdict."""
    out = []
    for w in SETS:
        carried = sc.carried_agreement(w)
        out.append({"scenario": sc.name, "policy": CARRIED, "set": w,
                    "agreement": _iv(two_way_interval([carried], mean_of, reps=cfg.resamples,
                                                      seed=_seed(cfg, sc.name, "carried", w, "agree"))),
                    "excess": None, "learns_when": None})
        for name in sc.learners:
            flags = sc.agreement(name, w)
            excess = two_way_interval([flags, carried], difference_of_means, row_groups=["l", "c"], col_groups=[w, w],
                                      reps=cfg.resamples, seed=_seed(cfg, sc.name, name, w, "excess"))
            out.append({"scenario": sc.name, "policy": name, "set": w,
                        "agreement": _iv(two_way_interval([flags], mean_of, reps=cfg.resamples,
                                                          seed=_seed(cfg, sc.name, name, w, "agree"))),
                        "excess": _iv(excess), "learns_when": verdict(excess, 0.0, "does not learn when", "learns when")})
    return out


def families(sc: Scenario) -> list[dict[str, Any]]:
    """How often each archetype family is the optimum's, the carried optimum's and each learner's (all runs)."""
    rows = []
    for w in SETS:
        counts: dict[str, dict[str, int]] = {}
        for fam in sc.optimum_family[w]:
            counts.setdefault(str(fam), {}).setdefault("optimum", 0)
            counts[str(fam)]["optimum"] += 1
        for r in sc.contexts[w]["rows"]:
            c = counts.setdefault(family(r["carried_label"]), {})
            c[CARRIED] = c.get(CARRIED, 0) + 1
        for name, entry in sc.learners.items():
            for fam in entry["family"][w].ravel():
                c = counts.setdefault(str(fam), {})
                c[name] = c.get(name, 0) + 1
        for fam in sorted(counts):
            rows.append({"scenario": sc.name, "set": w, "family": fam, **counts[fam]})
    return rows


def factor_frame(cfg: GeneralizationConfig, sc: Scenario) -> tuple[list[str], pd.DataFrame, np.ndarray]:
    """Both sets' contexts (training first): factor names, raw values, values scaled to [0, 1] by the ranges
    (``envs.contexts``' features, drawn again: no solving); refused if they are not the stored units' contexts."""
    base = make_params(sc.name)
    sets = [make_contexts(cfg.context_spec(sc.name, w), base) for w in SETS]
    names = list(sets[0].features)
    raw = pd.DataFrame([c for s in sets for c in s.contexts], columns=names)
    stored = pd.DataFrame([r["context"] for w in SETS for r in sc.contexts[w]["rows"]], columns=names)
    if raw.shape != stored.shape or not np.allclose(raw.to_numpy(float), stored.to_numpy(float), rtol=0, atol=1e-12):
        raise ValueError(f"{sc.name}: the stored context units hold other contexts than the config draws now "
                         "(run alliance generalization CONFIG to recompute them)")
    return names, raw, np.vstack([s.feature_values for s in sets]).astype(np.float64)


def hard_factors(cfg: GeneralizationConfig, sc: Scenario) -> dict[str, Any]:
    """Q3 per learner: the per-context mean share over runs (both sets) regressed on the factors; PRIM boxes
    of the contexts it loses more than ``hard_loss`` in."""
    names, raw, scaled = factor_frame(cfg, sc)
    out: dict[str, Any] = {}
    for name, entry in sc.learners.items():
        y = np.concatenate([entry["share"][w].mean(axis=0) for w in SETS])
        hard = y < 1 - cfg.criteria.hard_loss
        effects = (factor_effects(names, scaled, y, reps=cfg.resamples, seed=_seed(cfg, sc.name, name, "ols"))
                   if len(y) > len(names) + 1 else [])  # fewer contexts than factors + 1: no regression
        boxes = prim_boxes(raw, hard, threshold=cfg.criteria.prim_threshold).to_dict("records") if 5 <= hard.sum() < len(hard) else []  # PRIM needs both kinds
        out[name] = {"contexts": int(len(y)), "hard": int(hard.sum()), "effects": effects, "prim": boxes,
                     "hardening": [e["factor"] for e in effects if e["high"] < 0]}
    return out


def per_context(sc: Scenario) -> list[dict[str, Any]]:
    """One row per context: its set and id, V*_c, the optimum's label, each learner's mean share over runs,
    the carried optimum's share and the best baseline's."""
    rows = []
    for w in SETS:
        for j, r in enumerate(sc.contexts[w]["rows"]):
            best = max(r["baselines"], key=lambda k: (r["baselines"][k], k))
            row: dict[str, Any] = {"scenario": sc.name, "set": w, "id": r["id"], "optimum": r["optimum"],
                                   "optimum_label": r["label"]}
            row.update({f"{name} share": float(e["share"][w][:, j].mean()) for name, e in sc.learners.items()})
            row.update({"carried share": r["carried_value"] / r["optimum"], "carried_label": r["carried_label"],
                        "best baseline": best, "best baseline share": r["baselines"][best] / r["optimum"]})
            rows.append(row)
    return rows

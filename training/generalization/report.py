"""The generalization study's report from the stored units (no solving, no training):
``<out>/generalization.json`` (schema ``GeneralizationResult``), the tables ``<out>/tables/*.csv``,
``<out>/GENERALIZATION.md`` and, when ``out`` sits beside a ``REPORT.md`` (``results/generalization`` next
to ``results/REPORT.md``), the study's section of that report between two markers (replaced whole on
every rendering). The same stored units give the same files byte for byte (every interval seeded)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from training.generalization import analysis as an
from training.generalization.config import GeneralizationConfig
from training.generalization.driver import plan, stored_units
from training.generalization.figures import plot_learners_vs_carried
from training.generalization.text import markdown, section
from training.render.tables import write_csv
from training.results import store
from training.results.schemas import GeneralizationResult

BEGIN = "<!-- generalization: begin (alliance generalization writes this section) -->"
END = "<!-- generalization: end -->"


def compute(cfg: GeneralizationConfig) -> dict[str, Any]:
    """Everything the report shows (generalization.json's content)."""
    contexts, runs, missing = stored_units(cfg)
    if not contexts:
        raise ValueError(f"{cfg.out_dir} holds no stored unit of this study: run `alliance generalization CONFIG` first")
    planned_contexts, planned_runs = plan(cfg)
    data: dict[str, Any] = {
        "config": {"source": cfg.source, "scenarios": {s: c.model_dump() for s, c in cfg.scenarios.items()},
                   "context_seed": cfg.context_seed, "algos": list(cfg.algos), "visibility": list(cfg.visibility),
                   "seeds": cfg.seeds, "total_timesteps": cfg.total_timesteps, "zoo": cfg.zoo,
                   "criteria": cfg.criteria.model_dump(), "resamples": cfg.resamples},
        "units": {"planned": len(planned_contexts) + len(planned_runs), "stored": len(contexts) + len(runs),
                  "missing": missing, "seconds": float(sum(u["seconds"] for u in [*contexts, *runs])),
                  "train_seconds": float(sum(u["train_seconds"] for u in runs)),
                  "steps": sorted({int(u["total_timesteps"]) for u in runs})},
        "scenarios": {},
    }
    for name in cfg.scenarios:
        sets = {u["which"]: u for u in contexts if u["scenario"] == name}
        if set(sets) != {"train", "test"}:
            continue  # the report aggregates whole scenarios (the missing units are named)
        sc = an.Scenario(name, sets, [u for u in runs if u["scenario"] == name])
        table = an.shares(cfg, sc)
        data["scenarios"][name] = {
            "contexts": {w: len(sets[w]["rows"]) for w in sets}, "features": sets["train"]["features"],
            "default_label": sets["train"]["default_label"],
            "learners": {k: sorted(v["seeds"]) for k, v in sc.learners.items()},
            "shares": table, "context_matters": an.context_matters(cfg, sc, table),
            "agreement": an.agreement(cfg, sc), "families": an.families(sc),
            "hard": an.hard_factors(cfg, sc) if sc.learners else {},
        }
        data["scenarios"][name]["_per_context"] = an.per_context(sc)
    return data


def write_report(cfg: GeneralizationConfig) -> Path:
    """Write every file of the study's report; returns ``<out>/GENERALIZATION.md``."""
    data = compute(cfg)
    out = cfg.out_dir
    per_context = {s: d.pop("_per_context") for s, d in data["scenarios"].items()}
    store.write_stored(out / "generalization.json", GeneralizationResult, data)
    tables = out / "tables"
    tables.mkdir(parents=True, exist_ok=True)
    flat = [_flat(r) for d in data["scenarios"].values() for r in d["shares"]]
    write_csv(tables / "shares.csv", flat, header=["scenario", "policy"])
    write_csv(tables / "agreement.csv", [_flat(r) for d in data["scenarios"].values() for r in d["agreement"]],
              header=["scenario", "policy", "set"])
    write_csv(tables / "families.csv", [r for d in data["scenarios"].values() for r in d["families"]],
              header=["scenario", "set", "family"])
    write_csv(tables / "factors.csv", [{"scenario": s, "learner": k, **e} for s, d in data["scenarios"].items()
                                       for k, h in d["hard"].items() for e in h["effects"]],
              header=["scenario", "learner", "factor", "coefficient", "low", "high", "r2"])
    write_csv(tables / "prim.csv", [{"scenario": s, "learner": k, **b} for s, d in data["scenarios"].items()
                                    for k, h in d["hard"].items() for b in h["prim"]],
              header=["scenario", "learner", "box", "input", "low", "high", "coverage", "density", "mass"])
    write_csv(tables / "per_context.csv", [r for rows in per_context.values() for r in rows],
              header=["scenario", "set", "id"])
    plot_learners_vs_carried(per_context, {s: list(d["learners"]) for s, d in data["scenarios"].items()},
                             out / "learners_vs_carried.png")
    path = store.atomic_write_text(out / "GENERALIZATION.md", markdown(cfg, data))
    _section(cfg, data)
    return path


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """An interval ``[point, low, high]`` as three columns."""
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, list) and len(v) == 3 and all(isinstance(x, float) for x in v):
            out.update({k: v[0], f"{k}_low": v[1], f"{k}_high": v[2]})
        else:
            out[k] = v
    return out


def _section(cfg: GeneralizationConfig, data: dict[str, Any]) -> None:
    """The study's section of the ``REPORT.md`` beside its folder, between the markers (if that report exists)."""
    report = cfg.out_dir.parent / "REPORT.md"
    if not report.is_file():
        return
    block = "\n".join([BEGIN, "", section(cfg, data, f"{cfg.out_dir.name}/GENERALIZATION.md"), "", END])
    text = report.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    store.atomic_write_text(report, text)

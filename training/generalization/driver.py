"""Run the generalization study on Ray (``alliance generalization CONFIG``): plan the units, skip those
stored and still right (their content key: :func:`training.generalization.units.unit_key`), compute the
others as Ray tasks (one CPU each; ``training.study.keyed_units``), each written atomically as it arrives.
``--verify N`` (:func:`verify`) recomputes N stored units and compares every number (1e-9).

Order: the context units (oracle and baselines) first, then the runs scenario by scenario, seed by seed
with both visibilities side by side, so that a run stopped by the clock leaves matched pairs, which the
report aggregates (it names the units missing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from training.generalization.config import SETS, GeneralizationConfig, load_zoo_entry, train_config
from training.generalization.units import ContextUnit, RunUnit, Unit, run_unit, schema_of, unit_key
from training.results import store
from training.study.keyed_units import Outcome, Verdict, choose_stored, compute, is_fresh, recompute, run_all


def _items(spec: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(spec.items()))


def plan(cfg: GeneralizationConfig) -> tuple[list[ContextUnit], list[RunUnit]]:
    """Every unit: one per (scenario, context set), one per (scenario, algo, visibility, seed).

    :raises training.config.errors.ConfigError: a missing or bad zoo entry (before any work)
    """
    zoo = {algo: load_zoo_entry(cfg, algo) for algo in cfg.algos}
    contexts = [ContextUnit(s, which, _items(cfg.context_spec(s, which)), _items(cfg.context_spec(s, "train")))
                for s in cfg.scenarios for which in SETS]
    runs = [RunUnit(s, algo, vis, seed, train_config(cfg, zoo[algo], s, vis == "visible", seed),
                    _items(cfg.context_spec(s, "test")))
            for s in cfg.scenarios for seed in range(cfg.seeds) for algo in cfg.algos_of(s) for vis in cfg.visibility]
    return contexts, runs


def fresh(cfg: GeneralizationConfig, unit: Unit, log: Callable[[str], None] | None = None) -> bool:
    """Whether ``unit``'s file holds its result from the inputs it has now."""
    return is_fresh(cfg.out_dir / unit.relpath(), unit.relpath(), schema_of(unit), unit_key(unit), log)


def run(cfg: GeneralizationConfig, num_cpus: int | None = 1, address: str | None = None,
        log: Callable[[str], None] = print, on_result: Callable[[str], None] | None = None) -> Outcome:
    """Compute every missing unit on Ray and write it (the report is
    :func:`training.generalization.report.write_report`)."""
    contexts, runs = plan(cfg)
    return run_all([*contexts, *runs], cfg.out_dir, lambda u: fresh(cfg, u, log), f"generalization {cfg.name}",
                   lambda out, todo: compute(out, todo, cfg.out_dir, run_unit, schema_of, unit_key, _describe,
                                             num_cpus, address, log, on_result), log)


def _mean_share(rows: list[dict[str, Any]]) -> float:
    return sum(r["value"] / r["optimum"] for r in rows) / len(rows)


def _describe(data: dict[str, Any]) -> str:
    if data["kind"] == "contexts":
        rows = data["rows"]
        carried = sum(r["carried_value"] / r["optimum"] for r in rows) / len(rows)
        return (f"{len(rows)} contexts, mean V*_c {sum(r['optimum'] for r in rows) / len(rows):.4f}, default optimum "
                f"carried: mean share {carried:.4f} ({data['seconds']:.1f} s)")
    return (f"mean share of V*_c: train {_mean_share(data['train']):.4f}, held-out {_mean_share(data['test']):.4f} "
            f"(train {data['train_seconds']:.0f} s, evaluate {data['evaluate_seconds']:.0f} s)")


def choose(cfg: GeneralizationConfig, n: int, seed: int = 0) -> list[Unit]:
    """``n`` stored units at random (seeded), at least one run when runs are stored."""
    contexts, runs = plan(cfg)
    return choose_stored(contexts, runs, cfg.out_dir, n, seed, "generalization")


def verify(cfg: GeneralizationConfig, n: int, num_cpus: int | None = 1, address: str | None = None, seed: int = 0,
           log: Callable[[str], None] = print) -> list[Verdict]:
    """Recompute ``n`` stored units chosen at random and compare each number with the stored one to 1e-9
    (timings and keys left out). Nothing is written."""
    picks = choose(cfg, n, seed)
    log(f"verify {cfg.name}: recomputing {len(picks)} stored units: " + ", ".join(u.relpath() for u in picks))
    return recompute(picks, cfg.out_dir, run_unit, unit_key, num_cpus, address, log)


def stored_units(cfg: GeneralizationConfig) -> tuple[list[dict], list[dict], list[str]]:
    """The fresh stored units' data (context units, runs) in plan order, and the planned units missing."""
    contexts, runs = plan(cfg)
    missing = [u.relpath() for u in [*contexts, *runs] if not fresh(cfg, u)]
    return ([store.read_stored(cfg.out_dir / u.relpath(), schema_of(u)) for u in contexts if fresh(cfg, u)],
            [store.read_stored(cfg.out_dir / u.relpath(), schema_of(u)) for u in runs if fresh(cfg, u)], missing)

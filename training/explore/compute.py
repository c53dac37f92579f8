"""The explorer's answers, each cached by its point (scenario and overrides): plain JSON-ready dicts.

``point_summary`` (V*(s0), the archetype, per phase for timeline/calendar) is the fast part a slider
waits for; ``point_details`` (baselines, value streams), ``point_frontier`` and ``point_patron`` are
slower and fetched after it (the page asks for them once a slider has settled). The caches are ``functools.lru_cache`` on hashable keys; two threads
asking for one new point may both compute it (the same numbers), never a wrong one.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

import yaml

from envs.params import PHASE_NAMES, AllianceParams
from envs.scenarios import DESCRIPTIONS, make_params, scenario_names
from training.explore.schema import HEADLINE, PER_PHASE

Key = tuple[str, tuple[tuple[str, float], ...]]
STREAMS = ("security", "autonomy", "economy")
COSTS = ("troop_cost", "basing_cost", "diplomacy_cost")
CACHE = 256
# the slow answers (frontier: 9 solves; commitments: 24) one at a time, so a slider dragged through
# many points queues them instead of running them all at once beside the solve the page waits for
SLOW = {"frontier": threading.Lock(), "commitment": threading.Lock()}
# the equilibrium search (minutes) runs in a background thread, one at a time; the page asks again
# until it is done. Each point's job: {"status": "running" | "done" | "failed", ...}
EQUILIBRIA: dict = {}
EQUILIBRIA_LOCK = threading.Lock()
EQUILIBRIUM_SEARCH: dict | None = None  # None: agents.game.equilibrium.STANDARD (what `alliance game` runs)


def params_of(key: Key) -> AllianceParams:
    """The parameters of a point, named by the scenario (the overrides are in the key)."""
    scenario, overrides = key
    return make_params(scenario, dict(overrides)) if overrides else make_params(scenario)


def scenarios() -> list[dict[str, Any]]:
    """Each named scenario with its description and its sliders' values (a per-phase parameter: the
    value of the start phase, and the five values)."""
    out = []
    for name in scenario_names():
        p = make_params(name)
        values = {k: float(getattr(p, k)[p.start[0]]) if k in PER_PHASE else float(getattr(p, k)) for k in HEADLINE}
        per_phase = {k: [float(x) for x in getattr(p, k)] for k in PER_PHASE}
        out.append({"name": name, "description": DESCRIPTIONS.get(name, ""), "values": values,
                    "per_phase": per_phase, "timed": p.finite_horizon})
    return out


def sliders() -> list[dict[str, Any]]:
    return [{"name": k, "low": lo, "high": hi, "step": st, "what": what, "per_phase": k in PER_PHASE}
            for k, (lo, hi, st, what) in HEADLINE.items()]


@lru_cache(maxsize=CACHE)
def point_summary(key: Key) -> dict[str, Any]:
    """V*(s0), the optimum's archetype, per phase (timeline/calendar: each phase the episode visits):
    the labels of ``agents.summary.summarize_optimum``, read off the optimum's occupancy from s0
    on the solve's own operator (no second evaluation: a calendar point in ~0.7 s, not ~1.4 s)."""
    import numpy as np

    from agents.archetypes import label, phase_stats, stats_from_occupancy
    from agents.exact_eval import occupancy_of, state_distribution
    from agents.solver import solve_with_operators
    from envs.spaces import encode_states

    params = params_of(key)
    ((sol, op),) = solve_with_operators([params])
    table = sol.start_table()
    s0 = int(encode_states(np.array([params.start]))[0])
    occupancy, _ = occupancy_of(table, state_distribution(op, table, s0, params.horizon))
    phases = [{"phase": int(ph), "name": PHASE_NAMES[int(ph)], "archetype": label(st)}
              for ph, st in sorted(phase_stats(occupancy).items())]
    return {"scenario": key[0], "overrides": dict(key[1]), "value": float(sol.value),
            "archetype": label(stats_from_occupancy(occupancy)), "phases": phases,
            "timed": bool(params.finite_horizon), "yaml": scenario_yaml(key)}


@lru_cache(maxsize=CACHE)
def point_details(key: Key) -> dict[str, Any]:
    """The baselines' exact values beside the optimum's, and the optimum's value streams
    (discounted means: security, autonomy, economy, and the costs summed)."""
    from agents.streams import optimum_streams
    from agents.summary import baseline_results

    params = params_of(key)
    report = optimum_streams(params)
    streams = {k: report.streams[k] for k in STREAMS}
    streams["costs"] = sum(report.streams[k] for k in COSTS)
    baselines = sorted(((name, float(r.value)) for name, r in baseline_results(params).items()), key=lambda x: -x[1])
    return {"optimum": float(report.optimum), "streams": streams,
            "baselines": [{"name": n, "value": v, "share": v / report.optimum} for n, v in baselines]}


@lru_cache(maxsize=CACHE)
def point_frontier(key: Key) -> dict[str, Any]:
    """The trade-off frontier (optima along w_A; security, autonomy, economy of each) and the baselines."""
    from agents.frontier import trade_off_frontier

    params = params_of(key)
    with SLOW["frontier"]:  # timeline/calendar: 5 optima (a calendar optimum is ~2 s with its streams)
        return trade_off_frontier(params, n_steps=5 if params.finite_horizon else 9).to_dict()


def point_patron(key: Key, mode: str) -> dict[str, Any]:
    """The patron's mode: ``table`` (the single-agent optimum against the table patron), ``commitment``
    (all 24 commitments, the patron's pick and the small state's answer) or ``equilibrium`` (the MPE
    search of ``alliance game``, started in the background on the first ask: ``status`` says whether
    it is running, done or failed)."""
    if mode == "equilibrium":
        return equilibrium(key)
    return _point_patron(key, mode)


def equilibrium(key: Key) -> dict[str, Any]:
    """The equilibrium search's state at ``key``; the first ask starts it (a background thread)."""
    with EQUILIBRIA_LOCK:
        job = EQUILIBRIA.get(key)
        if job is None:
            params = params_of(key)  # a bad point is refused here, before any thread starts
            from agents.game.operator import game_operator

            game_operator(params)  # refuses a scenario whose phase moves (a one-line 422)
            job = EQUILIBRIA[key] = {"mode": "equilibrium", "status": "running", "value_small": None,
                                     "archetype": None, "patron": [],
                                     "note": "the equilibrium search is running (a few minutes); this page asks again"}
            threading.Thread(target=_search, args=(key,), daemon=True).start()
        return dict(job)


def _search(key: Key) -> None:
    from agents.game.equilibrium import STANDARD, search_mpe, summarize_search
    from agents.game.operator import game_operator

    with SLOW.setdefault("equilibrium", threading.Lock()):
        try:
            params = params_of(key)
            op = game_operator(params)
            found = summarize_search(op, search_mpe(op, **(EQUILIBRIUM_SEARCH or STANDARD)))
            ph = int(params.start[0])
            shares = sorted(found["patron_action_shares"].items(), key=lambda kv: -kv[1])
            from envs import model

            job = {"mode": "equilibrium", "status": "done", "value_small": found["V_S"], "value_patron": found["V_P"],
                   "archetype": found["archetype"], "nashconv_s0": found["nashconv_s0"],
                   "nashconv_max": found["nashconv_max"],
                   "patron": [{"phase": ph, "name": PHASE_NAMES[ph], "action": [int(x) for x in model.ALL_PATRON_ACTIONS[int(a)]],
                               "share": share} for a, share in shares],
                   "note": f"best certified profile of the equilibrium search: max NashConv {found['nashconv_max']:.4f} "
                           f"({found['nashconv_s0']:.4f} at s0); the patron's actions by their share of its play on "
                           "the path"}
        except Exception as exc:  # noqa: BLE001 (shown on the page in one line, never a dead thread's silence)
            job = {"mode": "equilibrium", "status": "failed", "value_small": None, "archetype": None, "patron": [],
                   "note": f"the equilibrium search failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"}
    with EQUILIBRIA_LOCK:
        EQUILIBRIA[key] = job


@lru_cache(maxsize=CACHE)
def _point_patron(key: Key, mode: str) -> dict[str, Any]:
    from agents.game.commitment import Commitment, best_commitment, commitment_table, table_commitment
    from envs import model

    params = params_of(key)

    def dip(flat: int) -> list[int]:
        return [int(x) for x in model.ALL_PATRON_ACTIONS[flat]]

    if mode == "table":
        summary = point_summary(key)
        acts = table_commitment(params)
        phases = sorted({int(params.start[0])} | {p["phase"] for p in summary["phases"]})
        return {"mode": mode, "value_small": summary["value"], "archetype": summary["archetype"],
                "patron": [{"phase": ph, "name": PHASE_NAMES[ph], "action": dip(acts[ph])} for ph in phases],
                "note": "the patron plays its table (D, IP, sigma) per phase; the small state's optimum answers"}
    if mode == "commitment":
        with SLOW["commitment"]:
            table = commitment_table(params)  # a ValueError for timeline/calendar (a one-line 422)
        best: Commitment = best_commitment(table)
        ph = int(params.start[0])
        rows = sorted(table, key=lambda c: -c.value_patron)[:5]
        return {"mode": mode, "value_small": best.value_small, "value_patron": best.value_patron,
                "archetype": best.archetype,
                "patron": [{"phase": ph, "name": PHASE_NAMES[ph], "action": list(best.action(ph))}],
                "top": [{"action": list(c.action(ph)), "value_patron": c.value_patron, "value_small": c.value_small,
                         "archetype": c.archetype} for c in rows],
                "note": "the patron commits to the (D, IP, sigma) with the highest V_P(s0) among all 24"}
    raise ValueError(f"mode={mode!r} is not allowed: table, commitment or equilibrium")


def scenario_yaml(key: Key) -> str:
    """The point as a scenario file (docs/scenarios.md) that ``alliance solve FILE`` accepts: the
    scenario as ``base``, the moved parameters under ``phases`` / ``parameters``."""
    scenario, overrides = key
    suffix = "_".join(f"{k}{v:g}" for k, v in overrides)
    name = f"{scenario}_{suffix}" if suffix else f"{scenario}_explored"
    name = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in name)[:64]
    moved = ", ".join(f"{k} = {v:g}" for k, v in overrides) or "no parameter moved"
    data: dict[str, Any] = {"name": name, "description": f"{scenario} with {moved} (written by alliance explore)",
                            "base": scenario}
    phases = {k: float(v) for k, v in overrides if k in PER_PHASE}
    params = {k: float(v) for k, v in overrides if k not in PER_PHASE}
    if phases:
        data["phases"] = phases
    if params:
        data["parameters"] = params
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

"""A study folder of hand-made results, for tests of the report and of what reads stored results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from repo import REPO

from training.config.study import load_study_config, plan_points, plan_runs
from training.results import run_folder as rf
from training.study.tasks import FEATURES, config_fingerprint, quarter_labels

STATS = dict(m_bar=1.5, f3=0.0, f2=0.5, k_bar=0.1, g2=0.0, f_med=0.3, f_far=0.3, f_west=0.0, R_bar=3.0, A_bar=3.0)
SHARES = dict(limited=0.9, limited_mediation=0.88, bandwagon=0.2, balance=0.6, hedge=0.8)

CONFIG = {
    "name": "tiny", "out": "study", "scenarios": ["war", "alt_open", "no_mediation", "calendar"],
    "sweeps": {
        "threat_alternatives": {"scenario": "war", "axes": {
            "threat": {"high": {}, "low": {"tau": 0.8}},
            "alternatives": {"closed": {}, "open": {"lockout": 1.0, "west_shock": 0.0}}}},
        "identification_power": {"scenario": "war", "axes": {"identification": [0, 1], "power": [0, 1]}},
        "entrapment_scale": {"scenario": "war", "axes": {"entrapment_scale": [0.5, 2]}},
    },
    "rl": {"scenarios": ["war"], "algos": {"PPO": str(REPO / "configs" / "ppo_war.yaml")}, "seeds": [0, 1],
           "total_timesteps": 2048},
    "bootstrap_reps": 200,
}


def analysis(point, label, **stats):
    st = {**STATS, **stats}
    phases = {"4": {"weight": 1.0, "label": label, "stats": st,
                    "actions": {f: float(f.endswith("=1")) for f in FEATURES}}}
    out = {"kind": point.kind, "key": point.key, "scenario": point.scenario, "overrides": dict(point.overrides),
           "sweep": point.sweep, "coords": dict(point.coords), "horizon": 80, "finite_horizon": False,
           "start": [1, 1, 1, 1, 1, 4], "seconds": 1.5,
           "optimum": {"value": 12.0, "policy_value": 12.0, "near_optimal_share": 1.0, "label": label, "stats": st,
                       "phases": phases, "nearest_baseline": "limited", "distances": {b: 1.0 for b in SHARES},
                       "agreement": {b: 0.5 for b in SHARES}, "top_actions": [], "episode_return": 50.0},
           "baselines": {b: {"share": s, "value": 12.0 * s, "regret": 12.0 * (1 - s), "near_optimal_share": 0.0,
                             "label": "mixed", "stats": st} for b, s in SHARES.items()}}
    if point.key == "calendar":
        out["optimum"]["phases"] = {str(p): {"weight": 0.2, "label": label, "stats": {**st, "f_med": 0.9 * (p == 3)},
                                             "actions": {f: 0.5 for f in FEATURES}} for p in range(5)}
        out["quarters"] = {"t_labels": quarter_labels(), "actions": {f: [0.5] * 44 for f in FEATURES},
                           "phase": {str(p): [0.2] * 44 for p in range(5)}}
    return out


def make_study(tmp_path: Path):
    """A study folder of hand-made results under ``tmp_path`` (the working directory)."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    cfg = load_study_config("tiny.yaml")
    for p in plan_points(cfg):
        opened = p.key == "alt_open" or p.coords.get("alternatives") == "open"
        label = "hedging" if opened else "limited_participation+mediation"
        extra = {"f_west": 0.4, "m_bar": 0.7} if label == "hedging" else {}
        target = cfg.out_dir / p.relpath()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(analysis(p, label, **extra)))
    fingerprints = {r.seed: config_fingerprint(r.train_config) for r in plan_runs(cfg)}
    for seed, share in ((0, 0.93), (1, 0.97)):
        run_dir = cfg.out_dir / "runs" / "war" / f"ppo_s{seed}"
        run_dir.mkdir(parents=True)
        (run_dir / "evaluation.json").write_text(json.dumps(
            {"scenario": "war", "algo": "PPO", "seed": seed, "total_timesteps": 2048, "value": 12 * share,
             "optimum": 12.0, "regret": 12 * (1 - share), "share": share, "near_optimal_share": 0.6,
             "label": "mixed", "optimal_label": "limited_participation+mediation", "label_agrees": False,
             "stats": STATS, "phase_labels": {"4": "mixed"}, "train_config": fingerprints[seed], "nearest_baseline": "limited",
             "training": "trained", "train_seconds": 2.5, "evaluate_seconds": 0.5, "seconds": 3.0}))
        sha = rf.write_hashed(run_dir / rf.EVALUATIONS, lambda f, seed=seed: np.savez(
            f, timesteps=np.array([1024, 2048]), results=np.array([[40.0, 42.0], [44.0, 46.0 + seed]]),
            ep_lengths=np.full((2, 2), 80)))
        rf.write_manifest(run_dir, written={rf.EVALUATIONS: sha}, status="finished")  # the report checks the log
    return cfg

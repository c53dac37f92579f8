"""``alliance evaluate RUN --contexts SET``: a contextual run's share of V*_c in every context of a
named context set, exactly, and its IQM with intervals (issue 30, item 2).

A contextual run is one whose ``config.yml`` has ``env.contexts: {sample: N, seed: S}`` (the N
contexts it trained on, drawn from ``configs/discovery/ranges.yaml`` by ``envs.contexts``) and
``env.context_in_obs`` (whether its network reads the contexts' features). The named sets:

- ``train``: those N contexts, ``{"sample": N, "seed": S}``;
- ``test``: N held-out contexts from the same ranges, ``{"sample": N, "seed": S + HELD_OUT_OFFSET}``
  (a seed no training set near S uses); checked disjoint from the training contexts (no parameter
  set in common, by content key), refused otherwise.

The network (``model.zip``, or ``best_model.zip``) and ``config.yml`` are read only if their sha256
is the one the run recorded (``--trust`` skips the check), as every ``alliance evaluate``. Each
context is scored by ``agents.context_eval.evaluate_contexts``: the network's greedy action on every
(t, state) with the context's features appended (or not, hidden context), evaluated exactly against
V*_c. The aggregate is the IQM (and mean) of the shares over the contexts with a 95 % percentile
bootstrap that resamples contexts (``training.evaluate.stats.interval_estimates`` on a ``(C, 1)``
array: the contexts are independent draws from the ranges, so the interval is about the population
of plausible contexts).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.context_eval import context_key, evaluate_contexts
from envs.contexts import ContextSet, make_contexts
from envs.env import observation_space
from envs.params import short_repr
from envs.scenarios import make_params
from training.config.run import EnvConfig
from training.evaluate.stats import interval_estimates
from training.results import run_folder as rf

CONTEXT_SETS = {"train": "the run's own training contexts",
                "test": "as many held-out contexts, drawn with the training seed + 1000003"}
HELD_OUT_OFFSET = 1_000_003
ALLOWED = "; ".join(f"{k} ({v})" for k, v in CONTEXT_SETS.items())


def context_set_spec(name: Any, env: EnvConfig) -> dict[str, int]:
    """The ``{"sample": N, "seed": S}`` of the named set for a run's env config (see the module docstring).

    :raises ValueError: an unknown name, or a run without contexts (one line)
    """
    if name not in CONTEXT_SETS:
        raise ValueError(f"--contexts={short_repr(name)} is not allowed: one of {ALLOWED}")
    if env.contexts is None:
        raise ValueError(f"--contexts={name} is not allowed for a run that is not contextual: its config.yml has no "
                         "env.contexts (a run trained with env.contexts: {sample: N, seed: S})")
    n, seed = env.contexts["sample"], env.contexts["seed"]
    return {"sample": n, "seed": seed if name == "train" else seed + HELD_OUT_OFFSET}


def held_out(test: ContextSet, train: ContextSet) -> None:
    """Refuse a test set that shares a parameter set with the training set (one line)."""
    seen = {context_key(p) for p in train.params}
    common = [i for i, p in enumerate(test.params) if context_key(p) in seen]
    if common:
        raise ValueError(f"--contexts=test is not allowed here: test context {common[0]} is also a training context "
                         f"({len(common)} of {len(test)} in common)")


def resolve_run(target: str | Path, name: str, best: bool, trust: bool) -> tuple[Any, Any, Path]:
    """A contextual run's config and network, both hash-checked (unless ``trust``)."""
    from training.run.train import load_model, run_config

    path = Path(target)
    if not (path / rf.CONFIG).is_file():
        raise ValueError(f"target={str(target)!r} is not allowed with --contexts: a run folder (with {rf.CONFIG}) "
                         "trained with env.contexts")
    cfg = run_config(path, trust)
    if cfg.env.contexts is None:
        context_set_spec(name, cfg.env)  # raises: not contextual
    return cfg, load_model(path, best=best, trust=trust), path


def evaluate_run_contexts(target: str | Path, name: str = "test", *, best: bool = False, trust: bool = False,
                          reps: int = 2000, seed: int = 0) -> dict[str, Any]:
    """Score a contextual run in every context of the set ``name`` (JSON-ready dict).

    :raises ValueError: an unknown set, a target that is not a contextual run, a network whose spaces
        are not the contexts' or that is recurrent, a file whose hash the run did not record (one line)
    """
    if name not in CONTEXT_SETS:
        context_set_spec(name, EnvConfig())  # raises: the allowed names
    cfg, model, path = resolve_run(target, name, best, trust)
    from training.evaluate.recurrent import is_recurrent

    if is_recurrent(model):
        raise ValueError(f"target={str(target)!r} is not allowed with --contexts: a recurrent policy acts on its "
                         "memory and has no exact value per context (a Markov policy)")
    base = make_params(cfg.env.scenario, cfg.env.overrides)
    spec = context_set_spec(name, cfg.env)
    contexts = make_contexts(spec, base)
    if name == "test":
        held_out(contexts, make_contexts(context_set_spec("train", cfg.env), base))
    n_features = len(contexts.features) if cfg.env.context_in_obs else 0
    want = observation_space(contexts.params[0], n_features)
    if model.observation_space != want:
        raise ValueError(f"{path / (rf.BEST_MODEL if best else rf.MODEL)}: observation space "
                         f"{model.observation_space} is not the contexts' {want} ({n_features} context features)")
    start = time.perf_counter()
    scores = evaluate_contexts(model, contexts, cfg.env.context_in_obs)
    seconds = time.perf_counter() - start
    share = scores.share
    stats = {m: interval_estimates({"share": share}, metric=m, reps=reps, seed=seed)["share"] for m in ("iqm", "mean")}
    return {
        "target": str(target), "context_set": name, "contexts": spec, "scenario": base.name,
        "context_in_obs": cfg.env.context_in_obs, "features": list(contexts.features),
        "source": {"kind": "run", "run_dir": str(path), "model": rf.BEST_MODEL if best else rf.MODEL,
                   "hash_checked": not trust, "algo": cfg.algo, "seed": cfg.seed,
                   "train_contexts": dict(cfg.env.contexts), "num_timesteps": int(model.num_timesteps)},
        "per_context": [{"context_id": int(i), "value": float(v), "optimum": float(o), "share": float(s),
                         "near_optimal_share": float(q), "context": contexts.contexts[int(i)]}
                        for i, v, o, s, q in zip(scores.ids, scores.value, scores.optimum, share,
                                                 scores.near_optimal_share)],
        "share_iqm": list(stats["iqm"]), "share_mean": list(stats["mean"]),
        "share_min": float(np.min(share)), "share_max": float(np.max(share)),
        "bootstrap": {"reps": reps, "seed": seed, "confidence": 0.95, "resampled": "contexts"},
        "seconds": round(seconds, 2),
    }


def text_report(rep: dict[str, Any]) -> str:
    """The terminal table: one line per context, then the IQM and mean with their intervals."""
    src = rep["source"]
    check = "sha256 checked" if src["hash_checked"] else "sha256 NOT checked (--trust)"
    visible = "visible" if rep["context_in_obs"] else "hidden"
    lines = [f"target:   {rep['target']}   ({src['algo']} seed {src['seed']}, {src['num_timesteps']:,} steps, "
             f"trained on {rep['scenario']} x {src['train_contexts']}; {src['model']}, {check})",
             f"contexts: {rep['context_set']} = {rep['contexts']} ({len(rep['per_context'])} contexts, context "
             f"{visible}); scored exactly against V*_c in {rep['seconds']:.1f} s", "",
             f"  {'context':>7s} {'V^pi_c(s0)':>12s} {'V*_c(s0)':>12s} {'share':>9s} {'near-opt':>9s}"]
    lines += [f"  {r['context_id']:7d} {r['value']:12.4f} {r['optimum']:12.4f} {r['share']:9.2%} "
              f"{r['near_optimal_share']:9.2%}" for r in rep["per_context"]]
    b = rep["bootstrap"]
    for title, key in (("IQM", "share_iqm"), ("mean", "share_mean")):
        point, lo, hi = rep[key]
        lines.append(f"share of V*_c, {title:4s}: {point:.2%}   95 % CI [{lo:.2%}, {hi:.2%}]")
    lines.append(f"(bootstrap over contexts, {b['reps']} resamples, seed {b['seed']}; min {rep['share_min']:.2%}, "
                 f"max {rep['share_max']:.2%})")
    return "\n".join(lines)

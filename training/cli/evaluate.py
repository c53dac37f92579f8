"""``alliance evaluate TARGET``: exact value, regret, share of V*, Monte Carlo check and archetype of one
policy (see training/evaluate/evaluation.py)."""

from __future__ import annotations

import argparse
import json

HELP = "evaluate a run folder, SB3 model file, RL Zoo log folder, baseline:NAME or optimal: exact value, regret, share of V*, Monte Carlo, archetype"
EXAMPLES = """examples:
  alliance evaluate baseline:limited                  a baseline on war (the default for baselines/optimal)
  alliance evaluate optimal --scenario calendar       the time-dependent optimum: regret 0, share 1
  alliance evaluate results/runs/war/ppo_s0_20250101T120000Z          a run on its own training scenario
  alliance evaluate RUN_DIR --best --scenario alt_open --json         best_model.zip on another scenario
  alliance evaluate RUN_DIR --trust                  load a model whose sha256 is not the manifest's
  alliance evaluate model.zip --scenario war --trust      an SB3/sb3-contrib model trained elsewhere
  alliance evaluate logs/ppo/SmallStateAlliance-v0_1 --trust          an RL Zoo log folder (--best: best_model.zip)
  alliance evaluate RUN_DIR --contexts test          a contextual run's share of V*_c on its held-out contexts

--scenario defaults to the run's own scenario (config.yml, with its overrides) for a run folder and to
war for baseline:NAME and optimal. A run may be evaluated on another scenario when the spaces agree
(26 inputs: stationary scenarios; 27: timeline and calendar). Values are scored as docs/model.md section 7
says: stationary scenarios the infinite-horizon discounted value, timeline/calendar 44 quarters plus
gamma^44 V*_inf at the state reached. The Monte Carlo mean estimates the same number from episodes.
SB3 model archives can carry pickled objects: a model is loaded only if its sha256 matches the run's
manifest.json, unless --trust is given; a model trained elsewhere has no manifest, so it needs --trust.
The algorithm (PPO, A2C, DQN; sb3-contrib's QRDQN, TRPO, ARS, RecurrentPPO, MaskablePPO) is read from the
archive itself (its plain JSON, never unpickled); --algo may name it and must agree. A Zoo folder's args.yml
names its algorithm, env id and env_kwargs (its default scenario). A Markov policy is scored exactly; a
recurrent one (RecurrentPPO) acts on its memory, has no exact value, and is scored by Monte Carlo with its
LSTM state carried (--episodes, default 1000), its 95 % interval and the reason printed.
--contexts SET (a run trained with env.contexts: {sample: N, seed: S}): the exact share of V*_c in each
context of SET and its IQM and mean with 95 % bootstrap intervals over the contexts; SET is train (the
run's N contexts) or test (N held-out contexts, seed S + 1000003); exact only (--episodes is not used),
--seed seeds the bootstrap (training/evaluate/contexts.py). A run whose network reads the contexts'
features is scored only this way.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET",
                        help="a run folder, an SB3 model file, an RL Zoo log folder, baseline:NAME or optimal")
    parser.add_argument("--scenario", default=None, metavar="S",
                        help="scenario name or YAML file (default: the run's own; war for baselines/optimal)")
    parser.add_argument("--episodes", type=int, default=1000, metavar="N",
                        help="Monte Carlo episodes (default 1000; 0: exact evaluation only)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="Monte Carlo seed (default 0)")
    parser.add_argument("--best", action="store_true", help="a run's best_model.zip instead of model.zip")
    parser.add_argument("--algo", default=None, metavar="A",
                        help="a bare model file's algorithm, e.g. PPO or QRDQN (default: read from the file)")
    parser.add_argument("--trust", action="store_true",
                        help="load a model file even if its sha256 does not match the run's manifest")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--contexts", default=None, metavar="SET",
                        help="a contextual run's exact share of V*_c per context of SET: train or test (held out)")


def _source_line(src: dict) -> str:
    if src.get("kind") in ("file", "zoo"):
        trained = f" trained on {src['trained_on']}" if src.get("trained_on") else ""
        check = "sha256 checked" if src["hash_checked"] else "sha256 NOT checked (--trust)"
        return (f"{src['algo']} ({src['algo_from']}), {src['env_id']}{trained}, {src['num_timesteps']:,} steps; "
                f"{check}")
    if src.get("kind") != "run":
        return src.get("kind", "")
    from training.config.params import scenario_label

    trained = scenario_label(src["trained_on"], src.get("overrides"))
    check = "sha256 checked" if src["hash_checked"] else "sha256 NOT checked (--trust)"
    return (f"{src['algo']} seed {src['seed']}, {src['num_timesteps']:,} steps, trained on {trained}; "
            f"{src['model']}, {check}")


def text_report(rep: dict) -> str:
    """The terminal table of one evaluation."""
    from envs.params import PHASE_NAMES

    objective = (f"{rep['horizon']} quarters + gamma^{rep['horizon']} V*_inf at the state reached"
                 if rep["finite_horizon"] else "infinite-horizon discounted value")
    exact = rep.get("exact", True)
    lines = [f"target:    {rep['target']}   ({_source_line(rep['source'])})",
             f"scenario:  {rep['scenario']}, start {tuple(rep['start'])}; value = {objective}", ""]
    if not exact:
        lo, hi = rep["value_ci"]
        bias = (f"; episodes of {rep['episode_steps']} steps, truncation bias <= {rep['truncation_bias_bound']:.1e}"
                if not rep["finite_horizon"] else "")
        lines = [*lines[:2], f"NOT EXACT: {rep['not_exact_because']} ({rep['value_episodes']} episodes, seed "
                 f"{rep['value_seed']}{bias}); the statistics below are estimates from those episodes", "",
                 f"  {'Monte Carlo value V^pi(s0)':34s}{rep['value']:12.4f}   95 % CI [{lo:.4f}, {hi:.4f}]"]
    else:
        lines.append(f"  {'exact value V^pi(s0)':34s}{rep['value']:12.4f}")
    lines += [
              f"  {'optimum V*(s0)':34s}{rep['optimum']:12.4f}",
             f"  {'regret V* - V^pi':34s}{rep['regret']:12.4f}",
             f"  {'share of V*':34s}{rep['share_of_optimum']:12.2%}",
              f"  {'occupancy on near-optimal actions':34s}{rep['near_optimal_share']:12.2%}"]
    if rep["mc_mean"] is not None and exact:
        lo, hi = rep["mc_ci"]
        title = f"Monte Carlo mean ({rep['mc_episodes']} episodes)"
        lines.append(f"  {title:34s}{rep['mc_mean']:12.4f}   95 % CI [{lo:.4f}, {hi:.4f}]")
    lines += [f"  {'expected episode return':34s}{rep['episode_return']:12.4f}"
              f"   (undiscounted, {rep['horizon']} steps: what EvalCallback logs)", "",
              f"archetype: {rep['label']}   nearest baseline: {rep['nearest_baseline']} "
              f"(distance {rep['distances'][rep['nearest_baseline']]:.3f})", ""]
    names = list(rep["stats"])
    lines.append(f"  {'statistics (episode averages)':30s}" + "".join(f"{n:>8s}" for n in names) + "   label")
    rows = [("whole episode", rep["stats"], rep["label"])]
    rows += [(f"phase {k} {PHASE_NAMES[int(k)]} ({rep['phase_weights'][k]:.0%})", v, rep["phase_labels"][k])
             for k, v in rep["phase_stats"].items()]
    for title, st, lab in rows:
        lines.append(f"  {title:30s}" + "".join(f"{st[n]:8.3f}" for n in names) + f"   {lab}")
    lines += ["", "most used joint actions (m, k, g, d): "
              + ", ".join(f"{tuple(a['action'])} {a['share']:.3f}" for a in rep["top_actions"]),
              "action agreement with the baselines: "
              + ", ".join(f"{b} {s:.0%}" for b, s in sorted(rep["agreement"].items(), key=lambda kv: -kv[1]))]
    return "\n".join(lines)


def check_arguments(args: argparse.Namespace) -> None:
    """Numbers out of range, before anything is loaded.

    :raises ValueError: one line naming the option and what is allowed
    """
    from training.config.hyperparams import MAX_SEED
    from training.evaluate.evaluation import MAX_EPISODES

    if args.episodes == 1 or not 0 <= args.episodes <= MAX_EPISODES:
        raise ValueError(f"--episodes={args.episodes} is not allowed: 0 (no Monte Carlo) or an integer >= 2, "
                         f"at most {MAX_EPISODES:,}")
    if not 0 <= args.seed <= MAX_SEED:
        raise ValueError(f"--seed={args.seed} is not allowed: an integer in [0, {MAX_SEED}]")


def run(args: argparse.Namespace) -> int:
    import torch

    from training.evaluate.evaluation import evaluate_target

    check_arguments(args)
    torch.set_num_threads(1)
    if getattr(args, "contexts", None) is not None:
        return _run_contexts(args)
    rep = evaluate_target(args.target, args.scenario, args.episodes, args.seed, best=args.best, trust=args.trust,
                          algo=args.algo)
    print(json.dumps(rep, indent=2) if args.json else text_report(rep))
    return 0


def _run_contexts(args: argparse.Namespace) -> int:
    from training.evaluate.contexts import evaluate_run_contexts, text_report

    for option in ("scenario", "algo"):
        if getattr(args, option) is not None:
            raise ValueError(f"--{option}={getattr(args, option)} is not allowed with --contexts: the contexts and "
                             "the algorithm are the run's (config.yml)")
    rep = evaluate_run_contexts(args.target, args.contexts, best=args.best, trust=args.trust, seed=args.seed)
    print(json.dumps(rep, indent=2) if args.json else text_report(rep))
    return 0

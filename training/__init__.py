"""Training, evaluation, the policy benchmark, the study and the ``alliance`` command line.

The top floor of three: ``training`` imports ``agents`` and ``envs``; ``agents`` imports ``envs``;
``envs`` imports neither (docs/architecture.md). Inside ``training`` a sub-package per job, and
one import direction among them: a sub-package imports only those :data:`RULE` lists for it
(and ``agents``, ``envs``, third-party packages). ``tests/test_layout.py`` checks this rule, the
floors and the absence of import cycles, counting imports inside functions.

========== =========================================================================== =================
package    job                                                                         may import
========== =========================================================================== =================
config     run and study configs: pydantic models, safe YAML readers, one error line   (nothing)
results    every stored file: atomic writers, readers, the run folder's layout         config
run        train one SB3 agent into a run folder, its callbacks                        config, results
evaluate   score one policy (exact value, Monte Carlo, statistics)                     config, results, run
scoring    the policy benchmark: many runs and baselines, bootstrap intervals          config, results, run, evaluate
render     tables, figures, Markdown text: one table writer, one number formatter      config, results, evaluate
discovery  parameter ranges, sampling, sensitivity, scenario discovery, batched solves  config, results
study      a study on Ray: units, tasks, verdicts (hypotheses), its report             all of the above but cli, scoring, selfplay
selfplay   PPO self-play in the patron game, each round scored by its exact NashConv   config, results, run
explore    the explorer page: a local HTTP server, its JSON API and static page       (nothing)
h8         H8 across the space (docs/h8.md): design, units on Ray, shares, verdicts    config, results, render, discovery, study
dataset    Minari datasets of a behaviour policy with its exact V^pi, V* and share        config, results, run, evaluate
leaderboard every algorithm tuned once, trained on Ray, scored by exact share of V*      config, results, run, evaluate, render, study
generalization learners across contexts scored exactly vs V*_c, train vs held-out     config, results, run, evaluate, render, discovery, study, leaderboard
cli        the ``alliance`` commands, one module per command                           all of the above
========== =========================================================================== =================
"""

# sub-package -> the training sub-packages it may import (tests/test_layout.py reads this)
RULE: dict[str, frozenset[str]] = {
    "config": frozenset(),
    "results": frozenset({"config"}),  # config.files.read_bounded: one bounded reader
    "run": frozenset({"config", "results"}),
    "evaluate": frozenset({"config", "results", "run"}),
    "scoring": frozenset({"config", "results", "run", "evaluate"}),
    "render": frozenset({"config", "results", "evaluate"}),
    "discovery": frozenset({"config", "results"}),
    "study": frozenset({"config", "results", "run", "evaluate", "render", "discovery"}),
    "selfplay": frozenset({"config", "results", "run"}),
    "explore": frozenset(),
    "h8": frozenset({"config", "results", "render", "discovery", "study"}),
    "dataset": frozenset({"config", "results", "run", "evaluate"}),
    "leaderboard": frozenset({"config", "results", "run", "evaluate", "render", "study"}),
    # the zoo's tuned entries (leaderboard.config.ZooEntry) are read, not copied
    "generalization": frozenset({"config", "results", "run", "evaluate", "render", "discovery", "study", "leaderboard"}),
    "cli": frozenset({"config", "results", "run", "evaluate", "scoring", "render", "discovery", "study", "selfplay",
                      "explore", "h8", "dataset", "leaderboard", "generalization"}),
}

"""The leaderboard (``alliance leaderboard``): every sb3/sb3-contrib algorithm that fits the action space,
tuned once with Optuna on one scenario, trained on several scenarios and seeds with one step budget as Ray
tasks with content keys, and scored against the exact optimum (share of V*, regret, rliable statistics,
sample efficiency from the exact values of checkpoints)."""

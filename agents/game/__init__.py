"""The strategic patron (docs/model.md section 11): exact solvers of the two-player game on the
model's states — a profile's values, best responses, NashConv, phase-level commitments and a Markov
perfect equilibrium search — all on one :class:`agents.game.operator.GameOperator` built once."""

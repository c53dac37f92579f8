"""The policy benchmark (``alliance benchmark``): runs, baselines and the optimum scored on
scenarios, with bootstrap intervals. Not the speed scripts of ``benchmarks/``."""

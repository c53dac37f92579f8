"""Scoring one policy: its exact value and a Monte Carlo check (``evaluation``), and the statistics
of scores (``stats``)."""

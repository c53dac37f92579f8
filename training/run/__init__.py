"""Training one SB3 agent into a run folder (``train``) and its callbacks (``callbacks``)."""

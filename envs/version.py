"""The version of the model's code: raise :data:`MODEL_VERSION` in the commit that changes what the
model computes for given parameters (an equation of ``envs/model.py``, a table of ``envs/tables.py``,
a default or scenario of ``envs/params.py``/``envs/scenarios.py``, the solver's or the evaluators'
numbers in ``agents/``, the archetype rules). A study keys each stored unit by a hash of its
resolved inputs and this number (``training/study/keys.py``), so a unit computed by another
version of the model is computed again instead of being reused.
"""

MODEL_VERSION = 1

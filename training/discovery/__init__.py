"""Reserved: scenario discovery over ranges of the model's parameters (ranges, SALib sampling,
Sobol indices, PRIM boxes, batched exact solves as Ray tasks). ``study`` imports it; it imports
``config``, ``results``, ``agents`` and ``envs`` (see the rule in ``training/__init__.py``)."""

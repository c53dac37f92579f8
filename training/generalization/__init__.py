"""The generalization study (``alliance generalization``, issue 30 items 3-4, docs/generalization.md):
learners trained across contexts drawn from the discovery's ranges, each scored exactly against V*_c on
its training contexts and on disjoint held-out ones, beside the ten baselines, the default point's
optimum carried to every context and the oracle; units as Ray tasks with content keys (resumable,
``--verify``), the report from the stored units."""

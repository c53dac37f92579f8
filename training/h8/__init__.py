"""H8, the strategic patron across the space (docs/h8.md; issue 24, deliverable 5): a Latin hypercube
of its own over the discovery's ranges plus the patron's eight reward weights (:mod:`.design`), per
row the commitment table and the equilibrium search (:mod:`.units`), run as Ray tasks with content
keys (:mod:`.driver`), read into shares, verdicts and drivers (:mod:`.analysis`) and rendered
(:mod:`.report`, :mod:`.figures`)."""

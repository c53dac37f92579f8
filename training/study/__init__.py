"""A study on Ray: the driver (``driver``), its tasks (``tasks``), the verdicts (``hypotheses``)
and the report rendered from the stored results (``report``)."""

"""Configs: the run config (``run``), the study config (``study``, read and checked by ``study_load``),
scenario parameters a command names (``params``), safe YAML files (``files``) and the one
formatter of config errors (``errors``)."""

"""Configs: the run config (``run``), the study config (``study``; its validators in ``study_rules``,
its training config ``templates``), the self-play config (``selfplay``), scenario overrides (``overrides``), scenario parameters a
command names (``params``), safe YAML files (``files``) and the one formatter of config errors
(``errors``)."""

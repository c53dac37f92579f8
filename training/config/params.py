"""The model's parameters a command names: a scenario of docs/model.md section 7, or a YAML file of parameters."""

from __future__ import annotations

from pathlib import Path

from envs.params import AllianceParams
from envs.scenarios import make_params, params_from_mapping
from training.config.files import read_yaml


def load_params(scenario: str) -> AllianceParams:
    """A named scenario, a scenario file (docs/scenarios.md: ``name``, ``description``, ...), or a
    YAML file holding ``{scenario: NAME, overrides: {...}}`` (``envs.scenarios.params_from_mapping``)."""
    if scenario.endswith((".yaml", ".yml")) or Path(scenario).is_file():
        mapping = read_yaml(scenario)
        if not (isinstance(mapping, dict) and "scenario" in mapping):
            return make_params(Path(scenario))
        try:
            return params_from_mapping(mapping)
        except ValueError as exc:
            raise ValueError(f"{scenario}: {exc}") from None
    if Path(scenario).is_dir():
        raise IsADirectoryError(f"{scenario}: a folder, not a YAML file or a scenario name")
    return make_params(scenario)

"""The training config templates a study names: where a template is found (as given, else beside
the study YAML) and a run's training config built from one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.config.files import read_yaml_mapping
from training.config.run import TrainConfig, apply_overrides, config_from_dict


def template_for(spec: str | Mapping[str, str], scenario: str) -> str | None:
    return spec if isinstance(spec, str) else spec.get(scenario, spec.get("default"))


def template_path(source: str, template: str) -> Path:
    """A template path as given (absolute or relative to the working directory), else next to the YAML."""
    path = Path(template)
    if not path.is_absolute() and not is_file(path) and source:
        beside = Path(source).parent / template
        if is_file(beside):
            return beside
    return path


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, a NUL character
        return False


def template_data(source: str, template: str) -> dict:
    """The mapping a training config template holds (one-line ConfigError / OSError otherwise)."""
    return read_yaml_mapping(template_path(source, template), "a mapping of training config keys")


def build_train_config(base: Mapping[str, Any], overrides: Sequence[str], scenario: str, steps: int,
                       seed: int, out: str) -> TrainConfig:
    """A run's training config: the template with the study's overrides, scenario, budget, seed and folder."""
    data = apply_overrides(base, overrides)
    data["env"] = {"scenario": scenario, "overrides": {}}
    data["total_timesteps"] = steps
    data["seed"] = seed
    data["output"] = str(Path(out) / "runs")
    return config_from_dict(data)

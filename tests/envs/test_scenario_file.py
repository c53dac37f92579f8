"""Scenario files (envs/scenario_file.py): the shipped files, the round trip of `calendar`, and a
one-line error for every field's bad value, an unknown key and an unsafe file."""

import os
from dataclasses import fields, replace

import gymnasium as gym
import numpy as np
import pytest
import yaml

import envs  # noqa: F401  (registers the env)
from agents.solver import solve
from envs.params import AllianceParams, param_field_names
from envs.scenario_file import (
    MAX_BYTES,
    OWN_KEYS,
    ScenarioFileError,
    parameter_keys,
    phase_keys,
)
from envs.scenarios import make_params, read_scenario

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALENDAR = os.path.join(ROOT, "configs", "scenarios", "calendar.yaml")
WEST_OPEN = os.path.join(ROOT, "configs", "scenarios", "calendar_west_open.yaml")


def calendar_dict() -> dict:
    with open(CALENDAR, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def write(tmp_path, data, name="s.yaml") -> str:
    path = tmp_path / name
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return str(path)


def refused(path: str, *fragments: str) -> str:
    with pytest.raises(ValueError) as info:
        make_params(path)
    message = str(info.value)
    assert isinstance(info.value, ScenarioFileError)
    assert "\n" not in message and path in message, message
    assert "not allowed" in message or "missing" in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_calendar_file_is_the_named_calendar():
    from_file = make_params(CALENDAR)
    named = make_params("calendar")
    for f in fields(AllianceParams):
        assert getattr(from_file, f.name) == getattr(named, f.name), f.name
    # solved apart (another name, so no cache is shared): the same optimum to 1e-12
    own = solve(replace(from_file, name="calendar-from-file"))
    ref = solve(named)
    assert abs(own.value - ref.value) <= 1e-12
    assert np.max(np.abs(own.values - ref.values)) <= 1e-12


def test_counterfactual_changes_only_what_it_says():
    spec = read_scenario(WEST_OPEN)
    named = make_params("calendar")
    changed = {f.name for f in fields(AllianceParams) if getattr(spec.params, f.name) != getattr(named, f.name)}
    assert changed == {"name", "lockout", "west_shock"}
    assert spec.params.lockout == (1.0,) * 5 and spec.params.west_shock == 0.0
    assert "Why this one" in spec.description and spec.first_quarter is None  # its calendar is the base's


def test_every_field_is_settable_and_keys_follow_the_dataclass(tmp_path):
    assert set(phase_keys()) | set(parameter_keys()) | set(OWN_KEYS) == set(param_field_names()) | {"name"}
    assert not set(phase_keys()) & set(parameter_keys())
    data = {"name": "x", "description": "every scalar parameter set to a new value"}
    new = {"power": 0.3, "identification": 0.7, "alpha_west": 0.5, "alpha_far": 0.2, "weights": [0.4, 0.4, 0.2],
           "gamma": 0.9, "west_shock": 0.5, "entrapment_scale": 2.0, "deep_cost_scale": 0.5, "finite_horizon": True}
    data["parameters"] = {k: v for k, v in new.items() if k in parameter_keys()}
    data["phases"] = {k: 0.0 if k != "demand" else 3 for k in phase_keys()}
    data["horizon"] = 12
    data["start"] = {"phase": 2, "threat": 3, "autonomy": 5, "trust": 0, "west": 2, "fararc": 1}
    p = make_params(write(tmp_path, data))
    for k, v in data["parameters"].items():
        assert getattr(p, k) == (tuple(v) if isinstance(v, list) else v), k
    assert p.demand == (3,) * 5 and p.tau == (0.0,) * 5
    assert (p.horizon, p.start, p.name) == (12, (2, 3, 5, 0, 2, 1), "x")


def test_hyphen_and_en_dash_periods_agree(tmp_path):
    data = calendar_dict()
    data["calendar"] = {k.replace("\u2013", "-"): v for k, v in data["calendar"].items()}
    assert make_params(write(tmp_path, data)) == make_params(CALENDAR)
    assert read_scenario(CALENDAR).first_quarter == (2014, 1)


def test_env_and_vector_env_take_a_path():
    env = gym.make("SmallStateAlliance-v0", scenario=CALENDAR)
    assert env.unwrapped.params == make_params("calendar")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (27,)
    venv = gym.make_vec("SmallStateAlliance-v0", num_envs=2, vectorization_mode="vector_entry_point",
                        scenario=WEST_OPEN)
    assert venv.unwrapped.params == make_params(WEST_OPEN)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (2, 27)
    with pytest.raises(ValueError, match="scenario file"):
        gym.make("SmallStateAlliance-v0", scenario=os.path.join(ROOT, "no_such_file.yaml"))


# ------------------------------------------------------------------ every field's bad value
def _bad_param_cases():
    cases = []
    for key in phase_keys():
        cases += [("phases", key, "x", f"phases.{key}"), ("phases", key, [0.1] * 4, f"phases.{key}"),
                  ("phases", key, 99, f"phases.{key}")]
    for key in parameter_keys():
        cases += [("parameters", key, "x", f"parameters.{key}"), ("parameters", key, 99, f"parameters.{key}")]
    return cases


@pytest.mark.parametrize("section,key,value,named", _bad_param_cases())
def test_bad_parameter_value_is_one_line(tmp_path, section, key, value, named):
    data = calendar_dict()
    data.setdefault(section, {})[key] = value
    refused(write(tmp_path, data), named)


TOP_CASES = [
    ("name", "has space", "name="), ("name", 5, "name="), ("name", "", "name="),
    ("description", 5, "description="), ("description", "  ", "description="),
    ("base", "nope", "base="), ("horizon", 40, "horizon=40"), ("start", [0, 1, 4, 3, 1, 0], "start="),
    ("start", {"phase": 0, "threat": 1, "autonomy": 4, "trust": 3, "west": 1}, "start="),
    ("start", {"phase": 0, "threat": 9, "autonomy": 4, "trust": 3, "west": 1, "fararc": 0}, "start.threat=9"),
    ("phases", [1, 2], "phases="), ("parameters", "x", "parameters="),
    ("calendar", {}, "calendar="), ("calendar", {"2014Q5": 0}, "calendar key"),
    ("calendar", {"2014Q1–2013Q1": 0}, "calendar key"), ("calendar", {"2014Q1": 7}, "calendar[2014Q1]=7"),
    ("calendar", {"2014Q1": True}, "calendar[2014Q1]=True"),
    ("calendar", {"2014Q1–2014Q4": 0, "2015Q2": 1}, "must start at 2015Q1"),
    ("calendar", {"2014Q1–2014Q4": 0, "2014Q3": 1}, "must start at 2015Q1"),
]


@pytest.mark.parametrize("key,value,named", TOP_CASES)
def test_bad_top_level_value_is_one_line(tmp_path, key, value, named):
    data = calendar_dict()
    data[key] = value
    refused(write(tmp_path, data), named)


def test_horizon_without_calendar_is_checked(tmp_path):
    data = {"name": "w", "description": "war, longer", "base": "war", "horizon": 0}
    refused(write(tmp_path, data), "horizon=0")
    data["horizon"] = 400
    assert make_params(write(tmp_path, data)).horizon == 400


def test_missing_name_or_description(tmp_path):
    for key in ("name", "description"):
        data = calendar_dict()
        del data[key]
        refused(write(tmp_path, data), f"{key} is missing")


@pytest.mark.parametrize("where", [(), ("phases",), ("parameters",)])
def test_unknown_key_is_refused(tmp_path, where):
    data = calendar_dict()
    target = data
    for part in where:
        target = target[part]
    target["powr"] = 0.3
    message = refused(write(tmp_path, data), "powr", "unknown key")
    assert ("identification" in message) == (where == ("parameters",))


# ------------------------------------------------------------------ reading safely
def test_duplicate_key_is_refused(tmp_path):
    text = open(CALENDAR, encoding="utf-8").read().replace("parameters:\n", "parameters:\n  power: 0.3\n", 1)
    refused(write(tmp_path, text), "twice", "line")


def test_anchors_and_aliases_are_refused(tmp_path):
    text = "name: a\ndescription: &d text\nbase: war\nparameters: {power: 0.3}\nx: *d\n"
    refused(write(tmp_path, text), "aliases")


@pytest.mark.parametrize("kind", ["folder", "fifo", "big", "binary", "syntax", "list", "missing"])
def test_unsafe_or_broken_file_is_one_line(tmp_path, kind):
    path = tmp_path / "s.yaml"
    if kind == "folder":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "big":
        path.write_text("# " + "x" * MAX_BYTES + "\nname: a\n")
    elif kind == "binary":
        path.write_bytes(b"name: \xff\xfe\n")
    elif kind == "syntax":
        path.write_text("name: [a\n")
    elif kind == "list":
        path.write_text("- name\n")
    with pytest.raises(ScenarioFileError) as info:
        make_params(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)

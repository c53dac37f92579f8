"""The uncertainty ranges: the committed file, its doc, its validation and the row -> params map."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from envs.params import AllianceParams
from envs.scenarios import make_params
from training.discovery import RangesError, latin_unit, load_ranges, markdown_table, ranges_from_mapping

ROOT = Path(__file__).resolve().parents[3]
RANGES = ROOT / "configs" / "discovery" / "ranges.yaml"


def _raw() -> dict:
    return yaml.safe_load(RANGES.read_text())


def test_every_default_lies_inside_its_range():
    ranges = load_ranges(RANGES)
    model = AllianceParams()
    for name, f in ranges.factors.items():
        if f.mode == "scale":
            default = 1.0
        elif f.param == "weight_autonomy":
            default = model.weights[1]
        elif f.param == "weight_economy_share":
            default = model.weights[2] / (model.weights[0] + model.weights[2])
        else:
            value = getattr(model, f.param)
            entries = {value[p] for p in (f.phases or range(5))} if isinstance(value, tuple) else {value}
            assert len(entries) == 1, name
            default = entries.pop()
        assert f.low <= default <= f.high, (name, default, f.low, f.high)
        assert f.low < f.high and len(f.reason) > 20, name


def test_every_numeric_parameter_is_sampled_or_held_fixed_with_a_reason():
    ranges = load_ranges(RANGES)
    sampled = {f.param for f in ranges.factors.values()}
    for field in fields(AllianceParams):
        if field.name in ("name", "finite_horizon"):
            continue
        if field.name == "weights":
            assert {"weight_autonomy", "weight_economy_share"} <= sampled
        else:
            assert field.name in sampled or field.name in ranges.fixed, field.name


def test_the_doc_holds_the_table_generated_from_the_yaml():
    doc = (ROOT / "docs" / "uncertainty.md").read_text()
    start = doc.index("-->\n", doc.index("<!-- ranges table")) + 4
    end = doc.index("<!-- end of ranges table -->")
    assert doc[start:end] == markdown_table(load_ranges(RANGES))


def _error(data) -> str:
    with pytest.raises(RangesError) as info:
        ranges_from_mapping(data, source="bad.yaml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad.yaml")
    return message


def _with(name: str, **changes) -> dict:
    data = _raw()
    data["factors"][name] = {**data["factors"][name], **changes}
    return data


@pytest.mark.parametrize(("name", "changes", "expected"), [
    ("power", {"low": 0.5, "high": 0.3}, "factors.power: low=0.5 and high=0.3: low must be below high"),
    ("power", {"low": 0.3, "high": 0.3}, "factors.power: low=0.3 and high=0.3"),
    # the model rejects tau above 3: 2.6 x 1.3 = 3.38 in phase 2
    ("tau_scale", {"high": 1.3}, "factors.tau_scale.high: the model rejects it: tau[2]=3.38"),
    ("identification", {"high": 1.5}, "factors.identification.high: the model rejects it: identification=1.5"),
    ("far_arc_scale", {"high": 3.0}, "factors.far_arc_scale.high: the model rejects it: far_arc_scale=3.0"),
    ("power", {"low": 0.25}, "factors.power: the default 0.2 (docs/model.md) is outside [low=0.25, high=0.4]"),
    ("entrapment_scale", {"low": 0.0}, "factors.entrapment_scale: low=0.0: a log range needs low > 0"),
    ("power", {"param": "powr"}, "factors.power.param='powr' is not allowed"),
    ("power", {"low": "0.1"}, "factors.power.low='0.1' is not allowed"),
    ("power", {"group": "vibes"}, "factors.power.group='vibes' is not allowed"),
    ("capacity_war", {"phases": [3, 4]}, "factors.capacity_war: phases of capacity [3, 4] overlap"),
    ("demand_war", {"high": 2.5}, "factors.demand_war: integer=true needs whole low and high"),
    ("pressure_low", {"high": 2},
     "factors.pressure_low: [low=0.0, high=2.0] leaves the model's domain of pressure, [0, 1]"),
])
def test_a_bad_range_is_a_one_line_error_naming_the_factor(name, changes, expected):
    assert expected in _error(_with(name, **changes))


def test_a_parameter_left_out_is_a_one_line_error():
    data = _raw()
    del data["factors"]["alpha_far"]
    assert "parameter alpha_far is neither sampled" in _error(data)
    data = _raw()
    del data["factors"]["capacity_crisis"]
    assert "parameter capacity is neither sampled (in every phase)" in _error(data)


def test_an_unreadable_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("factors: [unclosed\n")
    with pytest.raises(RangesError) as info:
        load_ranges(bad)
    assert "\n" not in str(info.value) and "cannot be read as YAML" in str(info.value)


def test_a_sample_row_changes_only_the_sampled_fields():
    data = _raw()
    keep = ("power", "lockout_closed", "weight_autonomy", "tau_scale")
    data["factors"] = {k: v for k, v in data["factors"].items() if k in keep}
    data["fixed"] = {**data["fixed"], **{f.name: "held for this test" for f in fields(AllianceParams)
                                         if f.name not in ("name", "finite_horizon", "power", "tau")}}
    ranges = ranges_from_mapping(data)
    base = make_params("war")
    assert ranges.names == ["tau_scale", "lockout_closed", "power", "weight_autonomy"]  # the file's order
    row = np.array([0.9, 0.7, 0.1, 0.25])
    values = ranges.values(row[None, :]).iloc[0]
    p = ranges.unit_params(row, base)
    changed = {f.name for f in fields(AllianceParams) if getattr(p, f.name) != getattr(base, f.name)}
    assert changed == {"power", "lockout", "weights", "tau"}
    assert p.lockout[0] == base.lockout[0] and set(p.lockout[1:]) == {values["lockout_closed"]}
    assert p.power == values["power"]
    assert p.tau == pytest.approx([t * values["tau_scale"] for t in base.tau])
    w_s, w_a, w_e = p.weights
    assert w_a == values["weight_autonomy"] and w_s + w_a + w_e == pytest.approx(1.0)
    assert w_e / w_s == pytest.approx(base.weights[2] / base.weights[0])  # security : economy as by default


def test_values_at_the_defaults_give_back_the_scenario():
    ranges = load_ranges(RANGES)
    for scenario in ("war", "calendar"):
        base = make_params(scenario)
        p = ranges.params(ranges.defaults(), base)
        assert p.weights == pytest.approx(base.weights)
        assert p == replace(base, weights=p.weights), scenario  # every other field exactly the scenario's


def test_every_row_of_a_sample_maps_inside_the_ranges():
    ranges = load_ranges(RANGES)
    unit = latin_unit(ranges.names, 64, seed=0)
    values = ranges.values(unit)
    for name, f in ranges.factors.items():
        assert values[name].between(f.low, f.high).all(), name
        if f.integer:
            assert set(values[name]) == set(range(int(f.low), int(f.high) + 1)), name
    for i in range(0, 64, 16):
        p = ranges.unit_params(unit[i], "calendar")  # the model accepts each, on the named scenario
        assert p.name == "calendar" and p.calendar == make_params("calendar").calendar

"""`alliance solve`: its JSON carries the solver's numbers; bad input is one line and exit code 2."""

import json

import pytest

from agents.archetypes import ArchetypeStats, label
from agents.baselines import make_policy
from agents.exact_eval import evaluate_policy
from agents.solver import solve
from envs.scenarios import make_params
from training.cli import main
from training.config.params import load_params


def test_solve_json(capsys):
    assert main(["solve", "war", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    p = make_params("war")
    assert out["scenario"] == "war"
    assert out["value"] == solve(p).value
    assert set(out["baselines"]) == {"bandwagon", "compliant", "balance", "neutral", "hedge", "limited",
                                     "mediator", "limited_mediation", "random", "myopic"}
    assert out["baselines"]["limited"] == evaluate_policy(make_policy("limited", p), p).value
    assert all(v <= out["value"] + 1e-9 for v in out["baselines"].values())
    assert out["label"] == label(ArchetypeStats(**out["stats"]))  # the label follows from the printed stats
    shares = [a["share"] for a in out["top_actions"]]
    assert shares == sorted(shares, reverse=True) and sum(shares) <= 1 + 1e-12


def test_solve_reads_a_yaml_mapping(tmp_path):
    path = tmp_path / "high_id.yaml"
    path.write_text("scenario: war\noverrides:\n  identification: 0.9\n")
    assert load_params(str(path)) == make_params("war", {"identification": 0.9})
    flat = tmp_path / "flat.yml"
    flat.write_text("scenario: calendar\npower: 0.5\n")
    assert load_params(str(flat)) == make_params("calendar", {"power": 0.5})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- war\n")
    with pytest.raises(ValueError, match="mapping"):
        load_params(str(bad))


def test_solve_bad_input(capsys, tmp_path):
    assert main(["solve", "narnia"]) == 2
    err = capsys.readouterr().err.strip()
    assert "narnia" in err and "war" in err and "\n" not in err
    assert main(["solve", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err

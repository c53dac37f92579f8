""""Threats to validity" is generated from the study's config and ranges (issue 31: written by hand, it said
the reward weights, the discount and the partners' receptiveness were never varied while the discovery
sampled all three, and that the intervals concerned learner seeds only)."""

from __future__ import annotations

from repo import REPO

from training.config.study import load_study_config
from training.render.study_text import swept_params, threats_section


def test_the_section_names_what_the_sweeps_and_the_discovery_vary():
    cfg = load_study_config(REPO / "configs" / "study.yaml")
    assert swept_params(cfg) == ["deep_cost_scale", "entrapment_scale", "identification", "lockout", "power", "tau",
                                 "west_shock"]
    disc = {"factors": ["gamma", "weight_autonomy", "alpha_west"], "params_varied": ["alpha_west", "gamma", "weights"],
            "fixed": {"hazard": "structure"}, "ranges": "configs/discovery/ranges.yaml", "shift": 0.02,
            "interval_method": "95 % percentile bootstrap over the design's independent units"}
    text = threats_section(cfg, disc)
    assert all(f"`{p}`" in text for p in ("gamma", "weights", "alpha_west", "hazard", "power"))
    assert "not varied" not in text and "seeds of the learners" in text and "independent units" in text
    assert "±0.02" in text
    without = threats_section(cfg, None)
    assert "no discovery" in without and "`gamma`" not in without

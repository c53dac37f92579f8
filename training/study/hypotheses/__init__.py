"""Verdicts on the study's hypotheses H1..H7 and on the learners, as pure functions of stored data.

``data`` is what :func:`training.study.report.load_study_data` reads back from a study folder::

    {"scenarios": {name: analysis}, "sweeps": {sweep: [analysis, ...]}, "runs": [evaluation, ...],
     "discovery": what training.study.robustness.analyse returns (or None)}

An *analysis* (one JSON file per parameter set, written by ``training/study/tasks.py``) holds
``optimum`` (``value``, ``label``, ``stats``, ``phases``) and ``baselines`` (name -> ``value``,
``share``, ``label``, ``stats``); a sweep point also has ``coords`` (axis -> level). Statistics are
those of docs/model.md section 9 plus the mean autonomy level ``A_bar``: ``m_bar, f3, f2, k_bar, g2,
f_med, f_far, f_west, R_bar, A_bar``.

Each hypothesis is tested by explicit criteria whose thresholds are the constants of :mod:`.common`
(quoted in the report), as first written; a later reading of a criterion is a *fallback*, shown and
not counted. The verdict (:func:`.common.verdict_of`) is ``supported`` if every criterion holds,
``refuted`` if every one fails, ``mixed`` if some hold and some fail, ``undecided`` when undecided
criteria (overlapping intervals, H7) leave it open, and ``untested`` when the study lacks the data.
No threshold was chosen after seeing a result; they restate the hypotheses of the issue.

H1..H6 are read at the default point (:mod:`.point`); :func:`all_hypotheses` attaches to each the same
criteria read across the sampled space (``across``: the share of samples, or of one-at-a-time pairs,
where each holds, with its interval; :mod:`training.study.space`). H7 is global by its nature
(:mod:`.sensitivity`); the learners are :mod:`.learners`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from training.study.hypotheses.common import (
    CLAIMS,
    EPS,
    STAT_KEYS,
    criterion,
    spearman,
    verdict_of,
)
from training.study.hypotheses.learners import _matrix, base_label, rl_summary
from training.study.hypotheses.point import h1, h2, h3, h4, h5, h6, limited_advantage
from training.study.hypotheses.sensitivity import group_indices, h7

HYPOTHESES: dict[str, Callable[[Mapping], dict]] = {"H1": h1, "H2": h2, "H3": h3, "H4": h4, "H5": h5, "H6": h6,
                                                    "H7": h7}


def across(hid: str, disc: Mapping | None) -> dict:
    """The criteria of ``hid`` read across the sampled space (empty without a discovery)."""
    if not disc or hid == "H7":
        return {"readings": [], "not_read": ""}
    not_read = disc.get("not_read", {})
    extra = [v for k, v in not_read.items() if k.startswith(f"{hid}.")]
    return {"readings": list(disc.get("readings", {}).get(hid, [])),
            "not_read": "; ".join([*([not_read[hid]] if hid in not_read else []), *extra])}


def all_hypotheses(data: Mapping) -> list[dict]:
    return [{**f(data), "across": across(hid, data.get("discovery"))} for hid, f in HYPOTHESES.items()]


__all__ = ["CLAIMS", "EPS", "HYPOTHESES", "STAT_KEYS", "_matrix", "all_hypotheses", "base_label", "criterion",
           "group_indices", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "limited_advantage", "rl_summary", "spearman",
           "verdict_of"]

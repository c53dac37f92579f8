"""Solving samples exactly: one row per (sample, scenario).

:func:`analyse_batch` solves a batch of parameter sets of one scenario (:func:`evaluate`, through
:func:`agents.sample_eval.evaluate_samples`) and arranges, per set, what ``agents`` computes: V*, the optimum's
archetype (whole episode; per phase for a finite-horizon scenario such as `calendar`), its
statistics (MODEL.md section 9 and Ā, :mod:`agents.archetypes`) and each baseline's exact value as a
share of V*. Nothing here computes a probability, a value
or a label itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agents.archetypes import STAT_NAMES, label, phase_stats, stats_from_occupancy
from agents.sample_eval import SampleResult, evaluate_samples
from envs.params import AllianceParams
from envs.spaces import ALL_STATES, PHASE, A

DISCOVERY_VERSION = 1
"""Bump when what a row holds, or how it is computed here, changes: every stored batch's unit key
(``training/study/keys.py``) then changes and the batch is computed again."""
LIMITED_FAMILY = "limited_participation"  # a label in the family starts with this (+mediation, +fararc)
STATS = ("m_bar", "f2", "f3", "k_bar", "g2", "f_med", "f_far", "f_west", "R_bar", "A_bar")
PHASE_STATS = STAT_NAMES
"""A finite-horizon row's statistics per phase: all of section 9's (issue 31: each phase label's
fragility near the thresholds needs every statistic its rule reads; the first rows held four)."""
PHASE_ROWS_VERSION = 2
"""The version of a finite-horizon row's per-phase part (1: four statistics, 2: all of section 9's). It
enters the unit key of a batch of finite-horizon sets only (``training/study/keys.py``): a stationary
row has no per-phase part, so its batches keep their keys."""


def mean_autonomy(occupancy: np.ndarray, phase: int | None = None) -> float:
    """Ā: the mean autonomy level (0..5) under a state-action occupancy (whole episode or one phase)."""
    occ = np.asarray(occupancy, dtype=np.float64).sum(axis=1)
    if phase is not None:
        occ = np.where(ALL_STATES[:, PHASE] == phase, occ, 0.0)
    return float(occ @ ALL_STATES[:, A] / occ.sum())


def evaluate(params_list: Sequence[AllianceParams], baselines: Sequence[str] | None = None) -> list[SampleResult]:
    """Solve the sets together and evaluate each optimum (V*(s0), its occupancy from s0) and
    ``baselines`` (None: all ten; empty: none): :func:`agents.sample_eval.evaluate_samples`, the one
    call of this module into ``agents``' solver and evaluators."""
    return evaluate_samples(list(params_list), baselines)


def sample_row(ev: SampleResult) -> dict[str, Any]:
    """One row: V*, the optimum's archetype and statistics (per phase when the horizon is finite),
    and each evaluated baseline's share of V*."""
    st = stats_from_occupancy(ev.occupancy)
    row: dict[str, Any] = {"value": float(ev.value), "label": label(st),
                           **{k: float(v) for k, v in st.to_dict().items()}, "A_bar": mean_autonomy(ev.occupancy)}
    row["limited_family"] = row["label"].startswith(LIMITED_FAMILY)
    if ev.params.finite_horizon:
        for ph, pst in sorted(phase_stats(ev.occupancy).items()):
            row[f"phase{ph}_label"] = label(pst)
            row.update({f"phase{ph}_{k}": float(getattr(pst, k)) for k in PHASE_STATS})
    row.update({f"share_{b}": float(v) / float(ev.value) for b, v in ev.baseline_values.items()})
    return row


def analyse_batch(params_list: Sequence[AllianceParams], baselines: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """:func:`sample_row` of each set of the batch, evaluated together by :func:`evaluate`."""
    return [sample_row(ev) for ev in evaluate(params_list, baselines)]

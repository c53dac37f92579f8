"""Tests of training/render/figures.py: every figure is written, readable and not blank; writes are atomic."""

from __future__ import annotations

from pathlib import Path

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest

from training.render import figures

FEATURES = ["m=0", "m=1", "m=2", "m=3", "k=1", "g=0", "g=1", "g=2", "d=0", "d=1", "d=2", "d=3"]
PHASES = ["Φ0", "Φ1", "Φ2", "Φ3", "Φ4"]
QUARTERS = [f"{y}Q{q}" for y in range(2014, 2025) for q in range(1, 5)]
BOUNDS = [("Φ0", 0, 25), ("Φ1", 26, 31), ("Φ2", 32, 36), ("Φ3", 37, 37), ("Φ4", 38, 43)]


def _shares(rng: np.random.Generator) -> np.ndarray:
    parts = [rng.dirichlet(np.ones(4), 5), rng.uniform(size=(5, 1)), rng.dirichlet(np.ones(3), 5),
             rng.dirichlet(np.ones(4), 5)]
    return np.hstack(parts)


def _timeline_shares() -> dict[str, np.ndarray]:
    t = np.arange(len(QUARTERS))
    m = np.stack([t < 26, (t >= 26) & (t < 32), (t >= 32) & (t < 38), t >= 38]).astype(float)
    return {**{f"m={i}": m[i] for i in range(4)}, "k=1": (t > 31).astype(float) * 0.5}


def _make_all(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    est = {"PPO": (0.97, 0.95, 0.99), "hedge": (0.8, 0.8, 0.8), "random": (0.4, 0.35, 0.42)}
    t = np.arange(0, 50_001, 5_000)
    curves = {"PPO": [(t, -10 + 6 * t / t[-1] + rng.normal(0, 0.3, t.size)) for _ in range(3)],
              "DQN": [(t, -10 + 3 * t / t[-1])]}
    grid = np.array([["bandwagon", "hedging"], ["limited_participation+mediation", "neutral"]], dtype=object)
    return {
        "intervals": figures.plot_interval_estimates(est, tmp_path / "intervals.png"),
        "bars": figures.plot_bar_shares(est, tmp_path / "bars.png"),
        "heatmap": figures.plot_action_heatmap({"optimum": _shares(rng), "PPO": _shares(rng)}, FEATURES, PHASES,
                                               tmp_path / "heat.png", "Action shares"),
        "curves": figures.plot_learning_curves(curves, -3.5, tmp_path / "curves.png"),
        "phase": figures.plot_phase_diagram(grid, ["closed", "open"], ["high", "low"], tmp_path / "phase.png",
                                            "Core grid", "alternatives", "threat"),
        "timeline": figures.plot_strategy_timeline(QUARTERS, _timeline_shares(), tmp_path / "tl.png", BOUNDS),
    }


def test_every_figure_is_a_readable_nonblank_png(tmp_path: Path) -> None:
    paths = _make_all(tmp_path)
    for name, path in paths.items():
        assert path.exists(), name
        img = matplotlib.image.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 200, name
        assert float(np.std(img[..., :3])) > 0.05, name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())  # no temp files


def _grey_pixels(path: Path) -> int:
    rgb = matplotlib.image.imread(path)[..., :3]
    return int(np.sum(np.all(np.abs(rgb - 0.85) < 0.01, axis=-1)))


def test_heatmap_nan_cells_are_grey(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    full = _shares(rng)
    holed = full.copy()
    holed[3] = np.nan  # phase 3 never visited
    figures.plot_action_heatmap({"p": full}, FEATURES, PHASES, tmp_path / "full.png", "t")
    figures.plot_action_heatmap({"p": holed}, FEATURES, PHASES, tmp_path / "holed.png", "t")
    # viridis holds no neutral grey: the masked row (12 cells of about 60 x 50 px) is the only large
    # area of (0.85, 0.85, 0.85); elsewhere only anti-aliased text edges come close to it
    assert _grey_pixels(tmp_path / "full.png") < 1000 < 20000 < _grey_pixels(tmp_path / "holed.png")


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "bars.png"
    target.write_bytes(b"old")

    def broken(self, fname, **kwargs):
        fname.write(b"half a png")
        raise RuntimeError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(RuntimeError):
        figures.plot_bar_shares({"a": (0.5, 0.4, 0.6)}, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["bars.png"]


def test_a_figure_makes_its_folder(tmp_path: Path) -> None:
    path = figures.plot_bar_shares({"a": (0.5, 0.4, 0.6)}, tmp_path / "sub" / "b.png")
    assert path == tmp_path / "sub" / "b.png" and path.is_file()


def test_cell_text_wraps_and_abbreviates() -> None:
    assert figures._cell_text("limited_participation+mediation+fararc") == "limited\nparticip.\n+med. +far-arc"
    assert figures._cell_text("bandwagon") == "bandwagon"
    for label in figures.ARCHETYPES:  # no line wider than the short cell width, so cells do not overflow
        assert max(len(line) for line in figures._cell_text(label).split("\n")) <= 14


def test_quarter_ticks_fall_on_each_years_first_quarter() -> None:
    pos, labels, xlabel = figures._time_ticks(QUARTERS)
    assert pos == list(range(0, 44, 4)) and labels == [str(y) for y in range(2014, 2025)]
    assert "quarter" in xlabel
    pos, labels, _ = figures._time_ticks([str(i) for i in range(30)])  # generic: every ceil(30/12) = 3rd
    assert pos == list(range(0, 30, 3)) and labels[1] == "3"


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda p: figures.plot_action_heatmap({"x": np.zeros((4, 12))}, FEATURES, PHASES, p, "t"), "shares['x']"),
        (lambda p: figures.plot_phase_diagram(np.array([["a"]]), ["x", "y"], ["z"], p, "t", "x", "y"), "grid"),
        (lambda p: figures.plot_strategy_timeline(QUARTERS, {"m=0": np.ones(3)}, p, BOUNDS), "shares['m=0']"),
        (lambda p: figures.plot_strategy_timeline(QUARTERS, {"k=1": np.ones(44)}, p, [("Φ", 40, 44)]),
         "phase_bounds"),
        (lambda p: figures.plot_interval_estimates({}, p), "estimates"),
        (lambda p: figures.plot_learning_curves({"PPO": []}, None, p), "curves['PPO']"),
    ],
)
def test_bad_input_is_a_one_line_value_error(tmp_path: Path, call, field) -> None:
    with pytest.raises(ValueError) as err:
        call(tmp_path / "f.png")
    assert str(err.value).startswith(field + ":") and "\n" not in str(err.value)
    assert not any(tmp_path.iterdir())

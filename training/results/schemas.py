"""The schema of every stored result file: one pydantic model per kind of file, with a
``schema_version``.

=================================== ============================= ===========================================
file                                model                          written by
=================================== ============================= ===========================================
``<study>/exact/<scenario>.json``   :class:`PointAnalysis`         the study (``training/study/tasks.py``)
``<study>/sweeps/<point>.json``     :class:`PointAnalysis`         the study
``<study>/runs/*/*/evaluation.json`` :class:`RunEvaluation`        the study
``<study>/study.json``              :class:`StudyResult`           the study's report
``<study>/environment.json``        :class:`Environment`           the study
``<study>/discovery/batches/*.json`` :class:`DiscoveryBatch`       the study (``training/discovery/plan.py``)
``<out>/benchmark.json``            :class:`BenchmarkResult`       ``alliance benchmark``
``<h8>/units/*.json``               :class:`H8CommitmentUnit`,     ``alliance h8`` (``training/h8/``)
                                    :class:`H8MpeUnit`
``<h8>/h8.json``                    :class:`H8Result`              ``alliance h8``
=================================== ============================= ===========================================

Files are written and read through :func:`training.results.store.write_stored` and
:func:`~training.results.store.read_stored`: a file that does not match its model is refused in one
line naming the file and the field, before anything is rendered or run. The models name every key
a file holds at the levels the readers look into (``extra="forbid"``), so a renamed key is an error,
not a ``KeyError`` half-way through a report; subtrees that are passed on as they are
(hypothesis verdicts, bootstrap settings) are typed as mappings.

Versions: :data:`SCHEMA_VERSION` is written into every file. A file without ``schema_version``
was written before versions existed; its layout is that of version 1 (the keys and types below,
checked all the same), so it is read as version 0. A file of a later version is refused.

Numbers: every field typed as a float (at any depth the models name) must be finite: NaN and
infinity, which Python's ``json`` writes and reads, are refused like any other wrong value, so a
study computes such a unit again (``training/study/driver.py``) instead of taking it as done.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    # allow_inf_nan=False: a field typed as a number holds a finite one (issue 28: a unit whose value
    # was NaN passed and was skipped as finished; Python's json writes and reads NaN and Infinity)
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class StoredFile(_Strict):
    """The top of every stored file. :attr:`ADVICE` says what to do with a file that does not match."""

    ADVICE: ClassVar[str] = "delete it to compute it again"
    schema_version: int = Field(0, description=f"0 (written before versions) or {SCHEMA_VERSION}")

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if not 0 <= value <= SCHEMA_VERSION:
            raise ValueError(f"a version this code reads: 0 (written before versions) to {SCHEMA_VERSION}")
        return value


# ----------------------------------------------------------------------------- a study's units
class BaselineResult(_Strict):
    """A baseline's exact evaluation at one point (share of V*, archetype, occupancy statistics)."""

    value: float
    share: float
    regret: float
    near_optimal_share: float
    label: str
    stats: dict[str, float]


class OptimumResult(_Strict):
    """The optimum at one point: V*, its archetype, statistics, distances to the baselines."""

    value: float
    policy_value: float
    near_optimal_share: float
    label: str
    stats: dict[str, float]
    phases: dict[str, Any]
    nearest_baseline: str
    distances: dict[str, float]
    agreement: dict[str, float]
    top_actions: list[Any]
    episode_return: float


class Quarters(_Strict):
    """A calendar scenario's optimum quarter by quarter: action shares and the phase distribution."""

    t_labels: list[str]
    actions: dict[str, list[float]]
    phase: dict[str, list[float]]


class StudyUnit(StoredFile):
    """A study unit's file: it carries the key of the inputs that made it (``training/study/keys.py``);
    a file without one, or with another, is computed again."""

    ADVICE: ClassVar[str] = "delete it to compute that unit again"
    unit_key: str | None = None


class PointAnalysis(StudyUnit):
    """``exact/<scenario>.json`` and ``sweeps/<point>.json``: one parameter set analysed exactly."""

    kind: Literal["scenario", "sweep"]
    key: str
    scenario: str
    overrides: dict[str, Any]
    sweep: str | None
    coords: dict[str, Any]
    horizon: int
    finite_horizon: bool
    start: list[int]
    optimum: OptimumResult
    baselines: dict[str, BaselineResult]
    quarters: Quarters | None = None  # a finite-horizon (calendar) scenario only
    seconds: float


class RunEvaluation(StudyUnit):
    """``runs/<scenario>/<algo>_s<seed>/evaluation.json``: a trained policy evaluated exactly."""

    scenario: str
    algo: str
    seed: int
    total_timesteps: int
    value: float
    optimum: float
    regret: float
    share: float
    near_optimal_share: float
    label: str
    optimal_label: str
    label_agrees: bool
    stats: dict[str, float]
    phase_labels: dict[str, str]
    train_config: dict[str, Any]
    nearest_baseline: str
    training: str
    train_seconds: float | None
    evaluate_seconds: float
    seconds: float


class Environment(StoredFile):
    """``environment.json``: the Python, packages and git commit of the study's last session."""

    ADVICE: ClassVar[str] = "delete it (the next study session writes it again)"
    python: str
    platform: str
    versions: dict[str, str]
    git: dict[str, Any]
    config: str
    cpu: dict[str, Any] | None = None  # torch's CPU kernels (training/run/determinism.py)


class StudyResult(StoredFile):
    """``study.json``: the verdicts, the learners' summary and the compact tables behind REPORT.md."""

    ADVICE: ClassVar[str] = "render the report again (alliance study CONFIG --report-only)"
    name: str
    config: str
    out: str
    missing: list[str]
    hypotheses: list[dict[str, Any]]
    rl: dict[str, Any] | None
    glance: list[dict[str, Any]]
    sweeps: dict[str, list[dict[str, Any]]]
    units: dict[str, int]


class DiscoveryBatch(StudyUnit):
    """``discovery/batches/<scenario>_<kind>_<first>.json``: one batch of a discovery's samples or diagram cells,
    each row what :func:`training.discovery.solving.sample_row` returns for one parameter set."""

    ADVICE: ClassVar[str] = "delete it to compute that batch again"
    kind: str = Field(pattern=r"^(sample|diagram:[A-Za-z0-9_]+)$")
    scenario: str
    first: int = Field(ge=0)
    coords: list[list[float]]
    rows: list[dict[str, float | bool | str]]
    seconds: float


class GroupedBatch(DiscoveryBatch):
    """``discovery/batches/<scenario>_grouped_<first>.json``: one batch of the grouped Saltelli design (issue 31),
    whose rows give each group of factors its own Sobol indices; rows as a :class:`DiscoveryBatch`'s."""

    kind: str = Field(pattern=r"^grouped$")


# ------------------------------------------------------------------ H8: the strategic patron (docs/h8.md)
class H8CommitmentRow(_Strict):
    """One row of H8's design (``row`` -1: the scenario's own point): the commitment table's 24 values and
    labels, the patron's pick and the small state's optimum under it (its section-9 statistics)."""

    row: int = Field(ge=-1)
    coords: list[float]
    pick: int = Field(ge=0, le=23)
    D: int = Field(ge=0, le=3)
    IP: int = Field(ge=0, le=1)
    sigma: int = Field(ge=0, le=2)
    V_S: float
    V_P: float
    label: str
    m_bar: float
    stats: dict[str, float]
    table_V_S: list[float] = Field(min_length=24, max_length=24)
    table_V_P: list[float] = Field(min_length=24, max_length=24)
    table_labels: list[str] = Field(min_length=24, max_length=24)


class H8CommitmentUnit(StudyUnit):
    """``<h8>/units/commitment_<first row>.json``: a batch of H8's commitment rows (``training/h8/units.py``)."""

    kind: Literal["commitment"]
    scenario: str
    rows: list[H8CommitmentRow] = Field(min_length=1)
    seconds: float


class H8MpeUnit(StudyUnit):
    """``<h8>/units/mpe_<row>.json``: one row's equilibrium search, its certificate (NashConv at s0 and
    max over states), both values at s0, and the means along the profile's path from s0."""

    kind: Literal["mpe"]
    scenario: str
    row: int = Field(ge=-1)
    coords: list[float]
    method: str
    nashconv_s0: float
    nashconv_max: float
    V_S: float
    V_P: float
    label: str
    m_bar: float
    sigma_bar: float
    D_bar: float
    stats: dict[str, float]
    patron_action_shares: dict[str, float]
    iterations: int
    curve: list[dict[str, Any]]
    seconds: float


class H8Result(StoredFile):
    """``<h8>/h8.json``: the readings at the point, the shares across the space, the verdicts, the drivers."""

    ADVICE: ClassVar[str] = "render the report again (alliance h8 CONFIG --report-only)"
    config: dict[str, Any]
    design: dict[str, Any]
    point: dict[str, Any]
    space: dict[str, Any]
    verdicts: dict[str, Any]
    drivers: list[dict[str, Any]]


class GeneralizationResult(StoredFile):
    """``<generalization>/generalization.json``: the study's config, its units, and per scenario the shares of
    V*_c on training and held-out contexts, the verdicts, the hard factors and the archetype agreement."""

    ADVICE: ClassVar[str] = "render the report again (alliance generalization CONFIG --report-only)"
    config: dict[str, Any]
    units: dict[str, Any]
    scenarios: dict[str, dict[str, Any]]


# ---------------------------------------------------------------------------- the benchmark
class BenchmarkRun(_Strict):
    """One trained run of a benchmark: where it came from and its evaluation on each scenario."""

    run_dir: str
    algo: str
    seed: int
    trained_on: Any
    overrides: dict[str, Any]
    num_timesteps: int | None
    group: str
    results: dict[str, dict[str, Any]]
    curve: dict[str, Any] | None  # timesteps, mean_return, n_episodes


class BenchmarkAggregate(_Strict):
    """The statistics of a benchmark: IQM and intervals, probability of improvement, labels."""

    settings: dict[str, Any]
    kinds: dict[str, str]
    n_runs: dict[str, int]
    scores: dict[str, list[list[float]]]
    iqm: dict[str, dict[str, Any]]
    best_baseline: str
    poi: dict[str, dict[str, Any]]
    optimum_labels: dict[str, str]
    baseline_labels: dict[str, dict[str, str]]
    labels: dict[str, dict[str, Any]]
    label_agreement: float | None


class BenchmarkResult(StoredFile):
    """``benchmark.json``: everything ``alliance benchmark`` computed; its report is rendered from it."""

    ADVICE: ClassVar[str] = "run the benchmark again"
    scenarios: list[str]
    model_file: str | None
    hash_checked: bool
    runs: list[BenchmarkRun]
    duplicates: list[dict[str, str]] = []  # runs with another's model.zip bytes, counted once
    optimum: dict[str, dict[str, Any]]
    baselines: dict[str, dict[str, dict[str, Any]]]
    curve_optimum: dict[str, dict[str, Any]]
    aggregate: BenchmarkAggregate
    command: str | None = None

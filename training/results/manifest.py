"""Reading a run folder's files back, each checked against its manifest before it is used.

A run's manifest (format 2, ``run_folder.FORMAT``) lists every file the run wrote with the sha256
of the bytes it wrote. :func:`read_checked` reads a file once, bounded (a regular file of at most
a size: ``training.config.files.read_bounded``), and compares the hash of *those bytes* with the
manifest's before anything parses them, so the bytes checked are the bytes used (no window in
which the file could be swapped). ``trust=True`` skips the comparison (a folder from a source the
user trusts); the bounds and the structural checks stay.

Model archives and replay buffers can carry pickled code; ``config.yml`` decides which algorithm,
scenario and seed a report names; ``evaluations.npz`` feeds the resumed log and the learning
curves. All three go through here.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np

from training.config.files import read_bounded
from training.results import run_folder as rf

MAX_MODEL_BYTES = 4 << 30  # a model archive or replay buffer (DQN's 1e6 x 27 floats are ~0.3 GB)
MAX_CONFIG_BYTES = 1 << 20  # config.yml, command.txt
MAX_LOG_BYTES = 256 << 20  # evaluations.npz
TRUST_HINT = "only if you trust its source: model files can carry pickled code"


def manifest_format(run_dir: str | Path) -> int:
    """The manifest's format: 2 (files hashed as written) or 1 (older: hashed as found on disk)."""
    fmt = rf.read_manifest(run_dir).get("format", 1)
    return fmt if isinstance(fmt, int) else 1


def check_format(run_dir: str | Path) -> None:
    """:raises ValueError: the manifest is of format 1, whose hashes cannot vouch for a file (one line)."""
    if manifest_format(run_dir) < rf.FORMAT:
        raise ValueError(f"{Path(run_dir) / rf.MANIFEST}: format 1 (written by an older version that hashed the "
                         "files it found on disk, not the ones it wrote): it cannot vouch for them; train the run "
                         f"again, or use --trust {TRUST_HINT}")


def read_checked(run_dir: str | Path, name: str, limit: int = MAX_MODEL_BYTES, trust: bool = False) -> bytes:
    """The bytes of ``run_dir/name``, whose sha256 must be the one the manifest recorded when the run
    wrote it (unless ``trust``).

    :raises ValueError: not listed, another hash, a format-1 manifest, not a regular file or too large (one line)
    :raises OSError: the file cannot be read (missing, no permission)
    """
    run_dir = Path(run_dir)
    path = run_dir / name
    raw = read_bounded(path, limit)
    if trust:
        return raw
    expected = rf.manifest_files(run_dir).get(name)
    check_format(run_dir)
    if expected is None:
        raise ValueError(f"{path}: not listed in {run_dir / rf.MANIFEST}: the run did not write it (a file from "
                         f"elsewhere, or one cut off by a kill); use --trust {TRUST_HINT}")
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise ValueError(f"{path}: sha256 {actual[:16]}... differs from the manifest's {expected[:16]}...: the file "
                         f"changed after the run wrote it; use --trust {TRUST_HINT}")
    return raw


def open_checked(run_dir: str | Path, name: str, trust: bool = False) -> io.BytesIO:
    """:func:`read_checked` as a file object (what SB3's ``load`` and ``load_replay_buffer`` take)."""
    return io.BytesIO(read_checked(run_dir, name, MAX_MODEL_BYTES, trust))


def read_config_text(run_dir: str | Path, trust: bool = False) -> str:
    """``config.yml`` of a run, checked (see :func:`read_checked`).

    :raises ValueError: as :func:`read_checked`, or not UTF-8 (one line)
    """
    raw = read_checked(run_dir, rf.CONFIG, MAX_CONFIG_BYTES, trust)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{Path(run_dir) / rf.CONFIG}: not UTF-8 text") from None


EVALUATION_KEYS = ("timesteps", "results", "ep_lengths")


def read_evaluations(run_dir: str | Path, trust: bool = False) -> dict[str, np.ndarray] | None:
    """EvalCallback's log of a run (``evaluations.npz``), checked against the manifest and for its
    shape: ``timesteps`` (n,) increasing integers, ``results`` and ``ep_lengths`` (n, episodes)
    finite numbers. None when the run has none.

    :raises ValueError: one line naming the file: not listed, another hash, not an npz, a key
        missing, a wrong shape or type
    """
    path = Path(run_dir) / rf.EVALUATIONS
    if not path.exists():
        return None
    raw = read_checked(run_dir, rf.EVALUATIONS, MAX_LOG_BYTES, trust)
    rf.check_archive(io.BytesIO(raw), path, MAX_LOG_BYTES)  # an .npz is a zip: sizes before inflating
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            missing = [k for k in EVALUATION_KEYS if k not in npz.files]
            if missing:
                raise ValueError(f"{path}: not an evaluation log: the key {missing[0]!r} is missing (it needs "
                                 f"{', '.join(EVALUATION_KEYS)})")
            log = {k: np.asarray(npz[k]) for k in EVALUATION_KEYS}
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:  # np.load's ways of saying "not an npz"
        raise ValueError(f"{path}: not an evaluation log numpy can read ({type(exc).__name__})") from None
    steps, results, lengths = log["timesteps"], log["results"], log["ep_lengths"]
    n = steps.shape[0] if steps.ndim == 1 else -1
    problem = None
    if n < 0 or steps.dtype.kind not in "iu" or np.any(np.diff(steps) <= 0):
        problem = f"timesteps must be increasing integers of shape (n,), not {steps.dtype} {steps.shape}"
    elif results.ndim != 2 or results.shape[0] != n or results.dtype.kind not in "iuf" or not np.isfinite(results).all():
        problem = f"results must be finite numbers of shape ({n}, episodes), not {results.dtype} {results.shape}"
    elif lengths.shape != results.shape or lengths.dtype.kind not in "iu":
        problem = f"ep_lengths must be integers of the shape of results {results.shape}, not {lengths.dtype} {lengths.shape}"
    if problem:
        raise ValueError(f"{path}: not an evaluation log: {problem}")
    return log

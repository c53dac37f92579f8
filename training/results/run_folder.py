"""The run folder: where a run lives, atomic writes, the manifest and the newest checkpoint.

Layout of ``results/runs/<scenario>/<algo>_s<seed>_<UTC time>/``::

    config.yml         the resolved config (load_config reads it back)
    command.txt        the command line(s) that made and resumed the run
    manifest.json      versions, git commit, seed, spaces, sha256 of every file the run wrote
    model.zip          the final model           best_model.zip   EvalCallback's best
    evaluations.npz    EvalCallback's log        checkpoints/     model_<steps>_steps.zip
    tb/                TensorBoard logs

Every file is written to a temporary name in the same folder and renamed over the target
(``os.replace``), so a kill mid-write leaves the previous complete file, never a broken one
(:func:`clean_temporary_files` removes the temporary file a kill leaves behind).

The manifest (format 2, :data:`FORMAT`) lists only the files the run itself wrote, each with the
sha256 of the bytes it wrote, recorded right after writing them (:func:`save_recorded`); a file
found on disk is never added (format 1 hashed whatever ``.zip``/``.pkl`` lay in the folder at each
checkpoint, so a planted file could be adopted). A checkpoint counts as complete once the manifest
lists it, and :func:`newest_checkpoint` resumes only from such a one (SB3 archives and replay
buffers can carry pickled code; ``trust=True`` lifts the check). Every reader checks a file
against the manifest before using it (``training/results/manifest.py``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from envs.params import short_repr
from training.config.files import read_bounded
from training.results.store import MAX_RESULT_BYTES, atomic_write, atomic_write_json, sha256

MANIFEST = "manifest.json"
CONFIG = "config.yml"
COMMAND = "command.txt"
MODEL = "model.zip"
BEST_MODEL = "best_model.zip"
EVALUATIONS = "evaluations.npz"
CHECKPOINTS = "checkpoints"
TENSORBOARD = "tb"
_CHECKPOINT = re.compile(r"^model_(\d+)_steps\.zip$")
_TEMPORARY = re.compile(r"^\..+\.\d+\.tmp(\.npz)?$")


FORMAT = 2  # the manifest's format: 2 = files hashed as written (1 = hashed as found on disk)


def save_model(model: Any, path: str | Path, run_dir: str | Path) -> Path:
    """``model.save`` to ``path`` atomically, its sha256 recorded in ``run_dir``'s manifest."""
    return save_recorded(run_dir, path, model.save)


def save_recorded(run_dir: str | Path, path: str | Path, write: Any) -> Path:
    """Write ``path`` (inside ``run_dir``) atomically through ``write(file)`` and record in the
    manifest the sha256 of the bytes written (:func:`write_hashed`)."""
    record_written(run_dir, path, write_hashed(path, write))
    return Path(path)


def write_hashed(path: str | Path, write: Any) -> str:
    """Write ``path`` atomically through ``write(file)``; the sha256 of the bytes written (hashed
    from the temporary file, before its rename)."""
    digest: dict[str, str] = {}

    def hashed(f: Any) -> None:
        write(f)
        f.flush()
        digest["sha256"] = sha256(f.name)

    atomic_write(path, hashed)
    return digest["sha256"]


def record_written(run_dir: str | Path, path: str | Path, digest: str) -> None:
    """List ``path`` with ``digest`` (the hash of what this process wrote) in the manifest."""
    run_dir = Path(run_dir)
    write_manifest(run_dir, written={Path(path).relative_to(run_dir).as_posix(): digest})


# ------------------------------------------------------------------------------------ folder
def utc_stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def create_run_dir(output: str | Path, scenario: str, algo: str, seed: int,
                   fill: Callable[[Path], None] = lambda folder: None) -> Path:
    """A new ``output/<scenario>/<algo>_s<seed>_<UTC time>`` (a suffix if that exists), filled by
    ``fill(folder)`` in a hidden staging folder ``.<name>.<pid>.tmp`` and then renamed into place:
    a run folder appears whole (config, command, manifest) or not at all, and a kill leaves at most
    the hidden staging folder (which a failing ``fill`` removes)."""
    base = Path(output) / scenario / f"{algo.lower()}_s{seed}_{utc_stamp()}"
    base.parent.mkdir(parents=True, exist_ok=True)
    staging = base.with_name(f".{base.name}.{os.getpid()}.tmp")
    staging.mkdir()
    try:
        fill(staging)
        for n in range(1, 1000):
            run_dir = base if n == 1 else base.with_name(f"{base.name}_{n}")
            if run_dir.exists():
                continue
            try:
                staging.rename(run_dir)
                return run_dir
            except OSError:  # taken meanwhile
                continue
        raise OSError(f"{base}: could not create a new run folder (1000 names taken)")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# ------------------------------------------------------------------------------ checkpoints
def checkpoint_path(run_dir: str | Path, steps: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"model_{steps}_steps.zip"


def replay_buffer_path(run_dir: str | Path, steps: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"replay_buffer_{steps}_steps.pkl"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(steps, path)`` of the checkpoint files, oldest first (temporary files ignored)."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _CHECKPOINT.match(p.name))]
    return sorted(found)


def newest_checkpoint(run_dir: str | Path, trust: bool = False) -> tuple[int, Path | None]:
    """The newest complete checkpoint: its zip archive is whole and, unless ``trust``, the manifest
    lists it. A checkpoint the manifest does not list was cut off before it was recorded, or was
    not written by the run, and is skipped; one it lists with another hash is refused by the
    reader (``results.manifest.read_checked``). ``(0, None)`` for a run killed before its first
    checkpoint (the manifest says ``running`` at step 0 and lists none): it starts again from step 0.

    :raises ValueError: no checkpoint to resume from in a run that had saved some (one line)
    """
    run_dir = Path(run_dir)
    listed = {} if trust and not (run_dir / MANIFEST).is_file() else manifest_files(run_dir)
    for steps, path in reversed(list_checkpoints(run_dir)):
        if (trust or path.relative_to(run_dir).as_posix() in listed) and _zip_is_whole(path):
            return steps, path
    manifest = read_manifest(run_dir) if listed or not trust else {}
    never_saved = not any(name.startswith(f"{CHECKPOINTS}/") for name in listed)
    if manifest.get("status") == "running" and manifest.get("num_timesteps") == 0 and never_saved:
        return 0, None
    raise ValueError(f"{run_dir / CHECKPOINTS}: no complete checkpoint to resume from (each is cut off or not "
                     f"listed in {run_dir / MANIFEST}; a run killed before its first checkpoint resumes from step 0, "
                     "but this one's manifest says "
                     f"{manifest.get('status')!r} at step {manifest.get('num_timesteps')}); resume with --trust "
                     "only if you trust the folder's source")


def clean_temporary_files(run_dir: str | Path) -> list[Path]:
    """Remove what a killed process left half-written (``.<name>.<pid>.tmp`` files of
    :func:`atomic_write`, ``.evaluations.<pid>.tmp.npz``); returns them."""
    removed = []
    for folder in (Path(run_dir), Path(run_dir) / CHECKPOINTS):
        if folder.is_dir():
            for p in folder.iterdir():
                if _TEMPORARY.match(p.name) and p.is_file():
                    p.unlink(missing_ok=True)
                    removed.append(p)
    return removed


SB3_MEMBERS = ("data", "policy.pth")  # in every archive ``model.save`` writes
# What an archive may inflate to, checked on its directory before any member is read (issue 28: a
# 1.7 MB zip inflated to 3.7 GB). The networks here are kilobytes to a few megabytes.
MAX_DATA_BYTES = 50_000_000  # an SB3 archive's JSON ``data``: a few kB for these networks
MAX_ARCHIVE_BYTES = 256 << 20  # all members of a model archive or an ``.npz`` log together
MAX_ARCHIVE_MEMBERS = 256
MEMBER_LIMITS = {"data": MAX_DATA_BYTES}


def archive_problem(zf: zipfile.ZipFile, total_limit: int = MAX_ARCHIVE_BYTES) -> str | None:
    """Why the archive ``zf`` must not be opened further, from its directory alone (nothing is
    inflated): too many members, a member or all of them inflating beyond a limit; None if none.
    ``zipfile`` never inflates a member beyond the size the directory states (it stops there and
    fails the CRC), so bounding the stated sizes bounds what reading can allocate."""
    infos = zf.infolist()
    if len(infos) > MAX_ARCHIVE_MEMBERS:
        return f"it holds {len(infos):,} members, more than {MAX_ARCHIVE_MEMBERS}"
    total = 0
    for info in infos:
        limit = MEMBER_LIMITS.get(info.filename, total_limit)
        if info.file_size > limit:
            return (f"its member {short_repr(info.filename, 60)} inflates to {info.file_size:,} bytes, more than "
                    f"{limit:,}")
        total += info.file_size
    if total > total_limit:
        return f"its members inflate to {total:,} bytes together, more than {total_limit:,}"
    return None


def check_archive(source: Any, where: Any, total_limit: int = MAX_ARCHIVE_BYTES, require_zip: bool = False) -> None:
    """:func:`archive_problem` of a zip at a path or in a file object (left at its start). Something
    that is no zip at all passes unless ``require_zip`` (the reader that follows says what it is not).

    :raises ValueError: one line naming ``where`` and the limit it passes (or, with ``require_zip``, not a zip)
    """
    try:
        with zipfile.ZipFile(source) as zf:
            problem = archive_problem(zf, total_limit)
    except (zipfile.BadZipFile, EOFError, ValueError) as exc:
        if not require_zip:
            return
        raise ValueError(f"{where}: not a zip archive ({_reason(exc)})") from None
    finally:
        if hasattr(source, "seek"):
            source.seek(0)
    if problem:
        raise ValueError(f"{where}: not allowed: {problem} (a zip bomb, or not a file of this project)")


def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120] or type(exc).__name__


def _zip_is_whole(path: Path) -> bool:
    """An SB3 archive within the size limits (:func:`archive_problem`) whose members all pass their
    CRC. (A truncated SB3 zip can still look like a zip: it holds torch's own uncompressed zips,
    whose end record ``zipfile`` then finds; their members are not SB3's.)"""
    try:
        with zipfile.ZipFile(path) as zf:
            return (archive_problem(zf) is None and all(name in zf.namelist() for name in SB3_MEMBERS)
                    and zf.testzip() is None)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


# --------------------------------------------------------------------------------- manifest
def package_versions() -> dict[str, str]:
    import gymnasium
    import numpy
    import stable_baselines3
    import torch

    return {"python": platform.python_version(), "numpy": numpy.__version__, "torch": torch.__version__,
            "gymnasium": gymnasium.__version__, "stable_baselines3": stable_baselines3.__version__}


def git_commit(repo: str | Path | None = None) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` of the source tree, or None when git is unavailable."""
    repo = Path(repo) if repo else Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": sha, "dirty": bool(status.strip())}


def space_description(space: Any) -> dict[str, Any]:
    desc: dict[str, Any] = {"repr": str(space), "shape": list(space.shape) if space.shape is not None else None}
    if hasattr(space, "n"):
        desc["n"] = int(space.n)
    if hasattr(space, "nvec"):
        desc["nvec"] = [int(v) for v in space.nvec]
    return desc


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    """The manifest of a run folder, a JSON object.

    :raises FileNotFoundError: no manifest (one line)
    :raises ValueError: not a JSON object (one line)
    """
    path = Path(run_dir) / MANIFEST
    try:
        manifest = json.loads(read_bounded(path, MAX_RESULT_BYTES))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no manifest; is {run_dir} a run folder?") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (UnicodeDecodeError, RecursionError):
        raise ValueError(f"{path}: not valid JSON (not UTF-8 text, or nested too deeply)") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: a JSON {type(manifest).__name__} is not allowed: a JSON object")
    return manifest


def manifest_files(run_dir: str | Path) -> dict[str, str]:
    """The manifest's ``files``: relative path -> sha256 (empty if the manifest lists none).

    :raises ValueError: ``files`` is not a mapping of names to hashes (one line)
    """
    files = read_manifest(run_dir).get("files", {})
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ValueError(f"{Path(run_dir) / MANIFEST}: 'files' is not allowed to be {short_repr(files)}: "
                         "a mapping of file names to sha256 hashes")
    return files


def write_manifest(run_dir: str | Path, written: dict[str, str] | None = None, forget: Any = (),
                   **fields: Any) -> dict[str, Any]:
    """Merge ``fields`` into the manifest, add the files ``written`` (name -> sha256 of the bytes this
    process wrote), drop the names in ``forget`` (files the run deleted), write it atomically."""
    path = Path(run_dir) / MANIFEST
    manifest = read_manifest(run_dir) if path.exists() else {"format": FORMAT}  # an old one keeps its format
    manifest.update(fields)
    files = {k: v for k, v in manifest.get("files", {}).items() if k not in set(forget)}
    manifest["files"] = {**files, **(written or {})}
    atomic_write_json(path, manifest)
    return manifest

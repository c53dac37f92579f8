"""Every file the project stores is written here, atomically, and read back here.

A file is written to a temporary name in its folder, fsynced, then renamed over the target
(``os.replace``): a kill mid-write leaves the previous complete file, never a broken one.
:func:`read_json` reads a stored result back and turns a damaged file into one line naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from training.config.files import read_bounded

MAX_RESULT_BYTES = 256 << 20  # a stored JSON result or manifest: far beyond any the project writes
EVALUATION = "evaluation.json"  # a study run's evaluation, beside its run folder's files


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], Any]) -> Path:
    """Write ``path`` through ``write(file)`` on a temporary file, fsync, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda f: f.write(text.encode()))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: Path) -> Any:
    """A stored result.

    :raises ValueError: one line naming the file if it is not UTF-8 JSON (edited or damaged by hand:
        the study writes every file atomically)
    """
    try:
        data = json.loads(read_bounded(path, MAX_RESULT_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ValueError(f"{path}: not a stored result ({reason}); delete it to compute that unit again") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a stored result (a {type(data).__name__}, not a mapping); delete it to "
                         "compute that unit again")
    return data

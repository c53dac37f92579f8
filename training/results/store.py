"""Every file the project stores is written here, atomically, and read back here.

A file is written to a temporary name in its folder, fsynced, then renamed over the target
(``os.replace``): a kill mid-write leaves the previous complete file, never a broken one.
:func:`read_json` reads a stored result back and turns a damaged file into one line naming it;
:func:`write_stored` and :func:`read_stored` write and read a result file through its schema
(``training/results/schemas.py``): a file that does not match is one line naming the file and the field.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from training.config.files import read_bounded
from training.results.schemas import SCHEMA_VERSION, StoredFile

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


def read_json(path: Path, advice: str = "delete it to compute that unit again") -> Any:
    """A stored result.

    :raises ValueError: one line naming the file if it is not UTF-8 JSON holding a mapping (edited or
        damaged by hand: the study writes every file atomically), ending with ``advice``
    """
    try:
        data = json.loads(read_bounded(path, MAX_RESULT_BYTES).decode("utf-8"))
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ValueError(f"{path}: not a stored result ({reason}); {advice}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a stored result (a {type(data).__name__}, not a mapping); {advice}")
    return data


def write_stored(path: str | Path, schema: type[StoredFile], data: dict[str, Any]) -> Path:
    """Write ``data`` as a file of ``schema`` (checked first; ``schema_version`` put first), atomically.

    :raises ValueError: ``data`` does not match its schema (a bug of the writer: nothing is written)
    """
    body = {k: v for k, v in data.items() if k != "schema_version"}
    check_stored(path, schema, body)
    return atomic_write_json(path, {"schema_version": SCHEMA_VERSION, **body})


def read_stored(path: str | Path, schema: type[StoredFile]) -> dict[str, Any]:
    """A stored file of ``schema``, as the mapping it holds without its ``schema_version``.

    :raises ValueError: one line naming the file and the first field that does not match (or the
        file is not UTF-8 JSON holding a mapping), and what to do
    :raises OSError: the file cannot be read
    """
    data = read_json(Path(path), schema.ADVICE)
    check_stored(path, schema, data)
    return {k: v for k, v in data.items() if k != "schema_version"}


def check_stored(path: str | Path, schema: type[StoredFile], data: dict[str, Any]) -> None:
    """Refuse ``data`` (read from or bound for ``path``) unless it matches ``schema``: one line naming the
    file and the first field that does not match."""
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".") or "file"
        if err["type"] == "missing":
            what = f"{key} is missing"
        elif err["type"] == "extra_forbidden":
            what = f"{key} is not allowed: unknown key"
        else:
            msg = err["msg"].removeprefix("Value error, ")
            what = f"{key}={_short(err.get('input'))} is not allowed: {msg[:1].lower()}{msg[1:]}"
        more = len(exc.errors()) - 1
        raise ValueError(f"{path}: not a stored {schema.__name__} of this version: {what}"
                         f"{f' (and {more} more)' if more else ''}; {schema.ADVICE}") from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

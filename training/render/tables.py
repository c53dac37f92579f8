"""The one table writer and number formatter of every report: a number in a Markdown cell
(:func:`fmt`, :func:`ci`, :func:`pct`), a Markdown table (:func:`table`) and a CSV file
(:func:`csv_text`, :func:`write_csv`)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.results import store


# ------------------------------------------------------------------------------------- numbers
def fmt(x: Any, digits: int = 3) -> str:
    """A number in a report: fixed decimals; ``–`` for a missing one, ``∞`` for an infinite one."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float | np.floating):
        return "∞" if math.isinf(x) else f"{x:.{digits}f}"
    return str(x)


def ci(iv: Sequence[float], digits: int = 3, collapse: bool = False) -> str:
    """An estimate and its interval as ``point [low, high]``; with ``collapse``, the point alone when
    the interval has no width at ``digits`` decimals (a deterministic policy's)."""
    point, low, high = iv
    if collapse and high - low < 0.5 * 10.0**-digits:
        return fmt(point, digits)
    return f"{fmt(point, digits)} [{fmt(low, digits)}, {fmt(high, digits)}]"


def pct(x: float) -> str:
    """A share as a rounded percentage."""
    return f"{100 * float(x):.0f} %"


# -------------------------------------------------------------------------------------- tables
def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], align: Sequence[str] | None = None) -> str:
    """A Markdown table; ``align`` holds one of ``---``, ``---:`` per column (default: ``---``)."""

    def esc(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    rule = "|" + "".join(f"{a}|" for a in (align or ["---"] * len(columns)))
    lines = ["| " + " | ".join(esc(c) for c in columns) + " |", rule]
    lines += ["| " + " | ".join(esc(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _cell(v: Any, digits: int | None) -> str:
    if isinstance(v, bool) or v is None:
        return "" if v is None else str(v).lower()
    if isinstance(v, float):
        return repr(v) if digits is None else f"{v:.{digits}g}"
    return str(v)


def csv_text(rows: Sequence[Mapping[str, Any]], digits: int | None = 6, header: Sequence[str] = ()) -> str:
    """CSV of ``rows`` (columns: every key, in order of appearance); a float with ``digits``
    significant digits, or exactly (``repr``) when ``digits`` is None. ``header``: the columns of
    the table when it has no rows (a table without rows is its header line, never an empty file)."""
    columns: list[str] = [] if rows else list(header)
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if columns:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c), digits) for c in columns])
    return buf.getvalue()


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], digits: int | None = 6,
              header: Sequence[str] = ()) -> Path | None:
    """:func:`csv_text` written atomically to ``path`` (its folder created). A table with neither
    rows nor a ``header`` is not written (an empty file is no CSV), and a file of an earlier render
    at ``path`` is removed, so no table outlives its data: None is returned then."""
    if not rows and not header:
        path.unlink(missing_ok=True)
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    return store.atomic_write_text(path, csv_text(rows, digits, header))

"""The uncertainty ranges of the discovery: the rules live on the env floor (:mod:`envs.ranges`, one
copy shared with the contextual env ``envs.contexts``); this module re-exports them and writes the
table of docs/uncertainty.md."""

from __future__ import annotations

from envs.params import PER_PHASE_FIELDS
from envs.ranges import (
    DOMAIN,
    GROUPS,
    NOT_NUMERIC,
    WEIGHT_FACTORS,
    Factor,
    Ranges,
    RangesError,
    RangesFile,
    load_ranges,
    ranges_from_mapping,
)

__all__ = ["DOMAIN", "GROUPS", "NOT_NUMERIC", "WEIGHT_FACTORS", "Factor", "Ranges", "RangesError", "RangesFile",
           "load_ranges", "markdown_table", "ranges_from_mapping"]


def _fmt(x: float) -> str:
    return f"{x:g}"


def markdown_table(ranges: Ranges) -> str:
    """The table of docs/uncertainty.md, generated from the ranges (a test checks the doc holds it)."""
    lines = ["| factor | parameter | phases | how | default | low | high | group | reason |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in ranges.names:
        f = ranges.factors[name]
        phases = ",".join(map(str, f.phases)) if f.phases else ("all" if f.param in PER_PHASE_FIELDS else "")
        how = f.mode + (", integer" if f.integer else "") + (", log-uniform" if f.log else "")
        lines.append(f"| `{name}` | {f.param} | {phases} | {how} | {_fmt(ranges.default(name))} | {_fmt(f.low)} | "
                     f"{_fmt(f.high)} | {f.group} | {f.reason} |")
    lines += ["", "| held fixed | reason |", "|---|---|"]
    lines += [f"| {param} | {reason} |" for param, reason in ranges.fixed.items()]
    return "\n".join(lines) + "\n"

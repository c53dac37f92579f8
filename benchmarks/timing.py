"""What the speed scripts of this folder share: the spread of paired ratios and the machine's name.
Imported by the scripts as ``from timing import ...`` (a script's own folder is first on its path)."""

from __future__ import annotations

import os
import platform

import numpy as np


def spread(a: list[float], b: list[float]) -> str:
    """'median 0.88 (min 0.80, max 0.95)' of the pairs' ratios a[i] / b[i]."""
    r = np.array(a) / np.array(b)
    return f"median {np.median(r):.2f} (min {r.min():.2f}, max {r.max():.2f})"


def machine() -> str:
    """The CPU model (from /proc/cpuinfo where there is one) and the core count."""
    model = platform.processor() or platform.machine()
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{model}, {os.cpu_count()} cores"

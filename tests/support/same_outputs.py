"""Exact comparison of what two envs return (observations, rewards, flags, infos), nested: shared by
the tests of the fused vector steps against their steps by parts (tests/envs)."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_same(x: Any, y: Any, where: str) -> None:
    """``x`` and ``y`` equal bit for bit, dtype included, through tuples, lists and dicts; ``where``
    names the first place that differs."""
    if isinstance(x, tuple | list):
        for i, (u, v) in enumerate(zip(x, y, strict=True)):
            assert_same(u, v, f"{where}[{i}]")
    elif isinstance(x, dict):
        assert x.keys() == y.keys(), where
        for k in x:
            assert_same(x[k], y[k], f"{where}.{k}")
    else:
        assert np.asarray(x).dtype == np.asarray(y).dtype and np.array_equal(x, y), where

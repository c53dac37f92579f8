"""envs/jit_cache.py: a cached compiled function that calls another module's compiled function runs
the new code after that module changed (numba alone keeps the stale machine code)."""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from pathlib import Path

import pytest

from envs import jit_cache

USER = """
import numba
from {pkg} import dep
from envs.jit_cache import freshen

@numba.njit(cache=True)
def twice():
    return 2 * dep.value()

{call}
"""
DEP = """
import numba

@numba.njit(cache=True, inline="always")
def value():
    return {value}
"""


def _package(root: Path, call: bool) -> str:
    pkg = f"jitpkg_{uuid.uuid4().hex[:8]}"
    (root / pkg).mkdir()
    (root / pkg / "__init__.py").write_text("")
    (root / pkg / "dep.py").write_text(DEP.format(value=1))
    (root / pkg / "user.py").write_text(USER.format(pkg=pkg, call=f"freshen(__name__, ({pkg!r},))" if call else ""))
    return pkg


def _fresh_import(pkg: str):
    for name in [m for m in sys.modules if m == pkg or m.startswith(pkg + ".")]:
        del sys.modules[name]
    jit_cache.source_digest.cache_clear()
    importlib.invalidate_caches()
    return importlib.import_module(f"{pkg}.user")


def _change_dep(root: Path, pkg: str) -> None:
    dep = root / pkg / "dep.py"
    dep.write_text(DEP.format(value=5))
    stat = dep.stat()
    os.utime(dep, (stat.st_atime + 10, stat.st_mtime + 10))  # a new stamp for dep.py's own cache


@pytest.mark.parametrize("call", [True, False])
def test_a_change_of_a_called_module_reaches_the_cached_caller_only_with_freshen(tmp_path, monkeypatch, call):
    monkeypatch.syspath_prepend(str(tmp_path))
    pkg = _package(tmp_path, call)
    try:
        assert _fresh_import(pkg).twice() == 2  # compiled and cached
        _change_dep(tmp_path, pkg)
        # with freshen the caller is compiled again from today's source; without, numba loads the
        # machine code it cached, which still inlines the old dep.value (the gap freshen closes)
        assert _fresh_import(pkg).twice() == (10 if call else 2)
        if call:
            assert _fresh_import(pkg).twice() == 10  # and the new code is what is cached now
            assert (tmp_path / pkg / "__pycache__" / f"{pkg}.user{jit_cache.STAMP_SUFFIX}").is_file()
    finally:
        for name in [m for m in sys.modules if m.startswith(pkg)]:
            del sys.modules[name]
        jit_cache.source_digest.cache_clear()


def test_freshen_leaves_a_module_without_cached_functions_alone():
    assert jit_cache.freshen("envs.params", ("envs",)) is False

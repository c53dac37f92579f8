"""numba's on-disk cache, kept honest about the code a compiled function calls.

numba (``cache=True``) keys a cached function by the modification time and size of the one file
that defines it. A compiled function that calls (or inlines) a compiled function of another module,
or reads another module's constants, keeps running the cached machine code after that other module
changed: ``envs/kernel.py`` compiles :func:`envs.model.step_index` into the vector env's loop, so
an edit of the model's equations left the vector env stepping by the old ones until someone
deleted ``envs/__pycache__/*.nbi``. :func:`freshen`, called at the end of every module with cached
functions, closes that gap: it hashes the source of the packages the module may import (the floors
of docs/architecture.md: ``envs`` for ``envs``, ``envs`` and ``agents`` for ``agents``), and when the
hash differs from the one stored beside the cache, empties the module's cache indexes (numba's own
``Cache.flush``), so the next call compiles from today's source and caches that.

Why not numba itself: it has no dependency tracking for caches (the cache index holds the defining
file's stamp and the function's own bytecode, nothing of what it calls). Hashing whole packages is
coarse (any edit of ``envs`` recompiles ``envs``' kernels once) but it cannot miss a dependency.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
from pathlib import Path

from numba.core.caching import Cache
from numba.core.dispatcher import Dispatcher

STAMP_SUFFIX = ".deps"  # beside numba's <function>-<line>.pyXY.nbi files


@functools.cache
def source_digest(packages: tuple[str, ...]) -> str:
    """SHA-256 of every ``.py`` file of ``packages`` (imported top-level packages), in path order;
    read once per process (the modules calling it are imported once)."""
    h = hashlib.sha256()
    for name in packages:
        root = Path(sys.modules[name].__file__).parent
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root.parent)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def cached_dispatchers(module_name: str) -> list[Dispatcher]:
    """The module's own functions compiled with ``cache=True`` (those it imports are left to their
    own module's call)."""
    found = []
    for value in vars(sys.modules[module_name]).values():
        # numba keeps a dispatcher's cache in the private ``_cache`` (NullCache without cache=True)
        if isinstance(value, Dispatcher) and value.py_func.__module__ == module_name \
                and isinstance(getattr(value, "_cache", None), Cache):
            found.append(value)
    return found


def freshen(module_name: str, packages: tuple[str, ...]) -> bool:
    """Empty the caches of ``module_name``'s compiled functions if the source of ``packages`` changed
    since they were stored; returns whether it did. Call it at the end of the module, before any of
    its functions runs. A cache folder that cannot be written is left alone (numba then compiles
    in memory, as it does there anyway)."""
    dispatchers = cached_dispatchers(module_name)
    if not dispatchers:
        return False
    digest = source_digest(packages)
    stamp = Path(dispatchers[0]._cache.cache_path) / f"{module_name}{STAMP_SUFFIX}"
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for d in dispatchers:
            d._cache.flush()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=stamp.parent, prefix=stamp.name)
        with os.fdopen(fd, "w") as f:
            f.write(digest)
        os.replace(tmp, stamp)
    except OSError:
        return False
    return True

"""The contextual side of the single env (issue 30, CARL's conventions): which context is current,
its features, drawing one at ``reset`` and switching the parameters and tables to it. A mixin of
:class:`envs.env.SmallStateAllianceEnv`, which documents the behaviour (its "Contexts" section).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.contexts import ContextSet
from envs.info import store_no_blocks
from envs.spaces import encode_states
from envs.tables import Tables


class ContextualEnvMixin:
    """Context state of the single env: ``contexts`` (a :class:`ContextSet` or None), the current
    ``_context_id`` and the tables of each context visited (``_ctx_tables``)."""

    contexts: ContextSet | None
    _context_id: int | None
    _ctx_tables: dict[int, Tables]

    @property
    def context_features(self) -> tuple[str, ...]:
        """Names of the context features (empty without contexts)."""
        return () if self.contexts is None else self.contexts.features

    @property
    def context(self) -> dict | None:
        """The current context (the override dict, or factor -> value when sampled); None without
        contexts or before ``reset``."""
        return None if self._context_id is None or self.contexts is None else self.contexts.contexts[self._context_id]

    @property
    def context_id(self) -> int | None:
        return self._context_id

    def _context_table(self, tb: Tables) -> Tables:
        """The tables of the current context (``tb``, the shared tables of its parameters, held
        here so that the cache's 64 sets do not evict them), or ``tb`` without a context."""
        if self._context_id is None:
            return tb
        tb = self._ctx_tables.setdefault(self._context_id, tb)
        store_no_blocks(tb)  # many parameter sets, each visited little: no block stored per context
        return tb

    def _set_context(self, context_id: Any) -> None:
        """Draw a context (uniformly, ``np_random``) or take ``context_id``; switch parameters and tables."""
        cs = self.contexts
        cid = int(self.np_random.integers(len(cs))) if context_id is None else cs.check_id(context_id)
        if cid != self._context_id:
            self._context_id = cid
            self.params = cs.params[cid]
            self._attach_tables()
            self._start = encode_states(np.array([self.params.start]))[0].item()

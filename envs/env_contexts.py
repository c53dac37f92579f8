"""The contextual side of the single env (issue 30, CARL's conventions): which context is current,
its features, drawing one at ``reset`` and switching the parameters and tables to it. A mixin of
:class:`envs.env.SmallStateAllianceEnv`, which documents the behaviour (its "Contexts" section).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.contexts import ContextSet
from envs.info import TERM_KEYS
from envs.spaces import encode_states
from envs.state_rows import StateRows
from envs.tables import Tables


class ContextualEnvMixin:
    """Context state of the single env: ``contexts`` (a :class:`ContextSet` or None), the current
    ``_context_id`` and the tables of each context visited (``_ctx_tables``)."""

    contexts: ContextSet | None
    _context_id: int | None
    _ctx_tables: dict[int, tuple[Tables, StateRows]]

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

    def _context_table(self, tb: Tables) -> tuple[Tables, StateRows | None]:
        """``tb`` (the shared tables of the current parameters: phase events, Pr(W <- 0)) and, with a
        context, its compact store of visited states' entries (:class:`envs.state_rows.StateRows`, one
        per context, made on its first use and held); without a context, None (the step reads ``tb``)."""
        if self._context_id is None:
            return tb, None
        held = self._ctx_tables.get(self._context_id)
        if held is None:
            held = self._ctx_tables[self._context_id] = (tb, StateRows(tb.params, TERM_KEYS))
        return held

    def _set_context(self, context_id: Any) -> None:
        """Draw a context (uniformly, ``np_random``) or take ``context_id``; switch parameters and tables."""
        cs = self.contexts
        cid = int(self.np_random.integers(len(cs))) if context_id is None else cs.check_id(context_id)
        if cid != self._context_id:
            self._context_id = cid
            self.params = cs.params[cid]
            self._attach_tables()
            self._start = encode_states(np.array([self.params.start]))[0].item()

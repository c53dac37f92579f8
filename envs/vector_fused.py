"""The vector env's ``step`` in one compiled call (``envs.vector_env``, from N = 512): the plain env's
by ``envs.kernel.advance_into``, the contextual env's by ``envs.context_step.advance_contexts_into``.
Both check and encode the actions, draw the uniforms inside the loop (``envs.pcg64``: the numbers of
``random((N, 8))``), step, look up r(s, a), advance the clocks, restart the envs truncated last step
(next-step autoreset) and write the observations, into new arrays (as ``CartPoleVectorEnv``: what a
step returns is never overwritten by the next). The numbers are those of the step by parts
(``AllianceVectorEnv.advance`` and ``reset_envs``): with contexts, the ids of the restarted envs' new
contexts are drawn before the uniforms (and unused: the step by parts steps those envs in them, then
draws again) and after them (kept), as the step by parts draws them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.error import ResetNeeded

from envs import model, pcg64
from envs.context_step import advance_contexts_into, write_context_observations
from envs.context_tables import _scratch
from envs.entry_shock import after_shock32
from envs.env_shared import as_action_array
from envs.kernel import FLAT_NVEC, NO_DONE, NO_FRAC, advance_into, fused_outputs, row_words
from envs.spaces import ACTION_NVEC
from envs.tables import MED_KEYS32, MOVE_KEYS32, PHASE_OF, PHASE_OF32


def step_fused(venv: Any, actions: Any, done: np.ndarray | None) -> tuple | None:
    """One step of every env of ``venv`` (an ``envs.vector_env.AllianceVectorEnv``, started), the envs
    where ``done`` holds started again; its indices, clocks, contexts and generator moved on. Returns
    ``(obs, reward, truncated, ended, t_info, events, ends)``, or None when ``envs.pcg64`` cannot draw
    the generator's numbers (another bit generator, too few envs): nothing drawn, nothing changed."""
    n = venv.num_envs
    rng = venv.np_random
    if type(rng.bit_generator) is not np.random.PCG64 or n * model.N_UNIFORMS < pcg64.MIN_COMPILED:
        return None
    a = actions if isinstance(actions, np.ndarray) else as_action_array(actions)
    shape, nvec = ((n,), FLAT_NVEC) if venv.discrete_actions else ((n, 4), ACTION_NVEC)
    if a.shape != shape or a.dtype.kind not in "iu":
        venv.action_indices(a)  # raises the one-line ValueError
    frac = NO_FRAC if venv._frac is None else venv._frac
    restarts = venv.contexts is not None and done is not None and bool(done.any())
    saved = rng.bit_generator.state if restarts else None
    if saved is not None:  # the by-parts step's first draw of the new contexts (its reset_envs)
        rng.integers(len(venv.contexts), size=int(np.count_nonzero(done)))
    consts = pcg64.begin(rng, n * model.N_UNIFORMS)
    if venv.contexts is None:
        out = fused_outputs(n, venv._obs_table.shape[1])
        tb = venv.tables
        code, i, hi, lo = advance_into(a.reshape(n, -1), nvec, venv._index, venv._t, venv.max_episode_steps,
                                       venv._reward, PHASE_OF32, MOVE_KEYS32, MED_KEYS32, tb.p_med, tb.up, tb.down,
                                       tb.event_target, tb.event_prob, tb.p_west, after_shock32(), consts,
                                       venv._table_words, frac, NO_DONE if done is None else done,
                                       venv._start_index, *out, row_words(out[-1]))
    else:
        out = fused_outputs(n, venv._obs_table.shape[1] + venv._features.shape[1])
        code, i, hi, lo = _advance_contexts(venv, a.reshape(n, -1), nvec, consts, NO_DONE if done is None else done,
                                            out)
    if code == 1:  # a bad action (the first one named) or an env at the end; the generator as it was
        if saved is not None:
            rng.bit_generator.state = saved
        venv.action_indices(a)
        i = int(np.flatnonzero((venv._t >= venv.max_episode_steps) & (True if done is None else ~done))[0])
        raise ResetNeeded(f"env {i} was truncated at t={int(venv._t[i])} "
                          f"(max_episode_steps {venv.max_episode_steps}): reset it")
    pcg64.end(rng, hi, lo)
    action, nxt, mediated, changed, west_reset, floor, reward, t_next, t_info, truncated, ended, obs = out
    if venv.contexts is not None:
        if restarts:  # the by-parts step's second draw, kept (its reset_envs after the step)
            ids = rng.integers(len(venv.contexts), size=int(np.count_nonzero(done)))
            venv._ctx[done] = ids
            venv.context_tables.ensure_reachable(ids, PHASE_OF[venv._ctx_start[ids]])
            nxt[done] = venv._ctx_start[ids]
        write_context_observations(nxt, t_next, venv._ctx, venv._obs_table, frac, venv._features, obs)
    venv._last = (venv._index, action, reward)
    venv._index, venv._t = nxt, t_next
    events = {"mediated": mediated, "phase_changed": changed, "west_reset": west_reset, "threat_floor": floor}
    return obs, reward, truncated, ended, t_info, events, i


def _advance_contexts(venv: Any, actions: np.ndarray, nvec: np.ndarray, consts: np.ndarray, done: np.ndarray,
                      out: tuple[np.ndarray, ...]) -> tuple:
    """``advance_contexts_into`` on ``venv``'s envs, contexts and tables, into ``out``
    (``envs.kernel.fused_outputs``, the observations left unwritten)."""
    ct = venv.context_tables
    return advance_contexts_into(
        actions, nvec, venv._index, venv._t, venv.max_episode_steps, venv._ctx, ct.state_keys, ct.bases, ct.codes,
        ct.values, ct.values[2:], ct.med_codes, ct.med_values, ct.factors, ct.ctx_terms, ct.autonomy,
        ct.autonomy_of, ct.event_target,
        ct.event_prob, ct.p_west, ct.after_shock, consts, *_scratch(), done, *out[:-1])


def advance_contexts(venv: Any, action_index: np.ndarray) -> tuple | None:
    """``AllianceVectorEnv.advance``'s step with contexts (checked flat actions, no autoreset, no
    observation) in one compiled call, as ``envs.kernel.advance_plain`` without contexts. Returns
    ``(bad, reward, t_next, truncated, nxt, events)`` as ``advance_plain`` does, or None (the caller
    steps by parts)."""
    n = venv.num_envs
    consts = pcg64.begin(venv.np_random, n * model.N_UNIFORMS)
    if consts is None:
        return None
    out = fused_outputs(n, 0)
    actions = np.ascontiguousarray(action_index, dtype=np.int64).reshape(n, 1)
    code, _, hi, lo = _advance_contexts(venv, actions, FLAT_NVEC, consts, NO_DONE, out)
    if code == 1:  # (the actions were checked by the caller) an env already at the end
        return int(np.flatnonzero(venv._t >= venv.max_episode_steps)[0]), None, None, None, None, None
    pcg64.end(venv.np_random, hi, lo)
    _, nxt, mediated, changed, west_reset, floor, reward, t_next, _, truncated, _, _ = out
    return -1, reward, t_next, truncated, nxt, {"mediated": mediated, "phase_changed": changed,
                                                 "west_reset": west_reset, "threat_floor": floor}

"""The algorithms of a run (SB3's PPO, A2C, DQN; sb3-contrib's QRDQN, TRPO, ARS, RecurrentPPO,
MaskablePPO) and the ``hyperparams`` of a training config, checked against the constructor's signature
(unknown names list the allowed ones; values are type-checked against the annotation, numbers
against the ranges SB3 does not check itself), and turned into SB3's constructor arguments."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from envs.params import short_repr
from training.config.errors import dotted, key_part, type_name

# Hyperparameters set by the config's own keys (seed, device), by train() or never from YAML.
RESERVED = ("policy", "env", "seed", "device", "verbose", "tensorboard_log", "_init_setup_model")
# Policy arguments train() fills in itself.
POLICY_RESERVED = ("self", "observation_space", "action_space", "lr_schedule")
# Schedules may be written "lin_<start>" as in RL Baselines3 Zoo: linear from start to 0.
SCHEDULE_PARAMS = ("learning_rate", "clip_range", "clip_range_vf")
ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU", "gelu": "GELU",
               "silu": "SiLU"}
# Upper bounds: beyond them a number is a typo, and a run would never end or exhaust memory.
MAX_STEPS = 10**12  # env steps (total, between evaluations, between checkpoints)
MAX_ENVS = 65_536
MAX_SEED = 2**32 - 1  # numpy's seeds are 32-bit
MAX_MAGNITUDE = 1e12  # any other number in hyperparams
MAX_WIDTH, MAX_DEPTH = 4096, 64  # policy_kwargs.net_arch
# Ranges SB3 does not check itself (the signature only says int or float), outside of which a run
# would train on NaN, never end or exhaust memory: name -> (low, high, low excluded).
HYPERPARAM_RANGES: dict[str, tuple[float, float, bool]] = {
    "learning_rate": (0.0, 10.0, True), "gamma": (0.0, 1.0, False), "gae_lambda": (0.0, 1.0, False),
    "clip_range": (0.0, 10.0, True), "clip_range_vf": (0.0, 10.0, True), "ent_coef": (0.0, 1e3, False),
    "vf_coef": (0.0, 1e3, False), "max_grad_norm": (0.0, 1e6, True), "target_kl": (0.0, 1e3, True),
    "rms_prop_eps": (0.0, 1.0, True), "tau": (0.0, 1.0, False), "exploration_fraction": (0.0, 1.0, False),
    "exploration_initial_eps": (0.0, 1.0, False), "exploration_final_eps": (0.0, 1.0, False),
    "n_steps": (1, 1_000_000, False), "batch_size": (1, 1_000_000, False), "n_epochs": (1, 10_000, False),
    "buffer_size": (1, 100_000_000, False), "learning_starts": (0, MAX_STEPS, False),
    "target_update_interval": (1, MAX_STEPS, False), "gradient_steps": (-1, 10_000, False),
    "sde_sample_freq": (-1, 1_000_000, False), "stats_window_size": (1, 1_000_000, False),
}


def linear_start(value: Any) -> float | None:
    """The start of a ``lin_<start>`` schedule string, or None if ``value`` is not one."""
    if isinstance(value, str) and value.startswith("lin_"):
        try:
            return float(value[4:])
        except ValueError:
            return None
    return None


# The algorithms a run may use and the package of each (SB3, or sb3-contrib's).
ALGO_PACKAGES = {"PPO": "stable_baselines3", "A2C": "stable_baselines3", "DQN": "stable_baselines3",
                 "QRDQN": "sb3_contrib", "TRPO": "sb3_contrib", "ARS": "sb3_contrib",
                 "RecurrentPPO": "sb3_contrib", "MaskablePPO": "sb3_contrib"}
ALGOS = tuple(ALGO_PACKAGES)
# Their policies take Discrete actions only (DQN's and QRDQN's Q-networks, ARS's policy): they train on
# SmallStateAllianceDiscrete-v0's Discrete(96); the others on MultiDiscrete([4, 2, 3, 4]).
DISCRETE_ALGOS = ("DQN", "QRDQN", "ARS")
MULTI_DISCRETE_ALGOS = tuple(a for a in ALGOS if a not in DISCRETE_ALGOS)
# A recurrent policy carries a memory (an LSTM state) across steps: it is not Markov in the env's state.
RECURRENT_ALGOS = ("RecurrentPPO",)
# PPO-like algorithms cut mini-batches of batch_size from one rollout of n_steps x n_envs steps.
ROLLOUT_ALGOS = ("PPO", "TRPO", "RecurrentPPO", "MaskablePPO")


def canonical_algo(name: Any) -> str | None:
    """The algorithm ``name`` spells, in any case (``recurrentppo`` -> ``RecurrentPPO``); None if none."""
    if not isinstance(name, str):
        return None
    return {a.upper(): a for a in ALGOS}.get(name.upper())


def algo_class(algo: str) -> type:
    """The SB3 or sb3-contrib class of an algorithm name."""
    import importlib

    return getattr(importlib.import_module(ALGO_PACKAGES[algo]), algo)


def policy_alias(algo: str) -> str:
    """The name of the algorithm's MLP policy: ``MlpLstmPolicy`` for RecurrentPPO, else ``MlpPolicy``
    (a config's ``policy: MlpPolicy`` means this one)."""
    return "MlpLstmPolicy" if algo in RECURRENT_ALGOS else "MlpPolicy"


def policy_class(algo: str) -> type:
    """The policy class that ``MlpPolicy`` names for this algorithm (:func:`policy_alias`)."""
    return algo_class(algo).policy_aliases[policy_alias(algo)]


def signature_of(cls: type, reserved: Sequence[str]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(cls.__init__).parameters
    return {n: p for n, p in params.items()
            if n not in reserved and n != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD}


def hyperparam_problems(algo: str, hyperparams: Any) -> list[str]:
    """Unknown hyperparameter names and values of the wrong type, one line each."""
    if not isinstance(hyperparams, Mapping):
        return []  # pydantic reports the type
    allowed = signature_of(algo_class(algo), RESERVED)
    problems = []
    for name, value in hyperparams.items():
        if not isinstance(name, str):
            continue  # pydantic reports a key that is not text
        key = dotted(["hyperparams", name])
        if name not in allowed:
            problems.append(f"{key}={short_repr(value)} is not allowed: not an argument of {algo}; allowed are "
                            f"{', '.join(allowed)}")
        elif name == "policy_kwargs":
            problems += policy_kwargs_problems(algo, value)
        elif name in SCHEDULE_PARAMS and isinstance(value, str):
            start = linear_start(value)
            if start is None:
                problems.append(f"{key}={short_repr(value)} is not allowed: a number or 'lin_<number>' (linear to 0)"
                                + text_number_hint(value))
            else:
                problems += _range_problems(key, name, start, schedule=True)
        else:
            found = _type_problems(key, value, allowed[name].annotation)
            found = found or _range_problems(key, name, value) or _number_problems(key, value)
            problems += found
    return problems


def _range_problems(key: str, name: str, value: Any, schedule: bool = False) -> list[str]:
    """``value`` outside ``HYPERPARAM_RANGES[name]`` (None and non-numbers pass: the type check sees them)."""
    if name not in HYPERPARAM_RANGES or isinstance(value, bool) or not isinstance(value, int | float):
        return []
    lo, hi, open_low = HYPERPARAM_RANGES[name]
    inside = (lo < value if open_low else lo <= value) and value <= hi  # False for NaN
    if inside:
        return []
    kind = "integer" if isinstance(lo, int) else "number"
    if (lo == 1 and kind == "integer") or (lo == 0 and open_low):
        what = f"a positive {kind}, at most {hi:g}"
    elif lo == 0 and kind == "integer":
        what = f"a non-negative integer, at most {hi:g}"
    else:
        what = f"a{'n' if kind == 'integer' else ''} {kind} in {'(' if open_low else '['}{lo}, {hi}]"
    shown = f"lin_{value}" if schedule else short_repr(value)
    return [f"{key}={shown} is not allowed: {what}" + (" (the schedule's start)" if schedule else "")]


def _number_problems(key: str, value: Any) -> list[str]:
    """The first number inside ``value`` (lists and mappings searched) that is NaN, infinite or huge."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            found = _number_problems(f"{key}.{key_part(k)}", v)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _number_problems(f"{key}[{i}]", v)
            if found:
                return found
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not (isinstance(value, int) or math.isfinite(value)) or abs(value) > MAX_MAGNITUDE:
            return [f"{key}={short_repr(value)} is not allowed: a finite number of size at most {MAX_MAGNITUDE:g}"]
    return []


def _net_arch_problems(key: str, value: Any) -> list[str]:
    """Layer widths 1..MAX_WIDTH, at most MAX_DEPTH layers (a list, or a mapping pi/vf/qf of lists)."""
    layers = value.values() if isinstance(value, Mapping) else [value]
    for widths in layers:
        if not isinstance(widths, list | tuple):
            continue  # the type check reports it
        if len(widths) > MAX_DEPTH:
            return [f"{key}={short_repr(value)} is not allowed: at most {MAX_DEPTH} layers"]
        for w in widths:
            if isinstance(w, int) and not isinstance(w, bool) and not 1 <= w <= MAX_WIDTH:
                return [f"{key}={short_repr(value)} is not allowed: layer widths are integers in 1..{MAX_WIDTH}"]
    return []


def policy_kwargs_problems(algo: str, policy_kwargs: Any) -> list[str]:
    """Unknown policy arguments and values of the wrong type (``activation_fn`` by name)."""
    if not isinstance(policy_kwargs, Mapping):
        return [f"hyperparams.policy_kwargs={short_repr(policy_kwargs)} is not allowed: a mapping of policy arguments"]
    allowed = signature_of(policy_class(algo), POLICY_RESERVED)
    problems = []
    for name, value in policy_kwargs.items():
        key = dotted(["hyperparams", "policy_kwargs", name])
        if name not in allowed:
            problems.append(f"{key}={short_repr(value)} is not allowed: not an argument of "
                            f"{policy_class(algo).__name__}; allowed are {', '.join(allowed)}")
        elif name == "activation_fn":
            if not isinstance(value, str) or value not in ACTIVATIONS:
                problems.append(f"{key}={short_repr(value)} is not allowed: one of {', '.join(ACTIVATIONS)}")
        else:
            found = _type_problems(key, value, allowed[name].annotation) or _number_problems(key, value)
            if name == "net_arch":
                found = found or _net_arch_problems(key, value)
            problems += found
    return problems


def _type_problems(key: str, value: Any, annotation: Any) -> list[str]:
    if _as_annotated(value, annotation) is _BAD:
        return [f"{key}={short_repr(value)} is not allowed: a value of type {type_name(annotation)}"
                + text_number_hint(value)]
    return []


def text_number_hint(value: Any) -> str:
    """For a string that looks like a number (YAML 1.1 reads ``3e-4`` as text: a float needs a dot
    and a signed exponent), what to write instead; else ''."""
    if not isinstance(value, str):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    mantissa, _, exponent = value.strip().lower().partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    if exponent and exponent[0] not in "+-":
        exponent = "+" + exponent
    written = mantissa + (f"e{exponent}" if exponent else "")
    return f" (YAML read {value} as text, not a number: write {written})"


def rollout_problems(algo: str, hyperparams: Any, n_envs: Any) -> list[str]:
    """SB3's constraints between hyperparameters that it only warns about, as errors: the
    ``batch_size`` of PPO (and TRPO, RecurrentPPO, MaskablePPO) must fit in one rollout of
    ``n_steps x n_envs`` steps (else every update trains on a truncated mini-batch) and be larger
    than 1 (advantage normalisation). The defaults are the constructor's."""
    if algo not in ROLLOUT_ALGOS or not isinstance(hyperparams, Mapping) or not isinstance(n_envs, int):
        return []
    defaults = signature_of(algo_class(algo), RESERVED)
    n_steps = hyperparams.get("n_steps", defaults["n_steps"].default)
    batch = hyperparams.get("batch_size", defaults["batch_size"].default)
    if isinstance(n_steps, bool) or isinstance(batch, bool) or not (isinstance(n_steps, int) and isinstance(batch, int)):
        return []  # the type checks report them
    rollout = n_steps * n_envs
    if batch > rollout:
        return [f"hyperparams.batch_size={batch} is not allowed: at most the rollout, n_steps x n_envs = "
                f"{n_steps} x {n_envs} = {rollout} ({algo}'s mini-batches are cut from one rollout)"]
    if batch == 1:
        return [f"hyperparams.batch_size=1 is not allowed: at least 2 ({algo} normalises advantages over a mini-batch)"]
    return []


_BAD = object()


def _as_annotated(value: Any, annotation: Any) -> Any:
    """``value`` (or, for a YAML list, the tuple) if it matches ``annotation``; else ``_BAD``."""

    if annotation is inspect.Parameter.empty:
        return value
    try:
        adapter = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True, strict=True))
    except Exception:  # an annotation pydantic cannot read: leave the check to SB3
        return value
    for candidate in [value, tuple(value)] if isinstance(value, list) else [value]:
        try:
            adapter.validate_python(candidate)
            return candidate
        except ValidationError:
            continue
    return _BAD


def constructor_kwargs(algo: str, hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor arguments of ``hyperparams`` as SB3 wants them: ``lin_<x>`` as a
    linear schedule to 0, lists as tuples where SB3 wants a tuple, activations as classes."""
    from stable_baselines3.common.utils import LinearSchedule
    from torch import nn

    allowed = signature_of(algo_class(algo), RESERVED)
    out: dict[str, Any] = {}
    for name, value in hyperparams.items():
        if name in SCHEDULE_PARAMS and isinstance(value, str):
            value = LinearSchedule(linear_start(value), 0.0, 1.0)
        elif name == "policy_kwargs":
            value = dict(value)
            if "activation_fn" in value:
                value["activation_fn"] = getattr(nn, ACTIVATIONS[value["activation_fn"]])
        else:
            value = _as_annotated(value, allowed[name].annotation)
        out[name] = value
    return out

"""The one formatter of config errors: every problem is one line naming the dotted key, the value
and what is allowed (``n_envs=-1 is not allowed: input should be greater than 0``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from envs.params import short_repr


class ConfigError(ValueError):
    """A bad config: ``.problems`` holds one line per problem; ``str()`` joins them with newlines."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def key_part(part: Any) -> str:
    """One part of a key path: a plain name as it is, anything else (a key holding a dot, a space,
    a newline, a number) as its bounded repr, so that the path stays one unambiguous line."""
    return part if isinstance(part, str) and _NAME.match(part) else short_repr(part)


def dotted(parts: Sequence[Any]) -> str:
    """A key path as ``env.overrides.power``."""
    return ".".join(key_part(p) for p in parts)


def pydantic_line(err: Mapping[str, Any], fields_at: Callable[[tuple], list[str]],
                  allowed_at: Callable[[tuple, str], str]) -> str:
    """One pydantic error as ``key=value is not allowed: what is allowed``.

    :param fields_at: the keys allowed in the mapping at a key path (listed for an unknown key)
    :param allowed_at: what is allowed at a key path for an error of a kind ("" when pydantic's own
        message says it)
    """
    loc, kind, value = tuple(err["loc"]), err["type"], err.get("input")
    if loc and loc[-1] == "[key]":  # a mapping key that is not text
        return f"{dotted(loc[:-2]) or 'config'}: key {short_repr(value)} is not allowed: keys are names (text)"
    if kind == "invalid_key":
        return f"{dotted(loc[:-1]) or 'config'}: key {short_repr(value)} is not allowed: keys are names (text)"
    key = dotted(loc) or "config"
    msg = err["msg"].removeprefix("Value error, ")
    allowed = allowed_at(loc, kind) or msg[:1].lower() + msg[1:]
    if kind == "missing":
        return f"{key} is missing: required, {allowed}"
    if kind == "extra_forbidden":
        return f"{key}={short_repr(value)} is not allowed: unknown key; allowed keys are {', '.join(fields_at(loc[:-1]))}"
    return f"{key}={short_repr(value)} is not allowed: {allowed}"

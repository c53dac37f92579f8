"""The one formatter of config errors: every problem is one line naming the dotted key, the value
and what is allowed (``n_envs=-1 is not allowed: input should be greater than 0``).

The configs' pydantic models do all the checking; their validators raise :func:`not_allowed`
(``key=value is not allowed: <what is allowed>``) or :func:`line` (the key, then a tail as it is:
``sweeps.iota point x: ...``), or several at once through :class:`Problems`. :func:`config_error`
turns a :class:`pydantic.ValidationError` into a :class:`ConfigError` of such lines; for pydantic's
own errors (a wrong type, a missing key) what is allowed is the field's ``description`` where it
has one, else pydantic's message.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from envs.params import short_repr


class ConfigError(ValueError):
    """A bad config: ``.problems`` holds one line per problem; ``str()`` joins them with newlines."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
KEY = "[key]"  # pydantic's last part of a key path whose mapping key (not its value) is wrong


def key_part(part: Any) -> str:
    """One part of a key path: a plain name as it is, anything else (a key holding a dot, a space,
    a newline, a number) as its bounded repr, so that the path stays one unambiguous line."""
    return part if isinstance(part, str) and _NAME.match(part) else short_repr(part)


def dotted(parts: Sequence[Any]) -> str:
    """A key path as ``env.overrides.power``; a list index (an int in the path) as ``scenarios[1]``."""
    out = ""
    for p in parts:
        if isinstance(p, int) and not isinstance(p, bool):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + key_part(p)
    return out


def type_name(annotation: Any) -> str:
    """A type annotation as a short text (``list[int]``, ``schedule``)."""
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    text = text or str(annotation)
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    text = re.sub(r"\b(?:[a-z_]\w*\.)+(\w+)", r"\1", text)
    return text.replace("Callable[[float], float]", "schedule")


# ------------------------------------------------------------------ what the validators raise
def not_allowed(allowed: str) -> PydanticCustomError:
    """An error shown as ``key=value is not allowed: <allowed>``."""
    return PydanticCustomError("not_allowed", "{allowed}", {"allowed": allowed})


def line(tail: str) -> PydanticCustomError:
    """An error shown as the dotted key followed by ``tail`` as it is (``" is not allowed: ..."``, ``": ..."``)."""
    return PydanticCustomError("config_line", "{tail}", {"tail": tail})


class Problems:
    """The problems a validator finds in one value, each at a key path below the value's own; raised
    together (:meth:`raise_any`) so that every problem of a file is reported at once."""

    def __init__(self) -> None:
        self.details: list[InitErrorDetails] = []

    def add(self, loc: Iterable[Any], error: PydanticCustomError, value: Any = None) -> None:
        self.details.append(InitErrorDetails(type=error, loc=tuple(loc), input=value))

    def bad_key(self, loc: Iterable[Any], key: Any) -> None:
        """A mapping key that is not text (shown as pydantic shows its own: ``at: key 1 is not allowed``)."""
        self.add((*loc, key, KEY), not_allowed("keys are names (text)"), key)

    def __bool__(self) -> bool:
        return bool(self.details)

    def raise_any(self, title: str = "config") -> None:
        if self.details:
            raise ValidationError.from_exception_data(title, self.details)


# -------------------------------------------------------------------------------- the formatter
Model = TypeVar("Model", bound=BaseModel)


def validate_config(model: type[Model], data: Mapping[str, Any], source: str | None = None) -> Model:
    """``model`` validated from ``data`` (with ``source``, the file it came from, when given);
    :class:`ConfigError` (one line per problem) otherwise."""
    try:
        return model.model_validate({**data, "source": source} if source else dict(data))
    except ValidationError as exc:
        raise config_error(exc, model) from None


def config_error(exc: ValidationError, model: type[BaseModel]) -> ConfigError:
    """One line per problem of ``exc`` (a validation of ``model``); the value of a mapping key that
    is not text is not reported beside its key, and a line said twice is said once."""
    errors = exc.errors()
    bad_keys = [tuple(err["loc"][:-1]) for err in errors if err["loc"][-1:] == (KEY,)]
    errors = [err for err in errors if err["loc"][-1:] == (KEY,)
              or not any(tuple(err["loc"][:len(k)]) == k for k in bad_keys)]
    problems = list(dict.fromkeys(error_line(err, model) for err in errors))
    return ConfigError(problems or ["config is not allowed: unknown problem"])


def error_line(err: Mapping[str, Any], model: type[BaseModel]) -> str:
    """One pydantic error as ``key=value is not allowed: what is allowed``."""
    loc, kind, value = tuple(err["loc"]), err["type"], err.get("input")
    if kind == "config_line":
        return f"{dotted(loc[:-1] if loc[-1:] == (KEY,) else loc) or 'config'}{err['ctx']['tail']}"
    if loc[-1:] == (KEY,):  # a mapping key that is not text
        return f"{dotted(loc[:-2]) or 'config'}: key {short_repr(value)} is not allowed: keys are names (text)"
    if kind == "invalid_key":
        return f"{dotted(loc[:-1]) or 'config'}: key {short_repr(value)} is not allowed: keys are names (text)"
    key = dotted(loc) or "config"
    msg = err["msg"].removeprefix("Value error, ")
    allowed = msg if kind == "not_allowed" else _allowed(model, loc, kind) or msg[:1].lower() + msg[1:]
    if kind == "missing":
        return f"{key} is missing: required, {allowed}"
    if kind == "extra_forbidden":
        names = list(_model_at(model, loc[:-1]).model_fields)
        return f"{key}={short_repr(value)} is not allowed: unknown key; allowed keys are {', '.join(names)}"
    return f"{key}={short_repr(value)} is not allowed: {allowed}"


def _allowed(model: type[BaseModel], loc: tuple, kind: str) -> str:
    """What is allowed at ``loc``: the field's description; a mapping of a model's keys; for a
    missing key without a description, its type."""
    parent = _model_at(model, loc[:-1]) if loc else None
    field = parent.model_fields.get(loc[-1]) if parent is not None and isinstance(loc[-1], str) else None
    if field is not None and field.description:
        return field.description
    if kind == "missing" and field is not None:
        return f"a value of type {type_name(field.annotation)}"
    inner = _model_at(model, loc)
    if inner is not None and kind == "model_type":
        *head, last = list(inner.model_fields)
        return f"a mapping with the keys {', '.join(head)} and {last}" if head else f"a mapping with the key {last}"
    return ""


def _model_at(model: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model that validates the value at ``loc`` (through fields, optional values, mappings
    and lists of models), or None."""
    node: Any = model
    for part in loc:
        if not (isinstance(node, type) and issubclass(node, BaseModel)):
            node = _inner_model(node)
            if node is None:
                return None
            continue  # ``part`` was a mapping key or a list index
        field = node.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return None
        node = _strip(field.annotation)
    node = _strip(node)
    return node if isinstance(node, type) and issubclass(node, BaseModel) else None


def _strip(annotation: Any) -> Any:
    """``X`` of ``X | None`` and of ``Annotated[X, ...]``."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _inner_model(annotation: Any) -> Any:
    """The value type of ``dict[K, V]`` or ``list[V]`` (None for anything else)."""
    annotation = _strip(annotation)
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict and len(args) == 2:
        return _strip(args[1])
    if typing.get_origin(annotation) is list and args:
        return _strip(args[0])
    return None

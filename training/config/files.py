"""Reading a config file safely: plain YAML data only (never Python objects), a key given twice
refused, aliases bounded, binary junk and deep nesting refused; every failure is one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from envs.params import short_repr
from envs.yaml_loader import UniqueKeyLoader
from training.config.errors import ConfigError


def parse_yaml(text: str, where: str) -> Any:
    """The YAML document in ``text``, read as ``yaml.safe_load`` reads it (plain data only, never
    Python objects) except that a key given twice is refused; any failure is one line.

    :raises ConfigError: not valid YAML (with line and column), nested too deeply, a number too long
    """
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 (a SafeLoader)
    except yaml.reader.ReaderError as exc:
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else short_repr(exc.character)
        raise ConfigError([f"{where}: not valid YAML: character {char} at position {exc.position}: "
                           f"{exc.reason}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or "invalid YAML").split())
        raise ConfigError([f"{where}: not valid YAML{at}: {problem}"]) from None
    except RecursionError:
        raise ConfigError([f"{where}: not allowed: lists or mappings nested too deeply"]) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        reason = " ".join((str(exc).splitlines() or [type(exc).__name__])[0].split())
        raise ConfigError([f"{where}: not valid YAML: {reason}"]) from None
    _check_expanded_size(data, where)
    return data


MAX_VALUES = 100_000  # values in a YAML document once its aliases are expanded


def _check_expanded_size(data: Any, where: str) -> None:
    """Refuse a document whose aliases make a cycle (``a: &x [*x]``) or expand to more than
    :data:`MAX_VALUES` values (``billion laughs``): everything downstream copies and walks the data."""
    size: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(data, False)]
    open_nodes: set[int] = set()
    while stack:
        node, done = stack.pop()
        if not isinstance(node, dict | list):
            continue
        key = id(node)
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
        if done:
            open_nodes.discard(key)
            size[key] = 1 + sum(size.get(id(c), 1) for c in children)
            if size[key] > MAX_VALUES:
                raise ConfigError([f"{where}: not allowed: more than {MAX_VALUES:,} values once its aliases "
                                   "(*name) are expanded"])
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise ConfigError([f"{where}: not allowed: an alias (*name) refers to a list or mapping that holds it"])
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children)


MAX_CONFIG_BYTES = 1 << 20  # a config is a page of YAML; 1 MiB is far beyond any real one


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, read without blocking: a FIFO, a
    device (a symlink to ``/dev/zero``), a socket or an oversized file is refused before it is read
    (a FIFO would wait for a writer for ever, a device never ends).

    :raises ValueError: one line naming the file: not a regular file, or larger than ``limit``
    :raises OSError: the file cannot be opened (missing, a folder, no permission)
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # O_NONBLOCK: opening a FIFO returns at once
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise IsADirectoryError(21, "Is a directory", str(path))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path}: not allowed: not a regular file (a FIFO, device or socket); a file is needed")
        if info.st_size > limit:
            raise ValueError(f"{path}: not allowed: too large ({info.st_size:,} bytes; at most {limit:,})")
        raw = f.read(limit + 1)
    if len(raw) > limit:  # grew while being read
        raise ValueError(f"{path}: not allowed: too large (more than {limit:,} bytes)")
    return raw


def read_yaml(path: str | Path) -> Any:
    """The YAML document in a file, read with :func:`parse_yaml` (at most :data:`MAX_CONFIG_BYTES`,
    a regular file: :func:`read_bounded`).

    :raises ConfigError: one line: not UTF-8 text, or not valid YAML
    :raises ValueError: one line: not a regular file, or too large
    :raises OSError: the file cannot be read (missing, a folder, no permission)
    """
    raw = read_bounded(path, MAX_CONFIG_BYTES)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not a text file: byte 0x{raw[exc.start]:02x} at position {exc.start} "
                           "is not UTF-8"]) from None
    return parse_yaml(text, str(path))


def read_yaml_mapping(path: str | Path, expected: str = "a mapping of config keys") -> dict:
    """The mapping a YAML file holds; an empty file or another kind of document is one line.

    :raises ConfigError: one line naming the file and ``expected``
    :raises OSError: the file cannot be read
    """
    data = read_yaml(path)
    if data is None:
        raise ConfigError([f"{path}: the file is empty; {expected} is needed"])
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: a {type(data).__name__} is not allowed: {expected}"])
    return data

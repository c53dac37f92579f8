"""One writer per folder: an exclusive lock on a study folder or a run folder (issue 28).

Every command that writes a study or a run folder holds :func:`folder_lock` on it while it writes:
``alliance study`` (and ``--report-only``) on the study's ``out`` folder, ``alliance train`` (new
run or ``--resume``) and each RL unit of a study on the run folder. A second writer is refused at
once with one line naming the folder and the holder (:class:`FolderBusy`); readers (``evaluate``,
``benchmark``, ``study --verify``) take no lock.

The lock is ``<folder>/.alliance.lock``, locked with ``fcntl.flock`` (exclusive, non-blocking) and
holding the holder's pid, host and purpose as JSON. The standard library's ``flock`` rather than
the ``filelock`` package: ``filelock`` locks the same way on Unix (``flock``) but keeps nothing in
the file, and here the file must name its holder; ``flock`` also needs no new dependency. The
kernel drops the lock when its process ends in any way (``kill -9`` included), so a lock is never
held by a dead process: a clean exit removes the file, and a file found with a holder's details
but no lock on it was left by a process that died; it is taken over, with a note naming that
process (``note``). A lock is re-entrant inside one process (a study's driver renders its report
under the lock it holds; ``train`` called by a study's unit under the unit's lock).

Limits: ``flock`` is advisory (it keeps out writers that ask, i.e. this project's commands, not an
``rm -rf``), and on a network filesystem it is only as good as that filesystem's locking (NFS
since Linux 2.6.12 maps it to its byte-range locks; a Ray cluster's shared folder should be NFS or
similar).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LOCK_NAME = ".alliance.lock"
MAX_HOLDER_BYTES = 4096
HOLDER_WAIT = 2.0  # seconds a refused writer waits for a new holder's details (it never waits for the lock)

_HELD: dict[str, list[Any]] = {}  # resolved folder -> [fd, depth, lock path, pid, folders created]


class FolderBusy(ValueError):
    """Another process writes the folder (one line naming it and the holder)."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def holder_text(holder: dict[str, Any] | None) -> str:
    """'pid 4242 on host h (alliance study configs/quick.yaml, since 20260101T000000Z)'."""
    if not holder:
        return "an unknown process (its lock file names none)"
    what = ", ".join(str(holder[k]) for k in ("purpose", "since") if holder.get(k))
    return f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}" + (f" ({what})" if what else "")


def read_holder(folder: str | Path) -> dict[str, Any] | None:
    """The holder a folder's lock file names (None: no lock file, or not one of ours)."""
    try:
        with open(Path(folder) / LOCK_NAME, "rb") as f:
            return _parse(f.read(MAX_HOLDER_BYTES))
    except OSError:
        return None


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_fd(fd: int) -> dict[str, Any] | None:
    return _parse(os.pread(fd, MAX_HOLDER_BYTES, 0))


def _holder_of(fd: int) -> dict[str, Any] | None:
    """The holder a locked file names; a holder that has just taken the lock writes its details a
    moment later, so an empty file is read again for up to :data:`HOLDER_WAIT` seconds."""
    deadline = time.monotonic() + HOLDER_WAIT
    while (holder := _read_fd(fd)) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return holder


def acquire(folder: str | Path, purpose: str, *, create: bool = True,
            note: Callable[[str], None] | None = _stderr) -> Path:
    """Lock ``folder`` for this process (see the module docstring); returns the folder.

    :param purpose: what the holder does, shown to a refused writer (e.g. the command line)
    :param create: create the folder if it is missing (else a missing folder is ``FileNotFoundError``)
    :param note: where the note on a stale lock taken over goes (default: stderr)
    :raises FolderBusy: another process holds the lock (one line naming the folder and the holder)
    """
    folder = Path(folder)
    key = str(folder.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        return folder
    created = [p for p in (folder, *folder.parents) if not p.exists()] if create else []
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    try:
        fd = _lock(folder, purpose, note)
    except BaseException:
        _remove_empty(created)
        raise
    _HELD[key] = [fd, 1, folder / LOCK_NAME, os.getpid(), created]
    return folder


def _lock(folder: Path, purpose: str, note: Callable[[str], None] | None) -> int:
    """Open and lock ``folder``'s lock file, write this process's details; the file descriptor."""
    path = folder / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                os.close(fd)
                raise
            holder = _holder_of(fd)
            os.close(fd)
            raise FolderBusy(f"{folder} is being written by another process: {holder_text(holder)} holds its "
                             f"lock {path}; wait until it ends (one writer per folder)") from None
        try:  # the file may have been removed by the holder's release between our open and flock
            mine = os.fstat(fd)
            now = os.stat(path)
            same = (mine.st_ino, mine.st_dev) == (now.st_ino, now.st_dev)
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    stale = _read_fd(fd)
    if stale and note is not None:
        note(f"note: {folder}: took over a stale lock of {holder_text(stale)}: that process ended without "
             "releasing it")
    me = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
          "since": _utc_stamp()}
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(me).encode(), 0)
    return fd


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders the lock created, deepest first, if they are still empty (a command that
    failed before writing anything leaves no empty ``out`` folder behind)."""
    for p in created:
        try:
            p.rmdir()
        except OSError:
            return


def release(folder: str | Path) -> None:
    """Give the lock back (the last of nested acquisitions removes the file, then unlocks)."""
    key = str(Path(folder).resolve())
    held = _HELD.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] > 0:
        return
    del _HELD[key]
    fd, _, path, pid, created = held
    if pid != os.getpid():  # a forked child: the lock is its parent's to give back
        return
    with contextlib.suppress(OSError):
        if (os.fstat(fd).st_ino, os.fstat(fd).st_dev) == (os.stat(path).st_ino, os.stat(path).st_dev):
            os.unlink(path)  # while still locked: a waiter that opened it sees it gone and opens anew
    os.close(fd)  # the kernel drops the lock
    _remove_empty(created)


@contextlib.contextmanager
def folder_lock(folder: str | Path, purpose: str, *, create: bool = True,
                note: Callable[[str], None] | None = _stderr) -> Iterator[Path]:
    """:func:`acquire` for the ``with`` block, :func:`release` on any exit."""
    acquire(folder, purpose, create=create, note=note)
    try:
        yield Path(folder)
    finally:
        release(folder)


@atexit.register
def _release_all() -> None:
    """At a normal exit (``sys.exit`` included), every lock still held is given back and its file removed."""
    for key in list(_HELD):
        _HELD[key][1] = 1
        release(key)


def holds(folder: str | Path) -> bool:
    """Whether this process holds ``folder``'s lock."""
    return str(Path(folder).resolve()) in _HELD


def clear_folder(folder: str | Path) -> None:
    """Remove everything in ``folder`` but its lock file (a run trained again from the start, under
    the lock: removing the folder would remove the lock with it)."""
    import shutil

    for p in Path(folder).iterdir():
        if p.name == LOCK_NAME:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _utc_stamp() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")

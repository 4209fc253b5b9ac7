"""One run at a time per results folder: a lock file ``.lock`` naming the process that holds it.

Two runs on one folder would clear each other's files in progress (:func:`~explain.corpus.storage.remove_partial`)
and compute the same batches twice, so the second is refused. A lock left by a process that died (killed,
out of memory) is taken over when it was on this machine and that process is gone; a lock from another
machine cannot be checked from here, so the message says how to remove it. On a local disk the lock is
created atomically (``O_EXCL``); object stores offer no exclusive create through pyarrow, so there two runs
started within the same moment are not told apart.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pyarrow.fs as pafs

from explain.corpus.locations import filesystem
from explain.errors import InputError

LOCK = ".lock"


@contextmanager
def folder_lock(out: str) -> Iterator[None]:
    """Hold ``out``'s lock for the block (the folder is created if missing); refused while another live run
    holds it."""
    fs, root = filesystem(out)
    if fs.get_file_info(root).type == pafs.FileType.File:
        raise InputError(f"--out '{out}' is a file. Give a folder (it is created if missing).")
    fs.create_dir(root, recursive=True)
    path = f"{root}/{LOCK}"
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
    if not _create(fs, path, mine):
        holder = _holder(fs, path)
        if not _is_stale(holder):
            raise InputError(_held_message(out, holder))
        fs.delete_file(path)  # its process is gone: the lock is ours to take
        if not _create(fs, path, mine):
            raise InputError(_held_message(out, _holder(fs, path)))
    try:
        yield
    finally:
        fs.delete_file(path)


def _create(fs: pafs.FileSystem, path: str, holder: dict[str, Any]) -> bool:
    """Write the lock unless one exists; False when one does."""
    data = json.dumps(holder).encode()
    if isinstance(fs, pafs.LocalFileSystem):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)  # atomic: one of two racers wins
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return True
    if fs.get_file_info(path).type != pafs.FileType.NotFound:
        return False
    with fs.open_output_stream(path) as stream:
        stream.write(data)
    return True


def _holder(fs: pafs.FileSystem, path: str) -> dict[str, Any]:
    try:
        with fs.open_input_stream(path) as f:
            data = json.loads(f.read().decode())
    except (OSError, ValueError):  # half-written by a run killed at that moment, or removed meanwhile
        return {}
    return data if isinstance(data, dict) else {}


def _is_stale(holder: dict[str, Any]) -> bool:
    """The holder ran on this machine and its process no longer exists."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, under another user
        return False
    return False


def _held_message(out: str, holder: dict[str, Any]) -> str:
    who = f"process {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}"
    return (
        f"Another corpus run is writing to '{out}' ({who}). Wait for it to finish, or give another --out "
        f"folder. If that run is gone (its machine restarted, say), delete '{out}/{LOCK}' and run again: "
        "finished batches are kept."
    )

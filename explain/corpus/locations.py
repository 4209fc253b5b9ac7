"""Where a corpus comes from and where its results go: a local path, or any URI pyarrow has a filesystem
for (``s3://bucket/run``, ``gs://...``, ``hdfs://...``), so a Ray worker on another machine reads its batch
and writes its shard without the driver in between."""

from __future__ import annotations

import io
from typing import BinaryIO

import pyarrow.fs as pafs

from explain.errors import InputError


def is_uri(location: str) -> bool:
    return "://" in location


def filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path or a URI."""
    if not is_uri(location):
        return pafs.LocalFileSystem(), location
    try:
        fs, path = pafs.FileSystem.from_uri(location)
    except (ValueError, OSError) as exc:
        raise InputError(
            f"'{location}' names no filesystem pyarrow can open ({exc}). Give a local path, or a URI such as "
            "s3://bucket/folder with the filesystem's credentials in the environment."
        ) from exc
    return fs, str(path)


def open_input(location: str) -> BinaryIO:
    """A seekable binary stream (batches are read from their byte offsets)."""
    try:
        if not is_uri(location):
            return open(location, "rb")  # the caller closes it
        fs, path = filesystem(location)
        return io.BufferedReader(fs.open_input_file(path))
    except OSError as exc:
        raise InputError(f"Cannot read '{location}': {exc}. Give a UTF-8 text, TSV or CSV file.") from exc

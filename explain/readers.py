"""Input files, read one way everywhere (corpus runs, batch export, ``evaluate``): the lines, the CSV records
and the labels of a text, TSV or CSV file.

Lines end at ``\\n`` only (a trailing ``\\r`` is dropped): review texts hold U+0085 and U+2028, which
``str.splitlines`` would cut. A UTF-8 byte-order mark is skipped. Records keep their byte offset and raw bytes,
so a corpus batch can be read again from its offset by any process; bytes that are not UTF-8 are kept as
surrogates in CSV fields (:func:`has_bad_bytes`) so one bad row does not sink the file.
"""

from __future__ import annotations

import csv as csv_module
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from explain.errors import InputError

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Record:
    offset: int  # byte offset of the record's first line
    number: int  # 1-based line (text file) or record (CSV, the header is 1) number
    raw: bytes  # the record's bytes, line ending excluded (a CSV record may span lines)
    fields: list[str] | None  # CSV fields (surrogate-escaped); None for a text line


def skip_bom(stream: BinaryIO) -> int:
    """Position ``stream`` after a byte-order mark, if any; returns where the text starts."""
    start = 3 if stream.read(3) == BOM else 0
    stream.seek(start)
    return start


def lines(stream: BinaryIO, offset: int, digest: Any = None) -> Iterator[tuple[int, bytes]]:
    """(byte offset, line) pairs from the stream's position ``offset``, split on ``\\n`` alone, endings kept;
    ``digest`` (a hashlib object) is fed every byte read."""
    for line in stream:
        if digest is not None:
            digest.update(line)
        yield offset, line
        offset += len(line)


def text_records(source: Iterator[tuple[int, bytes]], number: int) -> Iterator[Record]:
    """One record per line that is not blank (blank lines still count in the numbering)."""
    for offset, line in source:
        raw = line.removesuffix(b"\n").removesuffix(b"\r")
        if raw.strip():
            yield Record(offset, number, raw, None)
        number += 1


def csv_records(source: Iterator[tuple[int, bytes]], number: int, name: str = "the file") -> Iterator[Record]:
    """CSV records with their offsets: the reader pulls a line only when its record needs it, so the lines it
    pulled for one record are exactly that record's. A file the csv module cannot parse (random bytes, a NUL)
    is an InputError naming the record."""
    taken: list[tuple[int, bytes]] = []

    def feed() -> Iterator[str]:
        for offset, line in source:
            taken.append((offset, line))
            yield line.decode("utf-8", errors="surrogateescape")

    reader = csv_module.reader(feed())
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv_module.Error as exc:
            why = str(exc).split(" - ")[0]  # csv's own hint (universal-newline mode) means nothing to a user
            raise InputError(
                f"{name} is not a readable CSV file (record {number}: {why}). Save it as a UTF-8 CSV with a header "
                "'text' (or 'text_a,text_b'), or as a text file with one sentence per line (.txt)."
            ) from None
        offset, raw = taken[0][0], b"".join(line for _, line in taken).removesuffix(b"\n").removesuffix(b"\r")
        taken.clear()
        if fields:  # a blank line is no record (as csv.DictReader counts them)
            yield Record(offset, number, raw, fields)
            number += 1


def file_records(path: Path, csv: bool | None = None) -> tuple[tuple[str, ...], list[Record]]:
    """(CSV header, records) of a whole file: a CSV (``csv``, or by default a ``.csv`` name) by its header,
    anything else line by line (header ``()``)."""
    as_csv = path.suffix.lower() == ".csv" if csv is None else csv
    try:
        with open(path, "rb") as stream:
            source = lines(stream, skip_bom(stream))
            if not as_csv:
                return (), list(text_records(source, 1))
            records = csv_records(source, 1, f"'{path.name}'")
            first = next(records, None)
            header = tuple(f.strip() for f in first.fields or []) if first else ()
            return header, list(records)
    except OSError as exc:
        raise InputError(f"Cannot read '{path}': {exc}. Give a UTF-8 text, TSV or CSV file.") from exc


def text_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based number, text) of every line of a UTF-8 file that is not blank; a line that is not UTF-8 stops
    the reading (a score over the rest would not be the file's). Gaps in the numbering are the blank lines."""
    _, records = file_records(path, csv=False)  # tab-separated whatever the name: quotes are plain text
    out = []
    for record in records:
        try:
            out.append((record.number, record.raw.decode("utf-8")))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{path}:{record.number} is not UTF-8 (byte {exc.start + 1} of the line). Save the file as UTF-8."
            ) from exc
    return out


def shown_names(names: Sequence[str], limit: int = 10) -> str:
    """Column names for a message: bytes that were not UTF-8 and control characters escaped, a few at most."""
    shown = [n.encode("utf-8", "backslashreplace").decode("utf-8")[:40] for n in names[:limit]]
    return ", ".join(repr(n) for n in shown) or "no columns"


def has_bad_bytes(*values: str | None) -> bool:
    """A value decoded with surrogate escapes holds bytes that were not UTF-8."""
    return any("\udc80" <= c <= "\udcff" for value in values for c in value or "")


def parse_label(raw: str, labels: Sequence[str]) -> int | None:
    """A class id or name (any case, spaces around ignored) as the class index; None when it names no class."""
    raw = raw.strip()
    if raw.lstrip("-").isdigit():
        value = int(raw)
        return value if 0 <= value < len(labels) else None
    by_name = {name.lower(): i for i, name in enumerate(labels)}
    return by_name.get(raw.lower())

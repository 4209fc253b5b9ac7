"""The corpus input, cut into fixed batches that any process can read on its own.

A :func:`scan` streams through the file once and notes where each *window* of consecutive rows starts
(a byte offset and a line number); :func:`read_span` later reads a window from there, in the driver
(local engine) or in a Ray worker, and takes one batch of it. Within a window (``WINDOW_BATCHES`` batches
of rows) the rows are ordered by their length in bytes, so a batch holds rows of similar length and
pads little (SST-2 dev: 1.6x the real tokens in file order, 1.2x sorted in windows of 64). Memory is
bounded by one window, never the corpus; a batch is a function of the file and the batch size alone,
so its padding, and so every number, is the same on every engine.

Formats are those ``export`` and ``evaluate`` read: a text file (one sentence per line, ``A<TAB>B`` for a
pair), optionally labelled (``sentence<TAB>label``, split on the last tab, header optional, labels as ids
or names), or a CSV with ``text`` or ``text_a,text_b`` and optionally ``label`` columns. Lines end at
``\\n`` only (sentences hold U+0085 and U+2028). A row that cannot be read (bytes that are not UTF-8, a
label that names no class) becomes a row with an error, and the run goes on.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Literal

from explain.corpus.locations import open_input
from explain.errors import InputError
from explain.readers import (
    Record,
    csv_records,
    has_bad_bytes,
    lines,
    parse_label,
    shown_names,
    skip_bom,
    text_records,
)

#: Batches per window: rows are ordered by length within a window of WINDOW_BATCHES × batch_size rows.
WINDOW_BATCHES = 8


@dataclass(frozen=True)
class CorpusRow:
    row_id: str  # "{number:010d}-{sha256 of the row's bytes, 16 hex}": sorts in file order, names the content
    number: int  # 1-based line (text file) or record (CSV, the header is 1) number
    text: str
    text_b: str | None
    label: int | None  # the true class, when the file has labels
    error: str | None = None  # why the row cannot be read; it is recorded and the run goes on


@dataclass(frozen=True)
class InputFormat:
    kind: Literal["text", "csv"]
    labelled: bool  # text: 'sentence[<TAB>sentence_b]<TAB>label'; CSV: a 'label' column
    header: tuple[str, ...] = ()  # CSV column names


@dataclass(frozen=True)
class Span:
    """One batch of the input: the window it is drawn from, and which batch of that window it is."""

    index: int  # 0-based batch number, the name of its shard
    offset: int  # byte offset of its window's first row
    number: int  # line (text) or record (CSV) number of that row
    count: int  # rows in the window
    part: int = 0  # the window's rows, ordered by length, cut into batches: this is batch `part`


@dataclass(frozen=True)
class Plan:
    location: str  # the input: a path or a URI
    format: InputFormat
    spans: tuple[Span, ...]  # [batches]
    rows: int
    sha256: str  # of the whole file: a resumed run must read the same input
    batch_size: int


def scan(location: str, labels: Sequence[str], batch_size: int, labelled: bool | None = None) -> Plan:
    """Stream through the input once: its format, its batches and its hash. ``labelled=None`` detects labels
    from the first line (a header ending in 'label', or a last tab field that names a class)."""
    digest = hashlib.sha256()
    window = WINDOW_BATCHES * batch_size
    spans: list[Span] = []
    with open_input(location) as stream:
        fmt, records = _open(stream, location, labels, labelled, digest)
        rows, start = 0, None
        for record in records:
            start = record if rows % window == 0 else start
            rows += 1
            if rows % window == 0 and start is not None:
                spans += _window(len(spans), start, window, batch_size)
        if rows % window and start is not None:
            spans += _window(len(spans), start, rows % window, batch_size)
    if not rows:
        raise InputError(f"'{location}' has no rows. Give one sentence per line, or a CSV with a 'text' column.")
    return Plan(location, fmt, tuple(spans), rows, digest.hexdigest(), batch_size)


def _window(first: int, start: Record, count: int, batch_size: int) -> list[Span]:
    parts = -(-count // batch_size)
    return [Span(first + k, start.offset, start.number, count, k) for k in range(parts)]


def read_span(plan: Plan, span: Span, labels: Sequence[str]) -> list[CorpusRow]:
    """The rows of one batch, read from its window's offset: the window's rows ordered by length in bytes
    (file order among equals), batch ``part`` of them, returned in file order."""
    with open_input(plan.location) as stream:
        stream.seek(span.offset)
        source = lines(stream, span.offset)
        kind = plan.format.kind
        records = csv_records(source, span.number) if kind == "csv" else text_records(source, span.number)
        window = list(itertools.islice(records, span.count))
    by_length = sorted(range(len(window)), key=lambda i: (len(window[i].raw), i))
    chosen = sorted(by_length[span.part * plan.batch_size : (span.part + 1) * plan.batch_size])
    return [_row(window[i], plan.format, labels) for i in chosen]


def _open(
    stream: BinaryIO, location: str, labels: Sequence[str], labelled: bool | None, digest: hashlib._Hash
) -> tuple[InputFormat, Iterator[Record]]:
    start = skip_bom(stream)
    stream.seek(0)
    digest.update(stream.read(start))
    source = lines(stream, start, digest)
    name = f"'{location.rsplit('/', 1)[-1]}'"  # not the whole path: the app's users see this message
    if location.lower().endswith(".csv"):
        records = csv_records(source, 1, name)
        header = next(records, None)
        names = tuple(f.strip() for f in header.fields or []) if header else ()
        if "text" not in names and "text_a" not in names:
            shown = shown_names(names)
            raise InputError(f"{name} needs a header 'text' (or 'text_a,text_b'); its first line has {shown}.")
        return InputFormat("csv", "label" in names if labelled is None else labelled, names), records
    records = text_records(source, 1)
    first = next(records, None)
    if first is None:
        return InputFormat("text", False), records
    is_header, detected = _detect(first.raw, labels, name, labelled)
    fmt = InputFormat("text", detected)
    return fmt, records if is_header and fmt.labelled else _chain(first, records)


def _detect(raw: bytes, labels: Sequence[str], name: str, labelled: bool | None) -> tuple[bool, bool]:
    """(the first line is a header, the file is labelled). Without ``labelled``, a first line whose last tab
    column is neither 'label' nor one of the model's classes is refused: it may be a label the model does not
    know ('pos') or sentence B of a pair, and guessing either way silently loses the other."""
    try:
        fields = raw.decode("utf-8").split("\t")
    except UnicodeDecodeError:
        return False, bool(labelled)
    is_header = len(fields) >= 2 and fields[-1].strip().lower() == "label"
    if labelled is not None or len(fields) < 2 or is_header:
        return is_header, is_header if labelled is None else labelled
    if parse_label(fields[-1], labels) is None:
        ids = f"0 to {len(labels) - 1}"
        raise InputError(
            f"Line 1 of {name} ends in a column '{fields[-1].strip()[:40]}', which is not one of the model's labels "
            f"({', '.join(labels)}, or the ids {ids}), so the file may hold labels or sentence pairs. Say which: "
            "for sentence pairs (A<TAB>B), pass --pairs (in the app: 'Last column' = sentence B); for labels, write "
            f"them as the model's names or ids and pass --labels yes (in the app: 'Last column' = label), or start "
            "the file with a header line 'sentence<TAB>label'."
        )
    return False, True


def _chain(first: Record, rest: Iterator[Record]) -> Iterator[Record]:
    yield first
    yield from rest


def _row(record: Record, fmt: InputFormat, labels: Sequence[str]) -> CorpusRow:
    row_id = f"{record.number:010d}-{hashlib.sha256(record.raw).hexdigest()[:16]}"
    where = f"Row {record.number}" if fmt.kind == "csv" else f"Line {record.number}"
    try:
        text, text_b, raw_label = _csv_fields(record, fmt) if record.fields is not None else _text_fields(record, fmt)
    except InputError as exc:
        return CorpusRow(row_id, record.number, "", None, None, f"{where} {exc}")
    label = parse_label(raw_label or "", labels) if fmt.labelled else None
    if fmt.labelled and label is None:
        return CorpusRow(row_id, record.number, text, text_b, None,
                         f"{where} has the label '{(raw_label or '')[:40]}', which is neither a class id (0 to "
                         f"{len(labels) - 1}) nor one of {', '.join(labels)}. Fix it and run again: finished rows "
                         "are kept.")  # fmt: skip
    return CorpusRow(row_id, record.number, text, text_b, label)


def _text_fields(record: Record, fmt: InputFormat) -> tuple[str, str | None, str | None]:
    try:
        line = record.raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(_NOT_UTF8) from None
    raw_label = None
    if fmt.labelled:
        if "\t" not in line:
            raise InputError("has no tab before its label. Write 'sentence<TAB>label' and run again.")
        line, raw_label = line.rsplit("\t", 1)
    text, _, text_b = line.partition("\t")
    return text, text_b if text_b.strip() else None, raw_label


def _csv_fields(record: Record, fmt: InputFormat) -> tuple[str, str | None, str | None]:
    values = dict(zip(fmt.header, record.fields or [], strict=False))
    text = values.get("text") if "text" in fmt.header else values.get("text_a")
    text_b = values.get("text_b") or None
    raw_label = values.get("label") if fmt.labelled else None
    if has_bad_bytes(text, text_b, raw_label):
        raise InputError(_NOT_UTF8)
    return text or "", text_b if text_b and text_b.strip() else None, raw_label


_NOT_UTF8 = "is not UTF-8 text, so it was skipped; save the file as UTF-8 and run again (finished rows are kept)."

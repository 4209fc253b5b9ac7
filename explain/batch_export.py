"""Batch export over a file of inputs: one folder per input, an index, and a manifest for the run.

Input: a text file (one sentence per line, or a pair as two tab-separated columns) or a CSV with a
header ``text`` or ``text_a,text_b``. A failing row is recorded in the index and the batch goes on.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from explain.errors import GlimpseError, InputError
from explain.export import files as export
from explain.inputs import prepare_input
from explain.methods.attention import attention_view, run_attention
from explain.methods.attribution import attribute
from explain.models.loading import ModelBundle
from explain.readers import Record, file_records, has_bad_bytes, shown_names
from explain.views import exports as views
from explain.views.print_style import FigureStyle


@dataclass(frozen=True)
class BatchRow:
    number: int  # 1-based input row
    text: str
    text_b: str | None
    error: str | None = None  # why the row cannot be read (it is reported, and the batch goes on)


def read_inputs(path: Path) -> list[BatchRow]:
    """The rows of a text or CSV file, read as every input file is (:mod:`explain.readers`): lines end at
    ``\\n`` only (sentences may hold U+0085 or U+2028), and a line that is not UTF-8 becomes a row with an error."""
    header, records = file_records(path)
    if path.suffix.lower() == ".csv":
        return _csv_rows(header, records, path)
    rows = []
    for record in records:
        try:
            text = record.raw.decode("utf-8")
        except UnicodeDecodeError:
            rows.append(BatchRow(record.number, "", None, _not_utf8(f"Line {record.number}")))
            continue
        if text.strip():
            a, _, b = text.partition("\t")
            rows.append(BatchRow(record.number, a, b if b.strip() else None))
    if not rows:
        raise InputError(f"'{path}' has no lines to export.")
    return rows


def _not_utf8(where: str) -> str:
    return f"{where} is not UTF-8 text, so it was skipped; save the file as UTF-8 and export it again."


def _csv_rows(header: tuple[str, ...], records: list[Record], path: Path) -> list[BatchRow]:
    """Fields were decoded with surrogate escapes: a field holding one came from bytes that are not UTF-8."""
    if "text" not in header and "text_a" not in header:
        raise InputError(f"'{path}' needs a header 'text' (or 'text_a,text_b'); it has {shown_names(header)}.")
    rows = []
    for record in records:
        values = dict(zip(header, record.fields or [], strict=False))
        a = (values.get("text") if "text" in header else values.get("text_a")) or ""
        b = values.get("text_b") or ""
        if has_bad_bytes(a, b):
            rows.append(BatchRow(record.number, "", None, _not_utf8(f"Row {record.number}")))
            continue
        rows.append(BatchRow(record.number, a, b if b.strip() else None))  # an empty text is that row's error
    return rows


def export_batch(
    bundle: ModelBundle,
    rows: Sequence[BatchRow],
    out: Path,
    formats: Sequence[str],
    on_row: Callable[[int], None] | None = None,
    style: FigureStyle | None = None,
) -> dict[str, Any]:
    """Write every row's figures and data under ``out``; returns the run's summary (also manifest.json).
    ``style``: how the PNG, SVG and PDF figures are laid out (recorded in every manifest)."""
    style = style or FigureStyle()
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for i, row in enumerate(rows, start=1):
        folder = f"row-{row.number:05d}"
        status, error, label = "ok", "", ""
        try:
            if row.error is not None:
                raise InputError(row.error)
            if not row.text.strip():
                raise InputError("The row has no text.")
            label = _export_row(bundle, row, out / folder, formats, style)
        except GlimpseError as exc:
            status, error = "error", str(exc)
        except Exception as exc:  # one bad row (a file error, a failed render) must not stop the batch
            status, error = "error", f"{type(exc).__name__}: {exc}"
        index.append({"row": row.number, "folder": folder if status == "ok" else "", "text": row.text,
                      "text_b": row.text_b or "", "prediction": label, "status": status, "error": error})  # fmt: skip
        if on_row is not None:
            on_row(i)
    with (out / "index.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(index[0]) if index else ["row"])
        writer.writeheader()
        writer.writerows({k: export.csv_text(v) if isinstance(v, str) else v for k, v in r.items()} for r in index)
    summary = {
        "model": {"source": bundle.info.source, "weights_sha256": export.weights_sha256(bundle),
                  "labels": list(bundle.info.labels)},
        "formats": list(formats),
        "figure_style": style.manifest(),
        "rows": len(rows),
        "ok": sum(r["status"] == "ok" for r in index),
        "errors": sum(r["status"] == "error" for r in index),
        "versions": export.library_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip
    (out / "manifest.json").write_bytes(export.to_json(summary))
    return summary


def _export_row(bundle: ModelBundle, row: BatchRow, folder: Path, formats: Sequence[str], style: FigureStyle) -> str:
    enc = prepare_input(bundle, row.text, row.text_b)
    result = run_attention(bundle, enc)
    view = attention_view(result, hide_special=False, merge_words=False)
    all_views = [views.attention_exports(bundle, result, view, views.AttentionChoice())]
    label = ""
    if bundle.info.has_classifier:
        attribution = attribute(bundle, enc)
        all_views.insert(0, views.attribution_exports(bundle, attribution))
        label = bundle.info.labels[attribution.target]
    written = views.files(all_views, formats, style)
    for name, data in written.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (folder / "manifest.json").write_bytes(export.to_json({**all_views[0].provenance.manifest(),
                                                            "figure_style": style.manifest(),
                                                            "files": sorted(written)}))  # fmt: skip
    return label

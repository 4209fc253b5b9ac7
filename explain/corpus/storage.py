"""A results folder: ``rows/batch-NNNNNN.parquet`` (one shard per batch), ``plan.json`` (what the folder is
computing: input, model, settings; a resumed run must match it) and ``summary.json`` (written at the end).

Every file appears whole or not at all: a shard, plan.json and summary.json are written under a hidden
name and then renamed, on every filesystem (a killed writer leaves a hidden file, never a truncated shard
that counts as finished or a half-written JSON that a reader chokes on). A shard's name is its batch
number, so writing a batch twice (a Ray retry after a worker died, a resumed run) replaces it with the same
rows: a row is never stored twice, and a batch whose shard exists is finished. One run at a time writes to
a folder (:mod:`explain.corpus.lock`). The folder may be a local path or any URI pyarrow has a filesystem for.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from explain.corpus.locations import filesystem
from explain.corpus.stats import STAT_NAMES
from explain.errors import InputError

ROWS, PLAN, SUMMARY = "rows", "plan.json", "summary.json"
_SHARD = re.compile(r"^batch-(\d{6,})\.parquet$")
_FLOATS, _STRINGS = pa.list_(pa.float64()), pa.list_(pa.string())
_COLUMNS = (
    ("row_id", pa.string()), ("number", pa.int64()), ("text", pa.string()), ("text_b", pa.string()),
    ("label", pa.int64()), ("status", pa.string()), ("error", pa.string()), ("predicted", pa.int64()),
    ("predicted_label", pa.string()), ("probabilities", _FLOATS), ("target", pa.int64()), ("tokens", _STRINGS),
    ("scores", _FLOATS), ("token_changes", _FLOATS), ("words", _STRINGS), ("word_scores", _FLOATS),
    ("f_input", pa.float64()), ("f_baseline", pa.float64()), ("convergence_delta", pa.float64()),
    ("relative_delta", pa.float64()), ("token_error", pa.float64()), ("n_steps", pa.int64()),
    ("converged", pa.bool_()),
)  # fmt: skip


def schema(aopc_columns: Sequence[str] = ()) -> pa.Schema:
    """Every shard's columns. Head statistics are [layers × heads] float32, row-major (``head_matrix``), null
    where undefined (agreement over fewer than two tokens)."""
    heads = [(name, pa.list_(pa.float32())) for name in STAT_NAMES]
    return pa.schema([*_COLUMNS, *heads, *((name, pa.float64()) for name in aopc_columns)])


@dataclass(frozen=True)
class CorpusResults:
    """A results folder, read back: what a Corpus page shows."""

    table: pa.Table  # [rows] every finished row, sorted by row_id (= file order)
    summary: dict[str, Any] | None  # summary.json; None while the run has not finished
    plan: dict[str, Any]  # plan.json: input, model, settings, head shape (layers, heads)


def shard_name(index: int) -> str:
    return f"batch-{index:06d}.parquet"


def write_shard(out: str, index: int, records: Sequence[dict[str, Any]], columns: pa.Schema) -> None:
    """Write one batch's rows; idempotent (the same batch replaces its shard)."""
    fs, root = filesystem(out)
    table = pa.Table.from_pylist(list(records), schema=columns)
    fs.create_dir(f"{root}/{ROWS}", recursive=True)
    hidden = _hidden(f"{root}/{ROWS}", shard_name(index))
    pq.write_table(table, hidden, filesystem=fs)
    fs.move(hidden, f"{root}/{ROWS}/{shard_name(index)}")  # a rename (an object store: copy, then delete)


def _hidden(folder: str, name: str) -> str:
    """A temporary name beside ``name``: readers skip dot files, and :func:`remove_partial` clears them."""
    return f"{folder}/.{name}.{uuid.uuid4().hex}.tmp"


def finished(out: str) -> set[int]:
    """Batch numbers whose shard exists."""
    fs, root = filesystem(out)
    selector = pafs.FileSelector(f"{root}/{ROWS}", allow_not_found=True)
    names = (info.base_name for info in fs.get_file_info(selector))
    return {int(m.group(1)) for m in map(_SHARD.match, names) if m}


def remove_partial(out: str) -> None:
    """Drop hidden files a killed run left half-written. Call it only while holding the folder's lock
    (:func:`explain.corpus.lock.folder_lock`): another run's files in progress are hidden files too."""
    fs, root = filesystem(out)
    for folder in (f"{root}/{ROWS}", root):
        for info in fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
            if info.base_name.startswith(".") and info.base_name.endswith(".tmp"):
                fs.delete_file(info.path)


def iter_shards(out: str) -> Iterator[pa.Table]:
    """Each shard's rows, in batch order (memory: one shard at a time)."""
    fs, root = filesystem(out)
    for index in sorted(finished(out)):
        yield pq.read_table(f"{root}/{ROWS}/{shard_name(index)}", filesystem=fs)


def write_json(out: str, name: str, data: dict[str, Any]) -> None:
    """Replace ``name`` whole: a reader sees the old file or the new one, never a half-written one."""
    fs, root = filesystem(out)
    fs.create_dir(root, recursive=True)
    text = json.dumps(data, ensure_ascii=False, indent=1, allow_nan=False).encode()
    hidden = _hidden(root, name)
    with fs.open_output_stream(hidden) as f:
        f.write(text)
    fs.move(hidden, f"{root}/{name}")


def read_json(out: str, name: str) -> dict[str, Any] | None:
    """``name`` of the folder, None when it does not exist; a file that is not JSON is an InputError."""
    fs, root = filesystem(out)
    if fs.get_file_info(f"{root}/{name}").type != pafs.FileType.File:
        return None
    with fs.open_input_stream(f"{root}/{name}") as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{name} in '{out}' is not readable JSON ({exc}). It was not written by a corpus run, or was edited: "
            f"delete it and run the same command again to rewrite it."
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{name} in '{out}' holds no corpus run. Delete it and run the same command again.")
    return data


def read_results(out: str) -> CorpusResults:
    """Every finished row (sorted by row id) with the summary and plan: a finished or interrupted folder."""
    plan = read_json(out, PLAN)
    if plan is None:
        raise InputError(f"'{out}' holds no corpus results (no {PLAN}). Give the --out folder of a corpus run.")
    shards = list(iter_shards(out))
    columns = schema(plan.get("aopc_columns", ()))
    table = pa.concat_tables(shards) if shards else columns.empty_table()
    return CorpusResults(table.sort_by("row_id"), read_json(out, SUMMARY), plan)


def read_overview(out: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(plan, summary) of a results folder, and none of its rows: what a page reads before it pages."""
    plan = read_json(out, PLAN)
    if plan is None:
        raise InputError(f"'{out}' holds no corpus results (no {PLAN}). Give the --out folder of a corpus run.")
    return plan, read_json(out, SUMMARY)


#: A derived column :func:`read_columns` gives instead of the token lists: how many tokens each row has.
N_TOKENS = "n_tokens"


def read_columns(out: str, columns: Sequence[str]) -> pa.Table:
    """Only ``columns`` of every finished row, sorted by row id (file order): a page reads these, not the
    per-token scores and the per-head statistics, which are most of a shard. ``n_tokens`` is the length
    of each row's token list (the list itself is dropped shard by shard)."""
    fs, root = filesystem(out)
    wanted = [c for c in dict.fromkeys(["row_id", *columns]) if c != N_TOKENS]
    parts = []
    for index in sorted(finished(out)):
        path = f"{root}/{ROWS}/{shard_name(index)}"
        shard = pq.read_table(path, columns=[*wanted, "tokens"] if N_TOKENS in columns else wanted, filesystem=fs)
        if N_TOKENS in columns:
            lengths = pc.list_value_length(shard.column("tokens"))
            shard = shard.drop_columns(["tokens"]).append_column(N_TOKENS, lengths.cast(pa.int64()))
        parts.append(shard)
    if not parts:
        empty = schema().empty_table()
        return pa.table({c: pa.array([], pa.int64() if c == N_TOKENS else empty.schema.field(c).type)
                         for c in ["row_id", *[c for c in columns if c != "row_id"]]})  # fmt: skip
    return pa.concat_tables(parts).sort_by("row_id")


def head_matrix(values: Sequence[float | None], plan: dict[str, Any]) -> np.ndarray:
    """A row's flat head statistic (a list cell of the table) as a [layers, heads] float64 array, NaN for null."""
    layers, heads = plan["head_shape"]
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64).reshape(layers, heads)

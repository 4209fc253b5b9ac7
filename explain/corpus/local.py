"""The local engine (in this process, no Ray), and the step every engine runs for one batch: read its rows
from the input, compute them, write its shard."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from explain.corpus.compute import CorpusSettings, compute_batch
from explain.corpus.rows import Plan, Span, read_span
from explain.corpus.storage import schema, write_shard
from explain.models.loading import ModelBundle


@dataclass(frozen=True)
class BatchDone:
    """A finished batch, as its engine reports it (not stored: timings and workers differ between runs)."""

    index: int  # the batch number (its shard)
    rows: int
    errors: int  # rows recorded with an error
    seconds: float  # reading, computing and writing
    worker: str  # "host:pid" of the process that computed it
    node: str = ""  # Ray's node id, when Ray ran it


@dataclass(frozen=True)
class EngineReport:
    engine: str  # "local" or "ray"
    workers: int  # processes computing batches
    threads_per_worker: int  # torch intra-op threads in each
    startup_seconds: float  # before the first batch could start (Ray: cluster start or join, worker start)
    address: str | None = None  # the Ray cluster joined, if any


def process_span(bundle: ModelBundle, plan: Plan, span: Span, out: str, settings: CorpusSettings,
                 aopc_columns: Sequence[str], node: str = "") -> BatchDone:  # fmt: skip
    """Compute one batch and write its shard (idempotent: a repeat replaces the shard with the same rows)."""
    start = time.perf_counter()
    rows = read_span(plan, span, bundle.info.labels)
    records = compute_batch(bundle, rows, settings)
    write_shard(out, span.index, records, schema(aopc_columns))
    errors = sum(r["status"] != "ok" for r in records)
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return BatchDone(span.index, len(records), errors, time.perf_counter() - start, worker, node)


def run_local(bundle: ModelBundle, plan: Plan, todo: Sequence[Span], out: str, settings: CorpusSettings,
              aopc_columns: Sequence[str], on_batch: Callable[[BatchDone], None]) -> EngineReport:  # fmt: skip
    """Every batch of ``todo`` in order, in this process, with torch's own thread setting."""
    for span in todo:
        on_batch(process_span(bundle, plan, span, out, settings, aopc_columns))
    return EngineReport("local", 1, torch.get_num_threads(), 0.0)

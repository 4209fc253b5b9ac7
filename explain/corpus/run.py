"""A corpus run from start to summary: plan the batches, match (or start) the results folder, compute
the batches not finished yet on the chosen engine, check that every batch is stored, and summarise.

Rerunning the same command resumes: finished batches (their shards exist) are skipped, and the batches
are the same as before (same input, same batch size), so the final table equals an uninterrupted run's.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from importlib import metadata
from typing import Any

from explain.corpus.compute import CorpusSettings
from explain.corpus.faithful import COLUMNS
from explain.corpus.local import BatchDone, EngineReport, run_local
from explain.corpus.locations import filesystem, is_uri
from explain.corpus.lock import LOCK, folder_lock
from explain.corpus.rows import Plan, scan
from explain.corpus.storage import PLAN, SUMMARY, finished, read_json, remove_partial, write_json
from explain.corpus.summary import MIN_COUNT, summarise
from explain.errors import ComputationError, InputError, SettingsError
from explain.models.loading import ModelBundle


class Engine(StrEnum):
    LOCAL = "local"  # in this process; Ray is never imported
    RAY = "ray"  # a Ray Data actor pool, on this machine or a cluster


def run_corpus(
    bundle: ModelBundle,
    source: str,
    out: str,
    settings: CorpusSettings | None = None,
    engine: Engine = Engine.LOCAL,
    workers: int | None = None,
    address: str | None = None,
    labelled: bool | None = None,
    min_count: int = MIN_COUNT,
    on_batch: Callable[[BatchDone], None] = lambda _done: None,
    on_start: Callable[[Plan, int], None] = lambda _plan, _done: None,
) -> dict[str, Any]:
    """Compute every row of ``source`` into the results folder ``out``; returns the summary (summary.json).

    ``on_start(plan, finished_batches)`` is called once the input is planned, ``on_batch`` after each batch."""
    settings = settings or CorpusSettings()
    engine = _check_options(bundle, engine, workers, address)
    source, out = _absolute(source), _absolute(out)
    started = datetime.now(UTC)
    plan = scan(source, bundle.info.labels, settings.batch_size, labelled)
    identity = _identity(bundle, plan, settings)
    with folder_lock(out):  # one run per folder: clearing partial files below would break another's writes
        _claim(out, identity)
        remove_partial(out)
        done = finished(out)
        todo = [span for span in plan.spans if span.index not in done]
        on_start(plan, len(done))
        begin = time.perf_counter()
        columns = COLUMNS if settings.faithfulness else ()
        # a finished folder starts no engine (no Ray, no actor pool): it is only summarised again
        if todo:
            report = _engine_run(engine, workers, address)(bundle, plan, todo, out, settings, columns, on_batch)
        else:
            report = EngineReport(engine.value, 0, 0, 0.0, address)
        seconds = time.perf_counter() - begin
        return _finish(bundle, plan, out, identity, report, started, seconds, len(todo), min_count)


def _finish(bundle: ModelBundle, plan: Plan, out: str, identity: dict[str, Any], report: EngineReport,
            started: datetime, seconds: float, computed: int, min_count: int) -> dict[str, Any]:  # fmt: skip
    """Check that every batch is stored, then summarise into summary.json."""
    columns = identity["aopc_columns"]
    missing = sorted({s.index for s in plan.spans} - finished(out))
    if missing:
        raise ComputationError(f"Batches {missing[:10]} were not stored. Run the same command again to finish them.")
    summary = summarise(out, bundle.info.labels, identity["head_shape"], columns, min_count)
    summary["manifest"] = _manifest(identity, report, started, seconds, computed < len(plan.spans))
    write_json(out, SUMMARY, summary)
    return summary


def _engine_run(engine: Engine, workers: int | None, address: str | None) -> Callable[..., EngineReport]:
    """The engine as one call: (bundle, plan, todo, out, settings, aopc columns, on_batch) -> report."""
    if engine is Engine.LOCAL:
        return run_local
    from explain.corpus.ray_engine import run_ray  # Ray is imported only here

    return functools.partial(run_ray, workers=workers, address=address)


def _check_options(bundle: ModelBundle, engine: Engine | str, workers: int | None, address: str | None) -> Engine:
    try:
        engine = Engine(engine)
    except ValueError:
        raise SettingsError(f"Unknown engine '{engine}'. Available: {', '.join(Engine)}.") from None
    if engine is Engine.LOCAL and (workers is not None or address):
        raise SettingsError("--workers and --address are for --engine ray; the local engine runs in this process.")
    if workers is not None and not 1 <= workers <= 4096:
        raise SettingsError(f"--workers must be a whole number from 1 to 4096; got {workers}.")
    if not bundle.info.has_classifier:
        raise SettingsError(
            f"'{bundle.info.source}' has no classification head, so corpus mode has no prediction to explain. "
            "Load a fine-tuned classifier (a *ForSequenceClassification checkpoint)."
        )
    return engine


def _absolute(location: str) -> str:
    """Workers may run elsewhere (another working directory, another node): paths are made absolute."""
    return location if is_uri(location) else os.path.abspath(os.path.expanduser(location))


def _identity(bundle: ModelBundle, plan: Plan, settings: CorpusSettings) -> dict[str, Any]:
    """What a results folder computes; a resumed run must match it field for field."""
    ig = {k: getattr(v, "value", v) for k, v in vars(settings.ig).items()}
    return {
        "input": {"location": plan.location, "sha256": plan.sha256, "rows": plan.rows, "kind": plan.format.kind,
                  "labelled": plan.format.labelled},
        "model": {"source": bundle.info.source, "kind": bundle.source.kind.value, "ref": bundle.source.ref,
                  "weights_sha256": bundle.weights_sha256, "labels": list(bundle.info.labels)},
        "settings": {"batch_size": settings.batch_size, "faithfulness": settings.faithfulness, "ig": ig},
        "head_shape": [bundle.info.num_layers, bundle.info.num_heads],
        "statistics": {"entropy": "bits"},  # folders from before entropy was in bits (nats) do not resume
        "aopc_columns": list(COLUMNS) if settings.faithfulness else [],
    }  # fmt: skip


def _claim(out: str, identity: dict[str, Any]) -> None:
    """Start the folder, or check that it is this run's own (same input, model and settings)."""
    fs, root = filesystem(out)
    existing = read_json(out, PLAN)
    if existing is None:
        if any(info.base_name != LOCK for info in fs.get_file_info(_selector(root))):
            raise InputError(f"--out '{out}' holds other files. Give a new or empty folder, or a corpus run's own.")
        write_json(out, PLAN, identity)
        return
    changed = [key for key in identity if existing.get(key) != identity[key]]
    if changed:
        raise InputError(
            f"--out '{out}' holds a run with a different {' and '.join(changed)} ({PLAN}). Rerun with the same "
            "input, model and settings to resume it, or give a new --out folder."
        )


def _selector(root: str) -> Any:
    import pyarrow.fs as pafs

    return pafs.FileSelector(root, allow_not_found=True)


def _manifest(identity: dict[str, Any], report: EngineReport, started: datetime, seconds: float,
              resumed: bool) -> dict[str, Any]:  # fmt: skip
    from explain.export.files import library_versions  # here: it loads plotly, which a corpus run needs nowhere else

    versions = library_versions()
    for name in ("pyarrow", "ray"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        **{k: identity[k] for k in ("model", "settings", "input")},
        "engine": {"name": report.engine, "workers": report.workers, "threads_per_worker": report.threads_per_worker,
                   "startup_seconds": report.startup_seconds, "address": report.address},
        "resumed": resumed, "compute_seconds": seconds, "versions": versions,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip

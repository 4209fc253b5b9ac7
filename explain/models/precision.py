"""Reduced precision where only ranks are read: ``GLIMPSE_RANKS_PRECISION=auto|float32|bfloat16``.

The sanity check compares *ranks* of explanations on randomised copies of the model (Spearman ρ), so it
can run those copies in bfloat16 (``torch.autocast``): matrix products in bfloat16, accumulated in float32,
the rest in float32. bfloat16 keeps 8 significant bits (unit roundoff 2⁻⁸ ≈ 0.4 %), far finer than what a
rank correlation reads; on the embedded classifier's randomised copies the ranks moved by Spearman ρ
median 0.999 (README, Performance). Every number shown as a measurement (IG, the head maps, faithfulness)
stays float32.

bfloat16 only pays on hardware built for it (Intel's AMX, recent GPUs); elsewhere it is emulated and
slower than float32. ``auto`` therefore probes once per process: a float32 and a bfloat16 matrix product of
a transformer's size, and bfloat16 is used when it ran at least ``PAYS`` times faster. ``float32`` and
``bfloat16`` force the choice.
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from collections.abc import Iterator

import torch

from explain.errors import SettingsError

PRECISION_ENV = "GLIMPSE_RANKS_PRECISION"
PRECISION_CHOICES = ("auto", "float32", "bfloat16")
#: bfloat16 is taken by ``auto`` when its probe product ran this many times faster than float32.
PAYS = 2.0


def ranks_dtype(device: torch.device, choice: str | None = None) -> torch.dtype:
    """float32 or bfloat16 for passes whose results are only ranked (default: ``$GLIMPSE_RANKS_PRECISION``)."""
    name = (choice if choice is not None else os.environ.get(PRECISION_ENV, "")).strip().lower() or "auto"
    if name not in PRECISION_CHOICES:
        raise SettingsError(
            f"Precision '{name[:40]}' is not one of {', '.join(PRECISION_CHOICES)}. Set {PRECISION_ENV} to one of "
            "them; 'auto' takes bfloat16 only where this machine runs it faster."
        )
    if name == "float32" or device.type not in ("cpu", "cuda"):
        return torch.float32
    if name == "bfloat16" or bfloat16_pays(device.type):
        return torch.bfloat16
    return torch.float32


@contextlib.contextmanager
def ranks_precision(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Autocast to ``dtype`` on ``device`` (nothing for float32)."""
    if dtype == torch.float32:
        yield
        return
    with torch.autocast(device.type, dtype=dtype):
        yield


@functools.cache
def bfloat16_pays(device_type: str) -> bool:
    """Whether a (256 × 1024) · (1024 × 1024) product runs ``PAYS`` × faster in bfloat16 here (best of 5)."""
    if device_type == "cuda" and not torch.cuda.is_bf16_supported():
        return False
    a = torch.randn(256, 1024, device=device_type)
    b = torch.randn(1024, 1024, device=device_type)
    return probe_seconds(a, b, torch.float32) >= PAYS * probe_seconds(a, b, torch.bfloat16)


def probe_seconds(a: torch.Tensor, b: torch.Tensor, dtype: torch.dtype) -> float:
    """Best of five timed products of ``a`` and ``b`` under ``dtype`` (one untimed first)."""
    best = float("inf")
    with torch.no_grad(), ranks_precision(a.device, dtype):
        for i in range(6):
            if a.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            a @ b
            if a.device.type == "cuda":
                torch.cuda.synchronize()
            if i:
                best = min(best, time.perf_counter() - start)
    return best

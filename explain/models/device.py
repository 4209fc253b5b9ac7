"""Where the model runs: ``GLIMPSE_DEVICE=auto|cpu|cuda|mps`` (the app) or ``--device`` (the CLI).

``auto`` takes CUDA when torch sees a GPU, then Apple's MPS, else the CPU. The model is moved there once at
load; every tensor a method builds is made on the model's device (:func:`device_of`) and every result comes
back to the CPU as float64 NumPy, so callers never see where the work ran.
"""

from __future__ import annotations

import os

import torch

from explain.errors import SettingsError

DEVICE_ENV = "GLIMPSE_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(choice: str | None = None) -> torch.device:
    """The device for ``choice`` (default: ``$GLIMPSE_DEVICE``, else ``auto``). Raises SettingsError with the fix."""
    name = (choice if choice is not None else os.environ.get(DEVICE_ENV, "")).strip().lower() or "auto"
    if name not in DEVICE_CHOICES:
        raise SettingsError(
            f"Device '{name[:40]}' is not one of {', '.join(DEVICE_CHOICES)}. Set {DEVICE_ENV} (or --device) to one "
            "of them; 'auto' takes a GPU when torch sees one."
        )
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise SettingsError(
            f"{DEVICE_ENV}=cuda, but torch sees no CUDA GPU (torch {torch.__version__}, "
            f"CUDA build: {torch.version.cuda or 'no'}). Install a CUDA build of torch, or use 'auto' or 'cpu'."
        )
    if name == "mps" and not _mps_available():
        raise SettingsError(f"{DEVICE_ENV}=mps, but torch sees no Apple GPU (MPS). Use 'auto' or 'cpu'.")
    return torch.device(name)


def device_of(model: torch.nn.Module) -> torch.device:
    """The device the model's weights are on (every method builds its tensors there)."""
    return next(model.parameters()).device


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())

"""Read-only result arrays: results are cached and shared between sessions, so none may be written through."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, DTypeLike


def frozen(values: ArrayLike, dtype: DTypeLike | None = None) -> np.ndarray:
    """A read-only C-contiguous copy of ``values`` (as ``dtype`` when given). Always a copy, so freezing a
    result never freezes, or stays tied to, an array the caller still writes."""
    out: np.ndarray = np.array(values, dtype=dtype, order="C")
    out.setflags(write=False)
    return out

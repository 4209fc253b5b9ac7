"""Result arrays are read-only copies: a cached result shared by sessions cannot be written through."""

from __future__ import annotations

import numpy as np
import pytest

from explain.arrays import frozen


def test_frozen_is_a_read_only_copy_that_leaves_the_source_writable() -> None:
    source = np.arange(6, dtype=np.int64).reshape(2, 3).T  # not C-contiguous
    out = frozen(source)
    assert not out.flags.writeable and out.flags.c_contiguous and out.dtype == np.int64
    with pytest.raises(ValueError, match="read-only"):
        out[0, 0] = 7
    source[0, 0] = 99  # the caller may go on writing its own array ...
    assert out[0, 0] == 0  # ... and the result does not change with it
    assert frozen([1, 2], np.float64).dtype == np.float64

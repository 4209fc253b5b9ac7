"""What a page says before a long computation: how long it will take, from this input's own model pass."""

from __future__ import annotations

import streamlit as st

import explain
from explain.methods.diagnosis import expected_seconds
from ui.state import Current

#: From this many tokens Diagnose says what it will cost before it starts (a 512-token text takes minutes).
LONG_TOKENS = 128
#: ... or when the head maps and IG's first try are expected to take this long in all.
LONG_SECONDS = 10.0


def diagnose_notice(cur: Current, settings: explain.IGSettings) -> None:
    """For a long input, the expected wait of each part, estimated from the measured attention pass."""
    info, n = cur.bundle.info, cur.result.encoding.n_tokens
    e = expected_seconds(info.num_layers, info.num_heads, cur.result.seconds, settings)
    if n < LONG_TOKENS and e.head_maps + e.ig_first_try < LONG_SECONDS:
        return
    st.info(
        f"A long input ({n} tokens): expect about {_s(e.head_maps)} for the head maps, which show first, "
        f"{_s(e.sweep)} for the sweep below them, and {_s(e.ig_first_try)} for integrated gradients (up to "
        f"{_s(e.ig_cap)} if it needs its step cap). Estimated from this input's own model pass "
        f"({cur.result.seconds:.2f} s); each part shows its progress while it runs. A shorter text is faster."
    )


def _s(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 1.5 else "a second"

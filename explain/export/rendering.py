"""Static rendering of Plotly figures (PNG, SVG, PDF), offline and fast after the first call.

Kaleido 1.x draws with a Chrome; started per call it costs seconds (4.8 s for a first PNG, 8.6 s for
an SVG, measured). Here one Kaleido server per process keeps Debian's Chromium open, so later figures
take a fraction of a second. Calls are serialised: the server renders one figure at a time.
"""

from __future__ import annotations

import os
import shutil
import threading
import warnings
from typing import Literal

import plotly.graph_objects as go
import plotly.io as pio

from explain.errors import ComputationError

StaticFormat = Literal["png", "svg", "pdf"]
_lock = threading.Lock()
_state: dict[str, bool] = {"started": False}


def _browser_path() -> str | None:
    for candidate in (os.environ.get("BROWSER_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def _ensure_server() -> None:
    if _state["started"]:
        return
    path = _browser_path()
    if path is None:
        raise ComputationError(
            "Static export needs Chromium (Debian package 'chromium'); install it, or set BROWSER_PATH to a "
            "Chrome/Chromium binary. HTML, CSV and JSON exports work without it."
        )
    os.environ.setdefault("BROWSER_PATH", path)
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    _state["started"] = True


def to_static(fig: go.Figure, fmt: StaticFormat, scale: float = 2.0) -> bytes:
    """Render ``fig`` as PNG (``scale`` x its pixel size), SVG or PDF."""
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"Unknown static format '{fmt}'. Available: png, svg, pdf.")
    with _lock:
        _ensure_server()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "kopts ignored when using a server": expected here
                data: bytes = pio.to_image(fig, format=fmt, scale=scale if fmt == "png" else 1.0)
        except Exception as exc:  # Kaleido raises several private error types
            _state["started"] = False  # the browser may have died: start a fresh one next time
            raise ComputationError(f"Rendering the figure as {fmt.upper()} failed: {exc}. Try HTML export.") from exc
    return data

"""Static rendering of Plotly figures (PNG, SVG, PDF), offline and fast after the first call.

Kaleido 1.x draws with a Chrome; started per call it costs seconds (4.8 s for a first PNG, 8.6 s for
an SVG, measured). Here one Kaleido per process keeps Debian's Chromium open on a private event loop,
so later figures take a fraction of a second. Kaleido's own sync server is not used: when Chromium
fails to start its thread dies while it still reports running, and every later call waits for ever.
Here every wait has a deadline, a failed or hung browser is stopped (killed if need be) and the next
call starts a fresh one, and the browser path is passed to Kaleido, never written to ``os.environ``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Literal

import plotly.graph_objects as go
import plotly.io as pio

from explain.errors import ComputationError

StaticFormat = Literal["png", "svg", "pdf"]
STATIC_FORMATS: tuple[StaticFormat, ...] = ("png", "svg", "pdf")
#: Seconds one figure may take (and Chromium may take to start) before the renderer is stopped.
RENDER_TIMEOUT_S = 60.0
#: Two tabs render in parallel (18 figures: 4.8 s on one tab, 2.8 s on two, with Kaleido's reloads).
TABS = 2
#: Kaleido reloads a tab (plotly.js and all) after every figure: ~70% of a figure's time. Here a tab is
#: reloaded after this many figures instead (18 figures: 3.1 s -> 0.7 s; PNG bytes identical either way).
RELOAD_EVERY = 50
_STOP_TIMEOUT_S = 5.0
_FIX = (
    "Static export (PNG, SVG, PDF) needs Chromium: install Debian's 'chromium' package (apt-get install chromium) "
    "or set BROWSER_PATH to a working Chrome/Chromium. HTML, CSV and JSON exports work without it."
)

_lock = threading.Lock()  # one caller at a time talks to the server (and starts or stops it)
_server: _Server | None = None


def to_static(fig: go.Figure, fmt: StaticFormat, scale: float = 2.0, *, timeout: float | None = None) -> bytes:
    """Render ``fig`` as PNG (``scale`` x its pixel size), SVG or PDF."""
    return render_many([(fig, fmt, scale)], timeout=timeout)[0]


def render_many(
    jobs: Sequence[tuple[go.Figure | dict[str, Any], StaticFormat, float]], *, timeout: float | None = None
) -> list[bytes]:
    """Render several (figure, format, scale) jobs at once, on all tabs; results in job order.

    Raises ``ComputationError`` (with the fix) when Chromium is missing, does not start, or a figure
    takes longer than ``timeout`` seconds (default ``RENDER_TIMEOUT_S``); the next call starts afresh.
    """
    global _server
    limit = RENDER_TIMEOUT_S if timeout is None else timeout
    specs = [_spec(fig, fmt, scale) for fig, fmt, scale in jobs]
    if not specs:
        return []  # nothing static asked: no browser needed
    if not _lock.acquire(timeout=limit):
        raise ComputationError(f"The renderer was busy for {limit:.0f} s with other figures. Try again or export HTML.")
    try:
        if _server is None or not _server.alive():
            _stop()
            _server = _start_server(limit)
        try:
            return _server.render(specs, limit)
        except TimeoutError:
            _stop(graceful=False)
            raise ComputationError(
                f"Rendering took longer than {limit:.0f} s, so the renderer was stopped; the next export starts a "
                "fresh one. Try again, or export HTML (it needs no browser)."
            ) from None
        except Exception as exc:  # Kaleido and choreographer raise several private error types
            _stop()
            raise ComputationError(f"Rendering failed ({_reason(exc)}). Try again, or export HTML.") from exc
    finally:
        _lock.release()


def stop() -> None:
    """Stop the renderer (Chromium included); the next render starts a new one."""
    locked = _lock.acquire(timeout=_STOP_TIMEOUT_S)  # after a render in progress, but never waits for ever
    try:
        _stop()
    finally:
        if locked:
            _lock.release()


def _stop(*, graceful: bool = True) -> None:
    global _server
    server, _server = _server, None
    if server is not None:
        server.stop(graceful=graceful)


def _start_server(timeout: float) -> _Server:
    path = _browser_path()
    if path is None:
        raise ComputationError(f"No Chromium found. {_FIX}")
    server = _Server(path)
    try:
        server.start(timeout)
    except TimeoutError:
        server.stop(graceful=False)
        raise ComputationError(f"Chromium ({path}) did not start within {timeout:.0f} s. {_FIX}") from None
    except Exception as exc:
        server.stop()
        raise ComputationError(f"Chromium ({path}) did not start ({_reason(exc)}). {_FIX}") from exc
    return server


def _browser_path() -> str | None:
    for candidate in (os.environ.get("BROWSER_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def _new_browser(path: str) -> Any:
    """A Kaleido on ``path`` (called on the server's loop). MathJax off: no CDN request on every page load."""
    return _kaleido_class()(path=path, n=TABS, timeout=None, mathjax=False)


@functools.cache
def _kaleido_class() -> type:
    import kaleido

    class Kaleido(kaleido.Kaleido):  # type: ignore[misc]
        """Kaleido that reloads a tab every RELOAD_EVERY figures, not after each. It overrides a private
        method of kaleido 1.5.0 (pinned); were it renamed, this would go unused and Kaleido reload as before.
        A failed figure stops the whole browser (render_many), so no tab is reused after an error."""

        async def _return_kaleido_tab(self, tab: Any) -> None:
            uses = getattr(tab, "_glimpse_uses", 0) + 1
            tab._glimpse_uses = uses
            if uses % RELOAD_EVERY == 0:
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

    return Kaleido


def _spec(fig: go.Figure | dict[str, Any], fmt: str, scale: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Kaleido's input, sized as ``plotly.io.to_image`` sizes it (the layout's size, else Plotly's default)."""
    if fmt not in STATIC_FORMATS:
        raise ValueError(f"Unknown static format '{fmt}'. Available: {', '.join(STATIC_FORMATS)}.")
    data = fig.to_dict() if isinstance(fig, go.Figure) else fig
    layout = data.get("layout", {})
    template = layout.get("template", {}).get("layout", {})
    width = layout.get("width") or template.get("width") or pio.defaults.default_width
    height = layout.get("height") or template.get("height") or pio.defaults.default_height
    return data, {"format": fmt, "width": width, "height": height, "scale": scale if fmt == "png" else 1.0}


def _reason(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else ""  # choreographer's first sentence; the rest is its own advice
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__


class _Server:
    """One Kaleido (one Chromium with ``TABS`` tabs) on a private event loop in a daemon thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.browser: Any = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="glimpse-kaleido", daemon=True)
        self.thread.start()

    def start(self, timeout: float) -> None:
        async def create() -> Any:
            return _new_browser(self.path)

        self.browser = self._call(create(), timeout)  # kept before open(), so a hung start can be killed
        self._call(self.browser.open(), timeout)

    def alive(self) -> bool:
        process = getattr(self.browser, "subprocess", None)
        return self.thread.is_alive() and (process is None or process.poll() is None)

    def render(self, specs: Sequence[tuple[dict[str, Any], dict[str, Any]]], timeout: float) -> list[bytes]:
        """Every job within ``timeout`` of the previous one finishing; raises TimeoutError otherwise."""
        futures = [self._submit(self.browser.calc_fig(data, opts=opts)) for data, opts in specs]
        pending: set[Future[Any]] = set(futures)
        try:
            while pending:
                done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
                if not done:
                    raise TimeoutError
                for future in done:
                    future.result()  # the first failure stops the batch
        finally:
            for future in pending:
                future.cancel()
        return [bytes(f.result()) for f in futures]

    def stop(self, *, graceful: bool = True) -> None:
        """Close Chromium (killed first unless ``graceful``: a hung one would not answer), then the loop."""
        browser, self.browser = self.browser, None
        if not graceful:
            _kill(browser)
        if browser is not None:
            with contextlib.suppress(Exception):  # whatever is left is killed below
                self._call(browser.close(), _STOP_TIMEOUT_S)  # also removes its temporary profile
        _kill(browser)
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(_cancel_and_stop, self.loop)
            self.thread.join(_STOP_TIMEOUT_S)
        if not self.thread.is_alive():
            self.loop.close()

    def _submit(self, coro: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(_abandonable(coro), self.loop)

    def _call(self, coro: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = self._submit(coro)
        try:
            return future.result(timeout)
        finally:
            future.cancel()  # no-op once done; a hung step is abandoned


async def _abandonable(coro: Coroutine[Any, Any, Any]) -> Any:
    """``coro``, except that once cancelled (abandoned after a timeout) its own error is not logged as unread."""
    try:
        return await coro
    except Exception:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            return None  # choreographer turns a cancelled start into BrowserFailedError; nobody waits for it
        raise


def _cancel_and_stop(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()
    loop.call_soon(loop.stop)  # after the cancellations have run


def _kill(browser: Any) -> None:
    """Kill Chromium's whole process group (it runs in a session of its own) if it is still there."""
    process = getattr(browser, "subprocess", None)
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be refused; it goes shortly
        process.wait(_STOP_TIMEOUT_S)


atexit.register(stop)

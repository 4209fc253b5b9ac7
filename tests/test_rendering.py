"""The static renderer never hangs: every wait has a deadline, a failure stops the browser and the next
call starts a fresh one, and the process environment is left as it was."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest

from explain.errors import ComputationError
from explain.export import rendering

ROOT = Path(__file__).parent.parent
FIG = go.Figure(go.Bar(y=[1, 3, 2]), layout={"width": 300, "height": 200})


def _png(data: bytes) -> bool:
    return data[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Counts the renderer's starts (a fresh one for each test)."""
    rendering.stop()
    calls: list[float] = []
    real = rendering._start_server

    def counting(timeout: float) -> Any:
        calls.append(timeout)
        return real(timeout)

    monkeypatch.setattr(rendering, "_start_server", counting)
    yield calls
    rendering.stop()


def test_a_browser_that_cannot_start_fails_fast_and_keeps_failing_fast() -> None:
    """The reported hang: with BROWSER_PATH=/bin/false Kaleido's server thread died while it still reported
    running, and every later export waited for ever (in a fresh process, as the issue reproduces it)."""
    code = (
        "import json, time, plotly.graph_objects as go\n"
        "from explain.export.rendering import to_static\n"
        "from explain.errors import ComputationError\n"
        "out = []\n"
        "for _ in range(2):\n"
        "    start = time.perf_counter()\n"
        "    try:\n"
        "        to_static(go.Figure(go.Bar(y=[1])), 'png')\n"
        "        out.append(['rendered', 0])\n"
        "    except ComputationError as exc:\n"
        "        out.append([str(exc), time.perf_counter() - start])\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "BROWSER_PATH": "/bin/false"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=150
    )  # the old renderer never returned here
    assert done.returncode == 0, done.stderr[-2000:]
    (first, first_s), (second, second_s) = json.loads(done.stdout.strip().splitlines()[-1])
    for message in (first, second):
        assert "/bin/false" in message and "install Debian's 'chromium'" in message and "BROWSER_PATH" in message
        assert "HTML, CSV and JSON exports work without it" in message
    assert first_s < 20 and second_s < 20  # a failed start is seen at once, not at the deadline


class _Silent:
    """A Kaleido stand-in that starts, then never answers a render."""

    closed = 0

    def __init__(self, path: str) -> None:
        self.path = path

    async def open(self) -> None:
        return None

    async def calc_fig(self, fig: Any, opts: Any = None) -> bytes:
        await asyncio.sleep(3600)
        return b""

    async def close(self) -> None:
        type(self).closed += 1


def test_a_render_that_never_answers_times_out_then_the_renderer_restarts(
    monkeypatch: pytest.MonkeyPatch, starts: list[float]
) -> None:
    real = rendering._new_browser
    monkeypatch.setattr(rendering, "_new_browser", _Silent)
    begin = time.perf_counter()
    with pytest.raises(ComputationError, match=r"longer than 2 s.*Try again, or export HTML"):
        rendering.to_static(FIG, "png", 1.0, timeout=2)
    assert time.perf_counter() - begin < 15  # the deadline, plus stopping the silent browser
    assert _Silent.closed == 1 and len(starts) == 1
    monkeypatch.setattr(rendering, "_new_browser", real)  # Chromium works again
    assert _png(rendering.to_static(FIG, "png", 1.0))
    assert len(starts) == 2  # the failure stopped the server and this call started a real one
    assert _png(rendering.to_static(FIG, "png", 1.0)) and len(starts) == 2  # which is then reused


def test_a_browser_that_never_starts_is_killed_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, starts: list[float]
) -> None:
    pid_file = tmp_path / "pid"
    hung = tmp_path / "hung-chromium"
    hung.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 600\n")
    hung.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(hung))
    begin = time.perf_counter()
    with pytest.raises(ComputationError, match=r"did not start within 3 s\. .*install Debian's 'chromium'"):
        rendering.to_static(FIG, "svg", timeout=3)
    assert time.perf_counter() - begin < 20
    pid = int(pid_file.read_text())
    time.sleep(0.2)
    with pytest.raises(ProcessLookupError):  # the hung "browser" was killed, not left behind
        os.kill(pid, 0)


def test_a_failed_start_is_retried_on_the_next_render(monkeypatch: pytest.MonkeyPatch, starts: list[float]) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/bin/false")
    with pytest.raises(ComputationError, match="/bin/false"):
        rendering.to_static(FIG, "pdf")
    monkeypatch.delenv("BROWSER_PATH")
    assert rendering.to_static(FIG, "pdf")[:5] == b"%PDF-"
    assert len(starts) == 2


def test_rendering_leaves_the_environment_alone(monkeypatch: pytest.MonkeyPatch, starts: list[float]) -> None:
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    before = dict(os.environ)
    assert _png(rendering.to_static(FIG, "png"))
    assert len(starts) == 1  # a real start happened in this test
    assert dict(os.environ) == before


def test_many_jobs_come_back_in_order_and_none_needs_no_browser(
    monkeypatch: pytest.MonkeyPatch, starts: list[float]
) -> None:
    assert rendering.render_many([]) == [] and starts == []  # HTML, CSV and JSON exports never start Chromium
    png, svg, pdf, png4 = rendering.render_many([(FIG, "png", 1.0), (FIG, "svg", 1.0), (FIG, "pdf", 1.0),
                                                 (FIG.to_dict(), "png", 4.0)])  # fmt: skip
    assert _png(png) and svg.lstrip().startswith(b"<svg") and pdf[:5] == b"%PDF-"
    assert png4[16:24] == (1200).to_bytes(4, "big") + (800).to_bytes(4, "big")  # IHDR: 4 x 300 by 4 x 200
    assert len(starts) == 1


def test_a_tab_is_reloaded_every_few_figures_and_nothing_leaks_between_them(
    monkeypatch: pytest.MonkeyPatch, starts: list[float]
) -> None:
    from kaleido._kaleido_tab._tab import _KaleidoTab

    reloads = [0]
    real = _KaleidoTab.reload

    async def counting(self: _KaleidoTab) -> None:
        reloads[0] += 1
        await real(self)

    monkeypatch.setattr(_KaleidoTab, "reload", counting)
    monkeypatch.setattr(rendering, "TABS", 1)
    monkeypatch.setattr(rendering, "RELOAD_EVERY", 3)
    first = rendering.to_static(FIG, "png")
    other = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]), layout={"title": {"text": "another"}})
    images = rendering.render_many([(other, "svg", 1.0)] * 5 + [(other, "pdf", 1.0)] * 5 + [(FIG, "png", 2.0)])
    assert reloads[0] == 12 // 3  # Kaleido alone reloads after each of the 12 figures
    assert images[-1] == first  # the same figure gives the same file after eleven others on that tab
    assert all(pdf[:5] == b"%PDF-" for pdf in images[5:10])  # the same PDF five times in a row on one tab


def test_a_browser_that_died_between_renders_is_replaced(starts: list[float]) -> None:
    import signal

    assert _png(rendering.to_static(FIG, "png", 1.0))
    server = rendering._server
    assert server is not None
    os.killpg(server.browser.subprocess.pid, signal.SIGKILL)  # Chromium crashed or was killed meanwhile
    server.browser.subprocess.wait(10)
    assert _png(rendering.to_static(FIG, "png", 1.0))
    assert len(starts) == 2

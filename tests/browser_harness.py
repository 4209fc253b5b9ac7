"""Start Glimpse with ``streamlit run`` on localhost and drive it with Debian's Chromium (no network).

Shared by the browser tests, ``bench/attention_page.py`` and ``scripts/screenshot.sh`` (which runs this
module: ``python -m tests.browser_harness docs/screenshot.png``). Playwright never downloads a browser:
it drives ``/usr/bin/chromium`` through ``executable_path``.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GLIMPSE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_LOCAL = re.compile(r"^(https?|wss?)://(localhost|127\.0\.0\.1)(:\d+)?/")
SCREENSHOT_TEXT = "The movie was a complete waste of time, but the soundtrack was wonderful."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(env: dict[str, str] | None = None, timeout_s: float = 120, entry: str = "serve.py") -> Iterator[str]:
    """Run the app as ``scripts/run.sh`` does (``serve.py``: headers, warm-up); yields its base URL, then stops it."""
    port = free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "2",
                **(env or {})}  # fmt: skip
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / entry),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("streamlit did not start: " + proc.stdout.read().decode()[-2000:]) from exc  # type: ignore[union-attr]
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def finished_run(payload: bytes | str) -> bool:
    """Whether a websocket frame from the server says a script run has finished (not cut short by a rerun).

    The server's own message, not the page's look: the status widget and ``data-test-script-state`` read
    "not running" in the gap between an action and the run it causes, which is how a test read a text box
    before its page had run (issue 15)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    if isinstance(payload, str):
        return False
    msg = ForwardMsg.FromString(payload)
    return msg.WhichOneof("type") == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN


@dataclass
class Session:
    """One browser page with the network cut, counting what the server sends and the script runs it finishes."""

    page: Any
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    ws_bytes: list[int] = field(default_factory=lambda: [0])
    runs: list[int] = field(default_factory=lambda: [0])  # script runs finished, counted from the server's frames
    sockets: list[Any] = field(default_factory=list)

    def wait_idle(self, after: int | None = None, timeout_ms: int = 120_000) -> None:
        """Wait until the app is connected and no script is running; with ``after`` (``runs[0]`` read before an
        action that reruns the script), first until a run has finished since."""
        self.page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout_ms)
        if after is not None and self.runs[0] <= after:
            # events reach Python only inside a Playwright call, so none can slip between the check and the wait
            self.sockets[-1].wait_for_event(
                "framereceived", predicate=lambda _: self.runs[0] > after, timeout=timeout_ms
            )
        self.page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout_ms)

    def act(self, action: Callable[[], object], timeout_ms: int = 120_000) -> None:
        """Do something that reruns the script (a widget changed, a page link), then wait for that run to end."""
        before = self.runs[0]
        action()
        self.wait_idle(after=before, timeout_ms=timeout_ms)

    def server_seconds(self) -> float:
        text = self.page.get_by_text(re.compile(r"Server time for this page")).last.inner_text()
        return float(re.search(r"([\d.]+) s", text).group(1))  # type: ignore[union-attr]


@contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_session(b: Any, url: str, width: int = 1400, height: int = 1000) -> Session:
    context = b.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    session = Session(page)

    def route(r: Any) -> None:
        if _LOCAL.match(r.request.url) or r.request.url.startswith(("data:", "blob:", "about:")):
            r.continue_()
        else:
            session.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("dialog", lambda d: (session.dialogs.append(d.message), d.dismiss()))

    def count(ws: Any) -> None:
        def add(payload: Any) -> None:
            session.ws_bytes[0] += len(payload)
            session.runs[0] += finished_run(payload)

        session.sockets.append(ws)
        ws.on("framereceived", add)

    page.on("websocket", count)
    with page.expect_websocket(lambda ws: ws.url.endswith("/_stcore/stream")):
        page.goto(url)
    session.wait_idle(after=0)  # the first run
    return session


#: True once the page's size and its figures' boxes hold still across two animation frames.
_SETTLED = """() => new Promise(done => {
    const box = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
    const look = () => JSON.stringify([box(document.documentElement), document.documentElement.scrollHeight,
        [...document.querySelectorAll('svg')].map(box)]);
    const first = look();
    requestAnimationFrame(() => requestAnimationFrame(() => done(look() === first)));
})"""


def wait_settled(page_or_frame: Any, timeout_ms: int = 30_000) -> None:
    """Wait until drawing has stopped moving things (a condition, polled each frame; never a fixed time)."""
    page_or_frame.wait_for_function(_SETTLED, timeout=timeout_ms)


def type_into(session: Session, label: str, text: str, attempts: int = 3) -> None:
    """Type like a user (Playwright's fill() bypasses Streamlit's text area state) and submit."""
    area = session.page.get_by_role("textbox", name=label)
    for _ in range(attempts):
        before = area.input_value()
        area.click()
        session.page.keyboard.press("Control+A")
        session.page.keyboard.type(text)
        if area.input_value() == text:  # focus can be lost while the page is still laying out
            runs = session.runs[0]
            session.page.keyboard.press("Control+Enter")
            session.wait_idle(after=None if before == text else runs)  # an unchanged text reruns nothing
            if area.input_value() == text:
                return
        session.wait_idle()
    raise AssertionError(f"could not type into {label!r}")


def screenshot(b: Any, url: str, path: Path, text: str = SCREENSHOT_TEXT) -> None:
    """The README's picture: the Attention page for ``text``, once bertviz has drawn, at 1400 x 1000."""
    session = open_session(b, url + "/?text=" + urllib.parse.quote(text))
    session.page.frame_locator("iframe").first.locator("#vis svg").first.wait_for(timeout=60_000)
    session.page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    wait_settled(session.page)  # let Plotly finish its transitions
    session.page.screenshot(path=str(path))
    session.page.context.close()


def main(argv: list[str]) -> int:
    """``python -m tests.browser_harness OUT.png``: serve the app on its default model and photograph it."""
    if len(argv) != 1:
        print("usage: python -m tests.browser_harness OUT.png", file=sys.stderr)
        return 2
    with serve() as url, browser() as b:
        screenshot(b, url, Path(argv[0]).resolve())
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The served app: security headers on every response, websockets only from allowed hosts and origins."""

from __future__ import annotations

import base64
import os
import socket
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.browser_harness import serve
from ui.server import frame_ancestors


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serve() as base:
        yield base


def _handshake(url: str, host: str, origin: str | None = None) -> str:
    """The status line of a websocket upgrade to Streamlit's stream with the given Host and Origin."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:  # type: ignore[arg-type]
        key = base64.b64encode(os.urandom(16)).decode()
        lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host}", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]  # fmt: skip
        if origin:
            lines.append(f"Origin: {origin}")
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(256).split(b"\r\n")[0].decode()


def test_every_response_carries_the_security_headers(url: str) -> None:
    for path in ("/", "/_stcore/health", "/Attribution"):
        headers = urllib.request.urlopen(url + path, timeout=10).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_websockets_refuse_foreign_hosts_and_origins(url: str) -> None:
    port = urlsplit(url).port
    assert _handshake(url, f"localhost:{port}").startswith("HTTP/1.1 101")
    assert _handshake(url, f"127.0.0.1:{port}", f"http://127.0.0.1:{port}").startswith("HTTP/1.1 101")
    assert _handshake(url, "evil.example").startswith("HTTP/1.1 403")  # DNS rebinding
    assert _handshake(url, f"localhost:{port}", "http://evil.example").startswith("HTTP/1.1 403")  # another site


def test_framing_is_opt_in() -> None:
    assert frame_ancestors({}) == "'none'"
    assert frame_ancestors({"GLIMPSE_FRAME_ANCESTORS": "https://huggingface.co https://*.hf.space"}) == (
        "https://huggingface.co https://*.hf.space"
    )


def test_the_server_entry_imports_no_model_code_before_it_answers() -> None:
    """serve.py imports ui.server before Streamlit listens: torch, transformers and explain must wait for
    the warm-up thread (about 4 s of imports), or every launch answers its first request that much later."""
    import json
    import subprocess
    import sys

    code = "import json, sys, ui.server; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                           check=True).stdout))  # fmt: skip
    assert not loaded & {"torch", "transformers", "explain", "streamlit", "numpy"}, loaded


def test_every_name_the_ui_package_lists_resolves() -> None:
    import ui

    for name in ui.__all__:
        assert getattr(ui, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ui.nope  # noqa: B018

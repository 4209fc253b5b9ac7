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

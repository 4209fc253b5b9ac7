"""What the server does beyond serving pages: security headers on every response, and a warm-up at start.

``serve.py`` wraps the app in Streamlit's ASGI ``st.App`` so that both apply to every request and to
the process once. The warm-up loads the default model, runs the first page's computations for the
first example, and leaves them in the shared caches, so a newcomer's first page is served from the
cache instead of paying the imports, the model load and the first pass on their first click.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("glimpse")

#: Nothing loads from another origin: scripts, styles, fonts, images and connections stay on this server
#: (the app works offline, so nothing needs more), and the bertviz frames (srcdoc, inline scripts) work.
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-src 'self' blob: data:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'"
)


def frame_ancestors(env: dict[str, str] | None = None) -> str:
    """Who may embed the app in a frame: nobody, unless ``GLIMPSE_FRAME_ANCESTORS`` lists origins."""
    raw = (os.environ if env is None else env).get("GLIMPSE_FRAME_ANCESTORS", "").split()
    return " ".join(raw) if raw else "'none'"


class SecurityHeaders:
    """ASGI middleware adding CSP, X-Frame-Options, X-Content-Type-Options and Referrer-Policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        ancestors = frame_ancestors()
        headers = [
            (b"content-security-policy", f"{CSP}; frame-ancestors {ancestors}".encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if ancestors == "'none'":
            headers.append((b"x-frame-options", b"DENY"))
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def warm_up() -> None:
    """Load the default model and compute the first page's views for the first example (cached)."""
    start = time.perf_counter()
    try:
        import explain
        from ui import cache
        from ui.sidebar import EXAMPLES
        from ui.state import InputKey

        source = explain.default_source(explain.policy_from_env())
        bundle = cache.models().get(source)
        key = InputKey.of(bundle, EXAMPLES[0], None)
        encoding = explain.prepare_input(bundle, EXAMPLES[0])
        result = cache.cached(("attention", key), lambda: explain.run_attention(bundle, encoding))
        if bundle.info.has_classifier:
            settings = explain.IGSettings()
            ig = lambda: explain.attribute(bundle, encoding, settings, logits=result.logits)  # noqa: E731
            cache.cached(("ig", key, settings), ig)
        log.warning("Glimpse warmed up in %.1f s (model %s)", time.perf_counter() - start, source.label)
    except Exception:  # a failed warm-up only means the first user pays the load; the page shows the error
        log.exception("Glimpse warm-up failed")


@asynccontextmanager
async def lifespan(app: object) -> AsyncIterator[None]:
    threading.Thread(target=warm_up, name="glimpse-warm-up", daemon=True).start()  # the server answers meanwhile
    yield

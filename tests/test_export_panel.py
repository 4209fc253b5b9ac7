"""AppTest of the export panel: a file is prepared first, a failure shows its fix and the page stays, and a
prepared file is never served once the choice behind it has changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explain.export import rendering
from tests.test_app import _app, _ok

PREPARED = "export.attention.prepared"


def _attention_page(monkeypatch: pytest.MonkeyPatch, folder: Path, text: str) -> AppTest:
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(folder))
    at = _app(text)
    _ok(at)
    assert at.title[0].value == "Attention"
    return at


def _downloads(at: AppTest) -> list[str]:
    return [el.proto.label for el in at.get("download_button")]


def _buttons(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def test_a_failing_static_export_shows_the_fix_and_keeps_the_page(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path
) -> None:
    at = _attention_page(monkeypatch, payload_model_dir, "A page that must stay.")
    page_before = _iframes_and_charts(at)
    assert "Prepare Layer 0, head 0 (PNG)" in _buttons(at) and "Everything (zip)" in _buttons(at)
    assert not _downloads(at)  # nothing is offered before it is prepared
    rendering.stop()
    monkeypatch.setenv("BROWSER_PATH", "/bin/false")  # Chromium cannot start
    at.button(key="export.attention.prepare.figure").click().run()
    _ok(at)
    (error,) = at.error
    shown = error.value.replace("\\", "").replace("\u2060", "")  # as read: Markdown escapes removed
    assert "Chromium (/bin/false) did not start" in shown
    assert "install Debian's 'chromium' package (apt-get install chromium) or set BROWSER_PATH" in shown
    assert "HTML, CSV and JSON exports work without it" in shown
    assert not _downloads(at) and PREPARED not in at.session_state
    assert _iframes_and_charts(at) == page_before  # the page is as it was
    monkeypatch.delenv("BROWSER_PATH")  # Chromium is back: the same button now prepares the file
    at.button(key="export.attention.prepare.figure").click().run()
    _ok(at)
    assert not at.error
    (label,) = _downloads(at)
    assert label.startswith("Download Layer 0, head 0 (PNG): attention-L0-H0.png (")
    assert at.session_state[PREPARED].data[:8] == b"\x89PNG\r\n\x1a\n"


def _iframes_and_charts(at: AppTest) -> tuple[list[str], int]:
    return [el.proto.srcdoc for el in at.get("iframe")], len(at.get("plotly_chart"))


def test_a_changed_choice_never_serves_a_stale_file(monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path) -> None:
    at = _attention_page(monkeypatch, payload_model_dir, "Prepared files follow the choices.")
    at.button(key="export.attention.prepare.rollout.json").click().run()
    _ok(at)
    (label,) = _downloads(at)
    assert label.startswith("Download Rollout (JSON): rollout.json")
    data = json.loads(at.session_state[PREPARED].data)
    assert data["labels"][0] == "[CLS]" and data["provenance"]["input"]["text"] == "Prepared files follow the choices."
    at.selectbox(key="export.attention.format").set_value("svg").run()  # the figure choice: not this file
    assert len(_downloads(at)) == 1
    at.slider(key="attention.residual").set_value(0.8).run()  # the rollout changes with its residual weight
    _ok(at)
    assert not _downloads(at) and PREPARED not in at.session_state  # dropped, not kept in memory
    at.button(key="export.attention.prepare.figure").click().run()  # one prepared file per panel
    at.selectbox(key="export.attention.format").set_value("html").run()
    _ok(at)
    assert not _downloads(at) and PREPARED not in at.session_state  # SVG was asked, HTML is chosen now
    at.button(key="export.attention.prepare.figure").click().run()
    _ok(at)
    (label,) = _downloads(at)
    assert label.startswith("Download Layer 0, head 0 (HTML)")
    assert b"<html" in at.session_state[PREPARED].data[:2000]

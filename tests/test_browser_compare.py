"""Real browser: a minimal pair on the Compare page draws the Δ chart and the head-divergence map."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import pytest

from tests.browser_harness import CHROMIUM, browser, open_session, serve, type_into

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)


def _drawn(s: object, title: str) -> None:
    s.page.wait_for_function(  # type: ignore[attr-defined]
        "t => [...document.querySelectorAll('.js-plotly-plot')].some(g => g.querySelector('.main-svg') && "
        "[...g.querySelectorAll('.gtitle')].some(x => x.textContent.includes(t)))",
        arg=title, timeout=90_000,
    )  # fmt: skip


def test_a_minimal_pair_draws_its_delta_and_divergence() -> None:
    from playwright.sync_api import expect

    query = urllib.parse.urlencode({"text": "The movie was good.", "compare": "The movie was not good."})
    with serve() as url, browser() as b:
        s = open_session(b, url + "/compare?" + query)
        _drawn(s, "their difference per word")
        _drawn(s, "Attention divergence A vs B")
        assert s.page.get_by_text("Prediction B").count() >= 1
        assert "not" in s.page.locator(".js-plotly-plot", has_text="difference per word").first.inner_text()
        type_into(s, "Sentence B", "The movie was terrible.")  # a new pair from the box
        # the old pair's chart is still up while the new one computes: wait for the new words, not any chart
        expect(s.page.locator(".js-plotly-plot", has_text="difference per word").first).to_contain_text(
            "terrible", timeout=90_000
        )
        assert s.blocked == [] and s.dialogs == []

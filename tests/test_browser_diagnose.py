"""Real browser: clicking a cell of the Diagnose page's head map opens that head."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import pytest

from tests.browser_harness import CHROMIUM, browser, open_session, serve

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)


def test_clicking_a_head_map_cell_opens_that_head(payload_model_dir: Path) -> None:
    from playwright.sync_api import expect

    layer, head, layers, heads = 1, 2, 2, 4  # the tiny classifier has 2 layers of 4 heads
    with serve({"GLIMPSE_DEFAULT_MODEL": str(payload_model_dir)}) as url, browser() as b:
        s = open_session(b, url + "/diagnose?text=" + urllib.parse.quote("A film with good actors and a thin plot"))
        chart = s.page.locator(".js-plotly-plot", has_text="when a head is removed").first
        chart.wait_for(timeout=60_000)
        area = chart.locator(".nsewdrag").first.bounding_box()  # the plotting area: heads across, layers down
        assert area is not None
        x = area["x"] + (head + 0.5) / heads * area["width"]
        y = area["y"] + (layer + 0.5) / layers * area["height"]
        s.act(lambda: s.page.mouse.click(x, y))  # a selection reruns the page
        s.page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => t.textContent === "
            f"'Layer {layer}, head {head}')",
            timeout=60_000,
        )
        expect(s.page.get_by_role("combobox", name="Layer", exact=True).last).to_have_value(str(layer))
        expect(s.page.get_by_role("combobox", name="Head", exact=True).last).to_have_value(str(head))
        frame = s.page.locator("iframe").last.get_attribute("srcdoc") or ""
        assert f'\\"heads\\": [{head}]' in frame or f'"heads": [{head}]' in frame  # bertviz opens on that head
        assert s.blocked == [] and s.dialogs == []


def test_after_prepare_the_zip_download_is_in_view(payload_model_dir: Path) -> None:
    """'Everything (zip)' is prepared inside the export panel and its download appears where the user clicked,
    in a real browser. The click waits for the page's first run to end (the head maps are drawn before IG, so
    clicking on their appearance raced the run under load); the panel's staying open across the rerun is
    pinned by the AppTest test_a_zip_prepared_on_one_diagnose_tab_is_not_offered_on_another."""
    with serve({"GLIMPSE_DEFAULT_MODEL": str(payload_model_dir)}) as url, browser() as b:
        s = open_session(b, url + "/diagnose?text=" + urllib.parse.quote("A film with good actors and a thin plot"))
        s.page.locator(".js-plotly-plot", has_text="when a head is removed").first.wait_for(timeout=60_000)
        s.wait_idle()  # the head maps come before IG: the page is still running when they appear
        s.page.get_by_text("Export figures and data").click()
        zip_button = s.page.get_by_role("button", name="Everything (zip)")
        zip_button.wait_for(state="visible", timeout=60_000)
        s.act(zip_button.click)
        download = s.page.get_by_role("button", name="Download Everything (zip)")
        download.wait_for(state="visible", timeout=120_000)
        s.wait_idle()
        assert download.is_visible()  # still open once the run has finished
        assert s.blocked == [] and s.dialogs == []

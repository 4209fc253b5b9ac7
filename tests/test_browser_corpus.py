"""Real browser: a row clicked in a corpus results table opens on the Attribution page, its text in the sidebar."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser_harness import CHROMIUM, browser, open_session, serve
from tests.fixtures import build_tiny

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

HEADER_PX, ROW_PX = 35, 35  # Streamlit's data grid: the header row, then rows of this height


def test_a_clicked_row_opens_on_attribution(tmp_path: Path) -> None:
    from explain import ModelSource, SourceKind, load_bundle
    from explain.corpus import run_corpus

    model = tmp_path / "m"
    build_tiny("bert", model, classifier=True, id2label={0: "negative", 1: "positive"})
    source = tmp_path / "in.tsv"
    source.write_text("a fine film\t1\na dull film\t0\ngood actors\t1\n", encoding="utf-8")
    run_corpus(load_bundle(ModelSource(SourceKind.FOLDER, str(model))), str(source), str(tmp_path / "runs" / "small"))
    env = {"GLIMPSE_DEFAULT_MODEL": str(model), "GLIMPSE_CORPUS_ROOT": str(tmp_path / "runs")}
    with serve(env) as url, browser() as b:
        s = open_session(b, url + "/corpus")
        s.page.get_by_text("a row to open it").wait_for(timeout=90_000)
        grid = s.page.locator('[data-testid="stDataFrame"]:visible').first
        # the grid draws its canvas with the accessible table glide-data-grid keeps beside it: once row 2's
        # text is in that table, the rows are laid out and a click lands on them
        grid.locator('[role="gridcell"]', has_text="a dull film").first.wait_for(state="attached", timeout=60_000)
        grid.scroll_into_view_if_needed()  # the start panel above pushes the table below the fold
        box = grid.bounding_box()
        assert box is not None
        s.page.mouse.click(box["x"] + 15, box["y"] + HEADER_PX + ROW_PX + ROW_PX / 2)  # row 2's selection box
        opened = s.page.get_by_text("Row 2", exact=False)
        opened.wait_for(timeout=60_000)
        s.page.get_by_role("button", name="Attribution").click()
        s.page.wait_for_url("**/attribution*", timeout=60_000)
        s.page.wait_for_function(  # the sidebar's first box holds the row's text
            "() => document.querySelector('[data-testid=\"stSidebar\"] textarea')?.value === 'a dull film'",
            timeout=60_000,
        )
        s.page.wait_for_function(  # the page explains the row's text, not the previous one
            "() => [...document.querySelectorAll('.js-plotly-plot')].some(g => g.textContent.includes('dull'))",
            timeout=90_000,
        )
        assert s.blocked == [] and s.dialogs == []

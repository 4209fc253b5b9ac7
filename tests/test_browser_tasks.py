"""Real browser: each task's Attribution page, on a tiny seeded head, shows the task's output, names the
target it explains and draws the certified attribution (conditions waited for, never fixed sleeps)."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import pytest

from tests.browser_harness import CHROMIUM, browser, open_session, serve
from tests.fixtures import build_task

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

#: Per task: the link's parameters, and words of the caption(s) that name the default target(s).
CASES = {
    "token-classification": ({"text": "Alice lives in Paris with Bob."}, "logit of 'B-"),
    "question-answering": (
        {"text": "Who lives in Paris?", "text_b": "Alice lives in Paris with Bob."},
        ("start logit at token", "end logit at token"),  # both ends of the answer, by default
    ),
    "fill-mask": ({"text": "Paris is the [MASK] of France."}, "at [MASK] 1"),
    "multi-label": ({"text": "Alice lives in Paris with Bob."}, "logit (sigmoid as a probability) of"),
    "regression": ({"text": "Alice lives in Paris with Bob."}, "of 'similarity'"),
    "zero-shot": ({"text": "The match went to extra time.", "labels": "sport, weather"}, "logit of 'entailment'"),
}


@pytest.mark.parametrize("task", list(CASES))
def test_attribution_page_of_each_task(tmp_path: Path, task: str) -> None:
    from playwright.sync_api import expect

    folder = build_task("bert", task, tmp_path / task)
    params, target_words = CASES[task]
    with serve({"GLIMPSE_DEFAULT_MODEL": str(folder)}) as url, browser() as b:
        s = open_session(b, url + "/attribution?" + urllib.parse.urlencode(params))
        s.page.get_by_text("Completeness gap δ").first.wait_for(timeout=120_000)
        s.page.locator(".glimpse-token").first.wait_for(timeout=60_000)  # the coloured tokens of IG
        s.wait_idle()
        expect(s.page.get_by_text(f"{task}:", exact=False).first).to_be_visible()  # the task's headline
        for words in (target_words,) if isinstance(target_words, str) else target_words:
            expect(s.page.get_by_text(words, exact=False).first).to_be_visible()  # the target, named
        assert s.page.locator("[data-testid='stException']").count() == 0
        assert s.page.locator("[data-testid='stAlertContentError']").count() == 0
        assert s.blocked == [] and s.dialogs == []

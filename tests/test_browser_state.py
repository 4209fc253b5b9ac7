"""Real browser: controls survive multi-hop page switches, and the result on screen is the CLI's.

The bug this guards (seen 4 of 4 times in a browser, never in AppTest): Attribution → Attention → Model →
Attribution reset the accuracy controls to their minimums and the next IG run used them silently.
"""

from __future__ import annotations

import functools
import json
import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from explain.cli import main
from tests.browser_harness import CHROMIUM, Session, browser, open_session, serve

pytestmark = pytest.mark.browser
TEXT = "A gentle, funny film that runs out of ideas halfway."

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def session() -> Iterator[Session]:
    with serve() as url, browser() as b:
        yield open_session(b, url + "/attribution?text=" + urllib.parse.quote(TEXT))


def _slider(s: Session, label: str) -> Any:
    return s.page.locator('[data-testid="stSlider"]', has_text=label).get_by_role("slider")


def _set_slider(s: Session, label: str, value: str) -> None:
    thumb = _slider(s, label)
    for key, end in (("ArrowLeft", "min"), ("ArrowRight", "max")):  # one way, then the other (an <input type=range>)
        while thumb.get_attribute("aria-valuetext") != value:
            if thumb.input_value() == thumb.get_attribute(end):
                break  # at the end: a key press would change nothing and rerun nothing
            thumb.focus()
            s.act(functools.partial(s.page.keyboard.press, key))
        else:
            return
    raise AssertionError(f"{label} never showed {value}")


def _choose(s: Session, label: str, option: str) -> None:
    if s.page.get_by_role("combobox", name=label).input_value() == option:
        return  # choosing the shown option reruns nothing
    box = s.page.locator('[data-testid="stSelectbox"]', has_text=label)
    box.get_by_role("button", name="Open").click()
    s.act(s.page.get_by_role("option", name=option, exact=True).click)


def _controls(s: Session) -> dict[str, str]:
    if not _slider(s, "Tolerance").is_visible():
        s.page.get_by_text("Accuracy", exact=True).click()
    radio = s.page.locator('[data-testid="stRadio"]', has_text="Attribute")
    return {
        "tolerance": str(_slider(s, "Tolerance").get_attribute("aria-valuetext")),
        "cap": str(_slider(s, "Step cap").get_attribute("aria-valuetext")),
        "class": s.page.get_by_role("combobox", name="Explain class").input_value(),
        "output": radio.locator("label", has=s.page.locator("input:checked")).inner_text().strip(),
        "baseline": s.page.get_by_role("combobox", name="Baseline").input_value(),
    }


def _metrics(s: Session) -> dict[str, str]:
    s.page.locator('[data-testid="stMetric"]', has_text="Per-token error").wait_for(timeout=60_000)
    out = {}
    for metric in s.page.locator('[data-testid="stMetric"]').all():
        label, *_, value = [t for t in metric.inner_text().split("\n") if t.strip()]
        out[label] = value
    return out


def _hop(s: Session, *pages: str) -> None:
    for page in pages:
        s.act(s.page.get_by_role("link", name=page, exact=True).click)


def test_controls_and_result_survive_multi_hop_paths_and_match_the_cli(
    session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    s = session
    s.page.get_by_text("Accuracy", exact=True).click()
    _set_slider(s, "Tolerance", "0.5%")
    _set_slider(s, "Step cap", "97")
    _choose(s, "Explain class", "negative")
    s.act(s.page.locator('[data-testid="stRadio"]', has_text="Attribute").get_by_text("probability").click)
    wanted = _controls(s)
    assert wanted["tolerance"] == "0.5%" and wanted["cap"] == "97" and wanted["class"] == "negative"
    assert wanted["output"] == "probability"
    shown = _metrics(s)

    assert main(["attribute", "--text", TEXT, "--target", "0", "--output", "probability", "--tolerance", "0.005",
                 "--max-steps", "97"]) == 0  # fmt: skip
    cli = json.loads(capsys.readouterr().out)
    assert shown["Steps"] == str(cli["steps"])
    assert shown["Relative |δ|"] == f"{cli['relative_delta']:.2%}"
    assert shown["Per-token error"] == f"{cli['token_error']:.2%}"
    assert shown["f(input)"] == f"{cli['f_input']:+.4f}"

    for path in (("Attention", "Model", "Attribution"), ("Model", "Attention", "Model", "Attribution"),
                 ("Attention", "Attribution")):  # fmt: skip
        _hop(s, *path)
        assert _controls(s) == wanted, path
        assert _metrics(s) == shown, path  # the same settings give the same (cached) result


def test_a_link_opens_any_page_on_its_text(session: Session) -> None:
    from playwright.sync_api import expect

    url = session.page.url.split("/attribution")[0]
    other = open_session(session.page.context.browser, url + "/attention?text=" + urllib.parse.quote("Linked here."))
    # the page may run more than once on a link (its text is applied, then drawn): wait for what it shows
    box = other.page.get_by_role("textbox", name="Text (sentence A)")
    expect(box).to_have_value("Linked here.", timeout=60_000)
    other.page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    other.page.context.close()

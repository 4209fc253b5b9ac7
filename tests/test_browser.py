"""Real-browser tests: headless Chromium (Debian's), every non-localhost request blocked.

What only a browser proves: bertviz draws its SVG offline and fits its frame, Plotly draws, the page
stays within its byte budget, text or labels carrying a script payload run nothing, and bare URLs in
label names stay text. The tests never write into the checkout (``scripts/screenshot.sh`` takes the
README's screenshot).
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser_harness import (
    CHROMIUM,
    Session,
    browser,
    open_session,
    screenshot,
    serve,
    type_into,
    wait_settled,
)
from tests.fixtures import XSS, build_tiny

pytestmark = pytest.mark.browser
#: GFM turns each of these into a link by itself, with no Markdown syntax around it
URL_LABEL = "see https://evil.example and www.evil.example or a@evil.example"
#: three labels like this make the bertviz header several lines long in a half-width column
LABELS = tuple(f"{URL_LABEL} (class {i}, a label name long enough to wrap onto another line)" for i in range(3))

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser() as b:
        yield b


def _bertviz(session: Any) -> Any:
    return session.page.frame_locator("iframe").first


def test_xss_payload_in_text_and_labels_runs_nothing(chromium: Any, payload_model_dir: Path) -> None:
    with serve({"GLIMPSE_DEFAULT_MODEL": str(payload_model_dir)}) as url:
        s = open_session(chromium, url + "/?text=" + urllib.parse.quote("a fine start"))
        type_into(s, "Text (sentence A)", XSS + " and then </script><script>alert(1)</script> again")
        s.act(s.page.get_by_text("Merge word pieces into words").click)
        frame = _bertviz(s)
        frame.locator("#vis svg text", has_text="alert(1)").first.wait_for(timeout=30_000)
        svg_text = " ".join(frame.locator("#vis svg text").all_text_contents())
        # word mode carries the payload into the view as one label: it must show literally
        assert "</script><script>alert(1)</script>" in svg_text
        assert XSS in frame.locator(".glimpse-header").inner_text()  # the label names, escaped
        s.page.get_by_text("Model info").click()  # opens in the browser: no rerun to wait for
        s.act(s.page.get_by_role("link", name="Attribution").click)
        tokens = s.page.locator(".glimpse-token")
        tokens.first.wait_for(state="visible", timeout=60_000)
        assert "alert ( 1 )" in " ".join(tokens.all_inner_texts())  # the typed payload's pieces, as text
        colours = {tokens.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(tokens.count())}
        assert len(colours) > 1  # tokens are actually coloured, not all neutral
        assert s.page.get_by_text(f"P({XSS})").count() >= 1  # the label payload, shown literally
        s.act(s.page.get_by_text("Words", exact=True).click)
        s.page.locator(".glimpse-token", has_text="</script><script>alert(1)</script>").first.wait_for(timeout=30_000)
        assert s.dialogs == []
        assert s.page.evaluate("window.__xss") is None
        assert s.blocked == []


def test_attention_page_renders_offline_within_budget(chromium: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    text = " ".join(["word"] * 126)  # 128 tokens with [CLS] and [SEP]
    with serve() as url:
        # the first session also loads the model; it then switches pages, which must keep the sidebar's text
        # (a widget's identity includes its page: seen lost on a fresh server's first session)
        warm = open_session(chromium, url + "/?text=" + urllib.parse.quote("A warm first session"))
        warm.act(warm.page.get_by_role("link", name="Attribution").click)
        warm.page.locator(".glimpse-token").first.wait_for(state="visible", timeout=60_000)
        assert warm.page.get_by_text("Enter at least one word").count() == 0
        warm.act(warm.page.get_by_role("link", name="Attention").click)
        box = warm.page.get_by_role("textbox", name="Text (sentence A)")
        expect(box).to_have_value("A warm first session", timeout=60_000)
        warm.page.context.close()
        s = open_session(chromium, url + "/?text=" + urllib.parse.quote(text))
        assert s.page.locator("iframe").count() == 0  # over 64 positions bertviz waits for a click
        s.act(s.page.get_by_text("Head and model views (128 positions").click)  # the expander reruns the page
        frame = _bertviz(s)
        frame.locator("#vis svg").first.wait_for(timeout=30_000)
        assert frame.locator("#vis svg text").count() >= 2 * 128
        s.page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=30_000)
        assert s.page.locator(".js-plotly-plot").count() >= 3
        assert "128 tokens" in s.page.get_by_text("tokens ·").first.inner_text()
        sent = s.ws_bytes[0]
        print(f"\n128 tokens: {sent / 1e6:.2f} MB over the websocket, server time {s.server_seconds():.2f} s")
        assert sent <= 10_000_000
        assert s.blocked == [] and s.dialogs == []
        picture = tmp_path / "screenshot.png"  # what scripts/screenshot.sh does, never into the checkout
        screenshot(chromium, url, picture)
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_exported_html_opens_offline_and_runs_no_script(chromium: Any, payload_model_dir: Path, tmp_path: Path) -> None:
    """Exported Plotly and bertviz HTML, opened from file:// with the network cut, draw and stay inert."""
    from explain import IGSettings, attention_view, attribute, prepare_input, run_attention
    from explain.views import exports as views
    from tests.conftest import bundle_from

    bundle = bundle_from(payload_model_dir)
    enc = prepare_input(bundle, "A </script><script>alert(1)</script> film")
    result = run_attention(bundle, enc)
    att = views.attention_exports(bundle, result, attention_view(result, hide_special=False, merge_words=True),
                                  views.AttentionChoice(merge_words=True))  # fmt: skip
    ig = views.attribution_exports(bundle, attribute(bundle, enc, IGSettings(n_steps=9)), words=True)
    pages = {
        "heatmap.html": views.figure_bytes(att.figures[0], "html", 1, att.provenance.caption()),
        "head-view.html": views.figure_bytes(att.figures[4], "html", 1, ""),
        "tokens.html": views.figure_bytes(ig.figures[0], "html", 1, ig.provenance.caption()),
    }
    context = chromium.new_context()
    blocked: list[str] = []
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else (
        blocked.append(r.request.url), r.abort()))  # fmt: skip
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for name, data in pages.items():
        path = tmp_path / name
        path.write_bytes(data)
        page.goto(path.as_uri())
        if name == "head-view.html":
            page.locator("#vis svg text", has_text="alert(1)").first.wait_for(timeout=30_000)
        else:
            page.locator(".main-svg").first.wait_for(timeout=30_000)
        assert page.evaluate("window.__xss") is None
    assert dialogs == [] and blocked == []
    context.close()


def test_download_button_delivers_a_png(chromium: Any, payload_model_dir: Path) -> None:
    with serve({"GLIMPSE_DEFAULT_MODEL": str(payload_model_dir)}) as url:
        s = open_session(chromium, url + "/?text=" + urllib.parse.quote("A download test"))
        s.page.get_by_text("Export figures and data").click()
        s.page.get_by_role("button", name="Prepare Layer 0, head 0 (PNG)").click()  # built first, then offered
        with s.page.expect_download(timeout=60_000) as info:
            s.page.get_by_role("button", name="Download Layer 0, head 0 (PNG)").click(timeout=60_000)
        data = Path(info.value.path()).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and info.value.suggested_filename == "attention-L0-H0.png"
        assert s.blocked == []


@pytest.fixture(scope="module")
def label_app(model_root: Path) -> Iterator[str]:
    """The app on a tiny classifier whose label names hold bare URLs and are long."""
    folder = model_root / "url-labels"
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, id2label=dict(enumerate(LABELS)))
    with serve({"GLIMPSE_DEFAULT_MODEL": str(folder)}) as url:
        yield url


def _links_to_evil(s: Session) -> list[str]:
    return s.page.evaluate(  # type: ignore[no-any-return]
        "() => [...document.querySelectorAll('a')].filter(a => /evil/.test(a.href + a.textContent))"
        ".map(a => a.outerHTML)"
    )


def _shown(texts: list[str]) -> list[str]:
    # md() breaks autolinks with an invisible word joiner (U+2060): what the reader sees has none
    return [t.replace("\u2060", "") for t in texts]


def test_bare_urls_in_labels_stay_text(chromium: Any, label_app: str) -> None:
    s = open_session(chromium, label_app + "/?text=" + urllib.parse.quote("a fine start"))
    metric_labels = s.page.get_by_test_id("stMetricLabel")
    metric_labels.first.wait_for(timeout=30_000)
    assert _shown(metric_labels.all_inner_texts())[1:] == [f"P({label})" for label in LABELS]
    assert _links_to_evil(s) == []
    s.act(s.page.get_by_role("link", name="Attribution").click)
    captions = s.page.get_by_test_id("stCaptionContainer")
    captions.filter(has_text="Integrated gradients of the").first.wait_for(timeout=60_000)
    s.page.get_by_text("Export figures and data").click()  # opens in the browser; the captions are waited for
    captions.filter(has_text="Figures carry a caption line").first.wait_for(timeout=30_000)
    shown = " ".join(_shown(captions.all_inner_texts()))
    assert any(f"logit of '{label}'" in shown for label in LABELS)  # the IG caption names the class
    assert any(f"class: {label}" in shown for label in LABELS)  # and so does the export caption
    assert _links_to_evil(s) == []
    assert s.blocked == [] and s.dialogs == []


def test_bertviz_fits_its_frame_under_a_long_header(chromium: Any, label_app: str) -> None:
    s = open_session(chromium, label_app + "/?text=" + urllib.parse.quote("a fine start"))
    for kind in ("Head view", "Model view"):
        if not s.page.get_by_role("radio", name=kind).is_checked():  # the shown view reruns nothing
            s.act(s.page.get_by_text(kind, exact=True).click)
        frame = s.page.locator("iframe").first.element_handle().content_frame()
        frame.locator("#vis svg").first.wait_for(timeout=30_000)
        wait_settled(frame)  # bertviz grows as it draws
        # the visible height, less any horizontal scrollbar (the model view is wider than its column)
        content, height = frame.evaluate("(e => [e.scrollHeight, e.clientHeight])(document.documentElement)")
        assert content <= height, f"{kind}: the view is {content}px tall in a {height}px frame"
        header = frame.locator(".glimpse-header")
        assert header.evaluate("e => e.scrollWidth > e.clientWidth")  # longer than the frame is wide: cut
        assert all(label in (header.get_attribute("title") or "") for label in LABELS)  # whole on hover

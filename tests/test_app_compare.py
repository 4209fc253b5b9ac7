"""AppTest of the Compare page's sentence B and links: what a reader of the page or the URL would expect."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import explain

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _compare(typed: str | None, **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if typed is not None:
        at.session_state["glimpse.text"] = typed
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page("app_pages/compare.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _b(at: AppTest) -> str:
    return str(at.text_area(key="compare.text_b").value)


def _stale(at: AppTest) -> bool:
    return any("written for an earlier sentence A" in w.value for w in at.warning)


def test_sentence_b_follows_the_suggestion_until_edited_then_says_when_stale() -> None:
    at = _compare("The movie was good.")
    assert _b(at) == "The movie was not good." and not _stale(at)
    at.text_area(key="glimpse.text").set_value("The film was bad.").run()
    assert _b(at) == "The film was not bad." and not _stale(at)  # B followed A's new suggestion
    at.text_area(key="compare.text_b").set_value("The film was awful.").run()
    assert _b(at) == "The film was awful." and not _stale(at)  # the user's B, written for this A
    at.text_area(key="glimpse.text").set_value("The plot was good.").run()
    assert _b(at) == "The film was awful." and _stale(at)  # kept, and said to be for the earlier A
    at.button(key="compare.use").click().run()
    assert _b(at) == "The plot was not good." and not _stale(at)
    at.text_area(key="glimpse.text").set_value("The cast was good.").run()
    assert _b(at) == "The cast was not good."  # following again


def test_a_link_with_text_b_compares_the_two_sentences_on_compare() -> None:
    at = _compare(None, text="The movie was good.", text_b="The movie was terrible.")
    assert at.toggle(key="glimpse.pair").value is False  # not a sentence pair: B is text_b
    assert _b(at) == "The movie was terrible."
    assert [m.value for m in at.metric][:2] == ["positive", "negative"]  # two sentences, not A with itself
    paired = _compare(None, text="A man sleeps.", text_b="He rests.", pair="1")
    assert paired.toggle(key="glimpse.pair").value is True
    assert paired.text_area(key="glimpse.text_b").value == "He rests."
    assert _b(paired) != "He rests." and paired.text_area(key="compare.pair_b").value == "He rests."


def test_a_link_to_a_second_model_loads_it_only_on_a_click(
    monkeypatch: pytest.MonkeyPatch, model_root: Path, tmp_path: Path
) -> None:
    from tests.conftest import tiny_dir

    folder = tmp_path / "second"
    shutil.copytree(tiny_dir(model_root, "electra"), folder)
    loads: list[str] = []
    real = explain.load_bundle
    monkeypatch.setattr(explain, "load_bundle", lambda s: loads.append(s.ref) or real(s))
    at = _compare("A film with good actors.", compare_model=str(folder))
    assert at.text_input(key="compare.model_b").value == str(folder) and str(folder) not in loads
    assert any("Load and compare" in i.value for i in at.info) and not at.get("plotly_chart")
    at.button(key="compare.load_model_b").click().run()
    assert not at.exception and loads.count(str(folder)) == 1
    assert any("Best-matching head" in c.proto.spec for c in at.get("plotly_chart"))

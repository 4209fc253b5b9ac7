"""AppTest: every page runs headless, pickers move, bad input keeps the last good result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import explain
from tests.fixtures import XSS
from ui.state import md

APP = str(Path(__file__).parent.parent / "app.py")


def _app(text: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if text is not None:
        at.session_state["glimpse.text"] = text
    return at.run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _iframes(at: AppTest) -> list[str]:
    return [el.proto.srcdoc for el in at.get("iframe")]


def _charts(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


def _count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Wrap ``explain.<name>`` (as the app calls it) with a call counter."""
    calls = [0]
    real = getattr(explain, name)

    def counting(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(explain, name, counting)
    return calls


@pytest.fixture
def count_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return _count_calls(monkeypatch, "run_attention")


def test_attention_page_default_views(count_passes: list[int]) -> None:
    at = _app("An utterly charming film with one dreadful scene.")
    _ok(at)
    assert at.title[0].value == "Attention"
    assert [t.label for t in at.toggle][:2] == ["Merge word pieces into words", "Hide [CLS]/[SEP] and renormalise"]
    (html,) = _iframes(at)
    assert "glimpse-bertviz" in html and "charming" in html
    assert _charts(at) == 4  # per-head, layer average, grid, rollout
    assert any("Server time" in c.value for c in at.caption)
    assert count_passes[0] == 1


def test_pickers_and_pages_do_not_recompute(count_passes: list[int]) -> None:
    at = _app("Pickers move; the model pass stays cached.")
    at.selectbox(key="attention.layer").set_value(5).run()
    at.selectbox(key="attention.head").set_value(11).run()
    at.slider(key="attention.residual").set_value(0.8).run()
    at.selectbox(key="attention.fusion").set_value("max").run()
    at.toggle(key="attention.merge").set_value(True).run()
    at.toggle(key="attention.hide").set_value(True).run()
    at.radio(key="attention.bertviz_kind").set_value("Model view").run()
    _ok(at)
    at.switch_page("app_pages/model.py").run()
    _ok(at)
    assert at.title[0].value == "Model"
    assert at.dataframe  # the model-info panel
    at.switch_page("app_pages/attention.py").run()
    _ok(at)
    assert count_passes[0] == 1
    assert at.selectbox(key="attention.layer").value == 5


def test_bad_input_keeps_last_good_result() -> None:
    at = _app("A perfectly good sentence.")
    at.text_area(key="glimpse.text").set_value("   ").run()
    _ok(at)
    assert any("at least one word" in e.value for e in at.error)
    assert any("last text that worked" in c.value for c in at.caption)
    (html,) = _iframes(at)
    assert "perfectly" in html
    at.text_area(key="glimpse.text").set_value("x" * (explain.MAX_CHARS + 1)).run()
    _ok(at)
    assert any("at most" in e.value for e in at.error) and _iframes(at)


def test_long_input_falls_back_to_plotly() -> None:
    at = _app(" ".join(["word"] * 600))
    _ok(at)
    assert any("dropped" in i.value for i in at.info)  # the truncation notice
    assert any("bertviz is off" in w.value for w in at.warning)
    assert not _iframes(at) and _charts(at) == 4


def test_long_input_draws_bertviz_on_a_click_and_restricts_its_layers() -> None:
    at = _app(" ".join(["word"] * 250))
    _ok(at)
    assert not _iframes(at) and _charts(at) == 4  # over 64 positions bertviz waits for the expander
    at.session_state["attention.bertviz_open.long"] = True  # what a click on the expander sets
    at.run()
    _ok(at)
    assert any("bertviz shows layers" in i.value for i in at.info)
    at.slider(key="attention.bv_first").set_value(3).run()
    _ok(at)
    assert '"include_layers": [3]' in _iframes(at)[0]


def test_pair_example_and_typed_specials() -> None:
    at = _app()
    at.button(key="glimpse.example_pair").click().run()
    _ok(at)
    assert at.toggle(key="glimpse.pair").value is True
    assert "Sentence A -&gt; Sentence B" in _iframes(at)[0] or "Sentence A -> Sentence B" in _iframes(at)[0]
    at.text_area(key="glimpse.text").set_value("good [SEP] bad").run()
    _ok(at)
    assert any("\\[ sep \\]" in i.value for i in at.info)  # Markdown-escaped, so shown literally


def test_payload_text_is_escaped_in_word_mode() -> None:
    at = _app(XSS)
    at.toggle(key="attention.merge").set_value(True).run()
    _ok(at)
    (html,) = _iframes(at)
    assert html.count("</script") == 5


def test_model_loading_refusals_keep_the_model() -> None:
    at = _app("Still here.")
    at.text_input(key="glimpse.model_ref").set_value("../../etc/passwd").run()
    at.button(key="glimpse.load").click().run()
    _ok(at)
    assert any("no folder at" in e.value for e in at.error)  # '..' resolved to /etc/passwd, which is a file
    assert at.session_state["glimpse.source"].kind is explain.SourceKind.EMBEDDED
    assert _iframes(at)


def test_load_a_local_folder(model_root: Path) -> None:
    from tests.conftest import tiny_dir

    folder = tiny_dir(model_root, "distilbert")
    at = _app("A small model.")
    at.text_input(key="glimpse.model_ref").set_value(str(folder)).run()
    at.button(key="glimpse.load").click().run()
    _ok(at)
    assert at.session_state["glimpse.source"].ref == str(folder)
    assert "distilbert" in at.caption[0].value or any("2 layers" in c.value for c in at.caption)


def _on_model(monkeypatch: pytest.MonkeyPatch, folder: Path, text: str) -> AppTest:
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(folder))
    at = _app(text)
    at.switch_page("app_pages/attribution.py").run()
    _ok(at)
    return at


def test_attribution_page(monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path) -> None:
    calls = _count_calls(monkeypatch, "attribute")
    at = _on_model(monkeypatch, payload_model_dir, "An attribution page test sentence.")
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["Prediction", f"P({md(XSS)})", "P(positive)"]  # label names shown literally
    assert {"f(input)", "f(baseline)", "Completeness gap δ", "Relative |δ|", "Per-token error", "Steps"} <= set(labels)
    rollout_html, tokens = [h.proto.body for h in at.get("html")]
    assert "rollout share" in rollout_html
    assert "glimpse-token" in tokens and "Integrated gradients" in tokens and "glimpse-legend" in tokens
    assert any("nested Clenshaw–Curtis points" in c.value for c in at.caption)
    assert calls[0] == 1
    at.toggle(key="attribution.words").set_value(True).run()
    at.radio(key="attribution.method").set_value("Gradient × input").run()
    at.switch_page("app_pages/attention.py").run()
    at.switch_page("app_pages/attribution.py").run()
    _ok(at)
    assert calls[0] == 1  # words, colour method and page switches re-use the cached attribution
    at.selectbox(key="attribution.baseline").set_value(explain.Baseline.MASK).run()
    at.radio(key="attribution.output").set_value("probability").run()
    _ok(at)
    assert calls[0] == 3
    assert any("[MASK] in place" in c.value for c in at.caption)


def test_attribution_page_without_a_head(monkeypatch: pytest.MonkeyPatch, model_root: Path) -> None:
    from tests.conftest import tiny_dir

    at = _on_model(monkeypatch, tiny_dir(model_root, "bert"), "No head here.")
    assert any("no task head" in i.value for i in at.info)  # the encoder task's notice, with what would predict
    assert not at.metric


def _downloads(at: AppTest) -> list[str]:
    return [el.proto.label for el in at.get("download_button")]


def test_every_page_has_download_buttons(monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path) -> None:
    """Export panels prepare a file first (tests/test_export_panel.py), then offer its download."""
    at = _on_model(monkeypatch, payload_model_dir, "Downloads everywhere.")
    labels = [b.label for b in at.button]
    assert "Prepare Coloured tokens (PNG)" in labels and "Everything (zip)" in labels
    assert {"Attributions (JSON)", "Attributions (CSV)"} <= set(labels)
    at.switch_page("app_pages/attention.py").run()
    _ok(at)
    labels = [b.label for b in at.button]
    assert "Prepare Layer 0, head 0 (PNG)" in labels and "Everything (zip)" in labels
    assert {"All layers and heads (JSON)", "Rollout (CSV)"} <= set(labels)
    at.selectbox(key="export.attention.format").set_value("svg").run()
    assert "Prepare Layer 0, head 0 (SVG)" in [b.label for b in at.button]
    at.switch_page("app_pages/model.py").run()
    _ok(at)
    assert _downloads(at) == ["Download model info (JSON)"]


def test_failure_inside_attribution_keeps_the_last_result(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path
) -> None:
    at = _on_model(monkeypatch, payload_model_dir, "A result worth keeping.")
    assert any("Clenshaw" in c.value for c in at.caption)

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise explain.ComputationError("The attribution failed (RuntimeError: out of memory). Try a shorter text.")

    monkeypatch.setattr(explain, "attribute", out_of_memory)
    at.selectbox(key="attribution.baseline").set_value(explain.Baseline.UNK).run()
    _ok(at)
    assert any("out of memory" in e.value for e in at.error)
    assert any("last attribution that worked" in c.value for c in at.caption)
    assert [h.proto.body for h in at.get("html")][-1].count("glimpse-token") > 3  # still on screen


def test_attribution_follows_the_prediction_when_the_text_changes() -> None:
    at = _app("I loved every minute of this wonderful film.")
    at.switch_page("app_pages/attribution.py").run()
    _ok(at)
    assert any(md("logit of 'positive'") in c.value for c in at.caption)
    at.text_area(key="glimpse.text").set_value("I hated every minute of this dreadful film.").run()
    _ok(at)
    assert at.metric[0].value == "negative"
    assert any(md("logit of 'negative'") in c.value for c in at.caption)


def test_texts_that_join_alike_do_not_share_cached_views() -> None:
    single = _app("good movie")
    _ok(single)
    pair = AppTest.from_file(APP, default_timeout=120)
    pair.session_state["glimpse.text"] = "good movie"
    pair.session_state["glimpse.pair"] = True
    pair.session_state["glimpse.text_b"] = "None"
    pair.run()
    _ok(pair)
    heatmap = next(c for c in pair.get("plotly_chart") if "Layer 0, head 0" in c.proto.spec)
    assert "none" in heatmap.proto.spec  # the pair's own tokens, not the single text's cached view


def test_markdown_from_models_and_users_stays_literal() -> None:
    out = md("[re-login](https://evil.example) ![](https://evil.example/b.png) <b>x</b> a_b")
    assert "](" not in out.replace("\\]\\(", "") and "![" not in out
    assert out.count("\\") >= 10


def test_controls_survive_multi_hop_page_switches(monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path) -> None:
    """Attribution → Attention → Model → Attribution keeps every control, and the result is the cached one."""
    calls = _count_calls(monkeypatch, "attribute")
    at = _on_model(monkeypatch, payload_model_dir, "Hop between pages and keep every setting.")
    at.select_slider(key="attribution.tol").set_value(0.005).run()
    at.select_slider(key="attribution.cap").set_value(97).run()
    at.selectbox(key="attribution.target").set_value(1).run()
    at.radio(key="attribution.output").set_value("probability").run()
    at.toggle(key="attribution.words").set_value(True).run()
    _ok(at)
    before = calls[0]
    wanted = {"attribution.tol": 0.005, "attribution.cap": 97, "attribution.target": 1,
              "attribution.output": "probability", "attribution.words": True}  # fmt: skip
    for path in (["attention", "model", "attribution"], ["model", "attribution"], ["attention", "attribution"]):
        for page in path:
            at.switch_page(f"app_pages/{page}.py").run()
            _ok(at)
        got = {k: at.session_state[k] for k in wanted}
        assert got == wanted, path
        assert at.select_slider(key="attribution.tol").value == 0.005
        assert at.selectbox(key="attribution.target").value == 1
    assert calls[0] == before  # the same settings: the cached attribution, no silent re-run
    assert any(md("probability of 'positive'") in c.value for c in at.caption)


def test_sidebar_text_and_pair_survive_page_switches() -> None:
    at = _app("First sentence.")
    at.toggle(key="glimpse.pair").set_value(True).run()
    at.text_area(key="glimpse.text_b").set_value("Second sentence.").run()
    for page in ("model", "attribution", "attention"):
        at.switch_page(f"app_pages/{page}.py").run()
        _ok(at)
        assert at.text_area(key="glimpse.text").value == "First sentence."
        assert at.toggle(key="glimpse.pair").value is True
        assert at.text_area(key="glimpse.text_b").value == "Second sentence."


def test_norm_based_attention_in_the_per_head_heatmap() -> None:
    at = _app("A norm-based look at the heads.")
    at.radio(key="attention.norms").set_value("norm ‖α f(x)‖").run()
    _ok(at)
    head = next(c for c in at.get("plotly_chart") if "Layer 0, head 0" in c.proto.spec)
    assert "‖αf(x)‖" in json.loads(head.proto.spec)["data"][0]["colorbar"]["title"]["text"]
    at.switch_page("app_pages/model.py").run()
    at.switch_page("app_pages/attention.py").run()
    assert at.radio(key="attention.norms").value == "norm ‖α f(x)‖"


def test_diagnose_page_every_tab(monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path) -> None:
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(payload_model_dir))
    at = _app("A diagnose page test with a few words.")
    at.switch_page("app_pages/diagnose.py").run()
    _ok(at)
    assert at.title[0].value == "Diagnose"
    assert "Rank agreement of the two maps" in [m.label for m in at.metric]
    assert _charts(at) >= 4  # ablation map, gradient map, the picked head, the sweep
    at.multiselect(key="diagnose.off").set_value(["L0 H1", "L1 H3"]).run()
    _ok(at)
    labels = [m.label for m in at.metric]
    assert labels.count("Prediction") == 2  # the page's prediction and the one with the heads off
    at.selectbox(key="diagnose.layer").set_value(1).run()
    at.selectbox(key="diagnose.head").set_value(2).run()
    assert any("Layer 1, head 2" in c.proto.spec for c in at.get("plotly_chart"))
    for tab, expect in (("Attention vs IG", "vs IG"), ("Which explanation to believe", "Deletion"),
                        ("Sanity check", "Sanity check")):  # fmt: skip
        at.session_state["diagnose.tab"] = tab
        at.run()
        _ok(at)
        assert any(expect in c.proto.spec for c in at.get("plotly_chart")), tab
    assert any("Everything (zip)" in label for label in _downloads(at) + [b.label for b in at.get("button")])


def test_diagnose_page_without_a_head(monkeypatch: pytest.MonkeyPatch, model_root: Path) -> None:
    from tests.conftest import tiny_dir

    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(tiny_dir(model_root, "bert")))
    at = _app("No head, nothing to diagnose.")
    at.switch_page("app_pages/diagnose.py").run()
    _ok(at)
    assert any("no task head" in i.value for i in at.info) and not at.get("plotly_chart")


def test_compare_two_sentences_and_the_link_that_carries_them() -> None:
    at = _app("The movie was good.")
    at.switch_page("app_pages/compare.py").run()
    _ok(at)
    assert at.text_area(key="compare.text_b").value == "The movie was not good."  # the suggested minimal pair
    assert [m.value for m in at.metric][:2] == ["positive", "negative"]
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "Attention divergence A vs B" in specs and "their difference per word" in specs
    assert at.query_params["compare"] == "The movie was not good." and at.query_params["text"] == "The movie was good."
    at.text_area(key="compare.text_b").set_value("The movie was great.").run()
    _ok(at)
    assert [m.value for m in at.metric][:2] == ["positive", "positive"]


def test_compare_two_models_with_different_tokenizers(model_root: Path) -> None:
    from tests.conftest import tiny_dir

    at = _app("A film with good actors.")
    at.switch_page("app_pages/compare.py").run()
    at.button_group(key="compare.mode").set_value("Two models").run()
    at.text_input(key="compare.model_b").set_value(str(tiny_dir(model_root, "roberta"))).run()
    at.button(key="compare.load_model_b").click().run()
    _ok(at)
    assert any("no classification head" in i.value for i in at.info)  # B is a bare encoder: attention only
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "Best-matching head in folder" in specs
    assert any("2 models" in c.value for c in at.caption)  # the limit is shown


def _corpus_folder(root: Path, model: str, lines: list[str], name: str = "small", **ig: Any) -> None:
    from explain import ModelSource, SourceKind, load_bundle
    from explain.corpus import CorpusSettings, run_corpus

    source = root.parent / "corpus-input.tsv"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bundle = load_bundle(ModelSource(SourceKind.FOLDER, model))
    run_corpus(bundle, str(source), str(root / name), CorpusSettings(ig=explain.IGSettings(**ig)))


def test_corpus_page_opens_a_results_folder(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "runs"
    _corpus_folder(root, str(payload_model_dir), ["a fine film\t1", "a dull film\t0", "good actors\t1", "\t1"])
    monkeypatch.setenv("GLIMPSE_CORPUS_ROOT", str(root))
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(payload_model_dir))
    at = _app("Corpus.")
    at.switch_page("app_pages/corpus.py").run()
    _ok(at)
    assert at.selectbox(key="corpus.folder").value == "small"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "4" and "Accuracy" in metrics
    table = at.dataframe[0].value
    assert len(table) == 4 and set(table["status"]) == {"ok", "error"}  # the empty row is recorded, not lost
    at.selectbox(key="corpus.only").set_value("failed rows").run()
    assert len(at.dataframe[0].value) == 1
    at.selectbox(key="corpus.only").set_value("not certified").run()
    assert len(at.dataframe[0].value) == 0  # every computed row met the default tolerance
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "Confusion matrix" in specs and "Mean over the corpus" in specs
    assert "Rows shown (CSV)" in " ".join(b.label for b in at.get("button"))


def test_corpus_table_shows_the_rows_whose_ig_is_not_certified(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path
) -> None:
    root = tmp_path / "runs"  # 5 points and a tolerance of 1e-6: no row can be certified
    lines = ["a fine film\t1", "\t1"]
    _corpus_folder(root, str(payload_model_dir), lines, "loose", n_steps=5, max_steps=5, tolerance=1e-6)
    monkeypatch.setenv("GLIMPSE_CORPUS_ROOT", str(root))
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(payload_model_dir))
    at = _app("Corpus.")
    at.switch_page("app_pages/corpus.py").run()
    _ok(at)
    at.selectbox(key="corpus.only").set_value("not certified").run()
    table = at.dataframe[0].value
    assert list(table["text"]) == ["a fine film"] and list(table["certified"]) == [False]  # the failed row is not


def test_corpus_run_from_the_app_in_the_background(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, tmp_path: Path
) -> None:
    import time

    from explain import ModelSource, SourceKind, load_bundle
    from explain.corpus import CorpusSettings
    from ui import corpus_jobs

    monkeypatch.setenv("GLIMPSE_CORPUS_ROOT", str(tmp_path / "runs"))
    bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(payload_model_dir)))
    job = corpus_jobs.start(bundle, "my reviews.tsv", b"a fine film\t1\na dull film\t0\n", CorpusSettings())
    deadline = time.monotonic() + 120
    while job.state in ("starting", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.state == "finished" and job.done_rows == 2, job.message
    assert job.name in corpus_jobs.result_folders()
    with pytest.raises(explain.InputError, match="at most 2,000"):
        corpus_jobs.start(bundle, "big.txt", b"x\n" * 2001, CorpusSettings())
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [job.name]  # the refused file left no folder
    assert not any(j.name.endswith("-big") for j in corpus_jobs.jobs())  # ... and no job that blocks the next run
    with pytest.raises(explain.InputError, match="no results folder"):
        corpus_jobs.folder("../../etc")


def test_corpus_run_refuses_an_unwritable_root_with_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from explain.corpus import CorpusSettings
    from ui import corpus_jobs

    blocker = tmp_path / "a-file"
    blocker.write_text("in the way", encoding="utf-8")
    monkeypatch.setenv("GLIMPSE_CORPUS_ROOT", str(blocker / "runs"))  # cannot be made: a file stands there
    with pytest.raises(explain.InputError, match="GLIMPSE_CORPUS_ROOT"):
        corpus_jobs.start(object(), "a.txt", b"a fine film\n", CorpusSettings())  # type: ignore[arg-type]
    assert not any(j.state == "starting" for j in corpus_jobs.jobs())  # nothing left that blocks the next run


def _diagnose_on(monkeypatch: pytest.MonkeyPatch, folder: Path, text: str, tab: str) -> AppTest:
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(folder))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["glimpse.text"] = text
    at.session_state["diagnose.tab"] = tab
    at.run()
    at.switch_page("app_pages/diagnose.py").run()
    _ok(at)
    return at


@pytest.mark.parametrize("second", ["the movie was bad", "the movie was great and the actors were bad"])
def test_diagnose_never_pairs_another_texts_ig_with_this_input(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path, second: str
) -> None:
    """IG fails for a new text (queue full): no fallback to the previous text's IG, whether the token counts
    differ (IndexError in the agreement once) or are equal (the new attention beside the old IG once)."""
    from tests.conftest import bundle_from

    first = "the movie was great and the actors were fine"
    bundle = bundle_from(payload_model_dir)
    counts = [explain.prepare_input(bundle, t).n_tokens for t in (first, second)]
    assert (counts[0] == counts[1]) == (len(second) > 20), counts  # one case of each
    at = _diagnose_on(monkeypatch, payload_model_dir, first, "Attention vs IG")
    assert any("vs IG" in c.proto.spec for c in at.get("plotly_chart"))

    def queue_full(*args: object, **kwargs: object) -> None:
        raise explain.ComputationError("The queue is full (4 analyses waiting). Try again in a minute.")

    monkeypatch.setattr(explain, "attribute", queue_full)
    at.text_area(key="glimpse.text").set_value(second).run()
    _ok(at)
    assert any("queue is full" in e.value for e in at.error)
    assert any("another text or model" in i.value for i in at.info)
    assert not at.get("plotly_chart")  # nothing drawn from the first text's IG
    # The same text with other settings: its own last result, said to be from the earlier settings.
    at.text_area(key="glimpse.text").set_value(first).run()
    at.selectbox(key="attribution.baseline").set_value(explain.Baseline.MASK).run()
    _ok(at)
    assert any("earlier settings (baseline pad" in c.value for c in at.caption)
    assert any("vs IG" in c.proto.spec for c in at.get("plotly_chart"))


def test_head_importance_is_computed_once_for_diagnose_and_compare(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path
) -> None:
    from explain.methods import ablation

    text, calls = "the movie was great and the actors were fine", []
    real = ablation.head_importance

    def counting(bundle: explain.ModelBundle, encoding: explain.Encoding, **kwargs: Any) -> object:
        calls.append((encoding.text, encoding.text_b))
        return real(bundle, encoding, **kwargs)

    monkeypatch.setattr(ablation, "head_importance", counting)
    at = _diagnose_on(monkeypatch, payload_model_dir, text, "Heads that matter")
    assert calls == [(text, None)]
    at.session_state["compare.importance_open"] = True
    at.switch_page("app_pages/compare.py").run()
    _ok(at)
    assert any("B minus A" in c.proto.spec for c in at.get("plotly_chart"))
    assert len(calls) == 2 and calls.count((text, None)) == 1  # A's map is Diagnose's, B's is new


def test_the_sanity_check_follows_the_ig_baseline(monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path) -> None:
    """PAD → MASK: the check is run again with MASK (once it was PAD's check, exported as MASK's)."""
    from explain.methods import sanity

    baselines: list[explain.Baseline] = []
    real = sanity.sanity_check

    def recording(*args: Any, **kwargs: Any) -> sanity.SanityResult:
        baselines.append(kwargs["ig"].baseline)
        return real(*args, **kwargs)

    monkeypatch.setattr(sanity, "sanity_check", recording)
    at = _diagnose_on(monkeypatch, payload_model_dir, "the movie was great and the actors were fine", "Sanity check")
    at.selectbox(key="attribution.baseline").set_value(explain.Baseline.MASK).run()
    _ok(at)
    assert baselines == [explain.Baseline.PAD, explain.Baseline.MASK]
    # the caption says how the randomised copies ran (the suite pins float32; tests/conftest.py)
    assert any("fixed 9-point rule in float32" in c.value for c in at.caption)
    at.selectbox(key="attribution.baseline").set_value(explain.Baseline.PAD).run()
    assert len(baselines) == 2  # PAD's check is still cached


def test_one_word_on_attention_vs_ig_says_why_and_draws_the_rest(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path
) -> None:
    at = _diagnose_on(monkeypatch, payload_model_dir, "a", "Attention vs IG")
    assert any("at least two words" in i.value for i in at.info)
    assert any("Layer 0, head 0" in c.proto.spec for c in at.get("plotly_chart"))  # the picked head
    assert any("Nothing to export here yet" in c.value for c in at.caption)  # the export panel is drawn
    assert any("Server time" in c.value for c in at.caption)  # and the page to its end


def test_a_zip_prepared_on_one_diagnose_tab_is_not_offered_on_another(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path
) -> None:
    """Each tab's zip has its own identity; and after "Prepare" the panel is open with the download in it."""
    from explain.views import exports

    monkeypatch.setattr(exports, "bundle", lambda views, scale: repr([f.name for f in views[0].figures]).encode())
    text = "the movie was great and the actors were fine"
    at = _diagnose_on(monkeypatch, payload_model_dir, text, "Heads that matter")
    (panel,) = [e for e in at.expander if e.label == "Export figures and data"]
    assert not panel.proto.expanded
    at.button(key="export.diagnose.prepare.zip").click().run()
    _ok(at)
    (panel,) = [e for e in at.expander if e.label == "Export figures and data"]
    assert panel.proto.expanded
    assert any(label.startswith("Download Everything (zip)") for label in _downloads(panel))
    assert b"head-ablation" in at.session_state["export.diagnose.prepared"].data
    at.session_state["diagnose.tab"] = "Which explanation to believe"
    at.run()
    _ok(at)
    assert not any("zip" in label for label in _downloads(at))  # the heads' zip is not this tab's
    assert "export.diagnose.prepared" not in at.session_state


def test_the_attention_page_picks_its_head_with_the_shared_pickers(monkeypatch: pytest.MonkeyPatch) -> None:
    """One layer/head picker for Attention, Diagnose and Compare (it was a copy on the Attention page)."""
    import ui.widgets

    keys: list[tuple[str, str]] = []
    real = ui.widgets.layer_and_head

    def recording(k: tuple[str, str], layers: int, heads: int) -> tuple[int, int]:
        keys.append(k)
        return real(k, layers, heads)

    monkeypatch.setattr(ui.widgets, "layer_and_head", recording)
    at = _app("One picker for every page.")
    _ok(at)
    assert keys == [("attention.layer", "attention.head")]
    at.selectbox(key="attention.head").set_value(3).run()
    assert any("Layer 0, head 3" in c.proto.spec for c in at.get("plotly_chart"))


def test_a_long_input_on_diagnose_says_the_wait_and_draws_the_head_maps_before_ig(
    monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path
) -> None:
    """The head maps need the class, not IG: they are drawn even when IG then fails (they waited for it once)."""

    def queue_full(*args: object, **kwargs: object) -> None:
        raise explain.ComputationError("The queue is full (4 analyses waiting). Try again in a minute.")

    import ui.waits

    monkeypatch.setattr(explain, "attribute", queue_full)
    monkeypatch.setattr(ui.waits, "LONG_TOKENS", 60)  # the tiny model reads 64 tokens; the real ones 512
    text = "the movie was great and the actors were fine " * 15
    at = _diagnose_on(monkeypatch, payload_model_dir, text, "Heads that matter")
    assert any(i.value.startswith("A long input (64 tokens): expect about") for i in at.info)
    assert any("queue is full" in e.value for e in at.error)
    specs = " ".join(c.proto.spec for c in at.get("plotly_chart"))
    assert "when a head is removed" in specs and "Gradient head importance" in specs

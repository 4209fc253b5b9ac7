"""AppTest: every task head in the app. The pages show the task's own output, the Attribution page explains
its default target, the Task select reloads the model as another task, and bad input says what to do while
the last good result stays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

import explain
from explain.models.sources import EMBEDDED_NER
from tests.fixtures import build_task

APP = str(Path(__file__).parent.parent / "app.py")
TASKS = ("token-classification", "question-answering", "fill-mask", "multi-label", "regression", "zero-shot")
#: The sidebar's input per task: (text, text_b) that the task can read.
INPUTS = {
    "fill-mask": ("Paris is the [MASK] of France.", None),
    "question-answering": ("Who lives in Paris?", "Alice lives in Paris with Bob."),
}
DEFAULT_INPUT = ("Alice lives in Paris with Bob.", None)
#: What the Attribution page's caption says the default target is (the words that name the output).
TARGET_WORDS = {
    "token-classification": "logit of 'B-",
    "question-answering": "start logit at token",
    "fill-mask": "at [MASK] 1",
    "multi-label": "logit (sigmoid as a probability) of",
    "regression": "logit (sigmoid as a probability) of 'similarity'",
    "zero-shot": "logit of 'entailment'",
}


def _plain(markdown: str) -> str:
    """Markdown as the reader sees it (ui.state.md escapes punctuation with backslashes)."""
    return markdown.replace("\\", "").replace("\u2060", "")


@pytest.fixture(scope="module")
def task_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("task-models")
    for task in (*TASKS, "encoder"):
        build_task("bert", task, root / task)
    return root


def _app(monkeypatch: pytest.MonkeyPatch, folder: Path, text: str, text_b: str | None = None) -> AppTest:
    monkeypatch.setenv("GLIMPSE_DEFAULT_MODEL", str(folder))
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["glimpse.text"] = text
    if text_b is not None:
        at.session_state["glimpse.text_b"] = text_b
    return at


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _headline(at: AppTest, task: str) -> str:
    shown = [
        m.value
        for m in at.markdown
        if m.value.startswith(f"**{explain.tasks.TaskKind(task).value}".replace("-", "\\-"))
    ]
    assert shown, [m.value for m in at.markdown]
    return shown[0]


def _html(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html")]


@pytest.mark.parametrize("task", TASKS)
def test_each_task_shows_its_output_and_explains_its_default_target(
    monkeypatch: pytest.MonkeyPatch, task_root: Path, task: str
) -> None:
    at = _app(monkeypatch, task_root / task, *INPUTS.get(task, DEFAULT_INPUT)).run()
    _ok(at)
    assert not at.error
    _headline(at, task)
    assert at.dataframe  # the task's rows (classes, tags, spans, candidates, labels)
    assert at.selectbox(key="glimpse.task_pick").value == task
    if task in ("token-classification", "question-answering", "fill-mask"):
        assert any("glimpse-span" in h for h in _html(at))  # the entities / the answer / the filled mask, marked
    at.switch_page("app_pages/attribution.py").run()
    _ok(at)
    assert not at.error
    assert any(TARGET_WORDS[task] in _plain(c.value) for c in at.caption), [c.value for c in at.caption]
    metrics = {m.label: m.value for m in at.metric}
    assert {"f(input)", "Completeness gap δ", "Per-token error"} <= set(metrics)
    assert any("glimpse-token" in h and "Integrated gradients" in h for h in _html(at))


def test_multi_label_attribution_explains_the_likeliest_labels_own_logit(
    monkeypatch: pytest.MonkeyPatch, task_root: Path
) -> None:
    """f(input) on the page is the head's logit for the default label, read here from the model itself."""
    folder = task_root / "multi-label"
    at = _app(monkeypatch, folder, DEFAULT_INPUT[0]).run()
    at.switch_page("app_pages/attribution.py").run()
    _ok(at)
    bundle = explain.load_bundle(explain.ModelSource(explain.SourceKind.FOLDER, str(folder)))
    encoding = explain.prepare_input(bundle, DEFAULT_INPUT[0])
    with torch.no_grad():
        logits = bundle.model(**encoding.model_inputs(bundle.device)).logits[0].numpy()
    shown = {m.label: m.value for m in at.metric}["f(input)"]
    assert shown == f"{float(logits.max()):+.4f}"  # the likeliest label is the default; its logit, not a softmax
    assert shown != f"{float(np.sort(logits)[-2]):+.4f}"


def test_task_override_reloads_the_model_as_that_task(monkeypatch: pytest.MonkeyPatch, task_root: Path) -> None:
    at = _app(monkeypatch, task_root / "zero-shot", "The match went to extra time.").run()
    _ok(at)
    picker = at.selectbox(key="glimpse.task_pick")
    assert picker.options[0].startswith("zero-shot") and "classification" in " ".join(picker.options)
    picker.set_value("classification").run()
    _ok(at)
    assert at.session_state["glimpse.task"] == "classification"
    assert next(m.label for m in at.metric) == "Prediction"  # the classifier's own panel, from the attention pass
    assert any("classification" in r for r in at.dataframe[-1].value["value"].tolist())  # model info says so
    at.selectbox(key="glimpse.task_pick").set_value("encoder").run()
    _ok(at)
    assert any("no task head" in i.value for i in at.info)
    at.selectbox(key="glimpse.task_pick").set_value("zero-shot").run()
    _ok(at)
    assert at.session_state["glimpse.task"] is None  # back to the detected task: no override
    _headline(at, "zero-shot")


def test_link_parameters_carry_the_task_inputs(monkeypatch: pytest.MonkeyPatch, task_root: Path) -> None:
    at = _app(monkeypatch, task_root / "zero-shot", "The match went to extra time.")
    at.query_params["labels"] = "weather, football"
    at.query_params["template"] = "It is about {}."
    at.query_params["task"] = "multi-label"
    at.run()
    _ok(at)
    assert at.session_state["glimpse.task"] == "multi-label"  # the link's task, and the model runs as it
    assert at.selectbox(key="glimpse.task_pick").value == "multi-label"
    at.selectbox(key="glimpse.task_pick").set_value("zero-shot").run()
    _ok(at)
    rows = at.dataframe[0].value
    assert sorted(rows["label"]) == ["football", "weather"]
    assert set(rows["hypothesis"]) == {"It is about football.", "It is about weather."}


@pytest.mark.parametrize(
    ("task", "good", "bad", "message"),
    [
        ("fill-mask", ("Paris is the [MASK] of France.", None), ("Paris is the capital of France.", None), "[MASK]"),
        ("question-answering", INPUTS["question-answering"], ("Who lives in Paris?", "  "), "needs a context"),
        ("zero-shot", DEFAULT_INPUT, None, "candidate labels"),
    ],
)
def test_bad_input_says_what_to_do_and_keeps_the_last_good_result(
    monkeypatch: pytest.MonkeyPatch, task_root: Path, task: str, good: tuple, bad: tuple | None, message: str
) -> None:
    at = _app(monkeypatch, task_root / task, *good).run()
    _ok(at)
    before = _headline(at, task)
    if bad is None:
        at.text_input(key="glimpse.task.labels").set_value(" , ").run()
    else:
        at.text_area(key="glimpse.text").set_value(bad[0])
        if bad[1] is not None:
            at.text_area(key="glimpse.text_b").set_value(bad[1])
        at.run()
    _ok(at)
    assert any(message in _plain(e.value) for e in at.error), [e.value for e in at.error]
    assert any("last input that worked" in c.value for c in at.caption)
    assert _headline(at, task) == before


def test_every_entity_is_one_matrix_row_each(monkeypatch: pytest.MonkeyPatch, task_root: Path) -> None:
    at = _app(monkeypatch, task_root / "token-classification", DEFAULT_INPUT[0]).run()
    at.switch_page("app_pages/attribution.py").run()
    picker = at.selectbox(key="attribution.task_target")
    entities = [o for o in picker.options if o.startswith("entities · ")]
    assert entities and picker.options[0].startswith("every entity")
    picker.set_value(picker.options[0]).run()
    _ok(at)
    (chart,) = [c for c in at.get("plotly_chart") if "entity_matrix" in c.proto.id]
    import json

    figure = json.loads(chart.proto.spec)
    folder = task_root / "token-classification"
    bundle = explain.load_bundle(explain.ModelSource(explain.SourceKind.FOLDER, str(folder)))
    assert len(figure["data"][0]["y"]) == len(entities)  # one row per entity
    n_tokens = explain.prepare_input(bundle, DEFAULT_INPUT[0]).n_tokens
    assert len(figure["data"][0]["x"]) == n_tokens
    assert figure["data"][0]["z"]["shape"] == f"{len(entities)}, {n_tokens}"  # entity rows, token columns
    assert any(c.label == "Export figures and data" for c in at.expander)


def test_diagnose_and_corpus_pages_take_a_task(monkeypatch: pytest.MonkeyPatch, task_root: Path) -> None:
    at = _app(monkeypatch, task_root / "question-answering", *INPUTS["question-answering"]).run()
    at.switch_page("app_pages/diagnose.py").run()
    _ok(at)
    assert any("start logit at token" in _plain(c.value) for c in at.caption)
    assert any("Explaining P(answer start" in _plain(c.value) for c in at.caption)
    assert any("how P(answer start" in _plain(c.value) for c in at.caption)  # the head map names the logit too
    at.switch_page("app_pages/corpus.py").run()
    _ok(at)
    assert any("exact match and F1" in m.value for m in at.markdown)  # the task's metrics panel, not a refusal


def test_compare_refuses_two_models_of_different_tasks(monkeypatch: pytest.MonkeyPatch, task_root: Path) -> None:
    at = _app(monkeypatch, task_root / "question-answering", *INPUTS["question-answering"]).run()
    at.switch_page("app_pages/compare.py").run()
    at.segmented_control(key="compare.mode").set_value("Two models").run()
    at.text_input(key="compare.model_b").set_value(str(task_root / "fill-mask")).run()
    at.button(key="compare.load_model_b").click().run()
    _ok(at)
    assert any("Compare needs two models of the same task" in e.value for e in at.error)


@pytest.mark.parametrize("where", ["model.load_ner", "glimpse.load_ner"])
def test_embedded_ner_button_loads_the_tagger(monkeypatch: pytest.MonkeyPatch, task_root: Path, where: str) -> None:
    at = _app(monkeypatch, task_root / "regression", DEFAULT_INPUT[0]).run()
    at.switch_page("app_pages/model.py").run()
    at.button(key=where).click().run()  # the Model page's button, or the sidebar model picker's
    _ok(at)
    assert at.session_state["glimpse.source"].ref == EMBEDDED_NER
    assert at.selectbox(key="glimpse.task_pick").value == "token-classification"


def test_qa_attribution_explains_the_answers_start_and_end_logits_at_their_tokens(
    monkeypatch: pytest.MonkeyPatch, task_root: Path
) -> None:
    """By default the Attribution page explains both ends of the answer, each at its own predicted token: the
    best span by start + end logit (brute force over the context here), never a max over positions."""
    import re

    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from explain.tasks.qa import MAX_ANSWER_TOKENS

    folder = task_root / "question-answering"
    question, context = INPUTS["question-answering"]
    at = _app(monkeypatch, folder, question, context).run()
    at.switch_page("app_pages/attribution.py").run()
    _ok(at)
    assert not at.error
    ends = {
        m.group(1): int(m.group(2))
        for h in at.subheader
        if (m := re.search(r"Answer (start|end):.*\(token (\d+)\)", h.value))
    }
    assert set(ends) == {"start", "end"}, [h.value for h in at.subheader]
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForQuestionAnswering.from_pretrained(folder).eval()
    enc = tok(question, context, return_tensors="pt")
    with torch.no_grad():
        out = model(**enc)
    start, end = out.start_logits[0].numpy(), out.end_logits[0].numpy()
    inside = [i for i, s in enumerate(enc["token_type_ids"][0].tolist()) if s == 1][:-1]  # the context, not [SEP]
    best = max(
        ((s, e) for s in inside for e in inside if s <= e < s + MAX_ANSWER_TOKENS),
        key=lambda p: start[p[0]] + end[p[1]],
    )
    assert (ends["start"], ends["end"]) == best
    f_input = [float(m.value) for m in at.metric if m.label == "f(input)"]
    # Shown to 4 decimals; the view's forward is the same float32 graph as this one (|error| ~1e-6 at logits ~1).
    np.testing.assert_allclose(f_input, [start[best[0]], end[best[1]]], atol=6e-5)
    assert sum(m.label == "Completeness gap δ" for m in at.metric) == 2  # each end certified on its own
    assert sum("glimpse-token" in h for h in _html(at)) == 2

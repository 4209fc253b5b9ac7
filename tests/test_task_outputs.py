"""Task outputs on heads whose weights are set by hand, checked against numbers worked out here.

Each head is made to say something known: a QA head that points at a chosen token, a tagger whose bias
fixes one tag, a multi-label or regression head that outputs its bias, a masked LM whose decoder bias
makes one word win, an NLI head with a fixed entailment logit. The expected values are computed in the
test (softmax, sigmoid, BIO merging by hand), never by the code under test.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch
import transformers as tf

from explain import ModelBundle, ModelSource, SourceKind, load_bundle
from explain.tasks import TaskPrediction, TaskRequest, task_of
from explain.tasks.base import TargetSpec
from tests.fixtures import build_task, constant_head

ROUNDED = 2e-6  # outputs are rounded to 6 decimals, from float32 logits


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One seeded model per head, built once; each test edits a copy."""
    root = tmp_path_factory.mktemp("task-outputs")
    out = {
        t: build_task("bert", t, root / t)
        for t in ("question-answering", "token-classification", "multi-label", "regression", "fill-mask", "zero-shot")
    }
    out["roberta-fill-mask"] = build_task("roberta", "fill-mask", root / "roberta-fill-mask")
    out["two-way-nli"] = build_task("bert", "zero-shot", root / "two-way", {0: "entailment", 1: "not_entailment"})
    return out


def _copy(built: dict[str, Path], name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built[name], tmp_path / name))


def _load(folder: Path) -> ModelBundle:
    return load_bundle(ModelSource(SourceKind.FOLDER, str(folder)), "cpu")


def _predict(folder: Path, request: TaskRequest) -> tuple[ModelBundle, TaskPrediction]:
    bundle = _load(folder)
    return bundle, task_of(bundle).predict(bundle, request)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    out: np.ndarray = e / e.sum()
    return out


# --- question answering ---------------------------------------------------------------------------------------


class PointedQA(NamedTuple):
    ids: list[int]  # the input the head was set on
    start: int  # the token the start logits point at
    end: int
    logits: np.ndarray  # [seq, 2] start and end logits, computed here
    segment: np.ndarray  # [seq] token type: 1 for the context (and its [SEP])


def _point_qa_at(folder: Path, question: str, context: str, start_word: str, end_word: str) -> PointedQA:
    """Set the QA head to w_start = k·h[start], w_end = k·h[end] (h: the encoder's output on this input), and
    return the hand-computed logits. LayerNorm leaves every h the same length, so by Cauchy-Schwarz h[s]·h[j]
    is largest at j = s: the chosen tokens score highest."""
    model = tf.AutoModelForQuestionAnswering.from_pretrained(folder)
    tok = tf.AutoTokenizer.from_pretrained(folder)
    enc = tok(question, context, return_tensors="pt")
    with torch.no_grad():
        h = model.bert(**enc).last_hidden_state[0]  # (seq, hidden)
    tokens = tok.convert_ids_to_tokens(enc["input_ids"][0])
    s, e = tokens.index(start_word), tokens.index(end_word)
    bias = torch.tensor([0.5, -0.25])
    with torch.no_grad():
        model.qa_outputs.weight.copy_(torch.stack([0.1 * h[s], 0.1 * h[e]]))
        model.qa_outputs.bias.copy_(bias)
    model.save_pretrained(folder)
    w = model.qa_outputs.weight.detach().double().numpy()
    logits = h.double().numpy() @ w.T + bias.double().numpy()  # (seq, 2), by hand
    return PointedQA(enc["input_ids"][0].tolist(), s, e, logits, enc["token_type_ids"][0].numpy())


def test_qa_head_pointed_at_a_span_answers_it(built: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(built, "question-answering", tmp_path)
    question, context = "Where did Alice fly?", "Alice flew from Rome to New York on Monday."
    hand = _point_qa_at(folder, question, context, "new", "york")
    bundle, p = _predict(folder, TaskRequest(question, context))
    assert p.encoding.input_ids.tolist() == hand.ids  # the same input the weights were set on
    s, e = hand.start, hand.end
    tokens = np.flatnonzero(hand.segment == 1)[:-1].tolist()  # segment B without its [SEP]
    start_logits, end_logits = hand.logits[tokens, 0], hand.logits[tokens, 1]
    assert (tokens[int(np.argmax(start_logits))], tokens[int(np.argmax(end_logits))]) == (s, e)
    p_start = _softmax(start_logits)[tokens.index(s)]  # a softmax over the context's tokens only
    p_end = _softmax(end_logits)[tokens.index(e)]
    out = p.output
    assert out["answer"] == "New York" and context[out["start"] : out["end"]] == "New York"
    assert out["start_probability"] == pytest.approx(p_start, abs=ROUNDED)
    assert out["end_probability"] == pytest.approx(p_end, abs=ROUNDED)
    assert out["score"] == pytest.approx(p_start * p_end, abs=ROUNDED)
    assert 0.05 < p_start < 0.95  # not saturated: the probabilities test the softmax, not a rounding to 1
    start, end = task_of(bundle).select(bundle, p, TargetSpec())
    assert (start.target.head, start.target.index, end.target.head, end.target.index) == (
        "start_logits", s, "end_logits", e)  # fmt: skip


def test_qa_top_spans_name_each_span_once_across_windows(built: dict[str, Path], tmp_path: Path) -> None:
    """A context longer than the window is read in overlapping windows; an answer in the overlap is found by
    both, and must be listed once (the better-scoring window's)."""
    folder = _copy(built, "question-answering", tmp_path)
    _point_qa_at(folder, "Where?", "Alice flew to Paris.", "paris", "paris")
    words = ["the", "film", "was", "fine"] * 20
    context = " ".join([*words[:45], "Paris", *words[45:]])  # "Paris" in the overlap of windows 1 and 2
    _, p = _predict(folder, TaskRequest("Where?", context, top_k=5))
    spans = [(s["start"], s["end"]) for s in p.output["top_spans"]]
    assert p.output["windows"] > 1
    assert p.output["answer"] == "Paris" and (p.output["start"], p.output["end"]) == spans[0]
    assert len(spans) == len(set(spans)) == 5
    scores = [s["score"] for s in p.output["top_spans"]]
    assert scores == sorted(scores, reverse=True)


# --- token classification -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixed", "entities"),
    [
        (1, [(w, "person") for w in ("Alice", "met", "Zanzibarians", "in", "Paris")]),  # B- opens one per word
        (2, [("Alice met Zanzibarians in Paris", "person")]),  # I- after O opens, I- of one type continues
        (0, []),  # O everywhere
    ],
)
def test_a_tag_fixed_by_the_bias_tags_every_word(
    built: dict[str, Path], tmp_path: Path, fixed: int, entities: list[tuple[str, str]]
) -> None:
    bias = [0.0] * 5
    bias[fixed] = 2.0
    folder = constant_head(_copy(built, "token-classification", tmp_path), bias)
    text = "Alice met Zanzibarians in Paris"
    _, p = _predict(folder, TaskRequest(text))
    assert p.encoding.n_tokens - 2 > len(text.split())  # a word of several tokens: tagged by its first
    tag = ["O", "B-person", "I-person", "B-location", "I-location"][fixed]
    prob = math.exp(2.0) / (math.exp(2.0) + 4.0)
    assert [(w["word"], w["tag"]) for w in p.output["words"]] == [(w, tag) for w in text.split()]
    assert all(w["probability"] == pytest.approx(prob, abs=ROUNDED) for w in p.output["words"])
    assert [t["tag"] for t in p.output["tokens"]] == [tag] * (p.encoding.n_tokens - 2)
    assert [(e["text"], e["label"]) for e in p.output["entities"]] == entities
    assert all(e["probability"] == pytest.approx(prob, abs=ROUNDED) for e in p.output["entities"])


# --- multi-label and regression -------------------------------------------------------------------------------


def test_multi_label_is_an_independent_sigmoid_shown_at_the_threshold(built: dict[str, Path], tmp_path: Path) -> None:
    folder = constant_head(_copy(built, "multi-label", tmp_path), [0.0, 2.0, -2.0])
    bundle = _load(folder)
    task = task_of(bundle)
    at = task.predict(bundle, TaskRequest("whatever", threshold=0.5))
    hand = {"toxic": 0.5, "insult": 1 / (1 + math.exp(-2.0)), "threat": 1 / (1 + math.exp(2.0))}
    assert at.output["probabilities"] == pytest.approx(hand, abs=ROUNDED)
    assert at.output["labels"] == ["insult", "toxic"]  # sigmoid(0) = 0.5 exactly reaches a 0.5 threshold
    assert [r["shown"] for r in at.rows] == [True, True, False]
    above = task.predict(bundle, TaskRequest("whatever", threshold=0.5 + 1e-9))
    assert above.output["labels"] == ["insult"]
    assert [c.key for c in at.choices] == ["insult", "toxic", "threat"]  # the likeliest explained first


def test_regression_outputs_its_bias_under_its_name(built: dict[str, Path], tmp_path: Path) -> None:
    folder = constant_head(_copy(built, "regression", tmp_path), [-1.25])
    _, p = _predict(folder, TaskRequest("a cat", "a dog"))
    assert p.output == {"value": -1.25, "output": "similarity"} and p.headline == "similarity = -1.25"
    config = json.loads((folder / "config.json").read_text())
    config["id2label"], config["label2id"] = {"0": "LABEL_0"}, {"LABEL_0": 0}  # transformers' default name
    (folder / "config.json").write_text(json.dumps(config))
    _, unnamed = _predict(folder, TaskRequest("a cat", "a dog"))
    assert unnamed.output == {"value": -1.25, "output": "value"}


# --- fill-mask ------------------------------------------------------------------------------------------------


def _fixed_vocabulary_logits(folder: Path, logits: dict[str, float]) -> dict[int, float]:
    """The MLM head reads nothing (its last LayerNorm zeroed), so the vocabulary logits are the decoder's
    bias: 0 everywhere but the given tokens. Returns {token id: logit}."""
    model = tf.AutoModelForMaskedLM.from_pretrained(folder)
    tok = tf.AutoTokenizer.from_pretrained(folder)
    head = model.cls.predictions if hasattr(model, "cls") else model.lm_head
    norm = head.transform.LayerNorm if hasattr(head, "transform") else head.layer_norm
    ids = {tok.get_vocab()[t]: z for t, z in logits.items()}  # each is a vocabulary token (KeyError if not)
    with torch.no_grad():
        norm.weight.zero_()
        norm.bias.zero_()
        head.bias.zero_()
        for i, z in ids.items():
            head.bias[i] = z
    model.save_pretrained(folder)
    return ids


def test_the_decoder_bias_picks_the_word(built: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(built, "fill-mask", tmp_path)
    paris, london = _fixed_vocabulary_logits(folder, {"paris": 10.0, "london": 9.0})
    bundle, p = _predict(folder, TaskRequest("[MASK] went to [MASK].", top_k=3))
    size = len(bundle.tokenizer)
    total = math.exp(10.0) + math.exp(9.0) + (size - 2)
    assert [m["position"] for m in p.output["masks"]] == [1, 4]
    for mask in p.output["masks"]:
        first, second, third = mask["candidates"]
        assert (first["token"], first["token_id"]) == ("paris", paris)
        assert (second["token"], second["token_id"]) == ("london", london)
        assert first["probability"] == pytest.approx(math.exp(10.0) / total, abs=ROUNDED)
        assert second["probability"] == pytest.approx(math.exp(9.0) / total, abs=ROUNDED)
        assert third["probability"] == pytest.approx(1 / total, abs=ROUNDED)
    assert len(p.choices) == 6 and len({id(c.labels) for c in p.choices}) == 1  # the vocabulary listed once
    assert len(p.choices[0].labels) == size


@pytest.mark.parametrize("typed", ["[MASK]", "<mask>"])
def test_roberta_mask_typed_either_way_is_one_mask_token(built: dict[str, Path], tmp_path: Path, typed: str) -> None:
    folder = _copy(built, "roberta-fill-mask", tmp_path)
    (bad,) = _fixed_vocabulary_logits(folder, {"Ġbad": 5.0})  # the vocabulary also holds a mid-word "bad"
    bundle, p = _predict(folder, TaskRequest(f"the film was {typed}."))
    # what transformers' own fill-mask pipeline feeds the model for the same sentence
    assert p.encoding.input_ids.tolist() == bundle.tokenizer("the film was <mask>.")["input_ids"]
    mask = p.output["masks"][0]
    assert (mask["candidates"][0]["token"], mask["candidates"][0]["token_id"]) == ("bad", bad)
    size = len(bundle.tokenizer)
    assert mask["candidates"][0]["probability"] == pytest.approx(
        math.exp(5.0) / (math.exp(5.0) + size - 1), abs=ROUNDED
    )
    task = task_of(bundle)
    for asked in ("bad", "Ġbad", str(bad)):  # as listed, as the vocabulary spells it, by id
        (choice,) = task.select(bundle, p, TargetSpec(mask_index=0, candidate=asked))
        assert (choice.target.position, choice.target.index) == (mask["position"], bad)
    film = bundle.tokenizer.convert_tokens_to_ids("Ġfilm")
    assert "film" not in [c["token"] for c in mask["candidates"]]
    (choice,) = task.select(bundle, p, TargetSpec(mask_index=0, candidate="film"))  # unlisted: its word-initial form
    assert choice.target.index == film


# --- zero-shot ------------------------------------------------------------------------------------------------


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_zero_shot_with_fixed_nli_logits(built: dict[str, Path], tmp_path: Path) -> None:
    folder = constant_head(_copy(built, "zero-shot", tmp_path), [1.0, 0.0, 2.0])  # contradiction, neutral, entailment
    bundle = _load(folder)
    task = task_of(bundle)
    labels = ("sport", "politics", "science")
    single = task.predict(bundle, TaskRequest("the match", candidate_labels=labels))
    assert single.output["scores"] == pytest.approx([1 / 3] * 3, abs=ROUNDED)  # equal entailment logits
    assert single.output["labels"] == list(labels)  # a tie keeps the order asked
    multi = task.predict(bundle, TaskRequest("the match", candidate_labels=labels, multi_label=True))
    assert multi.output["scores"] == pytest.approx([_sigmoid(2.0 - 1.0)] * 3, abs=ROUNDED)  # softmax([c, e])[1]
    # one label: the pipeline scores it on its own (a softmax over one label would always say 100%)
    alone = task.predict(bundle, TaskRequest("the match", candidate_labels=("sport",)))
    assert alone.output["scores"] == pytest.approx([_sigmoid(1.0)], abs=ROUNDED)
    assert alone.output["multi_label"] is True
    assert all(c.target.index == 2 for c in multi.choices)  # the entailment logit is explained


def test_zero_shot_on_a_two_way_nli_head(built: dict[str, Path], tmp_path: Path) -> None:
    """entailment / not_entailment: the pipeline's 'contradiction' is the other class (the last when
    entailment is class 0)."""
    folder = constant_head(_copy(built, "two-way-nli", tmp_path), [2.0, 0.5])
    bundle = _load(folder)
    task = task_of(bundle)
    assert bundle.info.task == "zero-shot"
    multi = task.predict(bundle, TaskRequest("the vote", candidate_labels=("politics", "sport"), multi_label=True))
    assert multi.output["scores"] == pytest.approx([_sigmoid(1.5)] * 2, abs=ROUNDED)
    alone = task.predict(bundle, TaskRequest("the vote", candidate_labels=("politics",)))
    assert alone.output["scores"] == pytest.approx([_sigmoid(1.5)], abs=ROUNDED)


def test_zero_shot_scores_follow_the_raw_entailment_logits(built: dict[str, Path], tmp_path: Path) -> None:
    """The labels' entailment logits set apart by hand (a random tiny model's pooled outputs barely depend on
    the hypothesis), and the scores are the pipeline's formulas applied to the logits transformers computes
    for each (premise, hypothesis) pair."""
    folder = _copy(built, "zero-shot", tmp_path)
    model = tf.AutoModelForSequenceClassification.from_pretrained(folder, attn_implementation="eager")
    tok = tf.AutoTokenizer.from_pretrained(folder)
    labels = ("sport", "politics", "cooking")
    pairs = [tok("the match", f"This example is {x}.", return_tensors="pt") for x in labels]
    with torch.no_grad():
        pooled = torch.cat([model.bert(**p).pooler_output for p in pairs])  # (labels, hidden)
        mean = pooled.mean(0)
        for row, label, size in ((2, 1, 2.0), (0, 0, 1.5)):  # entailment: politics 2; contradiction: sport 1.5
            apart = pooled[label] - mean
            model.classifier.weight[row] = size * apart / apart.dot(apart)
            model.classifier.bias[row] = -model.classifier.weight[row].dot(mean)  # the labels' mean scores 0
        raw = np.stack([model(**p).logits[0].double().numpy() for p in pairs])  # (labels, [c, n, e])
    model.save_pretrained(folder)
    single = _softmax(raw[:, 2])
    multi = np.exp(raw[:, 2]) / (np.exp(raw[:, 0]) + np.exp(raw[:, 2]))
    assert np.ptp(single) > 0.3 and np.argmax(single) == 1 and np.ptp(multi) > 0.3  # the labels really differ
    bundle = _load(folder)
    for asked, hand in ((False, single), (True, multi)):
        out = task_of(bundle).predict(bundle, TaskRequest("the match", candidate_labels=labels, multi_label=asked))
        order = np.argsort(-hand, kind="stable")
        assert out.output["labels"] == [labels[i] for i in order]
        assert out.output["scores"] == pytest.approx(hand[order].tolist(), abs=1e-5)

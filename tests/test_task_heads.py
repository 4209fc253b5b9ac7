"""Every head of every family: a tiny random model of it loads, is detected as its task, predicts, and its
default target is explained by certified IG.

A (family, head) pair whose transformers class does not exist is listed in MISSING_CLASSES, and a test
keeps that list true both ways (each listed class missing, every other class present).
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import transformers as tf

from explain import ModelBundle, ModelSource, SourceKind, load_bundle
from explain.errors import AttributionError
from explain.methods.attribution import IGSettings, attribute
from explain.models.heads import TaskKind, detect_task
from explain.tasks import TaskRequest, task_of
from explain.tasks.base import TargetSpec
from tests.fixtures import CLASS_PREFIX, FAMILIES, TASK_HEADS, build_task

#: Each head's transformers class, after the family's prefix ("Bert" + "ForTokenClassification").
CLASS_SUFFIX = {
    "classification": "ForSequenceClassification",
    "multi-label": "ForSequenceClassification",  # problem_type: multi_label_classification
    "regression": "ForSequenceClassification",  # one output, problem_type: regression
    "zero-shot": "ForSequenceClassification",  # an NLI head: contradiction, neutral, entailment
    "token-classification": "ForTokenClassification",
    "question-answering": "ForQuestionAnswering",
    "fill-mask": "ForMaskedLM",
    "encoder": "Model",
    "pretraining": "ForPreTraining",
}
HEADS = tuple(TASK_HEADS)

#: (family, head) pairs whose class the installed transformers does not have (checked below, both ways).
MISSING_CLASSES = [
    ("distilbert", "pretraining"),  # DistilBERT was distilled from BERT's MLM: no pre-training class
    ("roberta", "pretraining"),  # RoBERTa pre-trains with MLM only: RobertaForMaskedLM is its head
    ("deberta-v2", "pretraining"),  # DeBERTa-v2's pre-training head is not in transformers
]
PAIRS = [(f, h) for f in FAMILIES for h in HEADS if (f, h) not in MISSING_CLASSES]

#: What each head is detected as. A pre-training class is its masked LM (bert-base-uncased's own config),
#: except ELECTRA's, a replaced-token discriminator with no masked LM: a bare encoder.
EXPECTED = {h: TaskKind(h) for h in HEADS if h != "pretraining"}
REQUESTS = {
    TaskKind.QUESTION_ANSWERING: TaskRequest("Where did Alice go?", "Alice went to Paris on Monday."),
    TaskKind.FILL_MASK: TaskRequest("Alice went to [MASK] on Monday.", top_k=3),
    TaskKind.ZERO_SHOT: TaskRequest("the match was great", candidate_labels=("sport", "politics")),
    TaskKind.REGRESSION: TaskRequest("a cat sat", "a dog sat"),
}
FAST = IGSettings(n_steps=5, max_steps=49)  # certified all the same; a tiny model converges at once


def expected_task(family: str, head: str) -> TaskKind:
    if head == "pretraining":
        return TaskKind.ENCODER if family == "electra" else TaskKind.FILL_MASK
    return EXPECTED[head]


def class_name(family: str, head: str) -> str:
    return CLASS_PREFIX[family] + CLASS_SUFFIX[head]


@pytest.fixture(scope="session")
def head_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("heads")


_BUILT: dict[tuple[str, str], ModelBundle] = {}


def head_bundle(root: Path, family: str, head: str) -> ModelBundle:
    """The (family, head) model, built and loaded once per session."""
    if (family, head) not in _BUILT:
        folder = build_task(family, head, root / f"{family}-{head}")
        _BUILT[family, head] = load_bundle(ModelSource(SourceKind.FOLDER, str(folder)), "cpu")
    return _BUILT[family, head]


def test_missing_classes_are_exactly_those_transformers_lacks() -> None:
    missing = {(f, h) for f in FAMILIES for h in HEADS if getattr(tf, class_name(f, h), None) is None}
    assert missing == set(MISSING_CLASSES)


@pytest.mark.parametrize(("family", "head"), PAIRS, ids=[f"{f}-{h}" for f, h in PAIRS])
def test_each_head_is_detected_and_loaded_as_its_task(head_root: Path, family: str, head: str) -> None:
    bundle = head_bundle(head_root, family, head)
    wanted = expected_task(family, head)
    folder = Path(bundle.source.ref)
    config = tf.AutoConfig.from_pretrained(folder)
    assert config.architectures == [class_name(family, head)]  # the class the folder was saved from
    assert detect_task(config) is wanted
    assert (bundle.info.task, bundle.info.detected_task) == (wanted.value, wanted.value)
    # the Auto class of the task loads the saved head itself, never a fresh random one
    loaded = "Model" if wanted is TaskKind.ENCODER else CLASS_SUFFIX[wanted.value]
    assert bundle.info.architecture == CLASS_PREFIX[family] + loaded
    assert not bundle.info.head_is_random
    assert bundle.info.tasks[0] == wanted.value and TaskKind.ENCODER.value in bundle.info.tasks


@pytest.mark.parametrize(("family", "head"), PAIRS, ids=[f"{f}-{h}" for f, h in PAIRS])
def test_each_head_predicts_and_its_default_is_explained(head_root: Path, family: str, head: str) -> None:
    bundle = head_bundle(head_root, family, head)
    task = task_of(bundle)
    wanted = expected_task(family, head)
    prediction = task.predict(bundle, REQUESTS.get(wanted, TaskRequest("Alice went to Paris on Monday")))
    assert prediction.task is wanted and prediction.headline
    if wanted is TaskKind.ENCODER:
        assert prediction.choices == () and prediction.output == {"prediction": None}
        with pytest.raises(AttributionError, match="no classification head"):
            attribute(bundle, prediction.encoding, FAST)
        return
    chosen = task.select(bundle, prediction, TargetSpec())
    assert len(chosen) == (2 if wanted is TaskKind.QUESTION_ANSWERING else 1)  # QA: the answer's start and end
    for choice in chosen:
        view = choice.view(bundle)
        result = attribute(view, choice.encoding, replace(FAST, target=choice.target.column))
        certificate = (result.f_input, result.f_baseline, result.convergence_delta, result.relative_delta,
                       result.token_error)  # fmt: skip
        assert all(math.isfinite(v) for v in certificate), certificate
        assert result.target == choice.target.column and result.converged
        assert result.scores.shape == (choice.encoding.n_tokens,) and np.isfinite(result.scores).all()
        assert np.isfinite(result.token_changes).all() and result.n_steps in result.steps_tried
        # the certificate means what it says: δ is the completeness gap of these scores
        gap = float(result.scores.sum()) - (result.f_input - result.f_baseline)
        assert result.convergence_delta == pytest.approx(gap, rel=1e-6, abs=1e-9)

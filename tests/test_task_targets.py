"""Every target is a logit at a fixed place, never a probability: the view's output at the target's column
is the raw logit the model itself computes at (position, index), read here from the model's own outputs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from explain import ModelBundle, ModelSource, SourceKind, load_bundle
from explain.methods.attribution import IGSettings, attribute
from explain.methods.target import Target
from explain.tasks import TaskKind, TaskRequest, task_of
from explain.tasks.base import Choice
from explain.tasks.tagging import entity_matrix, flat_target
from tests.fixtures import build_task, constant_head
from tests.tolerances import reorder_atol

TASKS = ("classification", "multi-label", "regression", "token-classification", "question-answering",
         "fill-mask", "zero-shot")  # fmt: skip
REQUESTS = {
    "question-answering": TaskRequest("Where did Alice go?", "Alice went to Paris on Monday."),
    "fill-mask": TaskRequest("Alice went to [MASK] on [MASK].", top_k=3),
    "zero-shot": TaskRequest("the match was great", candidate_labels=("sport", "politics", "cooking")),
    "regression": TaskRequest("a cat sat", "a dog sat"),
}
CASES = [(f, t) for f in ("bert", "roberta") for t in TASKS]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], ModelBundle]:
    root = tmp_path_factory.mktemp("targets")
    return {(f, t): load_bundle(ModelSource(SourceKind.FOLDER, str(build_task(f, t, root / f"{f}-{t}"))), "cpu")
            for f, t in CASES}  # fmt: skip


def raw_logit(bundle: ModelBundle, choice: Choice) -> float:
    """The logit the target names, read off the model's own forward pass (no view, no task code)."""
    target = choice.target
    with torch.no_grad():
        out = bundle.model(**choice.encoding.model_inputs(bundle.device))
    values = getattr(out, target.head)[0]  # (outputs,) · (seq, outputs) · (seq,) for QA start/end
    assert target.index is not None
    return float(values[target.index] if target.position is None else values[target.position, target.index])


def view_row(bundle: ModelBundle, choice: Choice) -> torch.Tensor:
    view = choice.view(bundle)
    with torch.no_grad():
        logits: torch.Tensor = view.model(**choice.encoding.model_inputs(bundle.device)).logits
    return logits[0]  # (K,)


@pytest.mark.parametrize(("family", "task"), CASES, ids=[f"{f}-{t}" for f, t in CASES])
def test_each_target_is_the_raw_logit_at_its_place(
    bundles: dict[tuple[str, str], ModelBundle], family: str, task: str
) -> None:
    bundle = bundles[family, task]
    prediction = task_of(bundle).predict(bundle, REQUESTS.get(task, TaskRequest("Alice went to Paris on Monday")))
    assert prediction.choices
    for choice in prediction.choices:
        row = view_row(bundle, choice)
        assert row.shape == (len(choice.labels),)  # the view's K columns, as named
        assert float(row[choice.target.column]) == pytest.approx(raw_logit(bundle, choice), abs=1e-6)
        if choice.target.pair:  # multi-label, regression: [z, 0], so the view's softmax is sigmoid(z)
            assert float(row[1]) == 0.0
    # the attribution explains that same logit: f(input) is it, not a probability
    default = prediction.choices[0]
    result = attribute(default.view(bundle), default.encoding, IGSettings(target=default.target.column))
    raw = raw_logit(bundle, default)
    atol = reorder_atol(bundle, abs(raw), seq=default.encoding.n_tokens)  # the sdpa twin sums in another order
    assert result.f_input == pytest.approx(raw, abs=atol)


def test_every_entity_at_once_reads_each_tag_logit(bundles: dict[tuple[str, str], ModelBundle]) -> None:
    """The batched entity view flattens (seq, tags) to one row; each entity's column is its tag's logit."""
    bundle = bundles["bert", "token-classification"]
    prediction = task_of(bundle).predict(bundle, TaskRequest("Alice went to Paris on Monday"))
    entities = [c for c in prediction.choices if c.group == "entities"]
    assert len(entities) >= 2
    encoding, tags = entities[0].encoding, bundle.info.labels
    names = tuple(f"{t}:{tag}" for t in range(encoding.n_tokens) for tag in tags)
    flat = view_row(bundle, Choice(Target(name="every entity"), encoding, names))  # (seq * tags,)
    results, _ = entity_matrix(bundle, entities, IGSettings())
    for choice, result in zip(entities, results, strict=True):
        raw = raw_logit(bundle, choice)
        assert float(flat[flat_target(choice, len(tags))]) == pytest.approx(raw, abs=1e-6)
        assert result.f_input == pytest.approx(raw, abs=reorder_atol(bundle, abs(raw), seq=encoding.n_tokens))


@pytest.mark.parametrize("task", ["multi-label", "regression"])
def test_a_pair_target_is_the_logit_even_where_its_sigmoid_is_near_one(
    bundles: dict[tuple[str, str], ModelBundle], task: str, tmp_path: Path
) -> None:
    """A head fixed at logit 7 (sigmoid 0.999): the target, and IG's f(input), are 7."""
    folder = Path(shutil.copytree(bundles["bert", task].source.ref, tmp_path / task))
    folder = constant_head(folder, [7.0] * (3 if task == "multi-label" else 1))
    bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(folder)), "cpu")
    prediction = task_of(bundle).predict(bundle, TaskRequest("a cat sat"))
    choice = prediction.choices[0]
    assert prediction.task in (TaskKind.MULTI_LABEL, TaskKind.REGRESSION)
    assert float(view_row(bundle, choice)[0]) == pytest.approx(7.0, abs=1e-6)
    result = attribute(choice.view(bundle), choice.encoding, IGSettings(target=0))
    assert result.f_input == pytest.approx(7.0, abs=1e-5)


@pytest.mark.parametrize("task", ["question-answering", "fill-mask", "zero-shot"])
def test_the_export_manifest_records_the_task_and_the_target(
    bundles: dict[tuple[str, str], ModelBundle], task: str
) -> None:
    """An export of a task's attribution says which head (the task) and which logit (the target) it explains:
    the last choice, so a manifest that fell back to the default, or to a class name, is caught."""
    import io
    import json
    import zipfile

    from explain.views import exports as views

    bundle = bundles[("bert", task)]
    prediction = task_of(bundle).predict(bundle, REQUESTS[task])
    choice = prediction.choices[-1]
    view = choice.view(bundle)
    result = attribute(view, choice.encoding, IGSettings(target=choice.target.column, max_steps=49))
    zf = zipfile.ZipFile(io.BytesIO(views.bundle([views.attribution_exports(view, result)])))
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["model"]["task"] == task
    assert manifest["target"] == choice.target.describe()
    assert choice.target.name in manifest["target"]

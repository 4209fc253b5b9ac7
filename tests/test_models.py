from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
import transformers as tf

from explain import (
    ModelBundle,
    ModelLoadError,
    ModelSource,
    ModelSourceError,
    SourceKind,
    SourcePolicy,
    load_bundle,
    policy_from_env,
    resolve_source,
)
from tests.fixtures import XSS

ALL = frozenset(SourceKind)


def test_family_loads_eager_frozen_with_attentions(family_bundle: ModelBundle) -> None:
    model = family_bundle.model
    assert model.config._attn_implementation == "eager"
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())
    assert family_bundle.info.num_layers == 2 and family_bundle.info.num_heads == 4
    assert family_bundle.info.max_length == 64


def test_hooked_twin_shares_weights_not_modules(family_bundle: ModelBundle) -> None:
    model, twin = family_bundle.model, family_bundle.hooked_model
    assert twin is not model
    assert twin.get_input_embeddings() is not model.get_input_embeddings()
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        assert p is q, name
    assert model.config._attn_implementation == "eager"  # making the twin never touches the shared model


def test_embedded_model_is_minilm(embedded_bundle: ModelBundle) -> None:
    info = embedded_bundle.info
    assert (info.family, info.num_layers, info.num_heads, info.hidden_size, info.max_length) == (
        "bert",
        6,
        12,
        384,
        512,
    )


def test_classifier_labels_come_from_config(payload_model_dir: Path) -> None:
    bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(payload_model_dir)))
    assert bundle.info.labels == (XSS, "positive")
    assert not bundle.info.head_is_random


def test_fresh_head_is_flagged(tmp_path: Path, model_root: Path) -> None:
    from tests.conftest import tiny_dir

    base = tiny_dir(model_root, "bert")
    config = tf.AutoConfig.from_pretrained(base)
    config.architectures = ["BertForSequenceClassification"]
    model = tf.AutoModel.from_pretrained(base)
    model.save_pretrained(tmp_path)
    config.save_pretrained(tmp_path)
    tf.AutoTokenizer.from_pretrained(base).save_pretrained(tmp_path)
    bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(tmp_path)))
    assert bundle.info.labels and bundle.info.head_is_random


def test_non_bert_family_is_refused(tmp_path: Path) -> None:
    tf.GPT2Config(n_layer=1, n_head=2, n_embd=8).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="BERT-family"):
        load_bundle(ModelSource(SourceKind.FOLDER, str(tmp_path)))


def test_traversal_path_refused_before_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("transformers must not see this path")

    monkeypatch.setattr(tf.AutoConfig, "from_pretrained", boom)
    for ref in ("../../etc/passwd", "./models/../../etc", "/tmp/../etc/passwd"):
        with pytest.raises(ModelSourceError, match=r"\.\."):
            resolve_source(ref, SourcePolicy(ALL))


def test_folder_checks(tmp_path: Path) -> None:
    with pytest.raises(ModelSourceError, match="no folder"):
        resolve_source(str(tmp_path / "missing"), SourcePolicy(ALL))
    with pytest.raises(ModelSourceError, match=r"config\.json"):
        resolve_source(str(tmp_path), SourcePolicy(ALL))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelSourceError, match="must lie under"):
        resolve_source(str(tmp_path), SourcePolicy(ALL, roots=(Path("/nonexistent-root"),)))
    assert resolve_source(str(tmp_path), SourcePolicy(ALL, roots=(tmp_path,))).kind is SourceKind.FOLDER


def test_policy_turns_folders_off(tmp_path: Path) -> None:
    policy = policy_from_env({"GLIMPSE_MODEL_SOURCES": "embedded,hub"})
    with pytest.raises(ModelSourceError, match="turned off"):
        resolve_source(str(tmp_path), policy)
    assert resolve_source("", policy).kind is SourceKind.EMBEDDED
    with pytest.raises(ModelSourceError, match="unknown kinds"):
        policy_from_env({"GLIMPSE_MODEL_SOURCES": "embedded,ftp"})


def test_offline_hub_id_fails_fast_with_instructions(monkeypatch: pytest.MonkeyPatch) -> None:
    source = resolve_source("google-bert/bert-base-uncased", SourcePolicy(ALL))
    assert source.kind is SourceKind.HUB
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE"):
        load_bundle(source)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ModelLoadError, match=r"(cannot be reached|local folder)"):
        load_bundle(source)
    assert time.perf_counter() - start < 8.0


def test_forward_gives_attention_for_every_layer(family_bundle: ModelBundle) -> None:
    enc = family_bundle.tokenizer("a movie", return_tensors="pt")
    with torch.no_grad():
        out = family_bundle.model(**enc, output_attentions=True)
    assert len(out.attentions) == family_bundle.info.num_layers

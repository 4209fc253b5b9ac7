from __future__ import annotations

import gc
import hashlib
import json
import re
import struct
import time
import weakref
from pathlib import Path
from typing import Any

import huggingface_hub
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
from explain.cli import main
from explain.export import files as export
from explain.models import hub, loading
from tests.fixtures import XSS, build_tiny

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
    for ref in ("../../etc/passwd", "./models/../../etc", "/tmp/../etc/passwd"):  # '..' resolved, then checked
        with pytest.raises(ModelSourceError, match=r"no folder at|has no config\.json"):
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


def test_hub_id_fails_fast_offline_and_unreachable_without_downloading(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Offline, then "online" with the hub pointing at a closed local port: both fail in seconds with the fix,
    and nothing ever asks the hub for files (a download attempt is recorded and refused)."""
    downloads: list[str] = []

    def cache_only(real: Any) -> Any:
        def call(repo_id: str, *args: object, **kwargs: object) -> object:
            if not kwargs.get("local_files_only"):
                downloads.append(repo_id)
                raise OSError("this test never downloads")
            return real(repo_id, *args, **kwargs)

        return call

    monkeypatch.setattr(huggingface_hub, "snapshot_download", cache_only(huggingface_hub.snapshot_download))
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", cache_only(huggingface_hub.hf_hub_download))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    source = resolve_source("google-bert/bert-base-uncased", SourcePolicy(ALL))
    assert source.kind is SourceKind.HUB
    start = time.perf_counter()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="HF_HUB_OFFLINE is set"):
        load_bundle(source)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: refused at once
    with pytest.raises(ModelLoadError, match="cannot be reached"):
        load_bundle(source)
    assert time.perf_counter() - start < 8.0
    assert downloads == []
    monkeypatch.setattr(hub, "hub_reachable", lambda: True)  # the hub answers, and has no such model
    with pytest.raises(ModelLoadError, match="hub has no usable model"):
        load_bundle(source)
    assert downloads == ["google-bert/bert-base-uncased"]


def test_attention_rows_sum_to_one_and_equal_a_fresh_eager_model(family_bundle: ModelBundle) -> None:
    """The bundle's attentions are those of the checkpoint itself, loaded plainly with eager attention and eval()."""
    bundle = family_bundle
    enc = bundle.tokenizer("a movie about a cat", return_tensors="pt")
    fresh = type(bundle.model).from_pretrained(bundle.source.ref, attn_implementation="eager").eval()
    with torch.no_grad():
        ours = bundle.model(**enc, output_attentions=True).attentions
        theirs = fresh(**enc, output_attentions=True).attentions
    n = enc["input_ids"].shape[1]
    assert len(ours) == len(theirs) == 2
    for layer, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert a.shape == (1, 4, n, n), layer
        torch.testing.assert_close(a.sum(-1), torch.ones(1, 4, n))
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_a_model_without_attention_weights_is_refused(monkeypatch: pytest.MonkeyPatch, model_root: Path) -> None:
    from tests.conftest import tiny_dir

    real = loading._load_weights

    def fused(*args: Any, **kwargs: Any) -> tuple[tf.PreTrainedModel, list[str]]:
        model, missing = real(*args, **kwargs)
        model.set_attn_implementation("sdpa")  # transformers 5: sdpa returns no attention weights, silently
        return model, missing

    monkeypatch.setattr(loading, "_load_weights", fused)
    with pytest.raises(ModelLoadError, match=r"returned no attention weights \(0 of 2 layers\)"):
        load_bundle(ModelSource(SourceKind.FOLDER, str(tiny_dir(model_root, "bert"))))


# --- malformed folders: one ModelLoadError with the fix, in the library, the CLI and the app ---------------------

FIXES = {
    "id2label-gap": r"ids \[1\] are missing\. config\.json must name classes 0\.\.1",
    "truncated-weights": r"truncated or corrupt .* Re-save the model with model\.save_pretrained",
}


@pytest.fixture(scope="module")
def malformed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A classifier whose id2label skips ids ({0, 5}), and one whose model.safetensors is cut in half."""
    root = tmp_path_factory.mktemp("malformed")
    gap = build_tiny("bert", root / "id2label-gap", classifier=True)
    config = json.loads((gap / "config.json").read_text())
    config["id2label"], config["label2id"] = {"0": "negative", "5": "positive"}, {"negative": 0, "positive": 5}
    (gap / "config.json").write_text(json.dumps(config))
    cut = build_tiny("bert", root / "truncated-weights", classifier=True)
    weights = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    return {"id2label-gap": gap, "truncated-weights": cut}


@pytest.mark.parametrize("kind", sorted(FIXES))
def test_malformed_folder_fails_with_the_fix(malformed: dict[str, Path], kind: str) -> None:
    with pytest.raises(ModelLoadError, match=FIXES[kind]):
        load_bundle(ModelSource(SourceKind.FOLDER, str(malformed[kind])))


@pytest.mark.parametrize("kind", sorted(FIXES))
def test_cli_reports_a_malformed_folder_without_a_traceback(
    malformed: dict[str, Path], kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--model", str(malformed[kind]), "info"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.search(FIXES[kind], captured.err) and captured.err.startswith("error: ")
    assert "Traceback" not in captured.err


def test_any_other_load_failure_is_a_model_load_error(monkeypatch: pytest.MonkeyPatch, model_root: Path) -> None:
    """Failures nobody foresaw (here: the tokenizer breaks with a KeyError) still reach the user as a fix."""
    from tests.conftest import tiny_dir

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("vocab_file")

    monkeypatch.setattr(tf.AutoTokenizer, "from_pretrained", broken)
    with pytest.raises(ModelLoadError, match=r"cannot be loaded \(KeyError: 'vocab_file'\).*save_pretrained"):
        load_bundle(ModelSource(SourceKind.FOLDER, str(tiny_dir(model_root, "bert"))))


@pytest.mark.parametrize("kind", sorted(FIXES))
def test_app_keeps_the_model_and_the_result_when_a_folder_is_malformed(malformed: dict[str, Path], kind: str) -> None:
    from tests.test_app import _app, _charts, _iframes, _ok

    at = _app("A result worth keeping.")
    _ok(at)
    at.text_input(key="glimpse.model_ref").set_value(str(malformed[kind])).run()
    at.button(key="glimpse.load").click().run()
    _ok(at)
    shown = [e.value.replace("\\", "").replace("\u2060", "") for e in at.error]  # as md() escaped them
    assert any(re.search(FIXES[kind], e) for e in shown), shown
    assert at.text_area(key="glimpse.text").value == "A result worth keeping."
    assert at.session_state["glimpse.source"].kind is SourceKind.EMBEDDED
    (html,) = _iframes(at)
    assert "worth" in html and _charts(at) == 4


# --- the weights hash lives on the bundle, and never keeps one alive -------------------------------------------


def test_weights_hash_covers_names_and_values_in_name_order(bert_bundle: ModelBundle) -> None:
    linear = torch.nn.Linear(1, 1)
    with torch.no_grad():
        linear.weight.fill_(1.0)
        linear.bias.fill_(-2.0)
    bundle = ModelBundle(bert_bundle.source, linear, bert_bundle.tokenizer, bert_bundle.info, linear)  # type: ignore[arg-type]
    expected = hashlib.sha256(b"bias" + struct.pack("<f", -2.0) + b"weight" + struct.pack("<f", 1.0)).hexdigest()
    assert export.weights_sha256(bundle) == bundle.weights_sha256 == expected


def test_a_bundle_is_freed_after_its_hash_was_computed(model_root: Path) -> None:
    from tests.conftest import tiny_dir

    bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(tiny_dir(model_root, "bert"))))
    assert len(export.weights_sha256(bundle)) == 64
    gone = weakref.ref(bundle)
    del bundle
    gc.collect()
    assert gone() is None, "something still holds the bundle (a function cache?)"

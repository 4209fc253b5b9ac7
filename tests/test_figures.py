from __future__ import annotations

import numpy as np

from explain import ModelBundle, attention_view, prepare_input, run_attention
from explain.views.figures import GRID_MAX_CELLS, attention_heatmap, axis_labels, head_grid, relevance_bars


def test_heatmap_ticks_are_the_tokens(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, "the <b>cat</b> and the dog"))
    view = attention_view(result, hide_special=False, merge_words=True)
    fig = attention_heatmap(view.weights[0, 1], view.labels, "t")
    ticks = [t.replace("\u200b", "") for t in fig.data[0].x]
    assert ticks == [w.replace("<", "&lt;").replace(">", "&gt;") for w in view.labels]
    assert len(set(fig.data[0].x)) == len(view.labels)  # repeated "the" stays two positions
    np.testing.assert_array_equal(fig.data[0].z, view.weights[0, 1])


def test_axis_labels_escape_markup() -> None:
    assert axis_labels(["<a href='x'>", "a", "a"]) == ["&lt;a href='x'&gt;", "a", "a\u200b"]


def test_grid_has_one_thumbnail_per_head(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, "a fine movie"))
    fig = head_grid(result.weights)
    assert len(fig.data) == 2 * 4
    assert fig.data[0].z.dtype == np.uint8
    np.testing.assert_array_equal(fig.data[5].z, np.rint(result.weights[1, 1] * 100))


def test_grid_pools_long_inputs() -> None:
    n = 300
    weights = np.full((1, 2, n, n), 1.0 / n, dtype=np.float32)
    weights[0, 0, :, 7] = 0.5
    fig = head_grid(weights)
    z = fig.data[0].z
    assert z.shape[0] <= GRID_MAX_CELLS and z.shape[0] == z.shape[1]
    assert z[:, 2].max() == 50  # block max keeps the strong column visible


def test_relevance_bars() -> None:
    fig = relevance_bars(["a", "b"], np.array([0.25, 0.75]), "t")
    np.testing.assert_allclose(fig.data[0].y, [0.25, 0.75])

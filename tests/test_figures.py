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


def test_grid_is_one_heatmap_with_a_tile_per_head() -> None:
    weights = np.zeros((2, 3, 4, 4), dtype=np.float32)  # 2 layers x 3 heads, 4 tokens
    weights[1, 2, 3, 0] = 0.37  # layer 1, head 2: query 3 attends to key 0
    weights[0, 1, 0, 3] = 0.504  # rounds to 50 %
    fig = head_grid(weights)
    (trace,) = fig.data  # one trace, not 6 subplots
    z = np.asarray(trace.z)
    assert z.shape == (2 * 4 + 1, 3 * 4 + 2)  # tiles of 4 with a one-cell gutter between them
    # tile (layer 1, head 2) starts at row 1 * (4 + 1) and column 2 * (4 + 1)
    assert z[5 + 3, 10 + 0] == 37 and trace.y[8] == "layer 1 · query 3" and trace.x[10] == "head 2 · key 0"
    assert z[0, 5 + 3] == 50 and trace.y[0] == "layer 0 · query 0" and trace.x[8] == "head 1 · key 3"
    assert np.isnan(z[4]).all() and np.isnan(z[:, 4]).all() and np.isnan(z[:, 9]).all()  # gutters
    assert np.nansum(z) == 87 and np.isnan(z).sum() == 9 * 14 - 6 * 16  # all but six 4 x 4 tiles; the rest 0 %
    assert trace.hoverongaps is False and "%{y}<br>%{x}<br>≈ %{z}%" in trace.hovertemplate
    assert list(fig.layout.xaxis.ticktext) == ["H0", "H1", "H2"] and list(fig.layout.yaxis.ticktext) == ["L0", "L1"]
    assert list(fig.layout.xaxis.tickvals) == ["head 0 · key 1", "head 1 · key 1", "head 2 · key 1"]
    assert len(set(trace.x)) == len(trace.x) and len(set(trace.y)) == len(trace.y)  # one category per column/row


def test_grid_tiles_are_the_heads_of_a_real_model(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, "a fine movie"))
    n = result.weights.shape[-1]  # 5 tokens; 2 layers x 4 heads
    z = np.asarray(head_grid(result.weights).data[0].z)
    assert z.dtype == np.float32  # whole percents; NaN gutters need a float type
    row, col = 1 * (n + 1), 3 * (n + 1)  # layer 1, head 3
    np.testing.assert_array_equal(z[row : row + n, col : col + n], np.rint(result.weights[1, 3] * 100))


def test_grid_pools_long_inputs() -> None:
    n = 300
    weights = np.full((1, 2, n, n), 1.0 / n, dtype=np.float32)
    weights[0, 0, :, 7] = 0.5
    trace = head_grid(weights).data[0]
    z = np.asarray(trace.z)
    block = -(-n // GRID_MAX_CELLS)  # 5 positions per cell: 60 cells per tile side
    m = -(-n // block)
    assert m <= GRID_MAX_CELLS and z.shape[0] == m
    assert (z[:, 7 // block] == 50).all()  # block max keeps the strong column visible
    assert trace.x[1] == "head 0 · key 5–9" and trace.y[m - 1] == "layer 0 · query 295–299"


def test_relevance_bars() -> None:
    fig = relevance_bars(["a", "b"], np.array([0.25, 0.75]), "t")
    np.testing.assert_allclose(fig.data[0].y, [0.25, 0.75])

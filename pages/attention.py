"""Attention page: bertviz views, per-head heatmaps, the layer x head grid, and attention rollout."""

import streamlit as st

import explain
import ui
import ui.export
from explain.views import exports as views
from explain.views import figures

st.title("Attention")
cur = ui.current()
if cur is None:
    st.stop()
ui.notices(cur.result.encoding)
if cur.result.logits is not None:
    ui.prediction_panel(cur)
info = cur.bundle.info
st.caption(
    f"{cur.result.encoding.n_tokens} tokens · {info.num_layers} layers × {info.num_heads} heads · "
    f"forward pass {cur.result.seconds * 1000:.0f} ms. Each row of an attention matrix is one **query** token "
    "(the one attending); its weights over the **key** tokens (columns) sum to 1."
)
left, right = st.columns(2)
merge = left.toggle(
    "Merge word pieces into words",
    key="attention.merge",
    help="Words are the runs of characters between spaces, as you typed them. Attention *to* a word is the "
    "sum over its pieces (columns added); attention *from* a word is the mean of its pieces' rows. "
    "Rows still sum to 1.",
)
hide = right.toggle(
    "Hide [CLS]/[SEP] and renormalise",
    key="attention.hide",
    help="Special tokens often absorb most attention. This drops their rows and columns and rescales each "
    "remaining row to sum to 1.",
)
flags = f"h{int(hide)}m{int(merge)}"
view = ui.attention_view(cur.key, cur.result, hide, merge)

viz_col, head_col = st.columns(2, gap="large")
with viz_col:
    st.subheader("bertviz")
    shown_layers = ui.bertviz_section(cur, view, flags)


def per_head() -> None:
    st.subheader("Per-head heatmap")
    c1, c2 = st.columns(2)
    layer = c1.selectbox("Layer", range(info.num_layers), key="attention.layer", help="0 = closest to the input.")
    head = c2.selectbox("Head", range(info.num_heads), key="attention.head")
    st.plotly_chart(
        figures.attention_heatmap(view.weights[layer, head], view.labels, f"Layer {layer}, head {head}"),
        key="attention.head_fig",
    )
    st.plotly_chart(
        figures.attention_heatmap(
            explain.head_average(view.weights[layer : layer + 1])[0],
            view.labels,
            f"Layer {layer}, mean of its {info.num_heads} heads",
        ),
        key="attention.avg_fig",
    )
    st.caption(
        "Hover a cell for the exact weight. Below it: the layer's heads averaged, a summary of what the layer does."
    )


with head_col:
    per_head()
st.subheader("Layer × head grid")
st.caption(
    "One thumbnail per head: rows are layers (top = first), columns are heads. Values are rounded to whole "
    "percents here; the per-head heatmap above has exact values. Long inputs are shown in blocks (max)."
)
st.plotly_chart(ui.head_grid(f"{cur.key}|{flags}", view), key="attention.grid")


def rollout_section() -> None:
    st.subheader("Attention rollout")
    c1, c2 = st.columns(2)
    st.session_state.setdefault("attention.residual", 0.5)  # default via state: kept across page switches
    residual = c1.slider(
        "Residual weight",
        0.0,
        1.0,
        step=0.05,
        key="attention.residual",
        help="Weight of the identity mixed into each layer's attention for the skip connection "
        "(0.5 in Abnar & Zuidema 2020).",
    )
    fusion = c2.selectbox(
        "Head fusion",
        [f.value for f in explain.HeadFusion],
        key="attention.fusion",
        help="How a layer's heads are combined before rolling out: mean, max or min.",
    )
    joint = ui.rollout(cur.key, cur.result, residual, fusion)
    labels, values = explain.rollout_relevance(joint, cur.result.encoding, hide_special=hide, merge_words=merge)
    st.plotly_chart(
        figures.relevance_bars(labels, values, "How much the first token ([CLS]) draws from each input"),
        key="attention.rollout_fig",
    )
    st.caption(
        "Rollout multiplies the layers' attention (each mixed with the identity for the residual stream) "
        "to estimate how much each input token flows into the top [CLS] representation, which a "
        "classifier reads. It is a heuristic of information flow, not an explanation of the prediction."
    )


rollout_section()
choice = views.AttentionChoice(
    layer=st.session_state.get("attention.layer", 0), head=st.session_state.get("attention.head", 0),
    residual=st.session_state.get("attention.residual", 0.5), hide_special=hide, merge_words=merge,
    fusion=explain.HeadFusion(st.session_state.get("attention.fusion", "mean")), bertviz_layers=shown_layers,
)  # fmt: skip
ui.export.export_panel("attention", views.attention_exports(cur.bundle, cur.result, view, choice))
ui.footer()

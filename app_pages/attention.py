"""Attention page: bertviz views, per-head heatmaps, the layer x head grid, and attention rollout."""

import streamlit as st

import explain
import ui
import ui.export
import ui.task_views
import ui.tasks
from explain.methods.attention import ROLLOUT_KNOBS
from explain.views import exports as views
from explain.views import figures
from ui import widgets

st.title("Attention")
shown = ui.tasks.current()
if shown is None:
    st.stop()
cur = shown.cur
if shown.prediction is None:  # a classifier (or no head): its prediction from the attention pass, as ever
    ui.notices(cur.result.encoding)
    if cur.result.logits is not None:
        ui.prediction_panel(cur)
else:
    ui.task_views.prediction_panel(shown.prediction, shown.request, cur.bundle)
info = cur.bundle.info
st.caption(
    f"{cur.result.encoding.n_tokens} tokens · {info.num_layers} layers × {info.num_heads} heads · "
    f"forward pass {cur.result.seconds * 1000:.0f} ms. Each row of an attention matrix is one **query** token "
    "(the one attending); its weights over the **key** tokens (columns) sum to 1."
)
left, right = st.columns(2)
with left:
    merge = widgets.kept(
        st.toggle, "attention.merge", False, label="Merge word pieces into words",
        help="Words are the runs of characters between spaces, as you typed them. Attention *to* a word is the "
        "sum over its pieces (columns added); attention *from* a word is the mean of its pieces' rows. "
        "Rows still sum to 1.",
    )  # fmt: skip
with right:
    hide = widgets.kept(
        st.toggle, "attention.hide", False, label="Hide [CLS]/[SEP] and renormalise",
        help="Special tokens often absorb most attention. This drops their rows and columns and rescales each "
        "remaining row to sum to 1.",
    )  # fmt: skip
view = ui.attention_view(cur, hide, merge)

viz_col, head_col = st.columns(2, gap="large")
with viz_col:
    st.subheader("bertviz")
    shown_layers = ui.lazy_bertviz(cur, view, hide, merge)
with head_col:
    st.subheader("Per-head heatmap")
    layer, head = widgets.layer_and_head(("attention.layer", "attention.head"), info.num_layers, info.num_heads)
    shown = widgets.kept(
        st.radio, "attention.norms", "attention α", label="Show", options=["attention α", "norm ‖α f(x)‖"],
        horizontal=True, help="Attention weights α, or norm-based attention (Kobayashi et al. 2020): α times "
        "the size of what each token's value vector adds to the head's output. A big weight on a token whose "
        "vector is tiny moves nothing (often the case for [SEP]). Not rescaled unless specials are hidden.",
    )  # fmt: skip
    heat, value = (ui.norm_view(cur, hide, merge), "‖αf(x)‖") if shown != "attention α" else (view, "weight")
    st.plotly_chart(figures.attention_heatmap(heat.weights[layer, head], heat.labels, f"Layer {layer}, head {head}",
                                              value), key="attention.head_fig")  # fmt: skip
    st.plotly_chart(
        figures.attention_heatmap(explain.head_average(heat.weights[layer : layer + 1])[0], heat.labels,
                                  f"Layer {layer}, mean of its {info.num_heads} heads", value),
        key="attention.avg_fig",
    )  # fmt: skip
    st.caption("Hover a cell for the exact weight. Below it: the layer's heads averaged, what the layer does overall.")

st.subheader("Layer × head grid")
st.caption(
    "One thumbnail per head: rows are layers (top = first), columns are heads. Values are rounded to whole "
    "percents here; the per-head heatmap above has exact values. Long inputs are shown in blocks (max)."
)
st.plotly_chart(ui.head_grid(cur, view, hide, merge), key="attention.grid")

st.subheader("Attention rollout")
c1, c2 = st.columns(2)
with c1:
    residual = widgets.kept(st.slider, "attention.residual", ROLLOUT_KNOBS[0].default, label=ROLLOUT_KNOBS[0].label,
                            min_value=0.0, max_value=1.0, step=0.05, help=ROLLOUT_KNOBS[0].help)  # fmt: skip
with c2:
    fusion = widgets.knob_choice(ROLLOUT_KNOBS[1], "attention.fusion")
labels, values = explain.rollout_relevance(ui.rollout(cur, residual, fusion), cur.result.encoding, hide_special=hide,
                                           merge_words=merge)  # fmt: skip
st.plotly_chart(figures.relevance_bars(labels, values, "How much the first token ([CLS]) draws from each input"),
                key="attention.rollout_fig")  # fmt: skip
st.caption(
    "Rollout multiplies the layers' attention (each mixed with the identity for the residual stream) to estimate "
    "how much each input token flows into the top [CLS] representation, which a classifier reads. It is a "
    "heuristic of information flow, not an explanation of the prediction."
)
choice = views.AttentionChoice(layer=layer, head=head, residual=residual, hide_special=hide, merge_words=merge,
                               fusion=explain.HeadFusion(fusion), bertviz_layers=shown_layers)  # fmt: skip
ui.export.export_panel("attention", views.attention_exports(cur.bundle, cur.result, view, choice))
ui.footer()

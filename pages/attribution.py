"""Attribution page: the prediction, then integrated gradients for it, with the evidence it holds."""

import streamlit as st

import explain
import ui
import ui.export
from explain.methods.attribution import BASELINE_HELP
from explain.views import exports as views
from explain.views import figures
from explain.views.highlight import highlight_html

st.title("Attribution")
cur = ui.current()
if cur is None:
    st.stop()
ui.notices(cur.result.encoding)
ui.prediction_panel(cur)
info = cur.bundle.info
if not info.has_classifier:
    st.stop()
probs = explain.probabilities(cur.result.logits)  # type: ignore[arg-type]
c1, c2, c3, c4 = st.columns(4)
predicted = info.labels[int(probs.argmax())]
target = c1.selectbox(
    "Explain class", [None, *range(len(info.labels))], key="attribution.target",
    format_func=lambda i: f"the predicted class ({predicted})" if i is None else info.labels[i],
    help="Attributions explain this class's output; by default whichever class the model predicts for the text.",
)  # fmt: skip
output = c2.radio(
    "Attribute", ["logit", "probability"], key="attribution.output", horizontal=True,
    help="The class's logit (default; additive, unsaturated) or its softmax probability.",
)  # fmt: skip
baseline = c3.selectbox(
    "Baseline", list(explain.Baseline), format_func=lambda b: BASELINE_HELP[b], key="attribution.baseline",
    help="IG integrates from this reference to the input. Positions and segments stay at the input's values, "
    "so the baseline differs only in token identity.",
)  # fmt: skip
words = c4.toggle(
    "Words",
    key="attribution.words",
    help="Sum the scores of a word's pieces (words = runs of characters between spaces).",
)
with st.expander("Accuracy"):
    st.session_state.setdefault("attribution.tol", 0.01)  # defaults via state: kept across page switches
    st.session_state.setdefault("attribution.cap", 128)
    tol = st.select_slider("Tolerance on δ", [0.001, 0.005, 0.01, 0.02, 0.05], key="attribution.tol",
                           format_func=lambda t: f"{t:.1%}")  # fmt: skip
    cap = st.select_slider("Step cap", [32, 64, 128, 256], key="attribution.cap")
settings = explain.IGSettings(target=target, output=output, baseline=baseline, tolerance=tol, max_steps=cap)
ui.rollout_tokens(cur, words)
result = ui.attribution(cur, settings)
if result is None:
    st.stop()
ui.attribution_summary(result, info)
method = st.radio(
    "Colour by", list(views.METHODS), horizontal=True, key="attribution.method",
    help="IG is the certified method; the other two are fast one-pass companions.",
)  # fmt: skip
raw = getattr(result, views.METHODS[method])
labels, scores = explain.word_scores(raw, result.encoding) if words else (result.encoding.tokens, raw)
what = f"{method} for '{info.labels[result.target]}'"
st.html(highlight_html(labels, scores, what=what))
st.caption(
    "Red tokens push the model towards the explained class, blue tokens away from it; white is neutral. "
    "Colours are scaled to the largest |score|; hover a token for its exact value."
    + (
        " Saliency is a gradient norm, so it has no sign: it shows sensitivity, not direction."
        if "Sal" in method
        else ""
    )
)
st.plotly_chart(figures.attribution_bars(labels, scores, f"{method}, sorted", what), key="attribution.bars")
ui.export.export_panel("attribution", views.attribution_exports(cur.bundle, result, method, words))
ui.footer()

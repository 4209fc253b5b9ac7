"""The Diagnose page's sections: heads that matter, switching heads off, attention vs IG, faithfulness, sanity.

Every computation is cached per (model, text, explained class, settings) in the shared result cache and
run only for the tab the user opens. A click on any layer × head map picks that head, which opens below
in a per-head heatmap and bertviz's head view.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

import explain
from explain.methods import ablation, faithfulness, sanity
from explain.methods.agreement import AGREEMENT_KNOBS, AgreementSettings, head_agreement
from explain.methods.attribution import AttributionError
from explain.methods.diagnosis import Diagnosis, describe
from explain.methods.norms import norm_attention, value_norms
from explain.methods.target import explained_class
from explain.views import diagnostics, figures
from explain.views.bertviz import bertviz_html
from explain.views.diagnose_exports import faithfulness_figures, importance_figures, sweep_figure
from ui import cache, widgets
from ui.state import Current, InputKey, md

_LAYER, _HEAD = "diagnose.layer", "diagnose.head"
#: Below this many tokens a rank correlation between two explanations is mostly chance.
SANITY_MIN_TOKENS = 8


def _cached(cur: Current, what: str, *key: object, compute: Any) -> Any:
    with st.spinner(f"Computing {what}…"):
        return cache.cached((what, cur.key, *key), compute)


def importance(bundle: explain.ModelBundle, encoding: explain.Encoding, target: int) -> ablation.HeadImportanceResult:
    """Head importance for (model, text, class), cached once for every page that shows it (Diagnose, Compare)."""
    key = ("head importance", InputKey.of(bundle, encoding.text, encoding.text_b), target)
    with st.spinner("Computing head importance…"):
        return cache.cached(key, lambda: ablation.head_importance(bundle, encoding, target=target))


def explained_target(cur: Current, settings: explain.IGSettings) -> int:
    """The class IG will explain (the one asked for, or the prediction shown), known before IG runs."""
    return explained_class(cur.bundle, cur.result.encoding, settings.target, cur.result.logits, AttributionError)


def heads_that_matter(cur: Current, target: int) -> tuple[ablation.HeadImportanceResult, ablation.SweepResult]:
    """The head maps and the sweep: they need the class, not IG, so the page draws them before IG runs."""
    label = cur.bundle.info.target or cur.bundle.info.labels[target]  # a task view names its logit
    imp = importance(cur.bundle, cur.result.encoding, target)
    left, right = st.columns(2)
    by_ablation, by_gradient = importance_figures(imp, label)
    with left:
        _pick(st.plotly_chart(by_ablation, key="diagnose.ablation_map", on_select="rerun", selection_mode="points"))
        st.caption(
            f"Each cell: how P({md(label)}) changes when that one head's output is removed (blue: it falls, "
            f"so the head supports the class). {imp.ablation_seconds:.2f} s for all {imp.delta_logit.size} "
            "heads, batched. Click a cell to open the head below."
        )
    with right:
        _pick(st.plotly_chart(by_gradient, key="diagnose.gradient_map", on_select="rerun", selection_mode="points"))
        st.caption(
            f"|∂ log P({md(label)}) / ∂ head scale| (Michel et al. 2019 use the loss −log P): one backward "
            f"pass, {imp.gradient_seconds:.2f} s. A first-order estimate of the same question."
        )
    st.metric(
        "Rank agreement of the two maps",
        f"{imp.rank_agreement:+.2f}",
        help="Spearman ρ between |Δ probability| by ablation and the gradient importance: +1 = the same order "
        "of heads. Gradients are local; ablation removes the head entirely, so they can disagree.",
    )
    head_detail(cur)
    return imp, switch_heads_off(cur, imp, label)


def switch_heads_off(cur: Current, imp: ablation.HeadImportanceResult, label: str) -> ablation.SweepResult:
    st.subheader("Switch heads off")
    layers, heads = imp.delta_logit.shape
    names = [f"L{la} H{h}" for la in range(layers) for h in range(heads)]
    order = np.argsort(imp.delta_probability, axis=None)  # most negative first: the heads the class needs most
    c1, c2 = st.columns([2, 1])
    with c2:
        k = widgets.kept(
            st.slider,
            "diagnose.top_k",
            0,
            label="Top-k heads by importance",
            min_value=0,
            max_value=layers * heads,
            help="Adds the k heads whose removal lowers the class most.",
        )
    with c1:
        chosen = widgets.kept(
            st.multiselect,
            "diagnose.off",
            [],
            label="Heads switched off",
            options=names,
            valid=lambda v: all(n in names for n in v),
            help="Any heads: each one's output is zeroed (a forward hook on the model's twin).",
        )
    off = sorted({divmod(int(i), heads) for i in order[:k]} | {_parse(n) for n in chosen})
    if off:
        after = ablation.ablate(cur.bundle, cur.result.encoding, off, target=imp.target)
        labels = cur.bundle.info.labels
        cols = st.columns(3)
        cols[0].metric(
            "Prediction",
            md(labels[after.predicted_after]),
            delta=None if after.predicted_after == after.predicted_before else "changed",
            help=f"Before: {md(labels[after.predicted_before])}.",
        )
        cols[1].metric(
            f"P({md(label)})",
            f"{after.probabilities_after[imp.target]:.1%}",
            delta=f"{after.delta_probability:+.1%}",
            help="With these heads off, and the change.",
        )
        cols[2].metric(
            f"logit({md(label)})", f"{after.logits_after[imp.target]:+.3f}", delta=f"{after.delta_logit:+.3f}"
        )
    sweep: ablation.SweepResult = _cached(
        cur, "ablation sweep", imp.target, compute=lambda: ablation.ablation_sweep(cur.bundle, imp)
    )
    st.plotly_chart(sweep_figure(sweep, label), key="diagnose.sweep")
    st.caption(
        "P(class) as heads are removed one after another: most important first (by the ablation map) against "
        f"{sweep.random_curves.shape[0]} random orders (the grey band). A curve far below the band means a few "
        "heads carry the prediction."
    )
    return sweep


def attention_vs_ig(cur: Current, result: explain.AttributionResult) -> Diagnosis:
    c1, c2, c3, c4 = st.columns(4)
    with c1:
        query = widgets.knob_choice(
            AGREEMENT_KNOBS[0],
            "diagnose.query",
            format_func=lambda q: {"cls": "[CLS] row", "mean": "mean over queries"}[str(q)],
        )
    with c2:
        corr = widgets.knob_choice(AGREEMENT_KNOBS[1], "diagnose.correlation", format_func=str.capitalize)
    with c3:
        words = widgets.kept(st.toggle, "diagnose.words", False, label="Words", help="Merge pieces as everywhere else.")
    with c4:
        signed = widgets.kept(
            st.toggle,
            "diagnose.signed",
            False,
            label="Signed IG",
            help="Off: compare with |IG| (attention has no sign). On: with IG as signed.",
        )
    settings = AgreementSettings(query=query, correlation=corr, merge_words=words, signed=signed)
    norms = _cached(cur, "value norms", compute=lambda: value_norms(cur.bundle, cur.result.encoding))
    try:
        raw = head_agreement(cur.result.weights, result.scores, cur.result.encoding, settings)
        normed = head_agreement(norm_attention(cur.result.weights, norms), result.scores, cur.result.encoding, settings)
    except explain.GlimpseError as exc:  # too few words to rank: say so, and draw the rest of the page
        st.info(md(str(exc)))
        head_detail(cur)
        return Diagnosis(result)
    left, right = st.columns(2)
    with left:
        _pick(
            st.plotly_chart(
                diagnostics.head_map(raw, "Attention vs IG", "ρ", signed=True, limit=1.0),
                key="diagnose.agreement",
                on_select="rerun",
                selection_mode="points",
            )
        )
    with right:
        _pick(
            st.plotly_chart(
                diagnostics.head_map(normed, "Norm-based attention ‖αf(x)‖ vs IG", "ρ", signed=True, limit=1.0),
                key="diagnose.agreement_norm",
                on_select="rerun",
                selection_mode="points",
            )
        )
    rows = "the [CLS] row" if query == "cls" else "mean over queries"
    st.caption(
        f"Each cell: {corr.capitalize()} rank correlation over the {'words' if words else 'tokens'} "
        f"([CLS]/[SEP] left out) between the head's attention ({rows}) "
        f"and {'signed ' if signed else '|'}IG{'' if signed else '|'}. Red: the head looks where IG finds the "
        "evidence; blue: elsewhere. Attention alone can mislead (Jain & Wallace 2019); norm-based attention "
        "weighs each token by how much it actually adds to the head's output (Kobayashi et al. 2020)."
    )
    head_detail(cur)
    return Diagnosis(result, agreement=raw, norm_agreement=normed, agreement_method=describe(settings))


def which_explanation(cur: Current, result: explain.AttributionResult) -> Diagnosis:
    label = cur.bundle.info.target or cur.bundle.info.labels[result.target]
    settings = faithfulness.FaithfulnessSettings(baseline=result.settings.baseline)

    def compute() -> faithfulness.FaithfulnessResult:
        scores = faithfulness.method_scores(result, cur.result)
        norms = value_norms(cur.bundle, cur.result.encoding)
        scores["norm-based attention"] = norm_attention(cur.result.weights, norms)[-1, :, 0, :].mean(0).astype(float)
        return faithfulness.faithfulness(cur.bundle, cur.result.encoding, result.target, scores, settings)

    f: faithfulness.FaithfulnessResult = _cached(
        cur, "faithfulness curves", result.target, result.settings, compute=compute
    )
    (st.success if f.beats_random else st.warning)(md(f.verdict))
    deletion, insertion = faithfulness_figures(f, label)
    left, right = st.columns(2)
    left.plotly_chart(deletion, key="diagnose.deletion")
    right.plotly_chart(insertion, key="diagnose.insertion")
    rows = [(m.name, m.comprehensiveness, m.sufficiency) for m in (*f.methods, f.random)]
    st.dataframe(
        {
            "method": [r[0] for r in rows],
            "comprehensiveness ↑": [r[1] for r in rows],
            "sufficiency ↓": [r[2] for r in rows],
        },
        hide_index=True,
    )
    st.caption(
        f"AOPC (ERASER, DeYoung et al. 2020), mean over removing or keeping the top 1, 5, 10, 20 and 50% of "
        f"tokens: comprehensiveness = how much P({md(label)}) falls without a method's top tokens (higher is "
        "more faithful), sufficiency = how much it falls with only them (lower is better). Random = "
        f"{len(f.random_seeds)} seeded orders. Caveat: replacing tokens by [PAD] makes inputs the model never "
        f"saw in training, so these tests measure more than faithfulness. {f.seconds:.2f} s."
    )
    return Diagnosis(result, faithfulness=f)


def sanity_section(cur: Current, result: explain.AttributionResult) -> Diagnosis:
    settings = sanity.SanitySettings()
    s: sanity.SanityResult = _cached(  # IG's settings are part of the key: a PAD check is no MASK check
        cur,
        "sanity check",
        result.target,
        result.settings,
        settings,
        compute=lambda: sanity.sanity_check(
            cur.bundle,
            cur.result.encoding,
            result.target,
            ig=result.settings,
            settings=settings,
            original=(result, cur.result),  # the page's own certified IG: row 0 costs nothing more
        ),
    )
    corr = {m: s.correlations[:, i] for i, m in enumerate(s.methods)}
    st.plotly_chart(diagnostics.sanity_figure(s.steps, corr, s.settings.threshold), key="diagnose.sanity")
    words = int((~cur.result.encoding.special).sum())
    if words < SANITY_MIN_TOKENS:
        st.info(
            f"With {words} tokens a rank correlation swings by chance: the check says little below "
            f"{SANITY_MIN_TOKENS}. Try a longer sentence."
        )
    for method in s.methods:
        if method in s.insensitive:
            st.warning(
                f"**{md(method)}** barely changes when the whole model is randomised: it does not depend on "
                "what the model learned, so it fails this sanity check."
            )
    if not s.insensitive:
        st.success("Every method's explanation changes once the model is destroyed: all pass this sanity check.")
    paired = any(step.startswith("layers ") for step in s.steps)
    grouped = f" (adjacent layers together: at most {sanity.MAX_LAYER_STEPS} steps)" if paired else ""
    st.caption(
        f"Cascading randomisation (Adebayo et al. 2018): the classifier head, then layers top-down{grouped}, are "
        f"re-initialised in a throwaway copy (seed {s.settings.seed}; the loaded model is untouched), and each "
        f"method is recomputed. Only ranks are compared on the randomised copies, so IG there is a fixed "
        f"{sanity.IG_POINTS}-point rule in {s.precision} (bfloat16 only where this machine runs it faster; "
        f"GLIMPSE_RANKS_PRECISION sets it). {s.seconds:.1f} s."
    )
    return Diagnosis(result, sanity=s)


def head_detail(cur: Current) -> None:
    """The picked head: its heatmap and bertviz's head view of its layer with that head on."""
    info = cur.bundle.info
    st.markdown("**The picked head**")
    layer, head = widgets.layer_and_head((_LAYER, _HEAD), info.num_layers, info.num_heads)
    enc = cur.result.encoding
    left, right = st.columns(2)
    left.plotly_chart(
        figures.attention_heatmap(cur.result.weights[layer, head], enc.tokens, f"Layer {layer}, head {head}"),
        key="diagnose.head_heatmap",
    )
    if enc.n_tokens <= 64:
        html = cache.cached(
            ("diagnose-bertviz", cur.key, layer, head),
            lambda: bertviz_html(
                "head",
                cur.result.weights,
                enc.tokens,
                sentence_b_start=enc.sentence_b_start,
                layers=(layer,),
                header=f"layer {layer}, head {head}",
                layer=layer,
                heads=[head],
            ),
        )
        with right:
            st.iframe(html, height=140 + 23 * enc.n_tokens)


def _pick(event: Any) -> None:
    widgets.pick_cell(event, _LAYER, _HEAD)


def _parse(name: str) -> tuple[int, int]:
    layer, head = name.split()
    return int(layer[1:]), int(head[1:])

"""Every exported figure kind on a short and a long input, built by the same functions the exports call.

The layout test renders these, and ``scripts/gallery.py`` draws them for ``docs/gallery.md``. The numbers
are synthetic and seeded (the layout depends on labels, shapes and ranges, not on a model), the labels are
awkward on purpose: repeated tokens, a CJK word, a long URL, markup that must stay text.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import plotly.graph_objects as go

from explain.compare.attribution import WordDelta
from explain.views import comparison, corpus, diagnostics, figures
from explain.views.diagnose_exports import faithfulness_figures, importance_figures, sweep_figure

CAPTION = (
    "model: folder:/work/shared/data/models/distilbert-base-uncased-finetuned-sst-2-english · method: "
    "Integrated gradients · class: POSITIVE · baseline: [PAD] tokens (keeps [CLS] and [SEP]) · steps: 64 · "
    "δ = -6.13e-08 (0.00%) · per-token error 0.12%"
)
_SHORT = "[CLS] the film was not bad , the film was 日本 good ! [SEP]".split()  # noqa: SIM905
_LONG_WORDS = (  # noqa: SIM905
    "the movie was a complete waste of time , but the soundtrack was wonderful and <b>bold</b> ; see "
    "https://example.com/reviews/2024/the-movie-soundtrack-review for more . honestly the acting felt "
    "wooden , the plot meandered , yet every scene with the orchestra was breathtaking"
).split()
_LONG = ["[CLS]", *(_LONG_WORDS * 2)[:70], "[SEP]"]


def tokens(long: bool) -> list[str]:
    return _LONG if long else _SHORT


def _rng(long: bool) -> np.random.Generator:
    return np.random.default_rng(7 if long else 3)


def _attention(layers: int, heads: int, n: int, rng: np.random.Generator) -> np.ndarray:
    logits = rng.normal(size=(layers, heads, n, n)) * 2
    w = np.exp(logits)
    return (w / w.sum(-1, keepdims=True)).astype(np.float32)  # rows sum to 1


def _scores(n: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    return rng.normal(size=n) * scale


def _model(long: bool) -> tuple[int, int]:
    return (12, 12) if long else (2, 4)  # BERT-base, and a tiny test model


def attention_heatmap(long: bool) -> go.Figure:
    labels, rng = tokens(long), _rng(long)
    return figures.attention_heatmap(_attention(1, 1, len(labels), rng)[0, 0], labels, "Layer 1, head 2")


def attention_grid(long: bool) -> go.Figure:
    layers, heads = _model(long)
    return figures.head_grid(_attention(layers, heads, len(tokens(long)), _rng(long)))


def rollout(long: bool) -> go.Figure:
    labels, rng = tokens(long), _rng(long)
    values = rng.dirichlet(np.ones(len(labels)))
    return figures.relevance_bars(labels, values, "How much [CLS] draws from each input")


def attribution_tokens(long: bool) -> go.Figure:
    labels = tokens(long)
    what = "Integrated gradients for 'POSITIVE'"
    return figures.token_figure(labels, _scores(len(labels), _rng(long), 4.0), what, what)


def attribution_bars(long: bool) -> go.Figure:
    labels = tokens(long)
    what = "Integrated gradients for 'POSITIVE'"
    return figures.attribution_bars(labels, _scores(len(labels), _rng(long)), "Integrated gradients, sorted", what)


def _importance(long: bool) -> Any:
    rng = _rng(long)
    shape = _model(long)
    return SimpleNamespace(delta_probability=rng.normal(size=shape) * 4e-4, gradient=np.abs(rng.normal(size=shape)))


def head_ablation(long: bool) -> go.Figure:
    return importance_figures(_importance(long), "POSITIVE")[0]


def head_gradient(long: bool) -> go.Figure:
    return importance_figures(_importance(long), "POSITIVE")[1]


def agreement(long: bool) -> go.Figure:
    values = np.tanh(_rng(long).normal(size=_model(long)))
    return diagnostics.head_map(values, "Attention vs IG (rank correlation)", "ρ", signed=True, limit=1.0)


def ablation_sweep(long: bool) -> go.Figure:
    layers, heads = _model(long)
    total, rng = layers * heads, _rng(long)
    counts = np.linspace(0, total, 9).round()
    curve = np.linspace(0.98, 0.2, 9)
    sweep = SimpleNamespace(counts=counts, importance_curve=curve,
                            random_curves=np.clip(curve + rng.normal(size=(5, 9)) * 0.1, 0, 1))  # fmt: skip
    return sweep_figure(sweep, "POSITIVE")


def _faithfulness(long: bool) -> Any:
    rng = _rng(long)
    fractions = np.linspace(0, 1, 11)
    names = ["Integrated gradients", "Gradient × input", "Saliency (|gradient|)", "Attention rollout"]
    names = names if long else names[:2]

    def curves() -> SimpleNamespace:
        return SimpleNamespace(deletion=np.sort(rng.random(11))[::-1], insertion=np.sort(rng.random(11)))

    methods = [SimpleNamespace(name=n, **vars(curves())) for n in names]
    return SimpleNamespace(fractions=fractions, methods=methods, random_seeds=[curves() for _ in range(3)])


def faithfulness_deletion(long: bool) -> go.Figure:
    return faithfulness_figures(_faithfulness(long), "POSITIVE")[0]


def faithfulness_insertion(long: bool) -> go.Figure:
    return faithfulness_figures(_faithfulness(long), "POSITIVE")[1]


def sanity(long: bool) -> go.Figure:
    layers = _model(long)[0]
    steps = ["classifier", *(f"layer {i}" for i in reversed(range(layers))), "embeddings"]
    rng = _rng(long)
    corr = {m: np.linspace(1, rng.uniform(-0.2, 0.6), len(steps)) for m in ("Integrated gradients", "Saliency")}
    return diagnostics.sanity_figure(steps, corr, 0.5)


def compare_delta(long: bool) -> go.Figure:
    words = [w for w in tokens(long) if w not in ("[CLS]", "[SEP]")]
    labels = [f"{w} → {w}s (≠)" if i % 7 == 3 else w for i, w in enumerate(words)]
    rng = _rng(long)
    a, b = rng.normal(size=len(words)), rng.normal(size=len(words))
    delta = WordDelta(a, b, b - a, float(np.abs(np.r_[a, b, b - a]).max()))
    return comparison.delta_bars(labels, delta, ("A", "B"), "integrated gradients")


def divergence(long: bool) -> go.Figure:
    values = _rng(long).random(_model(long))
    return diagnostics.head_map(values, "Attention divergence A vs B (JS, bits)", "JS", signed=False, limit=1.0)


def head_similarity(long: bool) -> go.Figure:
    sim = SimpleNamespace(best_correlation=np.tanh(_rng(long).normal(size=_model(long))))
    return comparison.similarity_map(SimpleNamespace(similarity=sim, model_b="textattack/bert-base-uncased-SST-2"))


def corpus_confusion(long: bool) -> go.Figure:
    labels = ["negative", "neutral", "positive", "very positive"] if long else ["NEGATIVE", "POSITIVE"]
    k = len(labels)
    matrix = (_rng(long).integers(0, 40, size=(k, k)) + np.eye(k, dtype=int) * 400).tolist()
    return corpus.confusion_figure({"labels": labels, "confusion": matrix, "accuracy": 0.912})


def corpus_top_words(long: bool) -> go.Figure:
    words = list(dict.fromkeys(tokens(long)))[: 25 if long else 6]
    rng = _rng(long)
    entries = [
        {"word": w, "mean_ig": float(v), "count": 3}
        for w, v in zip(words, np.sort(rng.random(len(words))), strict=True)
    ]
    return corpus.top_words_figure({"POSITIVE": {"for": entries[::-1]}}, "POSITIVE", 3)


def corpus_head_stat(long: bool) -> go.Figure:
    values = _rng(long).random(_model(long)) * 4
    return corpus.head_stat_figure({"entropy": values.tolist()}, "entropy")


def corpus_aopc(long: bool) -> go.Figure:
    names = ["integrated_gradients", "grad_x_input", "saliency", "rollout"] if long else ["integrated_gradients"]
    rng = _rng(long)
    values = {f"{m}_{n}": float(rng.random()) for n in names for m in ("comprehensiveness", "sufficiency")}
    return corpus.aopc_figure(values)


#: name -> (print kind, builder(long)). The names follow the exported files.
SPECIMENS: dict[str, tuple[str, Callable[[bool], go.Figure]]] = {
    "attention-heatmap": ("heatmap", attention_heatmap),
    "attention-grid": ("grid", attention_grid),
    "attention-rollout": ("hbars", rollout),
    "attribution-tokens": ("tokens", attribution_tokens),
    "attribution-bars": ("hbars", attribution_bars),
    "head-ablation": ("head-map", head_ablation),
    "head-gradient": ("head-map", head_gradient),
    "agreement": ("head-map", agreement),
    "ablation-sweep": ("curves", ablation_sweep),
    "faithfulness-deletion": ("curves", faithfulness_deletion),
    "faithfulness-insertion": ("curves", faithfulness_insertion),
    "sanity": ("curves", sanity),
    "compare-delta": ("hbars", compare_delta),
    "compare-divergence": ("head-map", divergence),
    "compare-head-similarity": ("head-map", head_similarity),
    "corpus-confusion": ("confusion", corpus_confusion),
    "corpus-top-words": ("hbars", corpus_top_words),
    "corpus-heads": ("head-map", corpus_head_stat),
    "corpus-aopc": ("hbars", corpus_aopc),
}

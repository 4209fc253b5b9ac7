"""Compare: two sentences on one model (minimal pairs), or one text on two models.

- :mod:`~explain.compare.alignment`: a word-level diff of two encodings, mapped to word pieces;
- :mod:`~explain.compare.attribution`: IG per aligned word, A, B and Δ on one colour scale;
- :mod:`~explain.compare.divergence`: per-head JS divergence (one model), head similarity (two models);
- :mod:`~explain.compare.sentences` / :mod:`~explain.compare.models`: the two comparisons;
- :mod:`~explain.compare.edits`: a suggested sentence B (negation, antonym, gender swap);
- :mod:`~explain.compare.cli`: the ``compare`` verb of ``python -m explain``.
"""

from explain.compare.alignment import AlignedWord, Alignment, Op, align_words
from explain.compare.attribution import WordDelta, largest_changes, word_delta
from explain.compare.divergence import (
    HeadSimilarity,
    RankedHead,
    attention_divergence,
    head_similarity,
    js_divergence,
    top_heads,
)
from explain.compare.edits import Edit, EditRule, suggest_edit
from explain.compare.models import ModelComparisonResult, compare_models, load_second_model
from explain.compare.sentences import Prediction, SentenceComparisonResult, attribute_pair, compare_sentences

__all__ = [
    "AlignedWord",
    "Alignment",
    "Edit",
    "EditRule",
    "HeadSimilarity",
    "ModelComparisonResult",
    "Op",
    "Prediction",
    "RankedHead",
    "SentenceComparisonResult",
    "WordDelta",
    "align_words",
    "attention_divergence",
    "attribute_pair",
    "compare_models",
    "compare_sentences",
    "head_similarity",
    "js_divergence",
    "largest_changes",
    "load_second_model",
    "suggest_edit",
    "top_heads",
    "word_delta",
]

"""Per-head statistics of one input's attention, and their running means over a corpus.

For every layer and head, averaged over the query positions (every token, specials included, so the
numbers describe the head as it runs): the entropy of its attention rows (bits, log base 2: uniform
attention over n tokens is log2 n bits; low = focused), the
weight it puts on the first token ([CLS] / <s>), on every separator ([SEP] / </s>), and on tokens that are
all punctuation (Clark et al. 2019 found heads that park attention on [SEP] and on punctuation), and its
agreement with integrated gradients (:func:`~explain.methods.agreement.head_agreement`: Spearman between
the [CLS] row and |IG| over the non-special tokens; NaN when fewer than two are left).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from explain.inputs import Encoding
from explain.methods.agreement import AgreementSettings, head_agreement

#: The statistics, in the order the Parquet columns and the summary hold them.
STAT_NAMES = ("entropy", "to_cls", "to_sep", "to_punct", "agreement")
AGREEMENT = AgreementSettings()  # [CLS] row, Spearman, tokens, |IG|


@dataclass(frozen=True, eq=False)
class HeadStats:
    """One input's per-head statistics; every array is [layers, heads] float64."""

    entropy: np.ndarray  # [layers, heads] mean over queries of −Σ p log2 p (bits)
    to_cls: np.ndarray  # [layers, heads] mean over queries of the weight on the first token
    to_sep: np.ndarray  # [layers, heads] ... on all separator tokens together
    to_punct: np.ndarray  # [layers, heads] ... on all punctuation tokens together (0 when there are none)
    agreement: np.ndarray  # [layers, heads] Spearman of the [CLS] row with |IG|; NaN when undefined

    def as_dict(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in STAT_NAMES}


def head_stats(weights: np.ndarray, encoding: Encoding, scores: np.ndarray, sep_token_id: int | None) -> HeadStats:
    """Statistics of ``weights`` [layers, heads, seq, seq] (rows sum to 1) against IG ``scores`` [seq]."""
    w = weights.astype(np.float64)
    logs = np.log2(w, out=np.zeros_like(w), where=w > 0)  # bits, as the page labels it; 0 log 0 = 0
    entropy = -(w * logs).sum(-1).mean(-1)  # (layers, heads)
    separators = encoding.special & (encoding.input_ids == sep_token_id)
    return HeadStats(
        entropy=entropy,
        to_cls=w[..., 0].mean(-1) if encoding.special[0] else np.full(entropy.shape, np.nan),
        to_sep=w[..., separators].sum(-1).mean(-1),
        to_punct=w[..., punctuation(encoding)].sum(-1).mean(-1),
        agreement=_agreement(weights, scores, encoding),
    )


def punctuation(encoding: Encoding) -> np.ndarray:
    """[seq] bool: non-special tokens made only of punctuation characters (word pieces' '##' aside)."""
    out = np.zeros(encoding.n_tokens, dtype=bool)
    for i, token in enumerate(encoding.tokens):
        text = token.removeprefix("##")
        out[i] = not encoding.special[i] and bool(text) and all(unicodedata.category(c).startswith("P") for c in text)
    return out


def _agreement(weights: np.ndarray, scores: np.ndarray, encoding: Encoding) -> np.ndarray:
    if int((~encoding.special).sum()) < 2:
        return np.full(weights.shape[:2], np.nan)
    return head_agreement(weights, scores, encoding, AGREEMENT)


@dataclass
class HeadMeans:
    """Running means of [layers, heads] statistics; NaN entries (undefined agreement) are left out."""

    sums: dict[str, np.ndarray]  # name -> [layers, heads] float64
    counts: dict[str, np.ndarray]  # name -> [layers, heads] int64 values that were not NaN

    @classmethod
    def empty(cls, layers: int, heads: int) -> HeadMeans:
        return cls({n: np.zeros((layers, heads)) for n in STAT_NAMES},
                   {n: np.zeros((layers, heads), dtype=np.int64) for n in STAT_NAMES})  # fmt: skip

    def add(self, name: str, values: np.ndarray) -> None:
        """Add one input's [layers, heads] values of ``name``."""
        seen = ~np.isnan(values)
        self.sums[name] += np.where(seen, values, 0.0)
        self.counts[name] += seen

    def means(self) -> dict[str, np.ndarray]:
        """name -> [layers, heads] mean (NaN where no input had a value)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return {n: np.where(self.counts[n] > 0, self.sums[n] / self.counts[n], np.nan) for n in STAT_NAMES}

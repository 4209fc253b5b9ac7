"""Faithfulness curves: which explanation to believe for this input.

Each method's token scores rank the non-special tokens, most evidence for the class first. The
**deletion** curve replaces the top-k tokens by the baseline token and follows the class's probability
(a faithful ranking makes it fall fast); the **insertion** curve starts from the all-baseline input and
restores the top-k (it should rise fast). ERASER's AOPC (DeYoung et al. 2020) summarises both at fixed
fractions: comprehensiveness = mean of p(x) − p(x without its top-k%), sufficiency = mean of
p(x) − p(only the top-k% kept), k = ceil(fraction × n), at least 1. Random orders (seeded) give the
level a ranking must beat.

Replacing is IG's baseline, token for token: [PAD] by default, [MASK] or [UNK] on request, and the
zero baseline is supported too (not refused, not mapped to [PAD]): the model is fed word embeddings, as
IG feeds it, and a replaced token's embedding is the zero vector. Specials ([CLS]/[SEP]) always stay.

Every perturbed input of one call is built first and each distinct one is run once, in batched
forward passes without gradients on the twin, under the bundle's gate. The core,
:func:`faithfulness_curves`, takes the model as a ``predict`` callable, so a toy model with known
answers can stand in for it; :func:`faithfulness` binds it to a bundle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from explain.arrays import frozen
from explain.errors import AttributionError, ComputationError, InputError
from explain.inputs import Encoding
from explain.knobs import Knob, check_knobs
from explain.methods.attention import AttentionResult, rollout
from explain.methods.attribution import AttributionResult, Baseline, baseline_ids
from explain.methods.integrator import TOKENS_PER_CHUNK
from explain.models.loading import ModelBundle

#: ids [batch, seq] int64 (−1 = the zero word embedding) -> class probabilities [batch, labels].
Predict = Callable[[np.ndarray], np.ndarray]
AOPC_PERCENTS = (1, 5, 10, 20, 50)  # ERASER's bins, in percent: k = ceil(percent × n / 100) in whole numbers
RANDOM = "random"
CRITERION = "comprehensiveness − sufficiency (ERASER AOPC; higher = its top tokens carry the prediction)"
CAVEAT = (
    "Deletion and insertion replace tokens by a baseline token, so the perturbed texts can lie outside what the "
    "model was trained on: part of a drop in probability may come from the odd input rather than lost evidence."
)
#: A lead over random smaller than this (in probability) is not called clear, however steady the seeds.
MARGIN_FLOOR = 0.01

FAITHFULNESS_KNOBS = (
    Knob("baseline", "Removed tokens become", "What a deleted (or not yet inserted) token is replaced by; "
         "the zero baseline feeds a zero word embedding.", Baseline.PAD, choices=tuple(Baseline)),
    Knob("curve_points", "Curve points", "Points per curve: 0, all, the AOPC fractions, then the widest gaps "
         "halved. Each point costs one forward pass per ranking.", 7, low=7, high=16, integer=True,
         flag="--curve-points"),
    Knob("random_seeds", "Random orders", "Random rankings averaged for the chance level.", 10, low=10, high=100,
         integer=True, flag="--random-seeds"),
    Knob("seed", "Seed", "Seed of the random rankings (same seed, same orders).", 0, low=0, high=2**31 - 1,
         integer=True),
)  # fmt: skip


@dataclass(frozen=True)
class FaithfulnessSettings:
    """Knobs of the faithfulness curves (declared, with bounds, in ``FAITHFULNESS_KNOBS``); checked when built."""

    baseline: Baseline = Baseline.PAD  # the replacement token (IG's baseline setting)
    curve_points: int = 7  # k values per curve, 0 and all included (0, all and the 5 AOPC ks: no extra pass)
    random_seeds: int = 10  # random orders averaged
    seed: int = 0  # of the random orders

    def __post_init__(self) -> None:
        check_knobs(self, FAITHFULNESS_KNOBS)
        object.__setattr__(self, "baseline", Baseline(self.baseline))


@dataclass(frozen=True, eq=False)
class MethodFaithfulness:
    """One ranking's curves and AOPC. Arrays are read-only."""

    name: str
    order: np.ndarray  # [n] int64 positions of the non-special tokens, most evidence first; [0] for random's mean
    deletion: np.ndarray  # [points] float64 p(class) with the top-k tokens replaced, k = FaithfulnessResult.ks
    insertion: np.ndarray  # [points] float64 p(class) with only the top-k tokens restored
    deletion_area: float  # area under deletion over k/n (trapezoid); lower = more faithful
    insertion_area: float  # area under insertion; higher = more faithful
    comprehensiveness: float  # AOPC: mean over AOPC_PERCENTS of p(x) − p(x without the top-k)
    sufficiency: float  # AOPC: mean of p(x) − p(only the top-k kept); lower = more faithful

    @property
    def score(self) -> float:
        """The ranking criterion: comprehensiveness − sufficiency."""
        return self.comprehensiveness - self.sufficiency


@dataclass(frozen=True, eq=False)
class FaithfulnessResult:
    """Deletion/insertion curves and AOPC for every method and random orders, on one input."""

    target: int  # the class whose probability is followed
    baseline: Baseline
    ks: np.ndarray  # [points] int64 tokens removed (deletion) or restored (insertion): 0 ... n
    fractions: np.ndarray  # [points] float64 ks / n
    aopc_ks: np.ndarray  # [5] int64 k of each AOPC bin: ceil(percent × n / 100), at least 1
    p_input: float  # p(class | x)
    p_baseline: float  # p(class | every non-special token replaced)
    methods: tuple[MethodFaithfulness, ...]  # in the order given
    random: MethodFaithfulness  # the mean over the random orders (curves and AOPC)
    random_seeds: tuple[MethodFaithfulness, ...]  # [random_seeds] each random order: the band
    best: str  # the method with the highest comprehensiveness − sufficiency
    beats_random: bool  # best.score > random mean + max(2 std over the seeds, MARGIN_FLOOR)
    verdict: str  # one sentence saying the above
    criterion: str
    caveat: str
    forward_rows: int  # distinct perturbed inputs run (each once)
    seconds: float  # wall time, waiting in line excluded


def method_scores(attribution: AttributionResult, attention: AttentionResult) -> dict[str, np.ndarray]:
    """The per-token scores [seq] of the methods the pages compare, higher = more evidence for the class.

    Attention is the last layer's [CLS] row, mean over heads; rollout is the rollout's [CLS] row."""
    weights = attention.weights  # (layers, heads, seq, seq)
    return {
        "integrated gradients": np.asarray(attribution.scores),
        "gradient × input": np.asarray(attribution.grad_x_input),
        "saliency": np.asarray(attribution.saliency),
        "attention": weights[-1, :, 0, :].mean(axis=0).astype(np.float64),
        "rollout": rollout(weights)[0].astype(np.float64),
    }


def faithfulness(
    bundle: ModelBundle,
    encoding: Encoding,
    target: int,
    scores: Mapping[str, np.ndarray],
    settings: FaithfulnessSettings = FaithfulnessSettings(),
    on_wait: Callable[[int, float], None] | None = None,
) -> FaithfulnessResult:
    """:func:`faithfulness_curves` on the bundle's twin, under its gate."""
    labels = bundle.info.labels
    if not labels:
        raise AttributionError(
            f"'{bundle.info.source}' has no classification head, so there is no class probability to follow. "
            "Load a fine-tuned classifier (a *ForSequenceClassification checkpoint)."
        )
    if not 0 <= target < len(labels):
        raise AttributionError(
            f"Class {target} does not exist; this model's classes are 0 to {len(labels) - 1} ({', '.join(labels)})."
        )
    baseline = baseline_ids(bundle, encoding, settings.baseline)
    predict = _bundle_predict(bundle, encoding)
    with bundle.gate.hold(on_wait=on_wait):
        try:
            return faithfulness_curves(predict, encoding.input_ids, baseline, encoding.special, target, scores,
                                       settings)  # fmt: skip
        except (RuntimeError, MemoryError) as exc:
            raise ComputationError(
                f"The faithfulness curves failed ({type(exc).__name__}: {str(exc)[:160]}). Try a shorter text or "
                "fewer curve points; the previous result is kept."
            ) from exc


def _bundle_predict(bundle: ModelBundle, encoding: Encoding) -> Predict:
    model = bundle.hooked_model
    table = model.get_input_embeddings()
    device = bundle.device
    types = None if encoding.token_type_ids is None else torch.tensor(encoding.token_type_ids, device=device)[None]
    size = max(1, TOKENS_PER_CHUNK // encoding.n_tokens)

    def predict(ids: np.ndarray) -> np.ndarray:
        out = []
        with torch.inference_mode():
            for start in range(0, len(ids), size):
                chunk = torch.as_tensor(ids[start : start + size], device=device)  # (rows, seq)
                # Embeddings in, as IG feeds them: positions stay sequential (RoBERTa derives positions
                # from [PAD] ids), and id −1 is the zero baseline's zero vector.
                embeds = table(chunk.clamp(min=0)) * (chunk >= 0).unsqueeze(-1)  # (rows, seq, emb)
                extra = {} if types is None else {"token_type_ids": types.expand(len(chunk), -1)}
                out.append(model(inputs_embeds=embeds, **extra).logits.softmax(-1).cpu().double().numpy())
        return np.concatenate(out)

    return predict


def faithfulness_curves(
    predict: Predict,
    input_ids: np.ndarray,
    baseline_ids: np.ndarray,
    special: np.ndarray,
    target: int,
    scores: Mapping[str, np.ndarray],
    settings: FaithfulnessSettings = FaithfulnessSettings(),
) -> FaithfulnessResult:
    """Deletion/insertion curves and AOPC of every ranking (see the module docstring).

    ``input_ids``, ``baseline_ids`` and ``special`` are [seq]; ``scores`` maps a method's name to its [seq]
    scores. Ties rank the earlier token first. Raises :class:`InputError` for scores that do not fit."""
    start = time.perf_counter()
    positions = np.flatnonzero(~np.asarray(special, dtype=bool))
    orders = _orders(scores, positions, len(input_ids))
    rng = np.random.default_rng(settings.seed)
    randoms = [rng.permutation(positions) for _ in range(settings.random_seeds)]
    n = positions.size
    ks, aopc = curve_ks(n, settings.curve_points), aopc_ks(n)
    table = _Perturbations(np.asarray(input_ids), np.asarray(baseline_ids))
    for order in [*orders.values(), *randoms]:
        table.add(order, ks)  # the AOPC ks are among the curve's
    p = table.run(predict, target)
    p_input, p_baseline = float(p[table.index(positions[:0])]), float(p[table.index(positions)])
    at = np.searchsorted(ks, aopc)  # where the AOPC ks sit on the curves
    methods = tuple(_measure(name, o, table, p, ks, p_input, at) for name, o in orders.items())
    seeds = tuple(_measure(RANDOM, o, table, p, ks, p_input, at) for o in randoms)
    mean = [np.mean([getattr(s, curve) for s in seeds], axis=0) for curve in ("deletion", "insertion")]
    random = _summary(RANDOM, np.zeros(0, np.int64), mean[0], mean[1], p_input, at, ks / n)  # AOPC is linear
    best, beats, verdict = _verdict(methods, seeds)
    return FaithfulnessResult(
        target, settings.baseline, frozen(ks), frozen(ks / n), frozen(aopc), p_input, p_baseline,
        methods, random, seeds, best, beats, verdict, CRITERION, CAVEAT, table.rows, time.perf_counter() - start,
    )  # fmt: skip


def curve_ks(n: int, points: int) -> np.ndarray:
    """[≤ points] sorted k: 0, n and the AOPC ks, then the widest gap halved (the earliest on ties) until full."""
    ks = {0, n, *aopc_ks(n).tolist()}
    while len(ks) < min(points, n + 1):
        ordered = sorted(ks)
        gaps = np.diff(ordered)
        i = int(np.argmax(gaps))
        ks.add(ordered[i] + int(gaps[i]) // 2)
    return np.array(sorted(ks), dtype=np.int64)


def aopc_ks(n: int) -> np.ndarray:
    """[5] k per AOPC bin: ceil(percent × n / 100), at least 1, in whole numbers."""
    return np.array([max(1, -(-percent * n // 100)) for percent in AOPC_PERCENTS], dtype=np.int64)


def _orders(scores: Mapping[str, np.ndarray], positions: np.ndarray, seq: int) -> dict[str, np.ndarray]:
    if not scores:
        raise InputError("Give at least one method's token scores to compare with random orders.")
    if positions.size == 0:
        raise InputError("Faithfulness needs at least one token besides [CLS]/[SEP]. Enter a longer text.")
    orders = {}
    for name, raw in scores.items():
        if name == RANDOM:
            raise InputError(f"'{RANDOM}' names the random orders; give the method another name.")
        values = np.asarray(raw, dtype=np.float64)
        if values.shape != (seq,):
            raise InputError(
                f"The scores of '{name}' have shape {values.shape}; give one score per token, specials included "
                f"({seq},)."
            )
        if not np.isfinite(values[positions]).all():
            raise InputError(f"The scores of '{name}' hold NaN or infinite values; recompute them.")
        orders[name] = positions[np.argsort(-values[positions], kind="stable")]
    return orders


class _Perturbations:
    """The distinct perturbed inputs, each kept once: keyed by which positions hold the baseline token."""

    def __init__(self, input_ids: np.ndarray, baseline_ids: np.ndarray) -> None:
        self.input_ids, self.baseline_ids = input_ids, baseline_ids
        self._index: dict[bytes, int] = {}
        self._masks: list[np.ndarray] = []  # [seq] bool each: True = replaced

    @property
    def rows(self) -> int:
        return len(self._masks)

    def add(self, order: np.ndarray, ks: np.ndarray) -> None:
        """Deletion (the top k replaced) and insertion (all but the top k replaced) inputs of a ranking."""
        for k in ks.tolist():
            for replaced in (order[:k], order[k:]):
                mask = self._mask(replaced)
                if mask.tobytes() not in self._index:
                    self._index[mask.tobytes()] = len(self._masks)
                    self._masks.append(mask)

    def index(self, replaced: np.ndarray) -> int:
        return self._index[self._mask(replaced).tobytes()]

    def run(self, predict: Predict, target: int) -> np.ndarray:
        """p(target) [rows] of every distinct input, in one call."""
        masks = np.stack(self._masks)  # (rows, seq)
        ids = np.where(masks, self.baseline_ids[None, :], self.input_ids[None, :])  # (rows, seq)
        probabilities = np.asarray(predict(ids), dtype=np.float64)  # (rows, labels)
        return probabilities[:, target]

    def _mask(self, replaced: np.ndarray) -> np.ndarray:
        mask = np.zeros(len(self.input_ids), dtype=bool)
        mask[replaced] = True
        return mask


def _measure(
    name: str, order: np.ndarray, table: _Perturbations, p: np.ndarray, ks: np.ndarray, p_input: float,
    aopc_at: np.ndarray,
) -> MethodFaithfulness:  # fmt: skip
    deletion = p[[table.index(order[:k]) for k in ks.tolist()]]  # (points,) the top k replaced
    insertion = p[[table.index(order[k:]) for k in ks.tolist()]]  # (points,) only the top k kept
    return _summary(name, order, deletion, insertion, p_input, aopc_at, ks / ks[-1])


def _summary(
    name: str, order: np.ndarray, deletion: np.ndarray, insertion: np.ndarray, p_input: float, aopc_at: np.ndarray,
    fractions: np.ndarray,
) -> MethodFaithfulness:  # fmt: skip
    """Areas and AOPC from the curves (``aopc_at``: where the AOPC ks sit among the curve's)."""
    return MethodFaithfulness(
        name, frozen(order), frozen(deletion), frozen(insertion), float(np.trapezoid(deletion, fractions)),
        float(np.trapezoid(insertion, fractions)), p_input - float(deletion[aopc_at].mean()),
        p_input - float(insertion[aopc_at].mean()),
    )  # fmt: skip


def _verdict(methods: tuple[MethodFaithfulness, ...], seeds: tuple[MethodFaithfulness, ...]) -> tuple[str, bool, str]:
    """The best method by the criterion, whether it clearly beats random, and a sentence saying so."""
    chance = np.array([s.score for s in seeds])
    mean, std = float(chance.mean()), float(chance.std(ddof=1))
    best = max(methods, key=lambda m: m.score)  # the first of equals
    beats = best.score > mean + max(2 * std, MARGIN_FLOOR)
    verdict = (
        f"{best.name} is the most faithful ranking on this input by comprehensiveness − sufficiency: "
        f"{best.score:.3f} against {mean:.3f} ± {std:.3f} for random orders, "
        + ("clearly above chance." if beats else "not clearly above chance: no method here is better than guessing.")
    )
    return best.name, beats, verdict

"""Which heads matter for this prediction: removed one at a time, by gradient, by hand, and cumulatively.

A head is removed by scaling its output (its slice of the output projection's input) to 0 with
:func:`~explain.models.anatomy.scaled_heads`, on the weight-sharing twin and behind the bundle's gate, so
the shared model never sees a hook. Every ablated pass a result needs is one row of a batch (forward
only; :mod:`explain.methods.masked_passes` runs them, each row joining at the first layer it changes).
Gradient importance (Michel et al. 2019) is |∂ log p(target) / ∂ m| at m = 1, where m scales each head's
output: one forward and backward. Michel et al. differentiate the loss −log p; its magnitude is the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from explain.arrays import frozen as _frozen  # one copy for every result module
from explain.errors import ComputationError, GlimpseError
from explain.inputs import Encoding
from explain.methods.agreement import spearman
from explain.methods.masked_passes import logits_with_masks, mask_gradient
from explain.methods.target import explained_class
from explain.models.loading import ModelBundle

#: Points per sweep curve are about this many: one every max(1, layers·heads // 12) heads. Each point is a
#: full-depth pass for each of the 1 + 5 orders; 12 keep the curve's shape (it is read for where it falls
#: and against the random band) at half the cost of 24, which made the sweep Diagnose's second-dearest part.
SWEEP_POINTS = 12
MAX_RANDOM_ORDERS = 100
OnWait = Callable[[int, float], None]


class AblationError(GlimpseError):
    """An ablation is not possible as asked (no classification head, unknown class or head, ...)."""


@dataclass(frozen=True, eq=False)
class HeadImportanceResult:
    """Each head's effect on the explained class, by ablation and by gradient. Arrays are read-only."""

    encoding: Encoding
    target: int  # the class explained
    logits: np.ndarray  # [labels] float64 unablated, from the twin's batch (the reference of every Δ)
    probabilities: np.ndarray  # [labels] float64 softmax of logits
    delta_logit: np.ndarray  # [layers, heads] float64 target logit with the head removed − unablated
    delta_probability: np.ndarray  # [layers, heads] float64 target probability, head removed − unablated
    gradient: np.ndarray  # [layers, heads] float64 |∂ log p(target) / ∂ head scale| at scale 1
    rank_agreement: float  # Spearman ρ of |delta_probability| and gradient; NaN when either is constant
    ablation_seconds: float  # the batched map (waiting in line excluded)
    gradient_seconds: float  # the forward and backward pass of the gradient map


@dataclass(frozen=True, eq=False)
class AblationResult:
    """The prediction with chosen heads switched off, beside the prediction with all heads."""

    encoding: Encoding
    target: int  # the class whose change is reported
    heads: tuple[tuple[int, int], ...]  # (layer, head) pairs switched off, sorted
    logits_before: np.ndarray  # [labels] float64 all heads on (twin, same batch)
    logits_after: np.ndarray  # [labels] float64 with `heads` off
    probabilities_before: np.ndarray  # [labels] float64
    probabilities_after: np.ndarray  # [labels] float64
    predicted_before: int  # argmax of logits_before
    predicted_after: int  # argmax of logits_after
    delta_logit: float  # target logit, after − before
    delta_probability: float  # target probability, after − before


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The target's probability as heads are removed cumulatively, by importance and in random orders."""

    encoding: Encoding
    target: int
    counts: np.ndarray  # [points] int64 heads removed: 0, step, 2·step, ..., layers·heads
    order: np.ndarray  # [layers·heads, 2] int64 (layer, head) by importance: most negative Δ probability first
    importance_curve: np.ndarray  # [points] float64 target probability, the first counts[i] heads of order off
    random_orders: np.ndarray  # [orders, layers·heads] int64 flat head index (layer·heads + head), removal order
    random_curves: np.ndarray  # [orders, points] float64 the same along each random order
    seed: int  # random_orders come from numpy.random.default_rng(seed)
    seconds: float  # all curves' batched passes (waiting in line excluded)

    @property
    def random_mean(self) -> np.ndarray:  # [points]
        return np.asarray(self.random_curves.mean(axis=0))

    @property
    def random_std(self) -> np.ndarray:  # [points] spread over the random orders
        return np.asarray(self.random_curves.std(axis=0))


def head_importance(
    bundle: ModelBundle,
    encoding: Encoding,
    target: int | None = None,
    logits: np.ndarray | None = None,
    on_wait: OnWait | None = None,
) -> HeadImportanceResult:
    """Every head removed alone (one batch) and the gradient map, for ``target``.

    ``target`` unset: the top class of ``logits`` (the prediction the user sees), else of the eager model's.
    """
    target = _target(bundle, encoding, target, logits)
    layers, heads = bundle.info.num_layers, bundle.info.num_heads
    masks = (1 - np.eye(layers * heads, dtype=np.float32)).reshape(-1, layers, heads)  # row i: head i off
    with _held(bundle, on_wait):
        start = time.perf_counter()
        full, ablated = logits_with_masks(bundle, encoding, masks)
        middle = time.perf_counter()
        gradient = mask_gradient(bundle.hooked_model, encoding.model_inputs(bundle.device), target, (layers, heads))
        end = time.perf_counter()
    p_full, p_ablated = _softmax(full), _softmax(ablated)
    delta_p = (p_ablated[:, target] - p_full[target]).reshape(layers, heads)
    return HeadImportanceResult(
        encoding=encoding,
        target=target,
        logits=_frozen(full),
        probabilities=_frozen(p_full),
        delta_logit=_frozen((ablated[:, target] - full[target]).reshape(layers, heads)),
        delta_probability=_frozen(delta_p),
        gradient=_frozen(gradient),
        rank_agreement=spearman(np.abs(delta_p).ravel(), gradient.ravel()),
        ablation_seconds=middle - start,
        gradient_seconds=end - middle,
    )


def ablate(
    bundle: ModelBundle,
    encoding: Encoding,
    heads: Collection[tuple[int, int]],
    target: int | None = None,
    logits: np.ndarray | None = None,
    on_wait: OnWait | None = None,
) -> AblationResult:
    """The prediction with ``heads`` ((layer, head) pairs; none is allowed) switched off, and without."""
    target = _target(bundle, encoding, target, logits)
    mask = _kept(bundle, heads)
    with _held(bundle, on_wait):
        before, after = logits_with_masks(bundle, encoding, mask[None])
    p_before, p_after = _softmax(before), _softmax(after[0])
    return AblationResult(
        encoding=encoding,
        target=target,
        heads=tuple((int(la), int(h)) for la, h in np.argwhere(mask == 0)),
        logits_before=_frozen(before),
        logits_after=_frozen(after[0]),
        probabilities_before=_frozen(p_before),
        probabilities_after=_frozen(p_after),
        predicted_before=int(np.argmax(before)),
        predicted_after=int(np.argmax(after[0])),
        delta_logit=float(after[0, target] - before[target]),
        delta_probability=float(p_after[target] - p_before[target]),
    )


def ablation_sweep(
    bundle: ModelBundle,
    importance: HeadImportanceResult,
    n_random: int = 5,
    seed: int = 0,
    on_wait: OnWait | None = None,
) -> SweepResult:
    """Heads removed cumulatively in ``importance``'s order and in ``n_random`` seeded random orders."""
    shape = _check_sweep(bundle, importance, n_random)
    n = shape[0] * shape[1]
    counts = np.unique(np.r_[np.arange(0, n, max(1, n // SWEEP_POINTS)), n])
    order = np.argsort(importance.delta_probability.ravel(), kind="stable")  # the most negative Δ first
    rng = np.random.default_rng(seed)
    shuffled = np.stack([rng.permutation(n) for _ in range(n_random)])
    masks = np.concatenate([_removal_masks(o, counts, shape) for o in (order, *shuffled)])  # [curves·points, L, H]
    unique, inverse = np.unique(masks, axis=0, return_inverse=True)  # every curve shares its two ends
    with _held(bundle, on_wait):
        start = time.perf_counter()
        logits = logits_with_masks(bundle, importance.encoding, unique)[1]
        seconds = time.perf_counter() - start
    curves = _softmax(logits)[inverse.ravel(), importance.target].reshape(1 + n_random, len(counts))
    return SweepResult(
        encoding=importance.encoding,
        target=importance.target,
        counts=_frozen(counts, np.int64),
        order=_frozen(np.stack(np.divmod(order, shape[1]), axis=1), np.int64),
        importance_curve=_frozen(curves[0]),
        random_orders=_frozen(shuffled, np.int64),
        random_curves=_frozen(curves[1:]),
        seed=seed,
        seconds=seconds,
    )


def _check_sweep(bundle: ModelBundle, importance: HeadImportanceResult, n_random: int) -> tuple[int, int]:
    shape = (bundle.info.num_layers, bundle.info.num_heads)
    if importance.delta_probability.shape != shape:
        raise AblationError(
            f"This importance map has {importance.delta_probability.shape} heads but the model has {shape[0]} "
            f"layers × {shape[1]} heads. Compute head_importance with the current model first."
        )
    if isinstance(n_random, bool) or not 1 <= n_random <= MAX_RANDOM_ORDERS:
        raise AblationError(f"Random orders must be a whole number from 1 to {MAX_RANDOM_ORDERS}; got {n_random}.")
    return shape


def _removal_masks(order: np.ndarray, counts: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """[points, layers, heads] float32: 1 where a head is kept once the first counts[i] heads of order are off."""
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)  # when each head comes off
    return (rank[None, :] >= counts[:, None]).astype(np.float32).reshape(len(counts), *shape)


def _target(bundle: ModelBundle, encoding: Encoding, target: int | None, logits: np.ndarray | None) -> int:
    if not bundle.info.labels:
        raise AblationError(
            f"'{bundle.info.source}' has no classification head, so there is no prediction whose heads to "
            "ablate. Load a fine-tuned classifier (a *ForSequenceClassification checkpoint)."
        )
    return explained_class(bundle, encoding, target, logits, AblationError)


def _kept(bundle: ModelBundle, heads: Collection[tuple[int, int]]) -> np.ndarray:
    """[layers, heads] float32: 0 for each head in ``heads``, 1 elsewhere."""
    layers, per_layer = bundle.info.num_layers, bundle.info.num_heads
    mask = np.ones((layers, per_layer), dtype=np.float32)
    for pair in heads:
        ok = isinstance(pair, tuple | list) and len(pair) == 2
        ok = ok and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in pair)
        if not (ok and 0 <= pair[0] < layers and 0 <= pair[1] < per_layer):
            raise AblationError(
                f"Head {pair!r} does not exist. Give (layer, head) pairs with layer from 0 to {layers - 1} and "
                f"head from 0 to {per_layer - 1}."
            )
        mask[pair[0], pair[1]] = 0.0
    return mask


@contextmanager
def _held(bundle: ModelBundle, on_wait: OnWait | None) -> Iterator[None]:
    """The gate (hooks go on the twin only while it is held), and failures told as what to do."""
    with bundle.gate.hold(on_wait=on_wait):
        try:
            yield
        except (RuntimeError, MemoryError) as exc:
            raise ComputationError(
                f"The ablation failed ({type(exc).__name__}: {str(exc)[:160]}). Try a shorter text; the "
                "previous result is kept."
            ) from exc


def _softmax(logits: np.ndarray) -> np.ndarray:
    return np.asarray(torch.from_numpy(logits).softmax(-1).numpy())  # float64 in, float64 out

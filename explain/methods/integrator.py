"""The path integrator: IG's paths for one input or many, evaluated together in padded chunks.

Each input has its own path (input and baseline word embeddings), its own warp and so its own points;
rows of (input, α) from every input that still needs points are sorted by the input's length, cut into
chunks of bounded size, and each chunk runs padded only to its own longest input (with an attention
mask), so short sentences batched with a long one do not pay for its length. Every gradient is kept by
its point's key, so a raise pays only for the new points. One input is a batch of one, with no padding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from explain.methods import quadrature

Output = Literal["logit", "probability"]
#: Rows per chunk scale down with length so one chunk's activations stay near the same size: this many
#: tokens per chunk on an accelerator (large batches keep it busy) ...
TOKENS_PER_CHUNK = 4096
#: ... and on the CPU, where a smaller chunk's activations stay in cache: IG of 80 SST-2 *train* sentences in
#: batches of 8 took 9.3–9.9 s at 512–1024 tokens per chunk, 10.5–10.7 s at 2048 and 12.6–13.5 s at 4096;
#: 128- and 500-token windows were the same at 1024 and 4096 (one or two rows per chunk either way). The
#: corpus benchmark on SST-2 dev is the check on held-out rows (README, Corpus).
CPU_TOKENS_PER_CHUNK = 1024


@dataclass
class Paths:
    """The paths of a batch of inputs, padded to the longest, and every gradient computed on them."""

    model: torch.nn.Module
    x: torch.Tensor  # (inputs, seq, emb) input word embeddings, zero past each input's length
    b: torch.Tensor  # (inputs, seq, emb) baseline word embeddings
    mask: torch.Tensor  # (inputs, seq) 1 on real tokens
    types: torch.Tensor | None  # (inputs, seq) token type ids
    targets: list[int]  # the class each input's output is taken from
    lengths: list[int]
    output: Output
    grads: list[dict[int, np.ndarray]] = field(default_factory=list)  # per input: key -> [length] g·(x − b)
    grad_at_input: list[torch.Tensor | None] = field(default_factory=list)  # per input: (length, emb) at α = 1
    f_at: list[dict[int, float]] = field(default_factory=list)  # per input: key -> f there (from the same pass)

    def __post_init__(self) -> None:
        self.grads = [{} for _ in self.lengths]
        self.grad_at_input = [None for _ in self.lengths]
        self.f_at = [{} for _ in self.lengths]

    def outputs(self, rows: Sequence[tuple[int, float]]) -> np.ndarray:
        """f at (input, α) rows, forward only: [rows]."""
        rows = list(rows)
        out = np.zeros(len(rows))
        with torch.no_grad():
            for places in _chunks([i for i, _a in rows], self.lengths, self._chunk_tokens()):
                out[places] = self._f([rows[p] for p in places]).cpu().double().numpy()
        return out

    def evaluate(self, rows: Sequence[tuple[int, int, float]]) -> None:
        """Gradients at (input, key, α) rows not computed yet, kept in ``grads`` (key = the point's place)."""
        todo = [r for r in rows if r[1] not in self.grads[r[0]]]
        for places in _chunks([i for i, _k, _a in todo], self.lengths, self._chunk_tokens()):
            chunk = [todo[p] for p in places]
            embeds = self._embeds([(i, a) for i, _k, a in chunk]).requires_grad_(True)  # (rows, seq, emb)
            f = self._f([(i, a) for i, _k, a in chunk], embeds)  # (rows,)
            (grads,) = torch.autograd.grad(f.sum(), embeds)
            for (i, key, alpha), g, value in zip(chunk, grads, f.detach().cpu().double().tolist(), strict=True):
                self.f_at[i][key] = value
                n = self.lengths[i]
                self.grads[i][key] = (g[:n] * (self.x[i, :n] - self.b[i, :n])).sum(-1).cpu().double().numpy()  # (n,)
                if alpha >= 1.0:  # the input itself (every level ends at α = 1): the companions' gradient
                    self.grad_at_input[i] = g[:n].detach()

    def values(self, i: int, level: quadrature.Level) -> np.ndarray:
        """The gradients · (x − b) at the level's points: (points, length)."""
        return np.stack([self.grads[i][int(key)] for key in level.keys])

    def integrate(self, i: int, level: quadrature.Level) -> np.ndarray:
        out: np.ndarray = level.weights @ self.values(i, level)
        return out

    def _embeds(self, rows: Sequence[tuple[int, float]]) -> torch.Tensor:
        """(rows, width, emb): the path points, cut to the longest of these rows' inputs."""
        index, width = self._index(rows)
        alpha = torch.tensor([a for _, a in rows], dtype=self.x.dtype, device=self.x.device).view(-1, 1, 1)
        x, b = self.x[index, :width], self.b[index, :width]
        return b + alpha * (x - b)

    def _f(self, rows: Sequence[tuple[int, float]], embeds: torch.Tensor | None = None) -> torch.Tensor:
        index, width = self._index(rows)
        embeds = self._embeds(rows) if embeds is None else embeds
        extra = {} if self.types is None else {"token_type_ids": self.types[index, :width]}
        if any(self.lengths[i] < width for i, _ in rows):  # padded: the mask keeps padding out of every attention
            extra["attention_mask"] = self.mask[index, :width]
        logits: torch.Tensor = self.model(inputs_embeds=embeds, **extra).logits  # (rows, labels)
        chosen = logits.softmax(-1) if self.output == "probability" else logits
        picked = torch.tensor([self.targets[i] for i, _ in rows], device=chosen.device)
        return chosen[torch.arange(len(rows), device=chosen.device), picked]

    def _chunk_tokens(self) -> int:
        return CPU_TOKENS_PER_CHUNK if self.x.device.type == "cpu" else TOKENS_PER_CHUNK

    def _index(self, rows: Sequence[tuple[int, float]]) -> tuple[torch.Tensor, int]:
        inputs = [i for i, _ in rows]
        return torch.tensor(inputs, device=self.x.device), max(self.lengths[i] for i in inputs)


def _chunks(inputs: list[int], lengths: list[int], tokens: int) -> list[list[int]]:
    """Places in ``inputs`` (each row's input), grouped longest first: a chunk holds at most ``tokens``
    tokens at its own longest row's length, so its padding is what its rows differ by."""
    order = sorted(range(len(inputs)), key=lambda p: -lengths[inputs[p]])  # stable: ties keep their order
    out: list[list[int]] = []
    start = 0
    while start < len(order):
        size = max(1, tokens // lengths[inputs[order[start]]])
        out.append(order[start : start + size])
        start += size
    return out


@dataclass
class Certified:
    """One input's integral as the schedule accepted it (or left it at the cap)."""

    scores: np.ndarray  # [length]
    changes: np.ndarray  # [length] the accepted level's error estimate per token (≤ 2 × the change from the last)
    f_input: float
    f_baseline: float
    delta: float
    relative_delta: float
    token_error: float
    n_steps: int
    steps_tried: tuple[int, ...]
    path_alphas: np.ndarray
    path_outputs: np.ndarray
    converged: bool


def certify(
    paths: Paths,
    first: int,
    cap: int,
    tolerance: float,
    floor: float,
    progress: Callable[[str], None],
    warp: bool = True,
) -> list[Certified]:
    """Run the nested schedule on every path until both checks pass or the cap is reached.

    ``warp=False``: no prepass beyond the two ends (f there is the completeness check's), points evenly
    spread in u (plain Clenshaw–Curtis), for a fixed rule whose ranks are all that is read."""
    n = len(paths.lengths)
    sizes = ((first + 1) // 2, *quadrature.ladder(first, cap))
    if warp:
        prepass = np.linspace(0.0, 1.0, quadrature.PREPASS_POINTS)
        outputs = paths.outputs([(i, float(a)) for i in range(n) for a in prepass]).reshape(n, len(prepass))
        levels = [quadrature.levels(quadrature.warp_from_outputs(prepass, outputs[i]), sizes) for i in range(n)]
    else:  # f at both ends comes with the first level's gradients (every level holds α = 0 and 1)
        prepass, outputs = np.array([0.0, 1.0]), np.zeros((n, 2))  # outputs: filled after the first level
        levels = [quadrature.levels(quadrature.uniform_warp(), sizes) for _ in range(n)]
    done: dict[int, Certified] = {}
    coarse: dict[int, np.ndarray] = {}
    for k in range(1, len(sizes)):
        open_ = [i for i in range(n) if i not in done]
        progress(f"Integrated gradients: {sizes[k]} points" + (f" (after {sizes[k - 1]})" if k > 1 else ""))
        paths.evaluate([(i, int(key), float(a)) for i in open_ for key, a in zip(levels[i][k].keys, levels[i][k].alphas,
                                                                                 strict=True)])  # fmt: skip
        if not warp and k == 1:
            outputs = np.array([[paths.f_at[i][int(levels[i][k].keys[j])] for j in (0, -1)] for i in range(n)])
        for i in open_:
            before = coarse.get(i, paths.integrate(i, levels[i][k - 1]))
            scores = paths.integrate(i, levels[i][k])
            f_b, f_x = float(outputs[i, 0]), float(outputs[i, -1])
            delta = float(scores.sum()) - (f_x - f_b)
            relative = abs(delta) / max(abs(f_x - f_b), floor)
            level = levels[i][k]
            assert level.jacobian is not None  # quadrature.levels fills it
            integrand = paths.values(i, level) * level.jacobian[:, None]  # (points, length) in u
            errors, token_error = quadrature.token_errors(integrand, scores, before, floor)
            ok = relative <= tolerance and token_error <= tolerance
            if ok or k == len(sizes) - 1:
                done[i] = Certified(scores, errors, f_x, f_b, delta, relative, token_error, sizes[k],
                                    sizes[: k + 1], prepass, outputs[i], ok)  # fmt: skip
            coarse[i] = scores
    return [done[i] for i in range(n)]

"""Where integrated gradients evaluates the path, and how much to trust the sum: the integration schedule.

IG integrates each token's gradient along the straight path from the baseline (α = 0) to the input
(α = 1). On trained classifiers that integrand is a smooth bump around the α where the prediction
changes, and that α moves from input to input (bench/attribution.py shows the shapes), so no fixed
set of points suits every input. The schedule here therefore

1. runs a few cheap forward-only passes along the path (``PREPASS_POINTS``) and places the points
   where the output changes: a *warp* α = φ(u) whose density follows |f'| (smoothed, plus a floor so
   no region is left empty);
2. integrates in u with nested Clenshaw–Curtis rules (2k+1 points, then 4k+1, ...): each level keeps
   every point of the previous one, so a raise only pays for the new points;
3. certifies a level by two estimates, both relative and both within the tolerance: the completeness
   gap δ of the sum, and the largest per-token change from the previous (coarser) level.

The per-token estimate is conservative: it measures the coarser level's error, and the accepted finer
level is more accurate than that. The constants (prepass points, floor, smoothing width, first level)
were tuned on SST-2 *train* sentences and validated on SST-2 dev and on reviews written for the
benchmark (``bench/attribution.py`` says which is which).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Forward-only passes along the path before any gradient is taken (α = 0 and 1 included).
PREPASS_POINTS = 5
#: Share of the warp's density spread evenly over [0, 1], so a region where f looks flat still gets points.
WARP_FLOOR = 0.3
#: Width (in α) of the smoothing that turns the prepass's output changes into a density.
WARP_WIDTH = 0.15
_GRID = np.linspace(0.0, 1.0, 2001)  # where the warp is tabulated


def clenshaw_curtis(intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """Clenshaw–Curtis nodes and weights on [0, 1] with ``intervals + 1`` points, endpoints included.

    Exact for polynomials of degree ``intervals``; doubling ``intervals`` keeps every node.
    """
    if intervals < 1:
        raise ValueError(f"Clenshaw–Curtis needs at least one interval, got {intervals}.")
    n = intervals
    k = np.arange(n + 1)
    nodes = (1.0 - np.cos(k * np.pi / n)) / 2.0  # increasing from 0 to 1
    j = np.arange(1, n // 2 + 1)
    b = np.where(2 * j == n, 1.0, 2.0)  # (n/2,)
    sums = (b / (4.0 * j**2 - 1.0))[None, :] * np.cos(2.0 * np.outer(k, j) * np.pi / n)  # (n+1, n/2)
    c = np.where((k == 0) | (k == n), 1.0, 2.0)
    weights = c / n * (1.0 - sums.sum(axis=1)) / 2.0  # halved: [0, 1] is half of [-1, 1]
    return nodes, weights


def ladder(first_points: int, max_points: int) -> tuple[int, ...]:
    """Point counts of the nested levels: ``first_points`` (odd), then doubled intervals, up to the cap."""
    sizes = [first_points]
    while 2 * (sizes[-1] - 1) + 1 <= max_points:
        sizes.append(2 * (sizes[-1] - 1) + 1)
    return tuple(sizes)


@dataclass(frozen=True, eq=False)
class PathWarp:
    """α = φ(u): where the schedule puts its points, from the output seen along the path."""

    alphas: np.ndarray  # [_GRID] tabulated α for u on the same grid
    density: np.ndarray  # [_GRID] normalised density of α (integrates to 1)

    def __call__(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """α at ``u`` and dα/du there (the Jacobian that multiplies each point's weight)."""
        alpha = np.interp(u, _GRID, self.alphas)
        return alpha, 1.0 / np.interp(alpha, _GRID, self.density)


def uniform_warp() -> PathWarp:
    return PathWarp(alphas=_GRID.copy(), density=np.ones_like(_GRID))


def warp_from_outputs(
    alphas: np.ndarray, outputs: np.ndarray, floor: float = WARP_FLOOR, width: float = WARP_WIDTH
) -> PathWarp:
    """A density ∝ floor + (|Δf| of each prepass interval, spread by a Gaussian of ``width``).

    ``alphas`` are increasing from 0 to 1 and ``outputs`` the attributed output there. When f barely
    changes (|Δf| sums to ~0) the warp is uniform.
    """
    change = np.abs(np.diff(np.asarray(outputs, dtype=np.float64)))  # [intervals]
    total = float(change.sum())
    if not math.isfinite(total) or total <= 1e-12:
        return uniform_warp()
    mass = change / total
    centres = (alphas[:-1] + alphas[1:]) / 2.0
    bumps = np.exp(-0.5 * ((_GRID[:, None] - centres[None, :]) / width) ** 2)  # [_GRID, intervals]
    density = floor + (bumps * mass[None, :]).sum(axis=1) / (width * math.sqrt(2.0 * math.pi))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2.0 * np.diff(_GRID))])
    density = density / cdf[-1]
    cdf = cdf / cdf[-1]
    return PathWarp(alphas=np.interp(_GRID, cdf, _GRID), density=density)


@dataclass(frozen=True, eq=False)
class Level:
    """One level of the nested schedule in α: the points and their weights."""

    alphas: np.ndarray  # [points] increasing, 0 and 1 included
    weights: np.ndarray  # [points] quadrature weights in α (Jacobian of the warp included)
    keys: np.ndarray  # [points] int: the point's place on the finest grid, the same at every level it is in


def levels(warp: PathWarp, sizes: tuple[int, ...]) -> list[Level]:
    """The nested levels for ``sizes`` (from :func:`ladder`, each doubling the intervals) under ``warp``."""
    finest = sizes[-1] - 1
    out: list[Level] = []
    for size in sizes:
        u, w = clenshaw_curtis(size - 1)
        alpha, jacobian = warp(u)
        out.append(Level(alphas=alpha, weights=w * jacobian, keys=np.arange(size) * (finest // (size - 1))))
    return out


def token_change(fine: np.ndarray, coarse: np.ndarray, floor: float) -> float:
    """The per-token certificate: max |fine − coarse| relative to max |fine| (at least ``floor``)."""
    scale = max(float(np.abs(fine).max()) if fine.size else 0.0, floor)
    return float(np.abs(fine - coarse).max()) / scale if fine.size else 0.0

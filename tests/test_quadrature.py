"""The integration schedule: rules with hand-checkable answers, nesting, and the warp."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
import pytest

from explain.methods import quadrature as Q


def test_clenshaw_curtis_with_two_intervals_is_simpson() -> None:
    nodes, weights = Q.clenshaw_curtis(2)
    np.testing.assert_allclose(nodes, [0.0, 0.5, 1.0], atol=1e-15)
    np.testing.assert_allclose(weights, [1 / 6, 4 / 6, 1 / 6], atol=1e-15)


@pytest.mark.parametrize("intervals", [4, 12, 24])
def test_clenshaw_curtis_integrates_polynomials_up_to_its_degree(intervals: int) -> None:
    nodes, weights = Q.clenshaw_curtis(intervals)
    for k in range(intervals + 1):
        assert weights @ nodes**k == pytest.approx(1 / (k + 1), abs=1e-12), k


def test_clenshaw_curtis_is_not_exact_beyond_its_degree() -> None:
    nodes, weights = Q.clenshaw_curtis(2)  # Simpson: x^4 gives (0 + 4/16 + 1) / 6, not 1/5
    assert weights @ nodes**4 == pytest.approx((4 / 16 + 1) / 6, abs=1e-15)


def test_ladder_doubles_intervals_up_to_the_cap() -> None:
    assert Q.ladder(13, 193) == (13, 25, 49, 97, 193)
    assert Q.ladder(13, 150) == (13, 25, 49, 97)
    assert Q.ladder(13, 13) == (13,)


def test_levels_are_nested_so_no_point_is_evaluated_twice() -> None:
    warp = Q.warp_from_outputs(np.linspace(0, 1, 5), np.array([0.0, 0.1, 2.0, 2.2, 2.3]))
    levels = Q.levels(warp, (7, 13, 25))
    for coarse, fine in itertools.pairwise(levels):
        place = {int(k): a for k, a in zip(fine.keys, fine.alphas, strict=True)}
        for k, a in zip(coarse.keys, coarse.alphas, strict=True):
            assert place[int(k)] == a  # the same point, bit for bit
        assert len(set(fine.keys.tolist()) - set(coarse.keys.tolist())) == len(fine.keys) - len(coarse.keys)
    assert levels[-1].alphas[0] == 0.0 and levels[-1].alphas[-1] == 1.0


def test_flat_output_gives_the_uniform_path() -> None:
    warp = Q.warp_from_outputs(np.linspace(0, 1, 5), np.full(5, 0.7))
    u = np.linspace(0, 1, 11)
    alpha, jacobian = warp(u)
    np.testing.assert_allclose(alpha, u, atol=1e-12)
    np.testing.assert_allclose(jacobian, 1.0, atol=1e-12)


def test_points_gather_where_the_output_changes() -> None:
    # the output jumps between alpha 0.5 and 0.75: more of the 25 points fall there than the uniform 6
    warp = Q.warp_from_outputs(np.linspace(0, 1, 5), np.array([0.0, 0.0, 0.0, 3.0, 3.0]))
    (level,) = Q.levels(warp, (25,))
    inside = ((level.alphas > 0.5) & (level.alphas < 0.75)).sum()
    uniform = ((Q.clenshaw_curtis(24)[0] > 0.5) & (Q.clenshaw_curtis(24)[0] < 0.75)).sum()
    assert inside >= uniform + 3


def test_warped_rule_still_integrates_correctly() -> None:
    """The Jacobian makes the warped weights a rule in alpha: a smooth bump integrates to its value."""
    warp = Q.warp_from_outputs(np.linspace(0, 1, 5), np.array([0.0, 0.2, 3.0, 3.1, 3.1]))
    (level,) = Q.levels(warp, (49,))
    bump = np.exp(-(((level.alphas - 0.4) / 0.08) ** 2))
    exact = 0.08 * np.sqrt(np.pi) / 2 * (_erf(0.6 / 0.08) + _erf(0.4 / 0.08))
    assert level.weights @ bump == pytest.approx(exact, rel=1e-4)
    assert level.weights.sum() == pytest.approx(1.0, rel=1e-5)  # the warp is tabulated on 2001 points


def test_chebyshev_coefficients_by_hand() -> None:
    u, _ = Q.clenshaw_curtis(4)
    x = 2 * u - 1
    # 1 + 2x + 3x² = 2.5 T0 + 2 T1 + 1.5 T2 (x² = (T0 + T2) / 2), and x³ = (3 T1 + T3) / 4
    values = np.stack([1 + 2 * x + 3 * x**2, x**3], axis=1)  # (points, tokens)
    np.testing.assert_allclose(
        Q.chebyshev_coefficients(values), [[2.5, 0], [2, 0.75], [1.5, 0], [0, 0.25], [0, 0]], atol=1e-14
    )


def _level_pair(integrand: Callable[[np.ndarray], np.ndarray], intervals: int) -> tuple[np.ndarray, ...]:
    """(integrand at the level's nodes, the level's integral, the every-other-point level's), one token."""
    u, w = Q.clenshaw_curtis(intervals)
    uc, wc = Q.clenshaw_curtis(intervals // 2)
    values = integrand(u)[:, None]  # (points, 1)
    return values, w @ values, wc @ integrand(uc)[:, None]


def test_a_polynomial_the_level_integrates_exactly_has_no_error_whatever_the_previous_level_said() -> None:
    cubic = lambda u: 4 * u**3 - u + 2  # noqa: E731  integral over [0, 1]: 1 - 1/2 + 2 = 2.5
    values, fine, _ = _level_pair(cubic, 8)
    assert fine[0] == pytest.approx(2.5, abs=1e-13)
    errors, certificate = Q.token_errors(values, fine, fine + 1.0, floor=0.01)  # a coarse level far off
    assert errors[0] < 1e-13 and certificate < 1e-13  # the estimate is the fine level's own


def _bump(width: float) -> tuple[Callable[[np.ndarray], np.ndarray], float]:
    exact = width * math.sqrt(math.pi) / 2 * (math.erf(0.6 / width) + math.erf(0.4 / width))
    return (lambda u: np.exp(-(((u - 0.4) / width) ** 2))), exact


@pytest.mark.parametrize("width", [0.1, 0.07, 0.05, 0.04])
@pytest.mark.parametrize("intervals", [24, 48])
def test_on_a_smooth_bump_the_certificate_is_not_optimistic(width: float, intervals: int) -> None:
    """Wherever the true error matters (above 1e-4 of the integral), the certificate is at least as large."""
    bump, exact = _bump(width)
    values, fine, coarse = _level_pair(bump, intervals)
    _errors, certificate = Q.token_errors(values, fine, coarse, floor=1e-6)
    true = abs(fine[0] - exact) / exact
    assert max(certificate, 1e-4) >= true


def test_the_estimate_is_the_accepted_levels_not_the_coarser_ones() -> None:
    bump, exact = _bump(0.1)
    values, fine, coarse = _level_pair(bump, 48)
    errors, _ = Q.token_errors(values, fine, coarse, floor=1e-6)
    change = abs(fine[0] - coarse[0])
    assert abs(coarse[0] - exact) == pytest.approx(change, rel=1e-3)  # the change is the 25-point level's error
    assert errors[0] < change / 3  # the 49-point level is judged on its own, several times tighter


@pytest.mark.parametrize(
    "integrand",
    [lambda u: np.exp(-(((u - 0.4) / 0.03) ** 2)), lambda u: (u > 0.37) * 1.0],
    ids=["narrow bump", "step"],
)
def test_an_integrand_the_level_cannot_resolve_is_not_certified(integrand: Callable[[np.ndarray], np.ndarray]) -> None:
    values, fine, coarse = _level_pair(integrand, 24)
    _errors, certificate = Q.token_errors(values, fine, coarse, floor=0.01)
    assert certificate > 0.01


def test_the_estimate_never_exceeds_the_change_from_the_previous_level() -> None:
    values, fine, _ = _level_pair(lambda u: (u > 0.37) * 1.0, 24)  # large tail coefficients
    errors, certificate = Q.token_errors(values, fine, fine.copy(), floor=0.01)
    assert errors[0] == 0.0 and certificate == 0.0


def test_certificate_is_relative_to_the_largest_score_with_a_floor() -> None:
    values = np.repeat((np.array([0, 1, 0, -1, 0]) * 100.0)[:, None], 2, axis=1)  # large top coefficients
    # so the change from the previous level decides
    _, certificate = Q.token_errors(values, np.array([2.0, -1.0]), np.array([2.0, -0.9]), 0.01)
    assert certificate == pytest.approx(0.1)  # twice the 0.1 change, over the largest score, 2
    _, certificate = Q.token_errors(values, np.array([1e-4, 0.0]), np.array([0.0, 0.0]), 0.01)
    assert certificate == pytest.approx(0.02)  # twice 1e-4, over the floor, 0.01


def _erf(x: float) -> float:
    import math

    return math.erf(x)

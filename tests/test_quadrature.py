"""The integration schedule: rules with hand-checkable answers, nesting, and the warp."""

from __future__ import annotations

import itertools

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


def test_token_change_is_relative_to_the_largest_score_with_a_floor() -> None:
    assert Q.token_change(np.array([2.0, -1.0]), np.array([2.0, -0.9]), 0.01) == pytest.approx(0.05)
    assert Q.token_change(np.array([1e-4, 0.0]), np.array([0.0, 0.0]), 0.01) == pytest.approx(0.01)


def _erf(x: float) -> float:
    import math

    return math.erf(x)

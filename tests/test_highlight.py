from __future__ import annotations

import re

import numpy as np

from explain.views.highlight import diverging_color, highlight_html
from tests.fixtures import XSS


def test_colours_are_centred_at_zero() -> None:
    assert diverging_color(0.0, 1.0) == "#f7f7f7"
    assert diverging_color(1.0, 1.0) == "#67001f" and diverging_color(-1.0, 1.0) == "#053061"
    assert diverging_color(0.5, 1.0) != diverging_color(-0.5, 1.0)
    assert diverging_color(5.0, 0.0) == "#f7f7f7"  # all-zero scores stay neutral


def test_tokens_escaped_with_exact_values_on_hover() -> None:
    out = highlight_html([XSS, "fine"], np.array([-0.25, 0.125]), what="IG")
    assert "<script" not in out and "&lt;/script&gt;" in out
    assert re.findall(r'title="[^"]*: IG ([+-][\d.]+)"', out) == ["-0.2500", "+0.1250"]
    assert "−0.25 (against)" in out and "+0.25 (for)" in out  # symmetric legend from the largest |score|


def test_unsigned_legend() -> None:
    out = highlight_html(["a", "b"], np.array([0.2, 0.8]), what="share", signed=False)
    assert "(against)" not in out and "0.8" in out


def test_nan_score_is_neutral_and_na_on_hover() -> None:
    out = highlight_html(["lost", "up", "down"], np.array([np.nan, 0.5, -1.0]), what="IG")
    backgrounds = re.findall(r"background:(#[0-9a-f]{6});color", out)
    # NaN: white; 0.5 of the scale 1.0 (the largest finite |score|): RdBu[round(7.5)] = RdBu[8]; -1.0: RdBu[0]
    assert backgrounds == ["#f7f7f7", "#d6604d", "#053061"]
    assert re.findall(r'title="[^"]*: IG ([^"]+)"', out) == ["n/a", "+0.5000", "-1.0000"]
    assert "−1 (against)" in out and "+1 (for)" in out  # the legend ignores the NaN


def test_no_scores_give_no_tokens_and_a_legend() -> None:
    out = highlight_html([], np.array([]), what="IG")
    assert '<div class="glimpse-tokens" style="line-height:2.1"></div>' in out
    assert "glimpse-legend" in out and "+0 (for)" in out


def test_figures_colour_nan_scores_neutral() -> None:
    from explain.views.figures import attribution_bars, token_figure

    scores = np.array([np.nan, 1.0, -0.5])
    bars = attribution_bars(["lost", "up", "down"], scores, "t", "IG")
    assert dict(zip(bars.data[0].y, bars.data[0].marker.color, strict=True))["lost"] == "#f7f7f7"
    tokens = token_figure(["lost", "up", "down"], scores, "t", "IG")
    assert [s.fillcolor for s in tokens.layout.shapes] == ["#f7f7f7", "#67001f", "#4393c3"]
    assert list(tokens.data[0].z[0]) == [-1.0, 1.0]  # the colour bar spans the finite scores
    assert token_figure([], np.array([]), "t", "IG").layout.shapes == ()

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

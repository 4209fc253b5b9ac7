"""Print layout without a browser: sizes, tick labels a reader expects, head maps that span exactly the heads,
the on-screen figure untouched, and the CLI's figure options checked before any work."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from explain.cli import main
from explain.errors import InputError
from explain.views import diagnostics, figures
from explain.views.diagnose_exports import importance_figures
from explain.views.print_style import FigureStyle, for_print
from explain.views.print_text import nice_ticks, tick_text, wrap


def test_sizes_are_a_column_and_a_page_at_300_dpi() -> None:
    column, page = FigureStyle("column"), FigureStyle("page")
    assert (column.width, page.width) == (317, 672)  # 3.3 in and 7 in at 96 px per inch, rounded by hand
    assert column.dpi == pytest.approx(300.0)
    with pytest.raises(InputError, match="Available: column, page"):
        FigureStyle("poster")  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"give 0\.25 to 12"):
        FigureStyle(scale=0)


def test_colour_bar_ticks_are_round_and_never_si_prefixed() -> None:
    assert tick_text(nice_ticks(-4e-4, 4e-4)) == ["−4e−4", "−2e−4", "0", "2e−4", "4e−4"]  # not "400μ"
    assert tick_text(nice_ticks(0, 1)) == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert tick_text(nice_ticks(-4.2, 4.2)) == ["−4", "−2", "0", "2", "4"]
    assert tick_text(nice_ticks(0, 100)) == ["0", "25", "50", "75", "100"]


def test_wrap_keeps_every_word_and_respects_the_width() -> None:
    text = "model: folder:/a/very/long/path/with/no/spaces/at/all/in/it · method: Integrated gradients"
    lines = wrap(text, 120, 10)
    assert len(lines) > 1 and "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_head_maps_span_exactly_the_heads_and_layers_and_the_screen_figure_is_untouched() -> None:
    values = np.arange(12 * 12, dtype=np.float64).reshape(12, 12) - 70
    screen = diagnostics.head_map(values, "Δ P when a head is removed", "Δ P (pp)", signed=True)
    before = screen.to_json()
    fig = for_print(screen, "head-map", FigureStyle(), "caption")
    assert screen.to_json() == before  # export never changes what the page shows
    assert list(fig.layout.xaxis.range) == [-0.5, 11.5] and list(fig.layout.yaxis.range) == [11.5, -0.5]
    assert set(fig.layout.xaxis.tickvals) <= set(range(12)) and 0 in fig.layout.xaxis.tickvals
    assert fig.layout.xaxis.zeroline is False and fig.layout.yaxis.zeroline is False  # no stray zero lines
    assert [t.type for t in fig.data] == ["heatmap"]  # the click targets stay on screen
    assert fig.layout.xaxis.side == "bottom"  # the head title no longer meets the chart title


def test_the_ablation_map_is_in_percentage_points() -> None:
    delta = np.array([[4e-4, -2e-3], [0.0, 1e-3]])
    ablation, _ = importance_figures(SimpleNamespace(delta_probability=delta, gradient=np.abs(delta)), "pos")  # type: ignore[arg-type]
    np.testing.assert_array_equal(ablation.data[0].z, delta * 100)  # 4e-4 of probability is 0.04 pp
    assert "pp" in ablation.data[0].colorbar.title.text


def test_long_token_strips_wrap_into_rows_within_the_plot() -> None:
    labels = ["[CLS]", *(["wonderful", "film"] * 40), "[SEP]"]
    screen = figures.token_figure(labels, np.linspace(-1, 1, len(labels)), "IG", "IG")
    fig = for_print(screen, "tokens", FigureStyle(), "")
    columns = fig.layout.xaxis.range[1] - 0.5
    rows = {s.y0 for s in fig.layout.shapes}
    assert len(rows) > 5 and all(s.x0 >= 0 and s.x1 <= columns for s in fig.layout.shapes)
    assert fig.data[0].colorbar.orientation == "h" and not fig.data[0].colorbar.title.text  # no repeated title


def test_a_bad_scale_stops_the_cli_before_any_work(capsys: pytest.CaptureFixture[str], payload_model_dir: Path) -> None:
    argv = [
        "--model",
        str(payload_model_dir),
        "export",
        "--input",
        "/nonexistent/in.txt",
        "--out",
        "/tmp/o",
        "--scale",
        "0",
    ]
    assert main(argv) == 2
    assert "give 0.25 to 12" in capsys.readouterr().err  # before the missing input is even read


def test_signed_head_maps_colour_positive_red_and_negative_blue_like_the_token_strip() -> None:
    """One colour convention for every signed figure: a reader of the token strip (red = pushes the class up)
    reads a head map the same way."""
    from explain.views import diagnostics
    from explain.views.highlight import diverging_color

    scale = diagnostics.head_map(np.array([[-1.0, 1.0]]), "t", "Δ", signed=True).data[0].colorscale
    assert scale[0][1].lower() == diverging_color(-1.0, 1.0).lower()  # the most negative end
    assert scale[-1][1].lower() == diverging_color(1.0, 1.0).lower()  # the most positive end

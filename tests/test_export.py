"""Exported files are what they claim, and the data equals the numbers on screen."""

from __future__ import annotations

import io
import json
import struct
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pytest

from explain import (
    IGSettings,
    ModelBundle,
    attention_view,
    attribute,
    prepare_input,
    run_attention,
)
from explain.cli import main
from explain.export import files as export
from explain.views import exports as views
from explain.views.print_style import FigureStyle
from tests.fixtures import XSS

TEXT = "The film 日本 was 😀 wonderful"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # IHDR
    return width, height


def _svg_texts(data: bytes) -> str:
    root = ET.fromstring(data)  # parses as XML
    return " ".join(t for el in root.iter() if el.tag.endswith("text") for t in el.itertext())


def _pdf_pages(data: bytes) -> int:
    assert data[:5] == b"%PDF-"
    return data.count(b"/Type /Page") - data.count(b"/Type /Pages") or data.count(b"/Type/Page") - data.count(
        b"/Type/Pages"
    )


@pytest.fixture(scope="module")
def attention_views(payload_model_dir: Path) -> views.ViewExports:
    from tests.conftest import bundle_from

    bundle = bundle_from(payload_model_dir)
    result = run_attention(bundle, prepare_input(bundle, TEXT))
    view = attention_view(result, hide_special=False, merge_words=True)
    return views.attention_exports(bundle, result, view, views.AttentionChoice(layer=1, head=2, merge_words=True))


@pytest.fixture(scope="module")
def attribution_views(payload_model_dir: Path) -> tuple[ModelBundle, views.ViewExports, object]:
    from tests.conftest import bundle_from

    bundle = bundle_from(payload_model_dir)
    result = attribute(bundle, prepare_input(bundle, TEXT), IGSettings(target=0))  # the class named by the payload
    return bundle, views.attribution_exports(bundle, result, "Integrated gradients", words=True), result


def test_static_formats_are_real(attention_views: views.ViewExports) -> None:
    """PNG, SVG and PDF are laid out for print: a column is 3.3 in (317 px at 96 per inch, as SVG and PDF
    viewers size them), a page 7 in (672 px); a PNG has ``scale`` pixels per unit (3.125: 300 dpi)."""
    heatmap = attention_views.figures[0]
    caption = attention_views.provenance.caption()
    column = views.print_figure(heatmap, FigureStyle("column"), caption)
    assert (column.layout.width, FigureStyle("page").width) == (317, 672)  # 3.3 x 96 and 7 x 96, by hand
    height = column.layout.height
    png = views.figure_bytes(heatmap, "png", FigureStyle("column", 3.125), caption)
    assert _png_size(png) == (int(317 * 3.125), int(height * 3.125))  # 300 dpi; Chromium drops the fraction
    assert _png_size(views.figure_bytes(heatmap, "png", 1.0, caption)) == (317, height)  # a bare number: the scale
    svg = views.figure_bytes(heatmap, "svg", FigureStyle("page"), caption)
    root = ET.fromstring(svg)
    page = views.print_figure(heatmap, FigureStyle("page"), caption)
    assert (root.get("width"), root.get("height")) == ("672", str(page.layout.height))  # vector: layout size
    svg_text = _svg_texts(svg)
    for word in ("film", "日本", "wonderful", "Layer 1, head 2"):
        assert word in svg_text
    assert "model: folder:" in svg_text  # the caption, wrapped onto lines of its own
    assert _pdf_pages(views.figure_bytes(heatmap, "pdf", FigureStyle(), caption)) == 1


def test_the_persistent_renderer_serves_repeated_exports(
    attention_views: views.ViewExports, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Later exports reuse one browser: one start for many figures, and the same figure gives the same file."""
    from explain.export import rendering

    rendering.stop()
    starts = [0]
    real = rendering._start_server

    def counting(timeout: float) -> object:
        starts[0] += 1
        return real(timeout)

    monkeypatch.setattr(rendering, "_start_server", counting)
    heatmap = attention_views.figures[0]
    first = views.figure_bytes(heatmap, "png", 2.0, "x")
    for fmt in ("png", "svg", "pdf", "png"):
        assert views.figure_bytes(heatmap, fmt, 2.0, "x")[:4] in (first[:4], b"<svg", b"%PDF")
    assert views.figure_bytes(heatmap, "png", 2.0, "x") == first
    views.files([attention_views], ("png", "svg", "pdf"))  # a whole view (12 images) through the same browser
    assert starts[0] == 1


def test_attention_json_roundtrips_exactly(attention_views: views.ViewExports, payload_model_dir: Path) -> None:
    from tests.conftest import bundle_from

    bundle = bundle_from(payload_model_dir)
    result = run_attention(bundle, prepare_input(bundle, TEXT))
    on_screen = attention_view(result, hide_special=False, merge_words=True)
    one = next(d for d in attention_views.data if d.name == "attention-L1-H2")
    loaded = json.loads(views.data_bytes(one, "json"))
    np.testing.assert_array_equal(np.array(loaded["weights"], dtype=np.float32)[0, 0], on_screen.weights[1, 2])
    assert loaded["labels"] == list(on_screen.labels)
    rows = views.data_bytes(one, "csv").decode().splitlines()
    assert rows[0] == "layer,head,query_index,query,key_index,key,weight"
    assert len(rows) == 1 + len(on_screen.labels) ** 2
    first = rows[1].split(",")
    assert np.float32(float(first[-1])) == on_screen.weights[1, 2, 0, 0]


def test_attribution_json_roundtrips_with_settings(attribution_views: tuple[object, views.ViewExports, object]) -> None:
    _, exports, result = attribution_views
    (data,) = exports.data
    assert result.encoding.tokens == ("[CLS]", "the", "film", "日", "本", "was", "[UNK]", "wonderful", "[SEP]")  # type: ignore[attr-defined]
    tokens = np.asarray(result.scores).tolist()  # type: ignore[attr-defined]
    loaded = json.loads(views.data_bytes(data, "json"))
    assert loaded["labels"] == ["[CLS]", "The", "film", "日本", "was", "😀", "wonderful", "[SEP]"]
    # words are sums of their tokens: 日本 is tokens 3 and 4, every other word one token (0.0 + a + b == a + b)
    by_hand = [tokens[0], tokens[1], tokens[2], tokens[3] + tokens[4], tokens[5], tokens[6], tokens[7], tokens[8]]
    assert loaded["scores"] == by_hand  # bit-for-bit through JSON
    prov = loaded["provenance"]
    assert prov["convergence_delta"] == result.convergence_delta  # type: ignore[attr-defined]
    assert prov["steps"] == result.n_steps and prov["baseline"].startswith("[PAD]")  # type: ignore[attr-defined]
    assert prov["target"] == XSS
    changes = np.asarray(result.token_changes).tolist()  # type: ignore[attr-defined]
    assert loaded["token_changes"][3] == changes[3] + changes[4]  # the per-token certificate travels too
    assert prov["token_error"] == result.token_error  # type: ignore[attr-defined]


def test_bundle_has_everything_and_a_full_manifest(attribution_views: tuple[object, views.ViewExports, object]) -> None:
    _, exports, result = attribution_views
    zf = zipfile.ZipFile(io.BytesIO(views.bundle([exports])))
    names = set(zf.namelist())
    for stem in ("attribution-tokens", "attribution-bars"):
        assert {f"figures/{stem}.{ext}" for ext in ("svg", "pdf", "png", "html")} <= names
    assert {"data/attribution.json", "data/attribution.csv", "manifest.json"} <= names
    manifest = json.loads(zf.read("manifest.json"))
    assert set(manifest) >= {"model", "input", "task", "method", "baseline", "steps", "convergence_delta",
                             "relative_delta", "seed", "versions", "created", "files"}  # fmt: skip
    assert len(manifest["model"]["weights_sha256"]) == 64 and manifest["model"]["tokenizer"]
    assert manifest["model"]["labels"] == [XSS, "positive"] and manifest["input"]["text"] == TEXT
    assert {"torch", "transformers", "captum", "plotly", "kaleido"} <= set(manifest["versions"])
    assert manifest["task"] == "attribution" and manifest["steps"] == result.n_steps  # type: ignore[attr-defined]
    assert manifest["figure_style"]["size"] == "column" and manifest["figure_style"]["png_dpi"] == 300.0  # defaults


def test_html_export_is_standalone_and_escaped(attribution_views: tuple[object, views.ViewExports, object]) -> None:
    _, exports, _ = attribution_views
    page = views.figure_bytes(exports.figures[1], "html", 1.0, exports.provenance.caption()).decode()
    assert "<script src=" not in page  # plotly.js is inlined
    # the payload label reaches the page (axis title, hover and caption name the explained class) ...
    assert page.count("&lt;script&gt;parent.__xss=(parent.__xss||0)+1;alert(") >= 2
    # ... only escaped: nothing from it opens or closes a script block
    assert "<script>parent" not in page and "</script><script>" not in page and XSS not in page
    assert page.count("</script>") == page.count("<script")


def test_batch_export_cli(capsys: pytest.CaptureFixture[str], payload_model_dir: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in.csv"
    inputs.write_text('text_a,text_b\n"A fine, warm film",\nGood start,then </script>\n"  ",\n', encoding="utf-8")
    out = tmp_path / "out"
    code = main(["--model", str(payload_model_dir), "export", "--input", str(inputs), "--out", str(out),
                 "--formats", "svg,json,csv", "--figure-size", "page", "--scale", "2"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    style = {
        "size": "page",
        "width_inches": 7.0,
        "png_scale": 2.0,
        "png_dpi": 192.0,
        "vector_units": "px at 96 per inch",
    }
    assert summary["figure_style"] == style  # the run's manifest records the choice
    assert summary["rows"] == 3 and summary["ok"] == 2 and summary["errors"] == 1  # the blank row is reported
    index = (out / "index.csv").read_text().splitlines()
    assert index[0].startswith("row,folder,text") and len(index) == 4 and "no text" in index[3]
    folder = out / "row-00002"
    svg = (folder / "figures" / "attribution-tokens.svg").read_bytes()
    assert ET.fromstring(svg).get("width") == "672"  # 7 in at 96 per inch
    assert json.loads((folder / "manifest.json").read_text())["figure_style"] == style
    assert not list(folder.rglob("*.png"))  # only the asked formats
    assert json.loads((folder / "data" / "attribution.json").read_text())["labels"][0] == "[CLS]"
    bad = tmp_path / "bad.txt"
    bad.write_text("fine\n" + "x" * 20_000 + "\n", encoding="utf-8")
    assert main(["--model", str(payload_model_dir), "export", "--input", str(bad), "--out", str(tmp_path / "o2"),
                 "--formats", "json"]) == 0  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] == 1 and result["errors"] == 1  # the long row failed alone
    assert "at most" in (tmp_path / "o2" / "index.csv").read_text()


def test_long_inputs_export_the_chosen_layer_only(monkeypatch: pytest.MonkeyPatch, payload_model_dir: Path) -> None:
    from tests.conftest import bundle_from

    monkeypatch.setattr(views, "ALL_LAYERS_MAX_TOKENS", 4)
    bundle = bundle_from(payload_model_dir)
    result = run_attention(bundle, prepare_input(bundle, TEXT))
    view = attention_view(result, hide_special=False, merge_words=False)
    exports = views.attention_exports(bundle, result, view, views.AttentionChoice(layer=1))
    (heads,) = [d for d in exports.data if d.name == "attention-L1-all-heads"]
    data = heads.build()
    assert data["layers"] == [1] and len(data["weights"][0]) == 4


def test_float32_values_round_trip_exactly_in_about_half_the_digits() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((3, 50)).astype(np.float32) / rng.integers(1, 1000, (3, 50)).astype(np.float32)
    text = json.dumps(export.float32_values(values))
    np.testing.assert_array_equal(np.array(json.loads(text), dtype=np.float32), values)
    float64_text = json.dumps(values.astype(np.float64).tolist())
    assert len(text) < 0.7 * len(float64_text)

"""Exported files are what they claim, and the data equals the numbers on screen."""

from __future__ import annotations

import io
import json
import struct
import time
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
    result = attribute(bundle, prepare_input(bundle, TEXT), IGSettings(n_steps=8))
    return bundle, views.attribution_exports(bundle, result, "Integrated gradients", words=True), result


def test_static_formats_are_real(attention_views: views.ViewExports) -> None:
    heatmap = attention_views.figures[0]
    caption = attention_views.provenance.caption()
    png = views.figure_bytes(heatmap, "png", 2.0, caption)
    fig = export.with_caption(heatmap.build(), caption)  # type: ignore[misc]
    assert _png_size(png) == (2 * (fig.layout.width or 700), 2 * fig.layout.height)
    assert _png_size(views.figure_bytes(heatmap, "png", 1.0, caption))[0] == fig.layout.width or 700
    svg_text = _svg_texts(views.figure_bytes(heatmap, "svg", 2.0, caption))
    for word in ("film", "日本", "wonderful", "Layer 1, head 2"):
        assert word in svg_text
    assert "model: folder:" in svg_text  # the caption line
    assert _pdf_pages(views.figure_bytes(heatmap, "pdf", 2.0, caption)) == 1


def test_the_persistent_renderer_serves_repeated_exports(attention_views: views.ViewExports) -> None:
    """Later exports reuse one browser: they keep coming, and the same figure gives the same file."""
    heatmap = attention_views.figures[0]
    first = views.figure_bytes(heatmap, "png", 2.0, "x")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        assert views.figure_bytes(heatmap, "png", 2.0, "x") == first
        times.append(time.perf_counter() - start)
    print(f"\nPNG export after the first: median {sorted(times)[1]:.3f} s (bench/export.py measures properly)")


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
    loaded = json.loads(views.data_bytes(data, "json"))
    words = result.encoding.words  # type: ignore[attr-defined]
    sums = np.bincount(result.encoding.word_index, weights=result.scores)  # type: ignore[attr-defined]
    assert loaded["labels"] == list(words)
    assert np.array(loaded["scores"]).tolist() == sums.tolist()  # bit-for-bit
    prov = loaded["provenance"]
    assert prov["convergence_delta"] == result.convergence_delta  # type: ignore[attr-defined]
    assert prov["steps"] == result.n_steps and prov["baseline"].startswith("[PAD]")  # type: ignore[attr-defined]


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


def test_html_export_is_standalone_and_escaped(attribution_views: tuple[object, views.ViewExports, object]) -> None:
    _, exports, _ = attribution_views
    page = views.figure_bytes(exports.figures[1], "html", 1.0, exports.provenance.caption()).decode()
    assert "<script src=" not in page  # plotly.js is inlined
    assert page.count("</script>") == page.count("<script")  # nothing from a label closes a script block
    assert XSS not in page


def test_batch_export_cli(capsys: pytest.CaptureFixture[str], payload_model_dir: Path, tmp_path: Path) -> None:
    inputs = tmp_path / "in.csv"
    inputs.write_text('text_a,text_b\n"A fine, warm film",\nGood start,then </script>\n"  ",\n', encoding="utf-8")
    out = tmp_path / "out"
    code = main(["--model", str(payload_model_dir), "export", "--input", str(inputs), "--out", str(out),
                 "--formats", "svg,json,csv"])  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rows"] == 3 and summary["ok"] == 2 and summary["errors"] == 1  # the blank row is reported
    index = (out / "index.csv").read_text().splitlines()
    assert index[0].startswith("row,folder,text") and len(index) == 4 and "no text" in index[3]
    folder = out / "row-00002"
    assert (folder / "figures" / "attribution-tokens.svg").exists()
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

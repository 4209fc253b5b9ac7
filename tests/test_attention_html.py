from __future__ import annotations

import base64
import html as pyhtml
import json
import re

import numpy as np
import pytest

from explain import ModelBundle, attention_view, prepare_input, run_attention
from explain.views.bertviz import bertviz_html, layers_within_budget, payload_bytes, safe_json
from tests.fixtures import XSS


def _data(html: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="glimpse-data">(.*?)</script>', html, re.DOTALL)
    assert m is not None
    return json.loads(m.group(1))  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["head", "model"])
def test_payload_cannot_break_out_of_script(bert_bundle: ModelBundle, kind: str) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, XSS + " a<!--<script> b"))
    view = attention_view(result, hide_special=False, merge_words=True)
    assert XSS in view.labels  # word mode carries the payload verbatim: the escaping is what protects
    html = bertviz_html(kind, view.weights, view.labels, sentence_b_start=None, layers=(0, 1), header=XSS)  # type: ignore[arg-type]
    # five script elements (data, jQuery, d3, decoder, bertviz): nothing from the text opened or closed one
    assert html.count("</script") == 5
    assert "<!--" not in html
    assert "&lt;/script&gt;" in html  # the header is escaped text
    assert XSS in _data(html)["tokens"]  # type: ignore[operator]


def test_weights_travel_as_float16_and_decode_exactly(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, "a fine movie", "and a pair"))
    view = attention_view(result, hide_special=False, merge_words=False)
    html = bertviz_html(
        "head", view.weights, view.labels, sentence_b_start=view.sentence_b_start, layers=(1,), header=""
    )
    data = _data(html)
    decoded = np.frombuffer(base64.b64decode(data["weights"]), dtype="<f2").reshape(data["shape"] + [-1])  # type: ignore[operator]
    np.testing.assert_allclose(decoded, view.weights[1:2], atol=1e-3)
    assert data["sentence_b_start"] == view.sentence_b_start
    assert data["params"]["include_layers"] == [1]  # type: ignore[index]


def test_no_network_fetch_in_html(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, "offline please"))
    html = bertviz_html(
        "model", result.weights, result.encoding.tokens, sentence_b_start=None, layers=(0, 1), header=""
    )
    assert not re.search(r"(src|href)\s*=\s*['\"]?https?:", html)
    assert "cdnjs" not in html and "require.config({" not in html


def test_safe_json_roundtrips() -> None:
    obj = {"t": ["</script>", "&", "<!--", "\u2028"]}
    assert json.loads(safe_json(obj)) == obj
    assert "<" not in safe_json(obj) and ">" not in safe_json(obj)


def test_layer_budget() -> None:
    assert layers_within_budget(16, 6, 12, selected=0) == tuple(range(6))
    assert layers_within_budget(128, 6, 12, selected=0) == tuple(range(6))  # ~3.1 MB: the whole model
    assert len(layers_within_budget(256, 6, 12, selected=5)) == 1
    assert layers_within_budget(512, 6, 12, selected=0) == ()  # one layer alone is over budget
    assert payload_bytes(128, 6, 12) == pytest.approx(3.15e6, rel=0.01)


def test_header_is_one_line_with_the_whole_text_on_hover(bert_bundle: ModelBundle) -> None:
    result = run_attention(bert_bundle, prepare_input(bert_bundle, "a fine movie"))
    header = "labels: " + ", ".join([XSS, "a label name long enough to wrap\nonto a second line"] * 4)
    tokens = result.encoding.tokens
    html = bertviz_html("model", result.weights, tokens, sentence_b_start=None, layers=(0,), header=header)
    style = re.search(r"\.glimpse-header\{([^}]*)\}", html)
    assert style is not None
    # however long, the header takes one line (the frame height counts one), cut with an ellipsis
    assert {"white-space:nowrap", "overflow:hidden", "text-overflow:ellipsis"} <= set(style.group(1).split(";"))
    title = re.search(r'<div class="glimpse-header" title="([^"]*)">', html)
    assert title is not None and pyhtml.unescape(title.group(1)) == header  # the whole text on hover, escaped
    assert html.count("</script") == 5

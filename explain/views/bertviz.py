"""bertviz's head and model views as self-contained HTML: offline, compact and escaped.

bertviz's own ``head_view(html_action="return")`` loads require.js, d3 and jQuery from a CDN (blank
views offline), embeds every weight as JSON text (~45 bytes each: 53 MB per view at 128 tokens) and
puts ``json.dumps`` output inside ``<script>`` unescaped (a token ``</script><script>...`` breaks out
into the same-origin Streamlit iframe). Here we run bertviz's installed view scripts unchanged, but:

- jQuery and d3 are inlined from installed packages (``xstatic-jquery``, ``mpld3``'s d3 v5), and
  ``require``/``requirejs`` are two-line shims over those globals;
- the weights travel once, as base64 float16 (17x smaller), decoded in the browser;
- every string is JSON with ``<``, ``>`` and ``&`` escaped, so it cannot end the script block, and
  the header is ``html.escape``d (and kept to one line, so a long one cannot push the view out of its frame).
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np

ViewKind = Literal["head", "model"]
#: Above this many bytes of weights, a view shows fewer layers (then falls back to Plotly only).
PAYLOAD_BUDGET_BYTES = 4_000_000
_REQUIRE_CONFIG = re.compile(r"require\.config\(\{.*?\}\);", re.DOTALL)

_DECODER = """
(function () {
  const table = new Float32Array(65536);
  for (let u = 0; u < 65536; u++) {
    const s = (u & 0x8000) ? -1 : 1, e = (u >> 10) & 0x1f, f = u & 0x3ff;
    table[u] = e === 0 ? s * Math.pow(2, -14) * (f / 1024)
      : e === 31 ? (f ? NaN : s * Infinity) : s * Math.pow(2, e - 15) * (1 + f / 1024);
  }
  const spec = JSON.parse(document.getElementById("glimpse-data").textContent);
  const bytes = Uint8Array.from(atob(spec.weights), c => c.charCodeAt(0));
  const half = new Uint16Array(bytes.buffer);
  const [L, H, N] = spec.shape;
  const full = [];
  for (let l = 0; l < L; l++) {
    const layer = [];
    for (let h = 0; h < H; h++) {
      const head = [];
      for (let i = 0; i < N; i++) {
        const row = new Array(N), base = ((l * H + h) * N + i) * N;
        for (let j = 0; j < N; j++) row[j] = table[half[base + j]];
        head.push(row);
      }
      layer.push(head);
    }
    full.push(layer);
  }
  const slice = (a, r0, r1, c0, c1) => a.map(l => l.map(h => h.slice(r0, r1).map(r => r.slice(c0, c1))));
  const t = spec.tokens, b = spec.sentence_b_start;
  const filters = [{name: b === null ? null : "All", attn: full, left_text: t, right_text: t}];
  if (b !== null) {
    const A = t.slice(0, b), B = t.slice(b), n = t.length;
    filters.push({name: "Sentence A -> Sentence A", attn: slice(full, 0, b, 0, b), left_text: A, right_text: A});
    filters.push({name: "Sentence B -> Sentence B", attn: slice(full, b, n, b, n), left_text: B, right_text: B});
    filters.push({name: "Sentence A -> Sentence B", attn: slice(full, 0, b, b, n), left_text: A, right_text: B});
    filters.push({name: "Sentence B -> Sentence A", attn: slice(full, b, n, 0, b), left_text: B, right_text: A});
  }
  spec.params.attention = filters;
  window.GLIMPSE_PARAMS = spec.params;
  window.require = {config: function () {}};
  window.requirejs = function (deps, fn) { fn(window.jQuery, window.d3); };
})();
"""


def payload_bytes(n_tokens: int, n_layers: int, n_heads: int) -> int:
    """Bytes of base64 float16 weights a view with these dimensions ships."""
    return (n_layers * n_heads * n_tokens * n_tokens * 2 * 4) // 3


def layers_within_budget(
    n_tokens: int, n_layers: int, n_heads: int, selected: int, budget: int = PAYLOAD_BUDGET_BYTES
) -> tuple[int, ...]:
    """Which layers a view may include: all if they fit, else as many as fit around ``selected``."""
    per_layer = payload_bytes(n_tokens, 1, n_heads)
    fit = min(n_layers, budget // max(per_layer, 1))
    if fit <= 0:
        return ()
    start = min(max(selected - fit // 2, 0), n_layers - fit)
    return tuple(range(start, start + fit))


def bertviz_html(
    kind: ViewKind,
    weights: np.ndarray,
    labels: Sequence[str],
    *,
    sentence_b_start: int | None,
    layers: Sequence[int],
    header: str,
    layer: int | None = None,
    heads: Sequence[int] | None = None,
) -> str:
    """A standalone HTML document with bertviz's ``kind`` view of ``weights`` [layers, heads, n, n].

    ``layers`` are the (absolute) layer indices to include; ``header`` is shown above the view, escaped, on one
    line (cut with an ellipsis; the whole text on hover).
    """
    chosen = np.ascontiguousarray(weights[list(layers)], dtype="<f2")  # (len(layers), heads, n, n)
    params: dict[str, Any] = {"default_filter": "0", "root_div_id": "glimpse-bertviz", "include_layers": list(layers)}
    if kind == "head":
        params |= {"layer": layer if layer in layers else layers[0], "heads": None if heads is None else list(heads)}
    else:
        params |= {
            "display_mode": "light",
            "include_heads": list(range(weights.shape[1])),
            "total_heads": weights.shape[1],
        }
    spec = {
        "shape": list(chosen.shape[:3]),
        "weights": base64.b64encode(chosen.tobytes()).decode("ascii"),
        "tokens": list(labels),
        "sentence_b_start": sentence_b_start,
        "params": params,
    }
    view_js = _REQUIRE_CONFIG.sub("", _bertviz_script(kind)).replace("PYTHON_PARAMS", "window.GLIMPSE_PARAMS")
    controls = 'Layer: <select id="layer"></select>' if kind == "head" else ""
    filter_select = _filter_select(sentence_b_start)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "body{font-family:'Helvetica Neue',Helvetica,Arial,sans-serif;margin:4px}"
        # one line, whatever the labels: the iframe's height is computed from the view alone
        ".glimpse-header{font-size:13px;color:#444;margin:0 0 6px 0;white-space:nowrap;overflow:hidden;"
        "text-overflow:ellipsis}</style></head><body>"
        f'<div class="glimpse-header" title="{html.escape(header, quote=True)}">{html.escape(header)}</div>'
        f'<div id="glimpse-bertviz"><span style="user-select:none">{controls} {filter_select}</span>'
        "<div id='vis'></div></div>"
        f'<script type="application/json" id="glimpse-data">{safe_json(spec)}</script>'
        f"<script>{_library('jquery')}</script><script>{_library('d3')}</script>"
        f"<script>{_DECODER}</script><script>{_script_safe(view_js)}</script></body></html>"
    )


def safe_json(obj: object) -> str:
    """JSON that cannot close a ``<script>`` element or open a comment inside it."""
    return json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _filter_select(sentence_b_start: int | None) -> str:
    if sentence_b_start is None:
        return ""
    names = [
        "All",
        "Sentence A -> Sentence A",
        "Sentence B -> Sentence B",
        "Sentence A -> Sentence B",
        "Sentence B -> Sentence A",
    ]
    options = "".join(f'<option value="{i}">{html.escape(n)}</option>' for i, n in enumerate(names))
    return f'Attention: <select id="filter">{options}</select>'


def _script_safe(js: str) -> str:
    return js.replace("</script", "<\\/script")


@lru_cache(maxsize=4)
def _bertviz_script(kind: ViewKind) -> str:
    return resources.files("bertviz").joinpath(f"{kind}_view.js").read_text(encoding="utf-8")


@lru_cache(maxsize=2)
def _library(name: Literal["jquery", "d3"]) -> str:
    if name == "jquery":
        import xstatic.pkg.jquery as xq

        path = Path(xq.BASE_DIR) / "jquery.min.js"
    else:
        path = Path(str(resources.files("mpld3").joinpath("js/d3.v5.min.js")))
    return _script_safe(path.read_text(encoding="utf-8"))

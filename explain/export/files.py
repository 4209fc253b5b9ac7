"""Figures and data to files: static images, standalone HTML, CSV/JSON, and a zip bundle with provenance.

Data files hold exactly what a view shows. JSON floats are written with Python's shortest round-trip
repr, so loading the JSON back gives the same numbers bit for bit; CSV is for spreadsheets.
"""

from __future__ import annotations

import csv
import html
import io
import json
import platform
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import metadata
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from explain.methods.attribution import BASELINE_HELP, AttributionResult
from explain.models.loading import ModelBundle

_VERSIONED = ("torch", "transformers", "tokenizers", "captum", "plotly", "kaleido", "streamlit", "bertviz", "numpy")
MIME = {
    "png": "image/png",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "html": "text/html",
    "csv": "text/csv",
    "json": "application/json",
    "zip": "application/zip",
}


@dataclass(frozen=True)
class Provenance:
    """Where a figure or data file came from: enough to reproduce it."""

    model: str  # source label
    weights_sha256: str
    tokenizer: str
    labels: tuple[str, ...]
    text: str
    text_b: str | None
    task: str  # "attention" or "attribution"
    method: str | None = None
    baseline: str | None = None
    steps: int | None = None
    convergence_delta: float | None = None
    relative_delta: float | None = None
    token_error: float | None = None  # the per-token certificate: largest change from the previous level
    target: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    model_task: str | None = None  # what the model's head does (explain.models.heads.TaskKind), maybe overridden

    def manifest(self) -> dict[str, Any]:
        return {
            "model": {"source": self.model, "weights_sha256": self.weights_sha256, "tokenizer": self.tokenizer,
                      "labels": list(self.labels), "task": self.model_task},
            "input": {"text": self.text, "text_b": self.text_b},
            "task": self.task,
            "method": self.method,
            "target": self.target,
            "baseline": self.baseline,
            "steps": self.steps,
            "convergence_delta": self.convergence_delta,
            "relative_delta": self.relative_delta,
            "token_error": self.token_error,
            "seed": 0,  # every computation here is deterministic (eval mode, no sampling); 0 is recorded for the record
            "settings": dict(self.extra),
            "versions": library_versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }  # fmt: skip

    def caption(self) -> str:
        """One line for the foot of a figure: model, method, baseline, steps and δ where they apply."""
        parts = [f"model: {self.model}"]
        if self.method:
            parts.append(f"method: {self.method}")
        if self.target:
            parts.append(f"class: {self.target}")
        if self.baseline:
            parts.append(f"baseline: {self.baseline}")
        if self.steps:
            parts.append(f"steps: {self.steps}")
        if self.convergence_delta is not None and self.relative_delta is not None:
            parts.append(f"δ = {self.convergence_delta:+.2e} ({self.relative_delta:.2%})")
        if self.token_error is not None:
            parts.append(f"per-token error {self.token_error:.2%}")
        return " · ".join(parts)


def weights_sha256(bundle: ModelBundle) -> str:
    """A hash of every parameter and buffer, in name order (identifies the exact weights used).

    Cached on the bundle (:attr:`ModelBundle.weights_sha256`), never in a function cache that would keep
    evicted models alive."""
    return bundle.weights_sha256


@lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    out = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return tuple(out.items())


def library_versions() -> dict[str, str]:
    """Versions of the libraries behind a result (read once per process: metadata lookups are slow)."""
    return dict(_versions())


_MAX_LABELS = 1000


def provenance(bundle: ModelBundle, text: str, text_b: str | None, task: str, **kwargs: Any) -> Provenance:
    tok = bundle.tokenizer
    return Provenance(
        model=bundle.info.source,
        weights_sha256=weights_sha256(bundle),
        tokenizer=f"{type(tok).__name__} (vocab {len(tok)})",
        # a masked LM's target view names its whole vocabulary: the manifest says how many instead
        labels=bundle.info.labels if len(bundle.info.labels) <= _MAX_LABELS else (f"{len(bundle.info.labels)} tokens",),
        text=text,
        text_b=text_b,
        task=task,
        model_task=bundle.info.task,
        **kwargs,
    )


def attribution_provenance(bundle: ModelBundle, result: AttributionResult, method: str) -> Provenance:
    s = result.settings
    return provenance(
        bundle,
        result.encoding.text,
        result.encoding.text_b,
        "attribution",
        method=method,
        baseline=BASELINE_HELP[s.baseline],
        steps=result.n_steps,
        convergence_delta=result.convergence_delta,
        relative_delta=result.relative_delta,
        target=bundle.info.target or bundle.info.labels[result.target],  # a task's target view names its target
        token_error=result.token_error,
        extra={"output": s.output, "quadrature": "nested Clenshaw–Curtis on a warped path", "first_steps": s.n_steps,
               "tolerance": s.tolerance, "max_steps": s.max_steps, "steps_tried": list(result.steps_tried),
               "forward_points": result.forward_points, "converged": result.converged},
    )  # fmt: skip


# ---- data ------------------------------------------------------------------------------------------


def attention_data(
    weights: np.ndarray, labels: Sequence[str], layers: Sequence[int], heads: Sequence[int], prov: Provenance
) -> dict[str, Any]:
    """JSON-ready attention of the chosen layers/heads: weights [len(layers), len(heads), n, n]."""
    chosen = weights[np.ix_(list(layers), list(heads))]
    return {
        "kind": "attention",
        "labels": list(labels),
        "layers": list(layers),
        "heads": list(heads),
        "weights": float32_values(chosen),  # row = query, column = key
        "provenance": prov.manifest(),
    }


def attribution_data(
    labels: Sequence[str], scores: np.ndarray, prov: Provenance, **series: np.ndarray
) -> dict[str, Any]:
    """JSON-ready attributions with their settings and δ; ``series`` adds companion scores."""
    return {
        "kind": "attribution",
        "labels": list(labels),
        "scores": np.asarray(scores, dtype=np.float64).tolist(),
        **{k: np.asarray(v, dtype=np.float64).tolist() for k, v in series.items()},
        "provenance": prov.manifest(),
    }


def float32_values(values: np.ndarray) -> Any:
    """Nested lists of the shortest decimals that give back each float32 value exactly (about 9 digits, not
    float64's 17: attention at 512 tokens is 3 million numbers)."""
    shortest = np.asarray(values, dtype=np.float32).astype(str)  # numpy's shortest round-trip repr per float32
    return np.vectorize(float, otypes=[object])(shortest).tolist()


def to_json(data: Mapping[str, Any], indent: int | None = 1) -> bytes:
    """JSON with exact floats; data files are compact (``indent=None``), manifests readable."""
    separators = (",", ":") if indent is None else None
    return json.dumps(data, ensure_ascii=False, indent=indent, separators=separators, allow_nan=False).encode("utf-8")


def attention_csv(data: Mapping[str, Any]) -> bytes:
    """Long format: layer, head, query index, query, key index, key, weight."""
    labels = [_csv_field(csv_text(str(label))) for label in data["labels"]]  # made safe and quoted once
    lines = ["layer,head,query_index,query,key_index,key,weight"]
    for li, layer in enumerate(data["layers"]):
        for hi, head in enumerate(data["heads"]):
            for q, row in enumerate(data["weights"][li][hi]):
                prefix = f"{layer},{head},{q},{labels[q]},"
                lines.extend(f"{prefix}{k},{labels[k]},{w!r}" for k, w in enumerate(row))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _csv_field(value: str) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([value])
    return out.getvalue().rstrip("\r\n")


def attribution_csv(data: Mapping[str, Any]) -> bytes:
    columns = [k for k in ("scores", "token_changes", "grad_x_input", "saliency", "rollout") if k in data]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["index", "token", *columns])
    for i, label in enumerate(data["labels"]):
        writer.writerow([i, csv_text(str(label)), *(repr(data[c][i]) for c in columns)])
    return out.getvalue().encode("utf-8")


def table_csv(data: Mapping[str, Any]) -> bytes:
    """A table {"columns": [...], "rows": [[...], ...]}: text cells made safe, numbers exact (``repr``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_text(str(c)) for c in data["columns"]])
    for row in data["rows"]:
        writer.writerow(["" if v is None else csv_text(v) if isinstance(v, str) else repr(v) for v in row])
    return out.getvalue().encode("utf-8")


#: Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Control characters (C0, DEL, C1 such as U+0085) and the Unicode line/paragraph separators.
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def csv_text(value: str) -> str:
    """A text cell that is safe in a spreadsheet and visible in an editor.

    A cell starting like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading single quote, as
    OWASP advises, and control characters and line separators are written as escapes (ESC as ``\\x1b``).
    Numbers are data and never go through here; the JSON export keeps every string exactly.
    """
    safe = _INVISIBLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)
    return "'" + safe if value.startswith(_FORMULA_START) else safe


# ---- figures ---------------------------------------------------------------------------------------


def with_caption(fig: go.Figure, caption: str) -> go.Figure:
    """A copy of ``fig`` with a provenance line at its foot."""
    out = go.Figure(fig)
    bottom = (out.layout.margin.b or 10) + 40
    out.update_layout(margin={"b": bottom})
    out.add_annotation(
        text=caption.replace("<", "&lt;").replace(">", "&gt;"), xref="paper", yref="paper", x=0, y=0,
        yshift=-bottom + 8, xanchor="left", yanchor="bottom", showarrow=False, font={"size": 10, "color": "#555"},
    )  # fmt: skip
    return out


def figure_html(fig: go.Figure, title: str) -> bytes:
    """A standalone HTML file with plotly.js inlined: opens from disk with the network cut."""
    page: str = pio.to_html(fig, include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    # plotly writes its JSON with <, > and / escaped; the title goes through html.escape
    return page.replace("<head>", f"<head><title>{html.escape(title)}</title>", 1).encode("utf-8")


def zip_bundle(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> bytes:
    """A zip of ``files`` plus ``manifest.json`` (which also lists the files)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("manifest.json", to_json({**manifest, "files": sorted(files)}))
    return buffer.getvalue()

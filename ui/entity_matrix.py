"""A tagger's every entity explained at once: one batched certified IG run, shown as an entity × token matrix.

Each entity is its first token's tag logit (:func:`explain.tasks.tagging.entity_choices`); on the flattened
view every entity is one column, so their paths share padded batches (:func:`explain.tasks.tagging.entity_matrix`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import streamlit as st

import explain
import ui.export
from explain.export import files as export
from explain.tasks import Choice
from explain.tasks.tagging import entity_matrix
from explain.views import figures
from explain.views.exports import DataExport, FigureExport, ViewExports
from ui import cache
from ui.state import Current, md


def section(base: Current, entities: Sequence[Choice], settings: explain.IGSettings) -> None:
    """The matrix, its certificates and its export (``base``: the tagger itself, not a target view)."""
    key = ("entity-matrix", base.key, tuple(c.target for c in entities), settings)
    with st.spinner(f"Integrated gradients for {len(entities)} entities, one batched run…"):
        results, matrix = cache.cached(key, lambda: entity_matrix(base.bundle, entities, settings))
    names = [c.target.name for c in entities]
    tokens = list(entities[0].encoding.tokens)
    worst = max(r.relative_delta for r in results), max(r.token_error for r in results)
    st.plotly_chart(figures.entity_matrix_heatmap(matrix, names, tokens, "Integrated gradients, every entity"),
                    key="attribution.entity_matrix")  # fmt: skip
    st.caption(
        f"Each row: IG of one entity's tag logit over the tokens (red pushes towards the tag, blue away). Every "
        f"row certified: worst completeness gap {worst[0]:.2%}, worst per-token error {worst[1]:.2%} "
        f"(tolerance {settings.tolerance:.1%}); {sum(not r.converged for r in results)} row(s) at the step cap."
    )
    st.dataframe(
        [{"entity": n, "steps": r.n_steps, "relative |δ|": r.relative_delta, "per-token error": r.token_error,
          "f(input)": r.f_input} for n, r in zip(names, results, strict=True)],
        hide_index=True,
    )  # fmt: skip
    ui.export.export_panel("attribution", _exports(base, entities, results, matrix))
    if not all(r.converged for r in results):
        st.warning(md("Some rows did not converge at the step cap; raise it under 'Accuracy'."))


def _exports(
    base: Current, entities: Sequence[Choice], results: Sequence[explain.AttributionResult], matrix: np.ndarray
) -> ViewExports:
    names = [c.target.name for c in entities]
    tokens = list(entities[0].encoding.tokens)
    s = results[0].settings
    prov = export.provenance(
        base.bundle, base.result.encoding.text, base.result.encoding.text_b, "attribution",
        method="Integrated gradients (every entity, batched)", baseline=s.baseline.value,
        target=f"every entity ({len(entities)})", relative_delta=max(r.relative_delta for r in results),
        token_error=max(r.token_error for r in results),
        extra={"entities": names, "output": s.output, "tolerance": s.tolerance, "max_steps": s.max_steps},
    )  # fmt: skip

    def data() -> dict[str, Any]:
        rows = [[n, t, float(matrix[i, j])] for i, n in enumerate(names) for j, t in enumerate(tokens)]
        return {"columns": ["entity", "token", "score"], "rows": rows, "provenance": prov.manifest()}

    fig = FigureExport("entity-matrix", "Entity × token matrix",
                       lambda: figures.entity_matrix_heatmap(matrix, names, tokens, "IG, every entity"),
                       kind="heatmap")  # fmt: skip
    return ViewExports((fig,), (DataExport("entity-matrix", "Entity × token scores", data, export.table_csv),), prov)

"""What the Diagnose page exports: each of its figures and tables, with provenance (method, baseline, seed).

Parts the user has not opened yet are ``None`` and are left out; the batch of what was computed exports.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from explain.export import files as export
from explain.methods.ablation import HeadImportanceResult, SweepResult
from explain.methods.attribution import BASELINE_HELP
from explain.methods.diagnosis import Diagnosis
from explain.methods.faithfulness import FaithfulnessResult
from explain.methods.sanity import SanityResult
from explain.models.loading import ModelBundle
from explain.views import diagnostics
from explain.views.exports import DataExport, FigureExport, ViewExports


def importance_figures(imp: HeadImportanceResult, label: str) -> tuple[go.Figure, go.Figure]:
    # in percentage points: a change of 0.0004 in probability is "0.04 pp", not Plotly's "400μ"
    ablation = diagnostics.head_map(
        imp.delta_probability * 100, f"Δ P({label}) when a head is removed", "Δ P (pp)", signed=True
    )
    gradient = diagnostics.head_map(
        imp.gradient, "Gradient head importance |∂ log P / ∂ head|", "|gradient|", signed=False
    )
    return ablation, gradient


def sweep_figure(sweep: SweepResult, label: str) -> go.Figure:
    curves = {"most important first": sweep.importance_curve}
    band = (sweep.random_curves.mean(0), sweep.random_curves.min(0), sweep.random_curves.max(0))
    total = max(int(sweep.counts[-1]), 1)
    return diagnostics.curves_figure(
        sweep.counts / total, curves, band, "Removing heads one after another", f"P({label})", "heads removed"
    )


def faithfulness_figures(f: FaithfulnessResult, label: str) -> tuple[go.Figure, go.Figure]:
    def band(curve: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        seeds = np.array([getattr(s, curve) for s in f.random_seeds])
        return seeds.mean(0), seeds.min(0), seeds.max(0)

    def curves(curve: str) -> dict[str, np.ndarray]:
        return {m.name: getattr(m, curve) for m in f.methods}

    deletion = diagnostics.curves_figure(
        f.fractions,
        curves("deletion"),
        band("deletion"),
        "Deletion: its top tokens replaced (faster fall = more faithful)",
        f"P({label})",
        "tokens replaced",
    )
    insertion = diagnostics.curves_figure(
        f.fractions,
        curves("insertion"),
        band("insertion"),
        "Insertion: only its top tokens restored (faster rise = more faithful)",
        f"P({label})",
        "tokens restored",
    )
    return deletion, insertion


def diagnose_exports(bundle: ModelBundle, d: Diagnosis, part: str = "all") -> ViewExports:
    """The files of ``d``'s computed parts; ``part`` (the page's open tab) is part of the identity, so a file
    prepared on one tab is never offered on another with that tab's parts."""
    a, label = d.attribution, bundle.info.labels[d.attribution.target]
    seed = d.sanity.settings.seed if d.sanity is not None else 0
    prov = export.provenance(
        bundle,
        a.encoding.text,
        a.encoding.text_b,
        "diagnose",
        method="head ablation, agreement, faithfulness, sanity",
        baseline=BASELINE_HELP[a.settings.baseline],
        steps=a.n_steps,
        convergence_delta=a.convergence_delta,
        relative_delta=a.relative_delta,
        target=label,
        token_error=a.token_error,
        extra={"seed": seed, "agreement": d.agreement_method, "ig_output": a.settings.output},
    )
    figs: list[FigureExport] = []
    data: list[DataExport] = []
    if d.importance is not None:
        imp = d.importance
        figs += [
            FigureExport(
                "head-ablation", "Head ablation map", lambda: importance_figures(imp, label)[0], kind="head-map"
            ),
            FigureExport(
                "head-gradient", "Gradient head importance", lambda: importance_figures(imp, label)[1], kind="head-map"
            ),
        ]
        data.append(
            DataExport(
                "heads", "Heads (ablation, gradient, agreement)", lambda: _heads_table(d, prov), export.table_csv
            )
        )
    if d.sweep is not None:
        sweep = d.sweep
        figs.append(FigureExport("ablation-sweep", "Ablation sweep", lambda: sweep_figure(sweep, label)))
    if d.agreement is not None:
        agree, norm = d.agreement, d.norm_agreement
        figs.append(
            FigureExport(
                "agreement",
                "Attention vs IG",
                lambda: diagnostics.head_map(agree, "Attention vs IG (rank correlation)", "ρ", signed=True, limit=1.0),
                kind="head-map",
            )
        )
        if norm is not None:
            figs.append(
                FigureExport(
                    "agreement-norm",
                    "Norm-based attention vs IG",
                    lambda: diagnostics.head_map(norm, "‖αf(x)‖ vs IG (rank correlation)", "ρ", signed=True, limit=1.0),
                    kind="head-map",
                )
            )
        if d.importance is None:
            data.append(DataExport("heads", "Heads (agreement)", lambda: _heads_table(d, prov), export.table_csv))
    if d.faithfulness is not None:
        f = d.faithfulness
        figs += [
            FigureExport("faithfulness-deletion", "Deletion curves", lambda: faithfulness_figures(f, label)[0]),
            FigureExport("faithfulness-insertion", "Insertion curves", lambda: faithfulness_figures(f, label)[1]),
        ]
        data.append(DataExport("aopc", "AOPC per method", lambda: _aopc_table(f, prov), export.table_csv))
    if d.sanity is not None:
        s = d.sanity
        corr = {m: s.correlations[:, i] for i, m in enumerate(s.methods)}
        figs.append(
            FigureExport(
                "sanity", "Sanity check", lambda: diagnostics.sanity_figure(s.steps, corr, s.settings.threshold)
            )
        )
        data.append(DataExport("sanity", "Sanity-check correlations", lambda: _sanity_table(s, prov), export.table_csv))
    names = tuple(f.name for f in figs) + tuple(x.name for x in data)
    return ViewExports(tuple(figs), tuple(data), prov, choices=repr((part, names)))


def _heads_table(d: Diagnosis, prov: export.Provenance) -> dict[str, Any]:
    maps = {
        "delta_logit": None if d.importance is None else d.importance.delta_logit,
        "delta_probability": None if d.importance is None else d.importance.delta_probability,
        "gradient": None if d.importance is None else d.importance.gradient,
        "agreement": d.agreement,
        "norm_agreement": d.norm_agreement,
    }
    present = {k: v for k, v in maps.items() if v is not None}
    layers, heads = next(iter(present.values())).shape
    rows = [[la, h, *(float(v[la, h]) for v in present.values())] for la in range(layers) for h in range(heads)]
    return {"kind": "heads", "columns": ["layer", "head", *present], "rows": rows, "provenance": prov.manifest()}


def _aopc_table(f: FaithfulnessResult, prov: export.Provenance) -> dict[str, Any]:
    rows = [
        [m.name, m.comprehensiveness, m.sufficiency, m.deletion_area, m.insertion_area] for m in (*f.methods, f.random)
    ]
    return {
        "kind": "aopc",
        "columns": ["method", "comprehensiveness", "sufficiency", "deletion_area", "insertion_area"],
        "rows": rows,
        "best": f.best,
        "verdict": f.verdict,
        "provenance": prov.manifest(),
    }


def _sanity_table(s: SanityResult, prov: export.Provenance) -> dict[str, Any]:
    rows = [[step, *(float(v) for v in s.correlations[i])] for i, step in enumerate(s.steps)]
    return {
        "kind": "sanity",
        "columns": ["randomised", *s.methods],
        "rows": rows,
        "seed": s.settings.seed,
        "insensitive": list(s.insensitive),
        "precision": s.precision,  # of the randomised copies
        "provenance": prov.manifest(),
    }

from __future__ import annotations

import subprocess
import sys

import explain


def test_core_never_imports_streamlit() -> None:
    code = (
        "import sys, explain, explain.views.bertviz, explain.views.figures, explain.models.gate, explain.cli\n"
        "assert 'streamlit' not in sys.modules, [m for m in sys.modules if m.startswith('streamlit')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names_are_pinned() -> None:
    assert set(explain.__all__) == {
        "AttributionError",
        "AttributionResult",
        "Baseline",
        "IGSettings",
        "attribute",
        "word_scores",
        "MAX_CHARS",
        "AttentionResult",
        "AttentionView",
        "ComputationError",
        "Encoding",
        "GlimpseError",
        "HeadFusion",
        "InputError",
        "ModelBundle",
        "ModelInfo",
        "ModelLoadError",
        "ModelSource",
        "ModelSourceError",
        "SourceKind",
        "SourcePolicy",
        "attention_view",
        "default_source",
        "head_average",
        "load_bundle",
        "merge_pieces",
        "policy_from_env",
        "prepare_input",
        "probabilities",
        "renormalise",
        "resolve_source",
        "rollout",
        "rollout_relevance",
        "run_attention",
    }
    for name in explain.__all__:
        assert hasattr(explain, name), name

"""The core stands alone: no module of ``explain`` loads Streamlit, and its public names are pinned."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
import types

import explain

PUBLIC = {
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


def _cannot_import(name: str) -> None:
    raise AssertionError(f"{name} cannot be imported")  # walk_packages would skip it silently


def core_modules() -> list[str]:
    """Every module under explain/, found on disk (a new module is covered without editing this test).
    ``__main__`` is left out: importing it runs the CLI."""
    found = pkgutil.walk_packages(explain.__path__, prefix="explain.", onerror=_cannot_import)
    return sorted(m.name for m in found if not m.name.endswith(".__main__"))


def test_no_core_module_imports_streamlit() -> None:
    modules = core_modules()
    assert {"explain.inputs", "explain.views.highlight", "explain.methods.attribution", "explain.cli"} <= set(modules)
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit')))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert json.loads(out.splitlines()[-1]) == []


def test_public_names_are_pinned() -> None:
    assert set(explain.__all__) == PUBLIC
    assert len(explain.__all__) == len(PUBLIC)  # no name listed twice
    # what the package actually exposes is what it declares: nothing public goes unlisted
    exposed = {n for n, v in vars(explain).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert exposed == PUBLIC  # and nothing it declares is missing

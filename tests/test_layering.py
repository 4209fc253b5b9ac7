"""The core stands alone: no module of ``explain`` loads Streamlit, and its public names are pinned."""

from __future__ import annotations

import ast
import importlib.util
import json
import pathlib
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


def import_graph() -> dict[str, set[str]]:
    """Each explain module -> the explain modules it imports, read from its source: imports inside functions
    count too (a deferred import is how a cycle hides), and ``from pkg import mod`` points at ``pkg.mod``."""
    modules = set(core_modules()) | {"explain"}
    graph: dict[str, set[str]] = {}
    for name in modules:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None
        tree = ast.parse(pathlib.Path(spec.origin).read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0 and node.module, f"{name}: a relative import, which this graph does not read"
                subs = {f"{node.module}.{alias.name}" for alias in node.names} & modules
                targets |= subs or {node.module}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that starts and ends on the same module, or None (depth-first search)."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph[node]):
            if cycle := visit(nxt, [*path, node]):
                return cycle
        done.add(node)
        return None

    return next((c for start in sorted(graph) if (c := visit(start, []))), None)


def test_find_cycle_sees_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_core_modules() -> None:
    graph = import_graph()
    assert "explain.errors" in graph["explain.methods.prediction"]  # the graph is read, not empty
    assert find_cycle(graph) is None


def test_export_is_file_formats_only() -> None:
    """export/ writes files; it never reaches up into views/ (a view knows its exports, not the reverse)."""
    graph = import_graph()
    exporting = {m for m in graph if m.startswith("explain.export.")}
    assert exporting
    upward = {(m, t) for m in exporting for t in graph[m] if t.startswith("explain.views")}
    assert upward == set()

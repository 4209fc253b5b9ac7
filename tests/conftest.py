from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a hub
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")  # tracebacks in AppTest failures
# The sanity check's randomised models run in bfloat16 where this CPU makes that pay (AMX) and in float32
# elsewhere: the suite pins float32 so it asserts the same numbers on every machine; tests/test_precision.py
# runs the bfloat16 path on purpose.
os.environ.setdefault("GLIMPSE_RANKS_PRECISION", "float32")

from explain import ModelBundle, ModelSource, SourceKind, load_bundle
from tests.fixtures import FAMILIES, XSS, build_tiny

_BUNDLES: dict[str, ModelBundle] = {}


@pytest.fixture(scope="session")
def model_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def tiny_dir(root: Path, family: str) -> Path:
    folder = root / family
    if not folder.exists():
        build_tiny(family, folder)
    return folder


def bundle_from(folder: Path) -> ModelBundle:
    key = str(folder)
    if key not in _BUNDLES:
        _BUNDLES[key] = load_bundle(ModelSource(SourceKind.FOLDER, key))
    return _BUNDLES[key]


@pytest.fixture(scope="session", params=FAMILIES)
def family_bundle(request: pytest.FixtureRequest, model_root: Path) -> ModelBundle:
    return bundle_from(tiny_dir(model_root, request.param))


@pytest.fixture(scope="session")
def bert_bundle(model_root: Path) -> ModelBundle:
    return bundle_from(tiny_dir(model_root, "bert"))


@pytest.fixture(scope="session")
def payload_model_dir(model_root: Path) -> Path:
    """A tiny classifier whose label names carry a script-injection payload."""
    folder = model_root / "xss-classifier"
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, id2label={0: XSS, 1: "positive"})
    return folder


@pytest.fixture(scope="session")
def embedded_bundle() -> ModelBundle:
    if "embedded" not in _BUNDLES:
        from explain import default_source, policy_from_env

        _BUNDLES["embedded"] = load_bundle(default_source(policy_from_env({}), {}))
    return _BUNDLES["embedded"]


@pytest.fixture(scope="session", params=("bert", "roberta", "distilbert", "electra"))
def classifier_bundle(request: pytest.FixtureRequest, model_root: Path) -> ModelBundle:
    """A tiny classifier with a steep head, so f(input) - f(baseline) is far from zero."""
    folder = model_root / f"{request.param}-steep"
    if not folder.exists():
        build_tiny(request.param, folder, classifier=True, head_scale=5.0)
    return bundle_from(folder)

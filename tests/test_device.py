"""The device setting: GLIMPSE_DEVICE / --device, and every computation following the model's device.

This machine has no GPU, so the second test checks the property a GPU run depends on: no method builds a
tensor on torch's *default* device. It makes the default device "meta" (tensors with shapes and no data)
while the model stays on the CPU; any tensor a method creates without ``device=`` then lands on meta and
the first operation mixing it with the model's weights raises. On a GPU the same mistake mixes CPU and CUDA.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import explain
from explain.compare.sentences import compare_sentences
from explain.corpus.compute import batched_attention
from explain.errors import SettingsError
from explain.methods import diagnosis
from explain.methods.prediction import predict_proba
from explain.models.device import resolve_device
from tests.conftest import bundle_from
from tests.fixtures import build_tiny

ROOT = Path(__file__).resolve().parents[1]


def test_the_setting_is_read_validated_and_auto_prefers_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLIMPSE_DEVICE", "cpu")
    assert resolve_device() == torch.device("cpu")
    monkeypatch.setenv("GLIMPSE_DEVICE", "tpu")
    with pytest.raises(SettingsError, match="auto, cpu, cuda, mps"):
        resolve_device()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type in {"cpu", "mps"}
    with pytest.raises(SettingsError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_cli_refuses_a_device_torch_cannot_see_with_the_fix() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    run = subprocess.run([sys.executable, "-m", "explain", "--device", "cuda", "info"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert "torch sees no CUDA GPU" in run.stderr and "Traceback" not in run.stderr


@pytest.fixture(scope="module")
def cpu_classifier(model_root: Path) -> explain.ModelBundle:
    folder = model_root / "bert-device"
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, head_scale=5.0)
    return bundle_from(folder)


def test_every_computation_builds_its_tensors_on_the_models_device(cpu_classifier: explain.ModelBundle) -> None:
    bundle = cpu_classifier
    assert bundle.info.device == "cpu" and bundle.device == torch.device("cpu")
    encoding = explain.prepare_input(bundle, "the movie was great and the actors were fine")
    reference = diagnosis.diagnose(bundle, encoding)
    with torch.device("meta"):  # the default device for every factory call without device=
        moved = diagnosis.diagnose(bundle, encoding)
        probs = predict_proba(bundle, ["a terrible film", "hello world"])
        other = explain.prepare_input(bundle, "a terrible film with bad jokes")
        compared = compare_sentences(bundle, encoding, other)
        batch = batched_attention([encoding, other], bundle)
    assert probs.shape == (2, 2) and compared is not None
    assert [b[1].shape[-1] for b in batch] == [encoding.n_tokens, other.n_tokens]
    # Same device, same arithmetic: only the default device differed, so the results are equal exactly.
    np.testing.assert_array_equal(moved.attribution.scores, reference.attribution.scores)
    np.testing.assert_array_equal(moved.importance.delta_probability, reference.importance.delta_probability)


@pytest.mark.parametrize("argv", [["--device", "cpu", "info"], ["info", "--device", "cpu"]])
def test_cli_device_goes_before_or_after_the_verb_and_info_reports_it(argv: list[str]) -> None:
    import json

    run = subprocess.run([sys.executable, "-m", "explain", *argv], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["device"] == "cpu"

"""Reduced precision where only ranks are read: the choice, and the sanity check run in bfloat16."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from explain import ModelBundle, prepare_input
from explain.errors import SettingsError
from explain.methods import sanity
from explain.methods.agreement import spearman
from explain.models import precision
from explain.models.precision import PRECISION_ENV, ranks_dtype
from tests.test_sanity import TEXT, _steep

IG = "integrated gradients"
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def steep_bert(model_root: Path) -> ModelBundle:
    return _steep(model_root, "bert")


def test_the_choice_follows_the_setting_and_auto_follows_the_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ranks_dtype(CPU, "float32") == torch.float32 and ranks_dtype(CPU, "BFloat16 ") == torch.bfloat16
    assert ranks_dtype(torch.device("mps"), "bfloat16") == torch.float32  # autocast is not asked of MPS
    with pytest.raises(SettingsError, match=PRECISION_ENV):
        ranks_dtype(CPU, "half")
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    assert ranks_dtype(CPU) == torch.bfloat16
    # auto: bfloat16 only where its probe product ran at least PAYS times faster (timings stand in for a CPU)
    for fp32_s, bf16_s, expected in ((1.0, 0.5, torch.bfloat16), (1.0, 0.6, torch.float32), (1.0, 3.0, torch.float32)):
        precision.bfloat16_pays.cache_clear()
        seconds = {torch.float32: fp32_s, torch.bfloat16: bf16_s}
        monkeypatch.setattr(precision, "probe_seconds", lambda a, b, dtype, s=seconds: s[dtype])
        assert ranks_dtype(CPU, "auto") == expected
    precision.bfloat16_pays.cache_clear()


def test_the_probe_times_a_real_product() -> None:
    a, b = torch.randn(8, 16), torch.randn(16, 16)
    assert 0.0 < precision.probe_seconds(a, b, torch.bfloat16) < 1.0


def test_the_sanity_check_in_bfloat16_keeps_row_zero_and_the_ranks(
    steep_bert: ModelBundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    enc = prepare_input(steep_bert, TEXT)
    monkeypatch.setenv(PRECISION_ENV, "float32")
    full = sanity.sanity_check(steep_bert, enc, 1)
    monkeypatch.setenv(PRECISION_ENV, "bfloat16")
    half = sanity.sanity_check(steep_bert, enc, 1)
    assert (full.precision, half.precision) == ("float32", "bfloat16")
    np.testing.assert_array_equal(half.scores[0], full.scores[0])  # the original model stays float32
    assert not np.array_equal(half.scores[1:], full.scores[1:])  # bfloat16 did run on the randomised copies
    # What the check reads is ranks: bfloat16's 8 significant bits (0.4 %) swap only near-equal tokens, and over
    # 38 words one adjacent swap moves ρ by 6·2/(38·(38²−1)) < 0.001, so 0.9 leaves room for ~100 such swaps.
    keep = ~enc.special
    ig = full.methods.index(IG)
    for step in range(1, len(full.steps) + 1):
        assert spearman(half.scores[step, ig][keep], full.scores[step, ig][keep]) > 0.9


def test_a_bfloat16_copy_holds_its_linear_weights_rounded_once_and_computes_the_same(steep_bert: ModelBundle) -> None:
    model = steep_bert.model
    copy = sanity._throwaway_copy(model, torch.bfloat16)
    linears = [m for m in copy.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.weight.dtype == torch.bfloat16 for m in linears)
    norms = [m for m in copy.modules() if isinstance(m, torch.nn.LayerNorm)]
    assert norms and all(m.weight.dtype == torch.float32 for m in norms)  # autocast keeps these in float32
    # no step randomises the word embeddings, so the copy shares them rather than holding a second table
    assert copy.get_input_embeddings().weight is model.get_input_embeddings().weight
    assert next(model.parameters()).dtype == torch.float32  # the shared model is not cast
    ids = torch.tensor(prepare_input(steep_bert, TEXT).input_ids)[None]
    with torch.no_grad(), precision.ranks_precision(CPU, torch.bfloat16):
        # autocast rounds each float32 weight to bfloat16 on every pass; the copy rounded it once, the same way
        assert torch.equal(copy(input_ids=ids).logits, model(input_ids=ids).logits)
    assert sanity._throwaway_copy(model, torch.float32).get_input_embeddings().weight.dtype == torch.float32

"""Benchmark: a tagger explaining every entity of a sentence, ours against one Captum run per entity.

The path is the one a user of each tool takes in Python, with the model loaded and warm:

- **ours**: ``task.predict`` (the tags and entities), then every entity's certified IG in ONE batched run
  (:func:`explain.tasks.tagging.entity_matrix`, defaults: certified to 1% on δ and per token);
- **naive**: a forward pass for the tags, then one Captum ``LayerIntegratedGradients`` run per entity
  (Gauss–Legendre, 50 steps, its defaults) on the entity's first-token tag logit, on an eager model whose
  parameters keep ``requires_grad=True``, as transformers-interpret does per token.

Both explain the same targets (the entity's first token's predicted tag logit, the position fixed) from
the same [PAD] baseline, and the agreement between them is printed (max |ours − naive| per token relative
to max |naive|). Inputs: WNUT-17 dev sentences (../shared/data/wnut17/dev.conll, CC-BY 4.0) in file order
on which the tagger finds at least one entity; nothing here is tuned, so there is no tuning set.

Run: .venv/bin/python bench/tagging.py [--sentences 60] [--model embedded-ner]
Quiet machine wanted: other processes on the 2 cores distort every figure.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "data" / "wnut17" / "dev.conll"


def sentences(limit: int) -> list[str]:
    from explain.tasks.spans import read_conll

    return [" ".join(s.tokens) for s in read_conll(DEV)][: limit * 4]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=60)
    parser.add_argument("--model", default="embedded-ner")
    args = parser.parse_args()
    torch.set_num_threads(2)
    from captum.attr import LayerIntegratedGradients

    from explain import load_bundle, policy_from_env, resolve_source
    from explain.errors import SettingsError
    from explain.methods.attribution import Baseline, IGSettings, baseline_ids
    from explain.tasks import TaskRequest, task_of
    from explain.tasks.base import TargetSpec
    from explain.tasks.tagging import entity_matrix

    bundle = load_bundle(resolve_source(args.model, policy_from_env({})), "cpu")
    task = task_of(bundle)
    naive_model = copy.deepcopy(bundle.model).requires_grad_(True)  # as from_pretrained leaves it

    def ours(text: str) -> tuple[float, np.ndarray, list[Any]]:
        start = time.perf_counter()
        prediction = task.predict(bundle, TaskRequest(text))
        choices = task.select(bundle, prediction, TargetSpec(every=True))
        _results, matrix = entity_matrix(bundle, choices, IGSettings())
        return time.perf_counter() - start, matrix, list(choices)

    def naive(text: str, choices: list[Any]) -> tuple[float, np.ndarray]:
        enc = choices[0].encoding
        ids = torch.tensor(enc.input_ids)[None]
        base = torch.tensor(baseline_ids(bundle, enc, Baseline.PAD))[None]
        start = time.perf_counter()
        with torch.no_grad():
            naive_model(input_ids=ids).logits.argmax(-1)  # the tags, as a pipeline computes them first
        rows = []
        for c in choices:
            position, tag = c.target.position, c.target.index
            lig = LayerIntegratedGradients(lambda x, p=position: naive_model(input_ids=x).logits[:, p],
                                           naive_model.get_input_embeddings())  # fmt: skip
            attr = lig.attribute(ids, baselines=base, target=tag)
            rows.append(attr[0].sum(-1).detach().double().numpy())
        return time.perf_counter() - start, np.stack(rows)

    warm = "Alice flew to Paris with Bob from Google ."
    ours(warm)
    rows = []
    for text in sentences(args.sentences):
        try:
            t_ours, matrix, choices = ours(text)
        except SettingsError:  # no entity found: not a sentence this benchmark is about
            continue
        t_naive, reference = naive(text, choices)
        error = float(np.abs(matrix - reference).max() / max(np.abs(reference).max(), 1e-12))
        rows.append((t_ours, t_naive, len(choices), choices[0].encoding.n_tokens, error))
        if len(rows) == args.sentences:
            break
    report(rows)


def report(rows: list[tuple[float, float, int, int, float]]) -> None:
    def q(values: list[float], at: float) -> float:
        return float(np.quantile(values, at))

    ours, naive = [r[0] for r in rows], [r[1] for r in rows]
    speedups = [n / o for o, n, *_ in rows]
    print(f"{len(rows)} WNUT-17 dev sentences with ≥ 1 entity; entities per sentence: median "
          f"{statistics.median(r[2] for r in rows)}, max {max(r[2] for r in rows)}; tokens: median "
          f"{statistics.median(r[3] for r in rows)}, max {max(r[3] for r in rows)}")  # fmt: skip
    print("| route | median (s) | p90 (s) |\n|---|---|---|")
    print(f"| ours: every entity, one batched certified run | {statistics.median(ours):.3f} | {q(ours, 0.9):.3f} |")
    print(f"| naive: one Captum LIG (50 steps) per entity | {statistics.median(naive):.3f} | {q(naive, 0.9):.3f} |")
    print(f"speed-up per sentence: median {statistics.median(speedups):.2f}×, p10 {q(speedups, 0.1):.2f}×")
    for name, low, high in (("1 entity", 1, 1), ("2 entities", 2, 2), ("3+ entities", 3, 10**6)):
        group = [n / o for o, n, k, *_ in rows if low <= k <= high]
        if group:
            print(f"  {name}: {len(group)} sentences, median speed-up {statistics.median(group):.2f}×")
    errors = [r[4] for r in rows]
    print(f"ours vs naive, max |difference| / max |naive| per sentence: median {statistics.median(errors):.2e}, "
          f"max {max(errors):.2e}")  # fmt: skip


if __name__ == "__main__":
    main()

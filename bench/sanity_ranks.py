"""Do the sanity check's cheap IG ranks hold? Spearman ρ against a converged rule on randomised models.

Usage: .venv/bin/python bench/sanity_ranks.py [--sentences 40] [--split dev]

The sanity check reads only ranks on its randomised models, so it runs a fixed 9-point rule there. This
takes SST-2 sentences of 24–40 tokens (dev by default, file order), walks the embedded classifier's cascade
(head, then each layer top-down, with the check's own seeded re-initialisation), and on every randomised
model compares the ranks over the non-special tokens of

- 9 warped points (the rule before: IG's 5-point prepass places them), float32;
- 9 evenly spread points, no prepass, float32;
- 9 evenly spread points, no prepass, bfloat16 autocast (what the check runs where bfloat16 pays),

each against 65 warped points in float32 (the reference).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import explain  # noqa: E402
from bench.attribution import SHARED, _sentences  # noqa: E402
from explain.methods import sanity  # noqa: E402
from explain.methods.agreement import spearman  # noqa: E402
from explain.methods.attribution import IGSettings, attribute  # noqa: E402
from explain.models.precision import ranks_precision  # noqa: E402

RULES = (("9 warped points, float32", True, torch.float32), ("9 even points, float32", False, torch.float32),
         ("9 even points, bfloat16", False, torch.bfloat16))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--split", default="dev", choices=("dev", "train"))
    args = parser.parse_args()
    bundle = explain.load_bundle(explain.default_source(explain.policy_from_env({}), {}))
    texts = [s for s in _sentences(SHARED / f"{args.split}.tsv")
             if 24 <= len(bundle.tokenizer(s)["input_ids"]) <= 40][: args.sentences]  # fmt: skip
    rho: dict[str, list[float]] = {name: [] for name, _w, _d in RULES}
    cpu = torch.device("cpu")
    for text in texts:
        enc = explain.prepare_input(bundle, text)
        target = attribute(bundle, enc).target
        keep = ~np.asarray(enc.special, dtype=bool)
        # the check's own copies: float32 (the reference, and the float32 rules) and bfloat16 (its linear
        # weights rounded once, eager attention on the CPU), randomised in step from the same seed
        copies = {dtype: sanity.randomisable(bundle, dtype) for dtype in (torch.float32, torch.bfloat16)}
        generators = {dtype: torch.Generator(device="cpu").manual_seed(0) for dtype in copies}
        std = float(getattr(bundle.model.config, "initializer_range", 0.02))
        for _label, names in sanity.cascade(bundle.model):
            for dtype, (model, _randomised) in copies.items():
                for name in names:
                    sanity.reinitialise(model.get_submodule(name), std, generators[dtype])
            reference = copies[torch.float32][1]
            ref = attribute(reference, enc, IGSettings(target=target, n_steps=65, max_steps=65)).scores
            for name, warp, dtype in RULES:
                with ranks_precision(cpu, dtype):
                    settings = IGSettings(target=target, n_steps=9, max_steps=9)
                    scores = attribute(copies[dtype][1], enc, settings, warp=warp).scores
                rho[name].append(spearman(scores[keep], ref[keep]))
    print(f"{len(texts)} SST-2 {args.split} sentences of 24–40 tokens, {len(rho[RULES[0][0]])} randomised models; "
          "Spearman ρ against 65 warped points, float32\n")  # fmt: skip
    print("| rule | median ρ | p10 ρ | min ρ |\n|---|---|---|---|")
    for name, values in rho.items():
        v = np.array(values)
        print(f"| {name} | {np.median(v):.3f} | {np.percentile(v, 10):.3f} | {v.min():.3f} |")


if __name__ == "__main__":
    main()

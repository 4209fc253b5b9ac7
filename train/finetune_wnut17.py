#!/usr/bin/env python
"""Fine-tune the embedded all-MiniLM-L6-v2 into a WNUT-17 named-entity tagger (LoRA), offline.

The artifact (explain/models/assets/wnut17-minilm, format "glimpse-adapter-v1", see explain/models/adapter.py)
holds rank-r LoRA factors for every Linear of the 6 encoder layers plus full copies of the encoder LayerNorms and
the token classifier; the app rebuilds the tagger from the pip-packaged base weights plus these ~1 MB.

Words are labelled by their FIRST sub-token (the others get -100, ignored by the loss), with the words joined by
single spaces and mapped back through the fast tokenizer's character offsets: the app maps whitespace-separated
words the same way. The checkpoint with the best dev entity F1 (seqeval's definition, explain.tasks.spans) is
written, re-loaded onto a fresh base model with apply_adapter, and evaluated again; that number is the card's.

Seeded, CPU, --threads torch threads (default 1), stops at --max-minutes of training.
Run from the repository root:  .venv/bin/python train/finetune_wnut17.py
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import math
import os
import random
import shlex
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TYPES = ("corporation", "creative-work", "group", "location", "person", "product")
TAGS = ("O", *(f"{prefix}-{t}" for t in TYPES for prefix in "BI"))
LABEL_CONFIG: dict[str, Any] = {
    "num_labels": len(TAGS),
    "id2label": {str(i): tag for i, tag in enumerate(TAGS)},
    "label2id": {tag: i for i, tag in enumerate(TAGS)},
    "problem_type": "single_label_classification",  # one softmax per word; token classifiers ignore it
    "architectures": ["BertForTokenClassification"],
}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=REPO / ".." / "shared" / "data" / "wnut17")
    p.add_argument("--out", type=Path, default=REPO / "explain" / "models" / "assets" / "wnut17-minilm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: on a busy 2-core machine 2 threads ran 3x slower)"
    )
    p.add_argument("--max-minutes", type=float, default=20.0, help="stop training after this much wall time")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3, help="peak lr for LoRA factors, LayerNorms and classifier")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--max-length", type=int, default=256, help="max tokens incl. [CLS]/[SEP]")
    p.add_argument("--evals-per-epoch", type=int, default=1)
    return p.parse_args()


ARGS = parse_args()
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):  # before torch starts its pools
    os.environ[_var] = str(ARGS.threads)
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the base model is a local folder; never reach the hub

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from transformers import AutoConfig, AutoTokenizer, BertForTokenClassification  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

sys.path.insert(0, str(REPO))
from explain.models.adapter import adapter_config, apply_adapter  # noqa: E402
from explain.tasks.spans import ConllSentence, EntityScores, entity_scores, read_conll  # noqa: E402
from train.common import (  # noqa: E402
    adapter_config_from_dict,
    add_lora,
    base_path,
    collate,
    log,
    optimizer_and_schedule,
    trainable_state,
    write_adapter,
)
from train.wnut17_card import write_model_card  # noqa: E402

torch.set_num_threads(ARGS.threads)
with contextlib.suppress(RuntimeError):
    torch.set_num_interop_threads(ARGS.threads)
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


class Tagged:
    """Token ids of sentences, the label of each word at its first sub-token (-100 elsewhere), and where each
    word's first sub-token is (-1 when the word got none: truncated, or only characters the tokenizer drops)."""

    def __init__(self, tokenizer: Any, sentences: list[ConllSentence], max_length: int) -> None:
        texts = [" ".join(s.tokens) for s in sentences]
        enc = tokenizer(texts, truncation=True, max_length=max_length, return_offsets_mapping=True)
        self.ids, self.labels, self.first = [], [], []
        for s, ids, offsets in zip(sentences, enc["input_ids"], enc["offset_mapping"], strict=True):
            starts = np.cumsum([0] + [len(w) + 1 for w in s.tokens[:-1]]).tolist()  # each word's first character
            first = np.full(len(s.tokens), -1, dtype=np.int64)
            for j, (a, b) in enumerate(offsets):
                word = bisect.bisect_right(starts, a) - 1
                if b > a and first[word] < 0:  # special tokens have empty offsets
                    first[word] = j
            labels = np.full(len(ids), -100, dtype=np.int64)
            kept = first >= 0
            labels[first[kept]] = [TAGS.index(t) for t in np.array(s.tags)[kept]]
            self.ids.append(np.asarray(ids, dtype=np.int64))
            self.labels.append(labels)
            self.first.append(first)
        self.lengths = np.array([len(x) for x in self.ids])
        self.gold = [list(s.tags) for s in sentences]
        self.lost = int(sum((f < 0).sum() for f in self.first))


def build_tagger(attn: str = "eager") -> BertForTokenClassification:
    config = AutoConfig.from_pretrained(base_path())
    config.update(adapter_config_from_dict(LABEL_CONFIG))
    return BertForTokenClassification.from_pretrained(base_path(), config=config, attn_implementation=attn)


def is_trainable(name: str) -> bool:
    lora = name.endswith((".lora_A", ".lora_B"))
    return lora or (name.startswith("bert.encoder.") and ".LayerNorm." in name) or name.startswith("classifier.")


@torch.no_grad()
def predict_tags(model: nn.Module, data: Tagged, pad_id: int, batch_size: int = 64) -> list[list[str]]:
    """Each word's tag: the argmax at its first sub-token; "O" for a word with no sub-token."""
    model.eval()
    out: list[list[str]] = [[] for _ in data.ids]
    order = np.argsort(data.lengths, kind="stable")
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        ids, mask = collate([data.ids[i] for i in idx], pad_id)
        best = model(input_ids=ids, attention_mask=mask).logits.argmax(-1).numpy()  # (batch, seq)
        for row, i in enumerate(idx):
            out[i] = [TAGS[best[row, j]] if j >= 0 else "O" for j in data.first[i]]
    return out


def batches_of_epoch(epoch: int, args: argparse.Namespace, lengths: np.ndarray) -> list[np.ndarray]:
    """Shuffled batches of similar lengths (sorted within chunks of 50 batches), a function of (seed, epoch)."""
    rng = np.random.default_rng([args.seed, epoch, 7919])
    perm, chunk, out = rng.permutation(len(lengths)), args.batch_size * 50, []
    for start in range(0, len(perm), chunk):
        c = perm[start : start + chunk]
        c = c[np.argsort(lengths[c], kind="stable")]
        out.extend(c[j : j + args.batch_size] for j in range(0, len(c), args.batch_size))
    return [out[k] for k in rng.permutation(len(out))]


def trainable_tagger(args: argparse.Namespace) -> BertForTokenClassification:
    """The seeded tagger with LoRA factors; only they, the encoder LayerNorms and the classifier train."""
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    model = build_tagger()
    for p in model.parameters():
        p.requires_grad_(False)
    add_lora(model, args.rank, args.alpha)
    for name, p in model.named_parameters():
        p.requires_grad_(is_trainable(name))
    return model


def evaluate(model: nn.Module, dev: Tagged, pad_id: int, step: int, epoch: float, state: dict[str, Any]) -> None:
    """Dev entity scores into the history; the trainable weights kept when F1 improves."""
    scores = entity_scores(dev.gold, predict_tags(model, dev, pad_id))
    model.train()
    state["history"].append({"step": step, "epoch": epoch, "p": scores.precision, "r": scores.recall, "f1": scores.f1})
    improved = scores.f1 > state["best"]["f1"]
    if improved:
        state["best"] = {"f1": scores.f1, "step": step, "trainable": trainable_state(model)}
    log(
        f"EVAL step {step}: dev entity P {scores.precision:.4f} R {scores.recall:.4f} F1 {scores.f1:.4f}"
        f"{'  *best*' if improved else ''}"
    )


def train(args: argparse.Namespace, train_data: Tagged, dev: Tagged, pad_id: int) -> dict[str, Any]:
    model = trainable_tagger(args)
    trainable = [p for p in model.parameters() if p.requires_grad]
    per_epoch = math.ceil(len(train_data.ids) / args.batch_size)
    total = args.epochs * per_epoch
    optimizer, scheduler = optimizer_and_schedule(
        model, args.lr, args.weight_decay, total, max(1, round(args.warmup_ratio * total))
    )
    state: dict[str, Any] = {"best": {"f1": -1.0}, "history": [], "total": total, "stopped": False}
    state["n_trainable"] = sum(p.numel() for p in trainable)
    log(f"trainable parameters: {state['n_trainable']:,}; {total} steps ({args.epochs} epochs of {per_epoch})")
    eval_at = {round(per_epoch * k / args.evals_per_epoch) for k in range(1, args.evals_per_epoch + 1)}
    start, step = time.time(), 0
    for epoch in range(args.epochs):
        model.train()
        for pos, idx in enumerate(batches_of_epoch(epoch, args, train_data.lengths)):
            if time.time() - start > args.max_minutes * 60:
                state["stopped"] = True
                log(f"time budget of {args.max_minutes} min reached at step {step}; stopping")
                break
            ids, mask = collate([train_data.ids[i] for i in idx], pad_id)
            labels, _ = collate([train_data.labels[i] for i in idx], -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, args.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            if step % 50 == 0:
                log(f"step {step}/{total} loss {loss.item():.4f} lr {scheduler.get_last_lr()[0]:.2e}")
            if pos + 1 in eval_at:
                evaluate(model, dev, pad_id, step, step / per_epoch, state)
        if state["stopped"]:
            break
    if not state["history"] or state["history"][-1]["step"] != step:
        evaluate(model, dev, pad_id, step, step / per_epoch, state)
    return {**state, "seconds": time.time() - start, "steps": step}


def load_merged(adapter_dir: Path, torch_seed: int) -> BertForTokenClassification:
    """What the app does: fresh base + the artifact's config overrides, eager fp32, then apply_adapter."""
    torch.manual_seed(torch_seed)
    config = AutoConfig.from_pretrained(base_path())
    config.update(adapter_config(adapter_dir))
    model = BertForTokenClassification.from_pretrained(base_path(), config=config, attn_implementation="eager")
    apply_adapter(model, adapter_dir)
    return model.eval()


def main() -> None:
    args = ARGS
    command = ".venv/bin/python train/finetune_wnut17.py" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
    log(f"command: {command}")
    log(f"torch {torch.__version__}, threads {torch.get_num_threads()}, seed {args.seed}")
    tokenizer = AutoTokenizer.from_pretrained(base_path())
    pad_id = int(tokenizer.pad_token_id)
    train_data = Tagged(tokenizer, read_conll(args.data_dir / "train.conll"), args.max_length)
    dev = Tagged(tokenizer, read_conll(args.data_dir / "dev.conll"), args.max_length)
    log(
        f"data: {len(train_data.ids)} train, {len(dev.ids)} dev sentences; words without a sub-token: "
        f"{train_data.lost} train, {dev.lost} dev; longest {train_data.lengths.max()} / {dev.lengths.max()} tokens"
    )
    res = train(args, train_data, dev, pad_id)
    best = res["best"]
    meta = {
        "lora_scale": repr(args.alpha / args.rank),
        "lora_rank": str(args.rank),
        "lora_alpha": repr(args.alpha),
        "task": "wnut17",
        "train_step": str(best["step"]),
    }
    write_adapter(best["trainable"], meta, LABEL_CONFIG, args.out)
    merged = load_merged(args.out, torch_seed=1234)
    tags = predict_tags(merged, dev, pad_id)
    scores: EntityScores = entity_scores(dev.gold, tags)
    same = tags == predict_tags(load_merged(args.out, torch_seed=987654), dev, pad_id)
    log(
        f"MERGED dev entity P {scores.precision:.4f} R {scores.recall:.4f} F1 {scores.f1:.4f} "
        f"({scores.correct} of {scores.predicted} predicted, {scores.support} gold; training-time best "
        f"{best['f1']:.4f} at step {best['step']}); same tags across init seeds: {same}"
    )
    if not same:
        raise SystemExit("the merged tagger depends on the random init: a parameter is missing from the artifact")
    for label, row in scores.per_type.items():
        log(f"  {label:14s} P {row['precision']:.4f} R {row['recall']:.4f} F1 {row['f1']:.4f} n {row['support']:.0f}")
    write_model_card(args, res, scores, command, TAGS)
    size = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    log(f"done: {args.out} ({size / 1e6:.2f} MB), training {res['seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()

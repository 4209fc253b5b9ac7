"""Fetching a hub id: its config.json first, checked, and only then its weights and tokenizer.

A stranger's link can name any repository, so nothing large is downloaded before Glimpse knows it can
use it: the family is one it explains and the parameter count, estimated from config.json (layers,
hidden size, vocabulary, feed-forward width), is under ``GLIMPSE_MAX_PARAMS`` (default 600 million:
xlm-roberta-large, the largest family member Glimpse is meant for, has 560 million).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import huggingface_hub

from explain.errors import ModelLoadError

#: model_type values Glimpse knows how to read attentions and embeddings from.
SUPPORTED_FAMILIES = ("bert", "distilbert", "roberta", "electra", "albert", "deberta-v2", "xlm-roberta")
#: Default of ``GLIMPSE_MAX_PARAMS``: the largest model a hub id may name.
DEFAULT_MAX_PARAMS = 600_000_000
_HUB_HOST = ("huggingface.co", 443)
#: What is fetched for a hub id: config, safetensors weights, fast or slow tokenizer files (no pickles, no code).
HUB_FILES = (
    "config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "model-*.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spm.model",
    "sentencepiece.bpe.model",
)


def hub_reachable(timeout_s: float = 2.0) -> bool:
    """Whether the model hub answers at all; lets an offline hub id fail in seconds, not ~30 s of retries.

    Behind a proxy the direct probe says nothing, so it is skipped and the hub client decides."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    endpoint = urlsplit(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host = endpoint.hostname or _HUB_HOST[0]
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def hub_snapshot(repo_id: str) -> str:
    """The absolute folder of ``repo_id``'s files in the Hugging Face cache, downloaded first when allowed.

    config.json comes first (a few kB) and is checked (:func:`check_hub_config`) before anything else is
    fetched, or read from the cache. The loader hands transformers this folder, never the bare id: given
    ``org/name``, transformers would load a same-named folder from the working directory, around the folder
    policy. Raises :class:`ModelLoadError` with the fix (offline and not cached, hub unreachable, no such
    model, another family, too large)."""
    check_hub_config(repo_id, _read_json(_fetch(repo_id, _config_path)))
    return _fetch(repo_id, _snapshot)


def check_hub_config(repo_id: str, config: dict[str, Any]) -> None:
    """Refuse, with the fix, a model Glimpse cannot explain or that is over the size cap."""
    family = config.get("model_type")
    if family not in SUPPORTED_FAMILIES:
        raise ModelLoadError(
            f"'{repo_id}' is a '{family}' model. Glimpse explains BERT-family encoders: "
            f"{', '.join(SUPPORTED_FAMILIES)}. Nothing beyond its config.json was downloaded."
        )
    cap = max_parameters()
    estimate = estimate_parameters(config)
    if estimate > cap:
        raise ModelLoadError(
            f"'{repo_id}' has about {estimate / 1e6:,.0f} million parameters (estimated from its config.json); this "
            f"server loads hub models of at most {cap / 1e6:,.0f} million (GLIMPSE_MAX_PARAMS, default "
            f"{DEFAULT_MAX_PARAMS / 1e6:,.0f} million). Pick a smaller model, or raise GLIMPSE_MAX_PARAMS where "
            "the server starts. Nothing beyond its config.json was downloaded."
        )


def max_parameters() -> int:
    raw = os.environ.get("GLIMPSE_MAX_PARAMS", "").strip().replace("_", "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_MAX_PARAMS


def estimate_parameters(config: dict[str, Any]) -> int:
    """Weights of a BERT-family encoder from its config: embeddings plus, per distinct layer, attention
    (4 H² + 4 H), feed-forward (2 H I + I + H) and two layer norms (4 H), and a pooler (H² + H). A
    classification head adds a few thousand; DeBERTa's relative position table under 1%."""
    hidden = int(config.get("hidden_size") or config.get("dim") or 768)
    inner = int(config.get("intermediate_size") or config.get("hidden_dim") or 4 * hidden)
    layers = int(config.get("num_hidden_layers") or config.get("n_layers") or 12)
    if config.get("model_type") == "albert":  # ALBERT shares one set of layer weights per group
        layers = int(config.get("num_hidden_groups") or 1)
    embed = int(config.get("embedding_size") or hidden)
    rows = int(config.get("vocab_size") or 0) + int(config.get("max_position_embeddings") or 0)
    rows += int(config.get("type_vocab_size") or 0)
    embeddings = rows * embed + 2 * embed + (embed * hidden + hidden if embed != hidden else 0)
    per_layer = 4 * hidden * hidden + 4 * hidden + 2 * hidden * inner + inner + hidden + 4 * hidden
    if config.get("relative_attention") and not config.get("share_att_key", True):  # DeBERTa's own position keys
        per_layer += 2 * (hidden * hidden + hidden)
    pooler = hidden * hidden + hidden  # most families have one; counting it always errs on the large side
    return embeddings + layers * per_layer + pooler


def _fetch(repo_id: str, get: Callable[..., str]) -> str:
    """``get(repo_id, local_files_only=...)`` from the cache, else from the hub when it may and can be asked."""
    try:
        return str(get(repo_id, local_files_only=True))
    except (OSError, ValueError):
        pass  # not cached (or not a valid id): the hub decides below
    if _hub_offline():
        raise ModelLoadError(
            f"'{repo_id}' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set. "
            "Download it on a machine with network and give its folder instead (an absolute path, or one "
            "starting with './': a bare name is always a hub id)."
        )
    if not hub_reachable():
        raise ModelLoadError(
            f"The model hub cannot be reached, so '{repo_id}' cannot be downloaded. Give a local "
            "folder (model.save_pretrained(folder)), or set HF_HUB_OFFLINE=1 to use the local cache."
        )
    try:
        return str(get(repo_id, local_files_only=False))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"The hub has no usable model '{repo_id}' ({type(exc).__name__}: {str(exc)[:200]}). Check the id "
            "(and access, for a gated model); a local folder is given as an absolute path or one starting with './'."
        ) from exc


def _config_path(repo_id: str, *, local_files_only: bool) -> str:
    return str(huggingface_hub.hf_hub_download(repo_id, "config.json", local_files_only=local_files_only))


def _snapshot(repo_id: str, *, local_files_only: bool) -> str:
    folder = huggingface_hub.snapshot_download(
        repo_id, allow_patterns=list(HUB_FILES), local_files_only=local_files_only
    )
    return str(Path(str(folder)).absolute())


def _read_json(path: str) -> dict[str, Any]:
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"The hub model's config.json cannot be read ({exc}). Check the id.") from exc
    if not isinstance(config, dict):
        raise ModelLoadError("The hub model's config.json is not a JSON object. Check the id.")
    return config


def _hub_offline() -> bool:
    # Read at call time (huggingface_hub reads it once, at import): the CLI sets it after importing.
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}

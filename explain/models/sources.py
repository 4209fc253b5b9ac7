"""Where a model may come from: the embedded default, a local folder, or a hub id.

A deployment for several users must be able to turn free-form paths off, and a path is checked
before transformers sees it (transformers happily opens ``../../etc/passwd`` as a "config").
The policy is read from environment variables so a server is configured without code changes:

- ``GLIMPSE_MODEL_SOURCES``: comma list of allowed kinds, any of ``embedded,folder,hub``
  (default: all three).
- ``GLIMPSE_MODEL_ROOTS``: ``os.pathsep``-separated folders; when set, local folders must lie
  under one of them.
- ``GLIMPSE_DEFAULT_MODEL``: what the app starts on (default: the embedded model).
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from explain.errors import ModelSourceError


class SourceKind(StrEnum):
    EMBEDDED = "embedded"
    FOLDER = "folder"
    HUB = "hub"


EMBEDDED_NAME = "embedded:all-MiniLM-L6-v2"
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")
_HUB_HOST = ("huggingface.co", 443)


@dataclass(frozen=True)
class SourcePolicy:
    """Which model sources users may load. Build it with :func:`policy_from_env`."""

    allowed: frozenset[SourceKind]
    roots: tuple[Path, ...] = ()


@dataclass(frozen=True)
class ModelSource:
    """A validated model reference: safe to hand to the loader."""

    kind: SourceKind
    ref: str  # EMBEDDED_NAME, an absolute folder path, or a hub id

    @property
    def label(self) -> str:
        return self.ref if self.kind is not SourceKind.FOLDER else f"folder:{self.ref}"


def policy_from_env(env: dict[str, str] | None = None) -> SourcePolicy:
    env = dict(os.environ) if env is None else env
    raw = env.get("GLIMPSE_MODEL_SOURCES", "embedded,folder,hub")
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    valid = {k.value for k in SourceKind}
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ModelSourceError(f"GLIMPSE_MODEL_SOURCES has unknown kinds {unknown}. Available: {sorted(valid)}.")
    roots = tuple(Path(r).resolve() for r in env.get("GLIMPSE_MODEL_ROOTS", "").split(os.pathsep) if r)
    return SourcePolicy(allowed=frozenset(SourceKind(n) for n in names), roots=roots)


def default_source(policy: SourcePolicy, env: dict[str, str] | None = None) -> ModelSource:
    """The model the app starts on: ``GLIMPSE_DEFAULT_MODEL`` if set, else the embedded one."""
    env = dict(os.environ) if env is None else env
    ref = env.get("GLIMPSE_DEFAULT_MODEL", "").strip()
    if not ref:
        return ModelSource(SourceKind.EMBEDDED, EMBEDDED_NAME)
    # The operator chose this default, so it bypasses the users' policy but not the checks.
    operator = SourcePolicy(allowed=frozenset(SourceKind))
    return resolve_source(ref, operator)


def resolve_source(ref: str, policy: SourcePolicy) -> ModelSource:
    """Turn what a user typed into a :class:`ModelSource`, or refuse with a fix."""
    ref = ref.strip()
    if not ref or ref == EMBEDDED_NAME or ref.lower() in {"default", "embedded"}:
        return _allowed(ModelSource(SourceKind.EMBEDDED, EMBEDDED_NAME), policy)
    if _looks_like_path(ref):
        return _allowed(_folder_source(ref, policy), policy)
    if not _HUB_ID.match(ref) or ".." in ref:
        raise ModelSourceError(
            f"'{ref[:80]}' is neither a hub id (like 'bert-base-uncased' or 'org/name') nor a local "
            "folder (give an absolute path or one starting with './')."
        )
    return _allowed(ModelSource(SourceKind.HUB, ref), policy)


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


def _looks_like_path(ref: str) -> bool:
    # transformers loads any existing local folder, hub-id-shaped or not: such names obey the folder policy
    return ref.startswith(("/", "./", "../", "~")) or Path(ref).expanduser().exists()


def _folder_source(ref: str, policy: SourcePolicy) -> ModelSource:
    if SourceKind.FOLDER not in policy.allowed:
        raise ModelSourceError(
            "Loading models from local folders is turned off on this server "
            "(GLIMPSE_MODEL_SOURCES). Pick the default model or ask the operator to allow 'folder'."
        )
    if ".." in Path(ref).parts:
        raise ModelSourceError(f"The path '{ref[:80]}' contains '..'. Give the model folder as an absolute path.")
    path = Path(ref).expanduser().resolve()
    if policy.roots and not any(path.is_relative_to(root) for root in policy.roots):
        roots = ", ".join(str(r) for r in policy.roots)
        raise ModelSourceError(f"Model folders must lie under {roots} on this server.")
    if not path.is_dir():
        raise ModelSourceError(f"There is no folder at '{path}'. Check the path (it must be a folder).")
    if not (path / "config.json").is_file():
        raise ModelSourceError(
            f"'{path}' has no config.json, so it is not a Hugging Face model folder. "
            "Save one with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)."
        )
    return ModelSource(SourceKind.FOLDER, str(path))


def _allowed(source: ModelSource, policy: SourcePolicy) -> ModelSource:
    if source.kind not in policy.allowed:
        allowed = ", ".join(sorted(k.value for k in policy.allowed)) or "none"
        raise ModelSourceError(f"Loading from '{source.kind.value}' is turned off on this server (allowed: {allowed}).")
    return source

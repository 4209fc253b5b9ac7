"""Where a model may come from: the embedded default, a local folder, or a hub id.

A deployment for several users must be able to turn free-form paths off, and a path is checked
before transformers sees it (transformers happily opens ``../../etc/passwd`` as a "config").
The policy is read from environment variables so a server is configured without code changes:

- ``GLIMPSE_MODEL_SOURCES``: comma list of allowed kinds, any of ``embedded,folder,hub``
  (default: all three).
- ``GLIMPSE_MODEL_ROOTS``: ``os.pathsep``-separated folders; when set, local folders must lie
  under one of them.
- ``GLIMPSE_DEFAULT_MODEL``: what the app starts on (default: the embedded model).

What a stranger may learn about the server's disk:

- Folders off: nothing. A reference is a path or a hub id by its spelling alone, and no file is
  looked at (a hub id is later read from the Hugging Face cache, never from the working directory).
- Roots set (a shared server): a path outside the roots gets one message whether it exists or not,
  decided on the path's text before any file is looked at, and again after symlinks are resolved.
  Inside the roots, messages are detailed ("no folder", "no config.json"): the roots are what users
  are meant to browse.
- No roots: a trusted single user (the local app, the CLI). Messages say what is missing where.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from explain.errors import ModelSourceError


class SourceKind(StrEnum):
    EMBEDDED = "embedded"
    FOLDER = "folder"
    HUB = "hub"


EMBEDDED_NAME = "embedded:all-MiniLM-L6-v2"
#: The embedded NER tagger: the same base with the WNUT-17 adapter (``--model embedded-ner``).
EMBEDDED_NER = "embedded:wnut17-ner"
#: Every embedded model, with the names a user may type for it.
EMBEDDED_ALIASES = {EMBEDDED_NAME: EMBEDDED_NAME, "default": EMBEDDED_NAME, "embedded": EMBEDDED_NAME,
                    EMBEDDED_NER: EMBEDDED_NER, "embedded-ner": EMBEDDED_NER}  # fmt: skip
_PATH_START = ("/", "./", "../", "~")
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")


@dataclass(frozen=True)
class SourcePolicy:
    """Which model sources users may load. Build it with :func:`policy_from_env`."""

    allowed: frozenset[SourceKind]
    roots: tuple[Path, ...] = ()  # absolute, as the operator wrote them (symlinks kept); () = a trusted single user


@dataclass(frozen=True)
class ModelSource:
    """A validated model reference: safe to hand to the loader."""

    kind: SourceKind
    ref: str  # EMBEDDED_NAME, an absolute folder path (symlinks resolved), or a hub id

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
    # Kept as written (made absolute): a path a user types is compared with these before any file is read.
    roots = tuple(_absolute(r) for r in env.get("GLIMPSE_MODEL_ROOTS", "").split(os.pathsep) if r)
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
    """Turn what a user typed into a :class:`ModelSource`, or refuse with a fix.

    A path starts with ``/``, ``./``, ``../`` or ``~``; anything else is a hub id, whatever the
    disk holds (so deciding never touches the filesystem).
    """
    ref = ref.strip()
    if not ref or ref in EMBEDDED_ALIASES or ref.lower() in EMBEDDED_ALIASES:
        name = EMBEDDED_ALIASES.get(ref, EMBEDDED_ALIASES.get(ref.lower(), EMBEDDED_NAME))
        return _allowed(ModelSource(SourceKind.EMBEDDED, name), policy)
    if ref.startswith(_PATH_START):
        return _allowed(_folder_source(ref, policy), policy)
    if not _HUB_ID.match(ref) or ".." in ref:
        raise ModelSourceError(
            f"'{ref[:80]}' is neither a hub id (like 'bert-base-uncased' or 'org/name') nor a local "
            "folder (give an absolute path or one starting with './')."
        )
    return _allowed(ModelSource(SourceKind.HUB, ref), policy)


#: One file's look on disk: (name, size, modification time in ns, inode).
FileStamp = tuple[str, int, int, int]


def files_fingerprint(source: ModelSource) -> tuple[FileStamp, ...]:
    """How a model folder's files look on disk: it changes when a model is re-saved into the same folder,
    so a cache of loaded models can tell (stat only, no file read). () for the embedded model and a hub
    id, whose files are fixed by the installed package or the snapshot's commit."""
    if source.kind is not SourceKind.FOLDER:
        return ()
    try:
        entries = sorted(os.scandir(source.ref), key=lambda e: e.name)
        stats = [(e.name, e.stat()) for e in entries if e.is_file()]
    except OSError:
        return ()  # gone: the load that follows says so, with the fix
    return tuple((name, st.st_size, st.st_mtime_ns, st.st_ino) for name, st in stats)


def _absolute(ref: str) -> Path:
    """``ref`` made absolute and normalised as text: reads no file (only the home and working directories)."""
    if ref == "~" or ref.startswith("~/"):  # only the server user's own home: '~name' would probe user names
        ref = os.path.expanduser(ref)
    return Path(os.path.abspath(ref))


def _folder_source(ref: str, policy: SourcePolicy) -> ModelSource:
    if SourceKind.FOLDER not in policy.allowed:
        raise ModelSourceError(
            "Loading models from local folders is turned off on this server "
            "(GLIMPSE_MODEL_SOURCES). Pick the default model or ask the operator to allow 'folder'."
        )
    # '..' is fine: _absolute normalises it away as text, so the roots check below sees where the path really
    # ends ('root/../secret' is '/…/secret', outside), and the symlink check after it sees what the disk holds.
    path = _inside_roots(_absolute(ref), policy.roots) if policy.roots else _absolute(ref).resolve()
    if not path.is_dir():
        raise ModelSourceError(f"There is no folder at '{path}'. Check the path (it must be a folder).")
    if not (path / "config.json").is_file():
        raise ModelSourceError(
            f"'{path}' has no config.json, so it is not a Hugging Face model folder. "
            "Save one with model.save_pretrained(folder) and tokenizer.save_pretrained(folder)."
        )
    return ModelSource(SourceKind.FOLDER, str(path))


def _inside_roots(path: Path, roots: tuple[Path, ...]) -> Path:
    """``path`` with symlinks resolved, if it lies under a root both as written and as resolved.

    Outside the roots, a missing and an existing path get the same message, and the text is checked
    before any file is looked at: the answer must not tell a stranger what exists on the server."""
    outside = ModelSourceError(
        "There is no model folder you may load at that path. On this server model folders must lie under "
        f"{', '.join(str(r) for r in roots)}: give the absolute path of one there."
    )
    if not any(path.is_relative_to(_absolute(str(root))) for root in roots):
        raise outside
    real = Path(os.path.realpath(path))
    if not any(real.is_relative_to(os.path.realpath(root)) for root in roots):
        raise outside  # a symlink inside a root that points out of it
    return real


def _allowed(source: ModelSource, policy: SourcePolicy) -> ModelSource:
    if source.kind not in policy.allowed:
        allowed = ", ".join(sorted(k.value for k in policy.allowed)) or "none"
        raise ModelSourceError(f"Loading from '{source.kind.value}' is turned off on this server (allowed: {allowed}).")
    return source

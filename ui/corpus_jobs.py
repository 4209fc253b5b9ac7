"""Corpus runs started from the app: in a background thread, one at a time per server, surviving page switches.

A run writes its results folder under the corpus root (``GLIMPSE_CORPUS_ROOT``, default ``corpus-runs`` in
the app's folder); the page only ever opens folders listed there, so no path a user types reaches the
disk. Its progress lives here, in the process, so any session (and the same session after a page switch)
sees it; its gradient passes queue at the model's gate with everyone else's, so the app stays usable.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import explain
from explain.corpus import CorpusSettings, run_corpus, scan

#: The most rows a run started from the app may have; larger files go through ``python -m explain corpus``.
MAX_APP_ROWS = 2_000
#: A one-click run for a page that has no results yet (see explain/corpus/samples/README.md).
SAMPLE = Path(explain.__file__).parent / "corpus" / "samples" / "sst2-dev-200.tsv"
SAMPLE_ROWS = 200
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def corpus_root() -> Path:
    root = os.environ.get("GLIMPSE_CORPUS_ROOT", "").strip()
    return Path(root).resolve() if root else Path(__file__).resolve().parent.parent / "corpus-runs"


def _results_in(path: Path) -> Path | None:
    """The results folder of an entry of the root: the entry itself (a CLI run's --out) or its ``results``
    (a run started from the app, which keeps its input beside)."""
    for candidate in (path, path / "results"):
        if (candidate / "plan.json").is_file():
            return candidate
    return None


def result_folders() -> list[str]:
    """Names of the entries of the root holding corpus results, newest first."""
    root = corpus_root()
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and _results_in(p) is not None]
    return [p.name for p in sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)]


def shown_root() -> str:
    """The corpus folder as a user may be shown it: relative to where the app runs when it lies below it,
    else the setting that names it (never the server's absolute path)."""
    root, here = corpus_root(), Path.cwd().resolve()
    if root.is_relative_to(here):
        return str(root.relative_to(here)) or "."
    return "$GLIMPSE_CORPUS_ROOT"


def version(name: str) -> tuple[int, int]:
    """Changes when entry ``name``'s results change (a running job adds shards, a run ends with its summary)."""
    found = folder(name)
    shards = found / "rows"
    return found.stat().st_mtime_ns, shards.stat().st_mtime_ns if shards.is_dir() else 0


def folder(name: str) -> Path:
    """The results folder of entry ``name``, refused when it is not one of :func:`result_folders`."""
    found = _results_in(corpus_root() / name) if name in result_folders() else None
    if found is None:
        raise explain.InputError(f"There is no results folder '{name[:60]}' here. Pick one from the list.")
    return found


@dataclass
class Job:
    name: str  # the results folder under the root
    rows: int = 0
    batches: int = 0
    done_batches: int = 0
    done_rows: int = 0
    errors: int = 0
    state: str = "starting"  # starting, running, finished, failed
    message: str = ""
    started: float = field(default_factory=time.monotonic)

    @property
    def fraction(self) -> float:
        return self.done_batches / self.batches if self.batches else 0.0


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def jobs() -> list[Job]:
    with _lock:
        return sorted(_jobs.values(), key=lambda j: j.started, reverse=True)


def start(bundle: explain.ModelBundle, filename: str, data: bytes, settings: CorpusSettings,
          labelled: bool | None = None) -> Job:  # fmt: skip
    """Save the uploaded file under the root and compute it in a background thread; refuses a file over
    :data:`MAX_APP_ROWS` rows or while another run is going. ``labelled``: does a text file's last tab column
    hold the label (None: only when line 1 says so; a column that names no class is refused)."""
    stem = _SAFE.sub("-", Path(filename).stem)[:40].strip("-") or "input"
    suffix = Path(filename).suffix.lower() if Path(filename).suffix.lower() in (".txt", ".tsv", ".csv") else ".txt"
    with _lock:  # checked and reserved at once, so two clicks (or two sessions) cannot both start a run
        if any(j.state in ("starting", "running") for j in _jobs.values()):
            raise explain.InputError("A corpus run is already going on this server. Wait for it to finish.")
        target = _new_folder(f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{stem}")
        job = _jobs[target.name] = Job(name=target.name)
    try:
        source = target / f"input{suffix}"
        source.write_bytes(data)
        plan = scan(str(source), bundle.info.labels, settings.batch_size, labelled)
        if plan.rows > MAX_APP_ROWS:
            raise explain.InputError(
                f"The file has {plan.rows:,} rows; the app runs at most {MAX_APP_ROWS:,}. Run it from the command "
                f"line: python -m explain corpus --input FILE --out FOLDER (it resumes, and scales out on Ray)."
            )
    except BaseException as exc:
        with _lock:  # a refused file leaves nothing behind: no job, no folder
            del _jobs[job.name]
        shutil.rmtree(target, ignore_errors=True)
        if isinstance(exc, OSError):  # a full disk, say: the page shows why instead of a traceback
            raise explain.InputError(f"Cannot save the file under {shown_root()}: {exc}. Free some space or "
                                     "set GLIMPSE_CORPUS_ROOT to another folder.") from exc  # fmt: skip
        raise
    job.rows, job.batches = plan.rows, len(plan.spans)
    threading.Thread(target=_run, args=(bundle, job, str(source), str(target / "results"), settings, labelled),
                     name=f"corpus-{job.name}", daemon=True).start()  # fmt: skip
    return job


def _new_folder(name: str) -> Path:
    """A folder of its own under the root (a second upload within the same second gets a suffix)."""
    root = corpus_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            target = root / (name if n == 0 else f"{name}-{n}")
            try:
                target.mkdir()
            except FileExistsError:
                continue
            return target
    except OSError as exc:
        raise explain.InputError(
            f"Cannot write under {shown_root()}: {exc}. Set GLIMPSE_CORPUS_ROOT to a folder this server may write to."
        ) from exc
    raise explain.InputError("Too many runs started this second; try again in a moment.")


def _run(bundle: explain.ModelBundle, job: Job, source: str, out: str, settings: CorpusSettings,
         labelled: bool | None) -> None:  # fmt: skip
    def batch_done(done: object) -> None:
        job.done_batches += 1
        job.done_rows += int(getattr(done, "rows", 0))
        job.errors += int(getattr(done, "errors", 0))

    job.state = "running"
    try:
        run_corpus(bundle, source, out, settings, labelled=labelled, on_batch=batch_done)
    except Exception as exc:  # a failed run must say why on the page, and never take the server down
        job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"[:400]
        return
    job.state = "finished"

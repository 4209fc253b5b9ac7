"""``python -m explain corpus``: every row of a file into a Parquet results folder, with progress on stderr.

``explain/cli.py`` wires it in: ``add_parser(subparsers)`` declares the verb, ``run(bundle, args)`` returns
the summary printed as JSON. Heavy modules are imported when the verb runs, not when the parser is built.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from explain.corpus.compute import CORPUS_KNOBS
from explain.corpus.local import BatchDone
from explain.corpus.rows import Plan
from explain.corpus.summary import MIN_COUNT
from explain.knobs import add_knobs, settings_from
from explain.models.loading import ModelBundle

_LABELS = {"auto": None, "yes": True, "no": False}


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``corpus`` verb on the CLI's subparsers (``run`` is set as its handler)."""
    from explain.methods.attribution import IG_KNOBS

    p: argparse.ArgumentParser = subparsers.add_parser(
        "corpus", help="prediction, certified IG and per-head statistics for every row of a file, into Parquet "
        "(resumable; local or on Ray)",
    )  # fmt: skip
    p.add_argument("--input", required=True, help="text file (line = text, A<TAB>B, or text<TAB>label; header "
                   "optional) or CSV (text | text_a,text_b, optional label); a path or a pyarrow URI")  # fmt: skip
    p.add_argument("--out", required=True, help="results folder (path or URI, e.g. s3://bucket/run): rows/*.parquet, "
                   "plan.json, summary.json; rerun the same command to resume")  # fmt: skip
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: in this process (default); ray: a Ray Data actor pool")  # fmt: skip
    p.add_argument("--address", default=None, help="Ray cluster to join (e.g. auto, or ray://head:10001); "
                   "default: start a local Ray")  # fmt: skip
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="Ray workers, one CPU and one torch thread each (default: every CPU of the cluster)",
    )
    p.add_argument(
        "--faithfulness",
        action="store_true",
        help="also AOPC comprehensiveness and sufficiency per method and row (slower)",
    )
    p.add_argument("--labels", choices=list(_LABELS), default="auto",
                   help="does a text file's last tab column hold the label? auto: a header ending in 'label', or "
                   "a first line whose last column names one of the model's classes (anything else is refused "
                   "rather than guessed)")  # fmt: skip
    p.add_argument("--pairs", dest="labels", action="store_const", const="no",
                   help="the text file's lines are sentence pairs 'A<TAB>B' with no label (= --labels no)")  # fmt: skip
    p.add_argument(
        "--min-count",
        type=int,
        default=MIN_COUNT,
        help=f"words seen fewer times are left out of the summary's top words (default {MIN_COUNT})",
    )
    add_knobs(p, CORPUS_KNOBS)
    add_knobs(p, IG_KNOBS)
    p.set_defaults(run=run)
    return p


def run(bundle: ModelBundle, args: argparse.Namespace) -> dict[str, Any]:
    from explain.corpus.compute import CorpusSettings
    from explain.corpus.run import run_corpus
    from explain.errors import SettingsError
    from explain.methods.attribution import IG_KNOBS, IGSettings

    if args.min_count < 1:
        raise SettingsError(f"--min-count must be a whole number of at least 1; got {args.min_count}.")
    ig = settings_from(IGSettings, IG_KNOBS, args)
    settings = CorpusSettings(ig=ig, batch_size=args.batch_size, faithfulness=args.faithfulness)
    progress = Progress()
    summary = run_corpus(bundle, args.input, args.out, settings, args.engine, args.workers, args.address,
                         _LABELS[args.labels], args.min_count, progress.batch, progress.start)  # fmt: skip
    progress.finish()
    return {"out": args.out, **summary}


class Progress:
    """One self-overwriting line on stderr: rows, batches, rows per second, time left, errors."""

    def __init__(self) -> None:
        self.total = self.batches = self.done_batches = self.run_batches = self.rows = self.errors = 0
        self.began = time.perf_counter()

    def start(self, plan: Plan, finished: int) -> None:
        self.total, self.batches, self.done_batches = plan.rows, len(plan.spans), finished
        resumed = f"; {finished} finished before, skipped" if finished else ""
        sys.stderr.write(f"corpus: {plan.rows} rows in {len(plan.spans)} batches of {plan.batch_size}{resumed}\n")
        self.began = time.perf_counter()

    def batch(self, done: BatchDone) -> None:
        self.done_batches += 1
        self.run_batches += 1
        self.rows += done.rows
        self.errors += done.errors
        rate = self.rows / max(time.perf_counter() - self.began, 1e-9)
        left = (self.batches - self.done_batches) * (self.rows / self.run_batches) / max(rate, 1e-9)
        sys.stderr.write(
            f"\rcorpus: batch {self.done_batches}/{self.batches}, {self.rows} rows this run, {rate:.2f} rows/s, "
            f"about {left:.0f} s left, {self.errors} row errors   "
        )
        sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\n")

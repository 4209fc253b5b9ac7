"""Corpus mode: prediction, certified IG and per-head statistics for every row of a file, into Parquet.

``run_corpus`` computes (locally or on Ray, resumable); ``read_results`` gives a results folder back as
a table plus its summary (what a Corpus page shows). Ray is imported only by the Ray engine.
"""

from explain.corpus.compute import CORPUS_KNOBS, CorpusSettings, batched_attention, compute_batch
from explain.corpus.local import BatchDone, EngineReport
from explain.corpus.rows import CorpusRow, InputFormat, Plan, Span, read_span, scan
from explain.corpus.run import Engine, run_corpus
from explain.corpus.stats import STAT_NAMES, HeadStats, head_stats
from explain.corpus.storage import CorpusResults, head_matrix, read_results
from explain.corpus.summary import summarise

__all__ = [
    "CORPUS_KNOBS",
    "STAT_NAMES",
    "BatchDone",
    "CorpusResults",
    "CorpusRow",
    "CorpusSettings",
    "Engine",
    "EngineReport",
    "HeadStats",
    "InputFormat",
    "Plan",
    "Span",
    "batched_attention",
    "compute_batch",
    "head_matrix",
    "head_stats",
    "read_results",
    "read_span",
    "run_corpus",
    "scan",
    "summarise",
]

"""Corpus mode end to end on SST-2 dev (872 rows): rows/s on the local engine, on Ray with 1 and 2 local
workers, and Ray's start-up overhead; the engines' rows are compared as they go.

Each run computes prediction, certified IG (default settings: 25 → 193 points, tolerance 0.01) and the
per-head statistics for every row, writes its Parquet shards and summary. The local engine runs torch
with its default threads (every core); each Ray worker runs one torch thread (one CPU each).

    .venv/bin/python bench/corpus.py [--rows N] [--batch-size B] [--skip-ray]

Prints a Markdown table, the machine's load before and after (other processes share its cores), and the
top words per class from the local summary.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from explain import default_source, load_bundle, policy_from_env
from explain.corpus import CorpusSettings, read_results, run_corpus
from explain.methods.attribution import IGSettings

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "sst2" / "dev.tsv"


def main() -> None:
    args = _arguments()
    work = Path(tempfile.mkdtemp(prefix="corpus-bench-"))
    source = _input(work, args.rows)
    bundle = load_bundle(default_source(policy_from_env({}), {}))
    ig = IGSettings(tolerance=args.tolerance, max_steps=args.max_steps)
    settings = CorpusSettings(ig=ig, batch_size=args.batch_size)
    print(f"machine: {os.cpu_count()} cores; load before {_load()}", flush=True)
    runs = [("local", None)] + ([] if args.skip_ray else [("ray", 1), ("ray", 2)])
    results: dict[str, dict[str, Any]] = {}
    for engine, workers in runs:
        name = engine if workers is None else f"ray x{workers}"
        results[name] = _run(bundle, source, work / name.replace(" ", ""), settings, engine, workers)
        print(f"{name}: {results[name]['line']} (load {_load()})", flush=True)
    print(f"Ray alone (init + shutdown, no workers): {_bare_ray_start():.1f} s" if not args.skip_ray else "")
    _table(results)
    _compare(results)
    _steps(results["local"]["table"])
    _top_words(results["local"]["summary"])
    print(f"load after {_load()}")
    shutil.rmtree(work, ignore_errors=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=0, help="only the first N rows (default: all 872)")
    parser.add_argument("--batch-size", type=int, default=CorpusSettings().batch_size)
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--tolerance", type=float, default=IGSettings().tolerance, help="IG's (default: the app's)")
    parser.add_argument("--max-steps", type=int, default=IGSettings().max_steps, help="IG's step cap")
    return parser.parse_args()


def _input(work: Path, rows: int) -> str:
    if not rows:
        return str(DEV)
    lines = DEV.read_text(encoding="utf-8").split("\n")
    path = work / "dev-head.tsv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return str(path)


def _run(bundle: Any, source: str, out: Path, settings: CorpusSettings, engine: str, workers: int | None) -> dict:
    start = time.perf_counter()
    summary = run_corpus(bundle, source, str(out), settings, engine, workers)
    total = time.perf_counter() - start
    manifest = summary["manifest"]
    startup = manifest["engine"]["startup_seconds"]
    steady = summary["rows"] / max(manifest["compute_seconds"] - startup, 1e-9)
    threads = manifest["engine"]["threads_per_worker"]
    return {
        "summary": summary, "table": read_results(str(out)).table, "total": total, "startup": startup,
        "rows_per_s": summary["rows"] / total, "steady": steady, "threads": threads,
        "line": f"{summary['rows']} rows in {total:.1f} s = {summary['rows'] / total:.2f} rows/s end to end, "
                f"{steady:.2f} rows/s after start-up ({startup:.1f} s), {threads} torch thread(s) per worker",
    }  # fmt: skip


def _bare_ray_start() -> float:
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    ray.shutdown()
    return time.perf_counter() - start


def _load() -> str:
    return "/".join(f"{v:.1f}" for v in os.getloadavg())


def _table(results: dict[str, dict[str, Any]]) -> None:
    print("\n| engine | torch threads per worker | rows | total s | rows/s end to end | start-up s | "
          "rows/s after start-up | vs ray x1 | certified |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    base = results.get("ray x1", {}).get("steady")
    for name, r in results.items():
        s = r["summary"]
        ratio = f"{r['steady'] / base:.2f}x" if base and name.startswith("ray") else ""
        print(f"| {name} | {r['threads']} | {s['rows']} | {r['total']:.1f} | {r['rows_per_s']:.2f} | "
              f"{r['startup']:.1f} | {r['steady']:.2f} | {ratio} | {s['certified']}/{s['ok']} |")  # fmt: skip
    s = results["local"]["summary"]
    if s["accuracy"]:
        print(
            f"\naccuracy {s['accuracy']['accuracy']:.4f} ({s['accuracy']['correct']}/{s['accuracy']['total']}), "
            f"confusion {s['accuracy']['confusion']}, errors {s['errors']}, mean steps {s['mean_steps']:.1f}"
        )


def _compare(results: dict[str, dict[str, Any]]) -> None:
    local = results["local"]["table"]
    for name, r in results.items():
        if name == "local":
            continue
        table = r["table"]
        same_ids = table.column("row_id").to_pylist() == local.column("row_id").to_pylist()
        worst = max(
            float(np.max(np.abs(np.array(a) - np.array(b)))) if a else 0.0
            for a, b in zip(table.column("scores").to_pylist(), local.column("scores").to_pylist(), strict=True)
            if a is not None
        )
        print(f"{name} vs local: same row ids once each: {same_ids}; largest IG score difference {worst:.2e}")


def _steps(table: Any) -> None:
    """How many gradient points rows needed, and which check asked for more (the δ of the sum or a token)."""
    steps = [s for s in table.column("n_steps").to_pylist() if s is not None]
    counts = {k: steps.count(k) for k in sorted(set(steps))}
    print(f"gradient points per row (count): {counts}; mean {np.mean(steps):.1f}")


def _top_words(summary: dict[str, Any], k: int = 10) -> None:
    by_class = summary["top_words"]["by_class"]
    print(f"\ntop words per predicted class (mean IG toward it, seen >= {summary['top_words']['min_count']} times):")
    for label, ranked in by_class.items():
        words = ", ".join(f"{w['word']} {w['mean_ig']:+.2f} ({w['count']})" for w in ranked["for"][:k])
        print(f"- {label}: {words}")


if __name__ == "__main__":
    main()

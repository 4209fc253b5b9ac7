"""Benchmark: static export latency (first call and later, per format), bundle size, batch export per row.

On the default model: the per-head heatmap of a 32-token sentence at PNG scale 2 (the issue's
reference figure), every format; then the zip bundle of a typical sentence's Attention and
Attribution views; then ``python -m explain export``'s work (one model, one renderer) over natural
~20-token sentences (SST-2 dev) in all six formats, timed per row. The naive route for comparison is
Kaleido without a persistent server (a browser started per figure), measured in the same run.

Run: .venv/bin/python bench/export.py [--reps 5] [--rows 8] [--tsv ../shared/data/sst2/dev.tsv]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import explain
from explain import batch_export as batch
from explain.export import files as export
from explain.export import rendering
from explain.methods.prediction import read_labelled
from explain.views import exports as views

TYPICAL = "The movie was a complete waste of time, but the soundtrack was wonderful."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rows", type=int, default=8, help="sentences for the batch export (first one excluded)")
    parser.add_argument("--tsv", type=Path, default=Path("../shared/data/sst2/dev.tsv"), help="sentence<TAB>label")
    args = parser.parse_args()
    bundle = explain.load_bundle(explain.default_source(explain.policy_from_env()))
    words = ["word", "movie", "good", "time", "film", "story", "plot", "actor"]
    enc32 = explain.prepare_input(bundle, " ".join(words[i % 8] for i in range(30)))
    result = explain.run_attention(bundle, enc32)
    view = explain.attention_view(result, hide_special=False, merge_words=False)
    heatmap = views.attention_exports(bundle, result, view, views.AttentionChoice()).figures[0]
    caption = "model · method"
    print(f"per-head heatmap, {enc32.n_tokens} tokens, PNG scale 2; medians of {args.reps} after the first")
    print("| format | first call s | later calls s (median) | bytes |")
    print("|---|---|---|---|")
    for fmt in ("png", "svg", "pdf", "html"):
        start = time.perf_counter()
        data = views.figure_bytes(heatmap, fmt, 2.0, caption)
        first = time.perf_counter() - start
        later = []
        for _ in range(args.reps):
            start = time.perf_counter()
            views.figure_bytes(heatmap, fmt, 2.0, caption)
            later.append(time.perf_counter() - start)
        print(f"| {fmt} | {first:.2f} | {statistics.median(later):.3f} | {len(data):,} |")
    naive = _naive_kaleido(heatmap.build(), args.reps)  # type: ignore[misc]
    print(f"naive Kaleido (browser per call), PNG: median {naive:.2f} s")

    enc = explain.prepare_input(bundle, TYPICAL)
    result = explain.run_attention(bundle, enc)
    all_views = [views.attention_exports(bundle, result, explain.attention_view(
        result, hide_special=False, merge_words=False), views.AttentionChoice())]  # fmt: skip
    if bundle.info.has_classifier:
        all_views.insert(0, views.attribution_exports(bundle, explain.attribute(bundle, enc)))
    start = time.perf_counter()
    zipped = views.bundle(all_views)
    seconds = time.perf_counter() - start
    files = views.files(all_views, ("png", "svg", "pdf", "html", "json", "csv"))
    print(
        f"bundle for '{TYPICAL}' ({enc.n_tokens} tokens): {len(zipped) / 1e6:.1f} MB zip, {len(files) + 1} files, "
        f"built in {seconds:.1f} s; model weights sha256 {export.weights_sha256(bundle)[:12]}…"
    )
    if args.tsv.is_file():
        _batch_rows(bundle, args.tsv, args.rows)
    else:
        print(f"batch export: skipped ({args.tsv} not found; pass --tsv)")


def _batch_rows(bundle: explain.ModelBundle, tsv: Path, n: int) -> None:
    """Per-row time of the batch export (all six formats) over the first n dev sentences of 18-22 tokens."""
    texts = []
    for example in read_labelled(tsv, bundle.info.labels or ("0", "1")):
        if 18 <= explain.prepare_input(bundle, example.text).n_tokens <= 22:
            texts.append(example.text)
        if len(texts) == n:
            break
    rows = [batch.BatchRow(i + 1, text, None) for i, text in enumerate(texts)]
    rendering.stop()  # as in a fresh `python -m explain export`: the first row starts the renderer
    marks = [time.perf_counter()]
    with tempfile.TemporaryDirectory() as out:
        summary = batch.export_batch(bundle, rows, Path(out), ("png", "svg", "pdf", "html", "csv", "json"),
                                     on_row=lambda _: marks.append(time.perf_counter()))  # fmt: skip
    per_row = [b - a for a, b in itertools.pairwise(marks)]
    later = sorted(per_row[1:])
    p90 = later[min(len(later) - 1, round(0.9 * (len(later) - 1)))]
    print(
        f"batch export, {len(rows)} SST-2 sentences of 18-22 tokens, png,svg,pdf,html,csv,json ({summary['ok']} ok): "
        f"first row {per_row[0]:.2f} s (starts the renderer); later rows median {statistics.median(later):.2f} s, "
        f"p90 {p90:.2f} s"
    )


def _naive_kaleido(fig: object, reps: int) -> float:
    """Kaleido's own path without a server: a Chromium is started for every figure."""
    import os
    import subprocess

    code = (
        "import sys, time, plotly.io as pio, plotly.graph_objects as go, json\n"
        "fig = go.Figure(json.loads(sys.stdin.read()))\n"
        "t = time.perf_counter(); pio.to_image(fig, format='png', scale=2); print(time.perf_counter() - t)\n"
    )
    env = {**os.environ, "BROWSER_PATH": os.environ.get("BROWSER_PATH", "/usr/bin/chromium")}
    payload = fig.to_json()  # type: ignore[attr-defined]
    times = [
        float(subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, text=True,
                             env=env, check=True).stdout.strip().splitlines()[-1])
        for _ in range(min(reps, 3))
    ]  # fmt: skip
    return statistics.median(times)


if __name__ == "__main__":
    main()

"""Benchmark: static export latency (first call and later, per format) and bundle size.

On the default model: the per-head heatmap of a 32-token sentence at PNG scale 2 (the issue's
reference figure), every format; then the zip bundle of a typical sentence's Attention and
Attribution views. The naive route for comparison is Kaleido without a persistent server (a browser
started per figure), measured in the same run.

Run: .venv/bin/python bench/export.py [--reps 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import explain
from explain.export import files as export
from explain.views import exports as views

TYPICAL = "The movie was a complete waste of time, but the soundtrack was wonderful."


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
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

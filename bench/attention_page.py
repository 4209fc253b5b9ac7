"""Benchmark: the attention forward pass and the Attention page, ours vs the naive approach.

Prints medians for the default (embedded) model at 16/128/512 tokens:
- the forward pass with attentions;
- the Attention page's first render in headless Chromium (fresh session, new text, model already
  loaded): bytes received over the websocket and the server time the page reports;
- the naive route for comparison: bertviz's own head_view + model_view HTML (JSON weights, CDN scripts).

Run: .venv/bin/python bench/attention_page.py [--reps 5]   (takes a few minutes; needs /usr/bin/chromium)
Quiet machine wanted: other processes on the 2 cores distort every figure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import explain
from tests.browser_harness import browser, open_session, serve

LENGTHS = (16, 128, 512)


def text_of(n_tokens: int, salt: int) -> str:
    words = ["word", "movie", "good", "time", "film", "story", "plot", "actor"]
    return " ".join(words[(i + salt) % len(words)] for i in range(n_tokens - 2))


def forward_medians(bundle: explain.ModelBundle, reps: int) -> dict[int, float]:
    out = {}
    for n in LENGTHS:
        enc = explain.prepare_input(bundle, text_of(n, 0))
        assert enc.n_tokens == n, enc.n_tokens
        explain.run_attention(bundle, enc)  # warm-up for this shape
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            explain.run_attention(bundle, enc)
            times.append(time.perf_counter() - start)
        out[n] = statistics.median(times)
    return out


def naive_bertviz_bytes(bundle: explain.ModelBundle, n: int) -> tuple[int, float]:
    import torch
    from bertviz import head_view, model_view

    enc = explain.prepare_input(bundle, text_of(n, 0))
    with torch.no_grad():
        att = bundle.model(input_ids=torch.tensor(enc.input_ids)[None], output_attentions=True).attentions
    start = time.perf_counter()
    size = len(head_view(att, list(enc.tokens), html_action="return").data)
    size += len(model_view(att, list(enc.tokens), html_action="return").data)
    return size, time.perf_counter() - start


def page_medians(reps: int) -> dict[int, tuple[float, float]]:
    out = {}
    with serve() as url, browser() as b:
        open_session(b, url + "/?text=warm").page.context.close()
        for n in LENGTHS:
            sizes, seconds = [], []
            for rep in range(reps):
                s = open_session(b, url + "/?text=" + urllib.parse.quote(text_of(n, rep + 1)))
                s.page.wait_for_timeout(500)
                sizes.append(s.ws_bytes[0])
                seconds.append(s.server_seconds())
                s.page.context.close()
            out[n] = (statistics.median(sizes), statistics.median(seconds))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    bundle = explain.load_bundle(explain.default_source(explain.policy_from_env({}), {}))
    fwd = forward_medians(bundle, args.reps)
    page = page_medians(args.reps)
    print(
        f"model: {bundle.info.source} ({bundle.info.num_layers} layers x {bundle.info.num_heads} heads), "
        f"medians of {args.reps}"
    )
    print("| tokens | forward (ms) | page: websocket MB | page: server s | naive bertviz HTML MB (build s) | ratio |")
    print("|---|---|---|---|---|---|")
    for n in LENGTHS:
        naive, naive_s = naive_bertviz_bytes(bundle, n)
        sent, secs = page[n]
        print(
            f"| {n} | {fwd[n] * 1000:.1f} | {sent / 1e6:.2f} | {secs:.2f} | {naive / 1e6:.1f} ({naive_s:.2f}) "
            f"| {naive / max(sent, 1):.1f}x |"
        )


if __name__ == "__main__":
    main()

"""Browser round trip: Ctrl+Enter in the text box until every view on the Attention page is drawn.

What a user waits for, measured in Debian's Chromium (headless, 1400 x 1000 viewport, network cut) against
the app served as ``scripts/run.sh`` serves it: type a sentence into the sidebar box, press Ctrl+Enter,
and stop the clock when the script has finished and every view on the page shows the new text: each
Plotly chart re-plotted (its data object replaced and its SVG drawn) and bertviz's SVG drawn with the new
tokens. Also recorded: the server's own time for the run (the page footer) and the bytes over the websocket.

Inputs (natural text, validation only; nothing here was tuned on them): 40 SST-2 dev sentences of 24-40
tokens (median about 32), and 12 random 128-token windows of SST-2 dev text (seed 0).

Run: .venv/bin/python bench/browser_roundtrip.py [--sentences 40] [--windows 12]
Quiet machine wanted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.attribution import _sentences, windows  # noqa: E402
from tests.browser_harness import Session, browser, open_session, serve  # noqa: E402

_MARK = "window.__plots = new Map(); document.querySelectorAll('.js-plotly-plot').forEach(g => __plots.set(g, g.data));"
_REPLOTTED = """() => {
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return plots.length > 0
    && plots.every(g => g.data && window.__plots.get(g) !== g.data && g.querySelector('.main-svg'));
}"""


def marker(bundle: object, text: str) -> str:
    """The longest whole token of the text (as bertviz shows it): its label proves the new text is drawn."""
    import explain

    tokens = explain.prepare_input(bundle, text).tokens  # type: ignore[arg-type]
    return max((t for t in tokens if not t.startswith("##") and not t.startswith("[")), key=len)


def round_trip(s: Session, text: str, mark: str) -> tuple[float, float, int]:
    """Seconds from Ctrl+Enter to every view drawn, the server's time, and the websocket bytes."""
    area = s.page.get_by_role("textbox", name="Text (sentence A)")
    area.click()
    s.page.keyboard.press("Control+A")
    s.page.keyboard.insert_text(text)
    s.page.evaluate(_MARK)
    sent_before = s.ws_bytes[0]
    start = time.perf_counter()
    s.page.keyboard.press("Control+Enter")
    s.page.wait_for_selector("[data-testid='stApp'][data-test-script-state='running']", timeout=30_000)
    s.page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=120_000)
    s.page.wait_for_function(_REPLOTTED, timeout=120_000, polling="raf")
    frames = s.page.frame_locator("iframe")
    if s.page.locator("iframe").count():
        frames.first.locator("#vis svg text", has_text=mark).first.wait_for(timeout=120_000)
    elapsed = time.perf_counter() - start
    return elapsed, s.server_seconds(), s.ws_bytes[0] - sent_before


def report(name: str, rows: list[tuple[float, float, int]], target: float) -> None:
    waits, server, sent = [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    print(f"| {name} | {len(rows)} | {np.median(waits):.2f} | {np.percentile(waits, 90):.2f} | {max(waits):.2f} | "
          f"{np.median(server):.2f} | {statistics.median(sent) / 1e6:.2f} | ≤ {target} |", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=40)
    parser.add_argument("--windows", type=int, default=12)
    args = parser.parse_args()
    import explain

    bundle = explain.load_bundle(explain.default_source(explain.policy_from_env({}), {}))
    sentences = [s for s in _sentences(ROOT.parent / "shared" / "data" / "sst2" / "dev.tsv")
                 if 24 <= len(bundle.tokenizer(s)["input_ids"]) <= 40][: args.sentences]  # fmt: skip
    long = windows(bundle, 128, args.windows)
    with serve() as url, browser() as b:
        s = open_session(b, url)
        time.sleep(5)  # the server's warm-up
        first = "An untimed first sentence, as a user's first look would be."
        round_trip(s, first, marker(bundle, first))
        print("| inputs | n | Ctrl+Enter to all drawn, median s | p90 s | max s | server time median s | "
              "websocket MB median | target s |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|")
        median = statistics.median(len(bundle.tokenizer(t)["input_ids"]) for t in sentences)
        rows = [round_trip(s, t, marker(bundle, t)) for t in sentences]
        report(f"SST-2 dev sentences, 24-40 tokens (median {median:.0f})", rows, 1.5)
        report("128-token windows", [round_trip(s, t, marker(bundle, t)) for t in long], 3.0)


if __name__ == "__main__":
    main()

"""Load benchmark: N sessions at once against one server, without browsers (the server alone).

Starts the app as ``scripts/run.sh`` does (``serve.py``), waits for its warm-up, then for N = 1, 2, 4, 8
opens N websocket sessions at once, each asking the Attribution page for a fresh natural sentence (SST-2
dev, a different one per session and per round), exactly as a browser's first request does. For each
session it records the time to the first prediction on screen (the "Prediction" metric) and to the
integrated gradients done (the "Per-token error" metric), and whether it was told its place in line.

Prints p50/p95 of both per N, the makespan (last IG done), and the serial sum: the same N sentences sent
one after another, each alone, to a second server started the same way (its own caches, so neither run
finds the other's results), in the same round. The gate serialises the gradient passes and caches share
finished work, so N sessions together should cost about what they cost one after another, not more.

Run: .venv/bin/python bench/load.py [--sessions 1 2 4 8] [--rounds 2]
Quiet machine wanted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "data" / "sst2" / "dev.tsv"


def sentences() -> list[str]:
    lines = DEV.read_text(encoding="utf-8").split("\n")[1:]
    return [line.rsplit("\t", 1)[0].strip() for line in lines if line.strip()]


async def session(url: str, text: str) -> dict[str, float | bool]:
    """One browser-like session: connect, ask for the Attribution page with ``text``, time what arrives."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    start = time.perf_counter()
    out: dict[str, float | bool] = {"queued": False}
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=2**28) as ws:  # type: ignore[list-item]
        msg = BackMsg()
        msg.rerun_script.query_string = "text=" + urllib.parse.quote(text)
        msg.rerun_script.page_name = "attribution"
        await ws.send(msg.SerializeToString())
        while "ig" not in out:
            fwd = ForwardMsg()
            fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=600))
            element = fwd.delta.new_element if fwd.HasField("delta") and fwd.delta.HasField("new_element") else None
            if fwd.HasField("delta") and "In line" in str(fwd.delta):  # the status label while it waits for the gate
                out["queued"] = True
            if element is None:
                if fwd.HasField("script_finished") and "prediction" in out:
                    out.setdefault("ig", time.perf_counter() - start)  # a failure page still ends the wait
                continue
            if element.HasField("metric") and element.metric.label == "Prediction":
                out.setdefault("prediction", time.perf_counter() - start)
            if element.HasField("metric") and element.metric.label == "Per-token error":
                out["ig"] = time.perf_counter() - start
    return out


async def round_of(url: str, texts: list[str]) -> tuple[list[dict[str, float | bool]], float]:
    """Sessions started together; the makespan is the last IG done (closing the sockets is not timed)."""
    results = await asyncio.gather(*(session(url, t) for t in texts))
    return list(results), max(float(r["ig"]) for r in results)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per N (fresh sentences each)")
    args = parser.parse_args()
    from tests.browser_harness import serve

    pool = iter(sentences())
    with serve() as url, serve() as alone_url:
        time.sleep(10)  # the start-up warm-ups (model load, first page) finish before timing
        for u in (url, alone_url):
            asyncio.run(round_of(u, [next(pool)]))  # one untimed session each: first-use costs of the script runner
        print("| sessions | prediction p50 s | prediction p95 s | IG done p50 s | IG done p95 s | makespan s | "
              "serial sum s | makespan / serial | told their place in line |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        for n in args.sessions:
            preds, igs, spans, serials, queued = [], [], [], [], 0
            for _ in range(args.rounds):
                texts = [next(pool) for _ in range(n)]
                serials.append(sum(asyncio.run(round_of(alone_url, [t]))[1] for t in texts))  # one after another
                results, span = asyncio.run(round_of(url, texts))
                preds += [float(r["prediction"]) for r in results]
                igs += [float(r["ig"]) for r in results]
                queued += sum(bool(r["queued"]) for r in results)
                spans.append(span)
            makespan, serial = statistics.median(spans), statistics.median(serials)
            ratio = statistics.median(m / s for m, s in zip(spans, serials, strict=True))
            print(
                f"| {n} | {pct(preds, 0.5):.2f} | {pct(preds, 0.95):.2f} | {pct(igs, 0.5):.2f} | "
                f"{pct(igs, 0.95):.2f} | "
                f"{makespan:.2f} | {serial:.2f} | {ratio:.2f} | {queued} of {n * args.rounds} |"
            )


if __name__ == "__main__":
    main()

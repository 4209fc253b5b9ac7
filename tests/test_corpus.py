"""Corpus mode on the local engine: batches that any process can read on its own, the same numbers as the
single-input functions, bad rows recorded, exact resumes, a summary that counts what the table holds."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from explain import ModelBundle, prepare_input, run_attention
from explain.corpus import CorpusSettings, compute_batch, head_stats, read_results, read_span, run_corpus, scan, storage
from explain.corpus.rows import CorpusRow
from explain.corpus.summary import normalise
from explain.errors import InputError, SettingsError
from explain.inputs import MAX_CHARS
from explain.methods.agreement import head_agreement
from explain.methods.attribution import IGSettings, attribute
from explain.methods.prediction import predict_logits
from tests.conftest import bundle_from
from tests.fixtures import build_tiny

LABELS = ("negative", "positive")
SENTENCES = [
    "the movie was great and the actors were fine",
    "a terrible film with bad jokes",
    "hello world",
    "the actors were bad , the jokes terrible !",
    "a great film",
    "fine",
    "the world was hello and great",
    "bad bad bad movie",
    "jokes were great . actors fine",
    "a film",
]
FAST = IGSettings(n_steps=5, max_steps=25, tolerance=0.05)  # tiny models: certification in a few points


@pytest.fixture(scope="module")
def steep(model_root: Path) -> ModelBundle:
    folder = model_root / "bert-steep"
    if not folder.exists():
        build_tiny("bert", folder, classifier=True, head_scale=5.0)
    return bundle_from(folder)


def labelled_file(tmp_path: Path, extra: bytes = b"") -> Path:
    path = tmp_path / "corpus.tsv"
    lines = [f"{s}\t{i % 2}" for i, s in enumerate(SENTENCES)]
    path.write_bytes(("sentence\tlabel\n" + "\n".join(lines) + "\n").encode() + extra)
    return path


# --- reading -------------------------------------------------------------------------------------------


def test_batches_cover_every_row_once_and_pad_little(tmp_path: Path) -> None:
    path = labelled_file(tmp_path)
    plan = scan(str(path), LABELS, batch_size=1)  # windows of 8 rows: two windows, the second of 2 rows
    assert plan.format.labelled and plan.rows == 10 and len(plan.spans) == 10
    assert plan.spans[8].offset == path.read_bytes().index(SENTENCES[8].encode())  # the second window's start
    batches = [read_span(plan, span, LABELS) for span in plan.spans]
    rows = sorted((r for batch in batches for r in batch), key=lambda r: r.row_id)
    assert [r.text for r in rows] == SENTENCES  # every row once, and the header is no row
    assert [r.label for r in rows] == [i % 2 for i in range(10)]
    assert [r.number for r in rows] == list(range(2, 12))  # line numbers, header = line 1
    assert len({r.row_id for r in rows}) == 10
    lengths = [len(batch[0].text) for batch in batches]  # within a window, batches go from short to long
    assert lengths[:8] == sorted(lengths[:8]) and lengths[8:] == sorted(lengths[8:])
    # a batch read on its own (as a worker reads it) is the same batch
    assert read_span(plan, plan.spans[5], LABELS) == batches[5]
    wide = scan(str(path), LABELS, batch_size=3)  # one window of 10: batches of 3, 3, 3, 1, each in file order
    sizes = [[r.number for r in read_span(wide, span, LABELS)] for span in wide.spans]
    assert [len(s) for s in sizes] == [3, 3, 3, 1] and all(s == sorted(s) for s in sizes)


def test_row_ids_name_the_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one\ntwo\n")
    b.write_text("one\nTWO\n")
    p, q = scan(str(a), LABELS, 8), scan(str(b), LABELS, 8)
    ids_a = [r.row_id for r in read_span(p, p.spans[0], LABELS)]
    ids_b = [r.row_id for r in read_span(q, q.spans[0], LABELS)]
    assert ids_a[0] == ids_b[0] and ids_a[1] != ids_b[1]
    assert p.sha256 != q.sha256


def test_csv_records_span_lines_and_bad_bytes_stay_in_their_row(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'text_a,text_b,label\n"multi\nline, quoted",b one,1\nbad \xff,x,0\n\nx\xe2\x80\xa8y,,positive\n')
    plan = scan(str(path), LABELS, batch_size=2)
    rows = sorted((r for span in plan.spans for r in read_span(plan, span, LABELS)), key=lambda r: r.row_id)
    assert [(r.number, r.text, r.text_b, r.label, r.error is None) for r in rows] == [
        (2, "multi\nline, quoted", "b one", 1, True),
        (3, "", None, None, False),
        (4, "x\u2028y", None, 1, True),
    ]
    assert rows[1].error is not None and rows[1].error.startswith("Row 3 is not UTF-8")
    assert plan.spans[0].offset == path.read_bytes().index(b'"multi')  # the first record, after the header


def test_label_detection_and_its_override(tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("a premise\ta hypothesis\nanother\tone\n")
    plan = scan(str(pairs), LABELS, 8, labelled=False)
    assert not plan.format.labelled
    assert read_span(plan, plan.spans[0], LABELS)[0].text_b == "a hypothesis"
    ambiguous = tmp_path / "ambiguous.txt"
    ambiguous.write_text("premise\t1\n")
    assert scan(str(ambiguous), LABELS, 8).format.labelled
    forced = scan(str(ambiguous), LABELS, 8, labelled=False)
    assert read_span(forced, forced.spans[0], LABELS)[0] == CorpusRow(
        read_span(forced, forced.spans[0], LABELS)[0].row_id, 1, "premise", "1", None
    )
    header = tmp_path / "header.txt"
    header.write_text("sentence\tlabel\na great film\tpositive\n")
    plan = scan(str(header), LABELS, 8)
    assert plan.format.labelled and plan.rows == 1


@pytest.mark.parametrize("first", ["a great film\tpos", "a premise\ta hypothesis"])
def test_a_last_column_that_names_no_class_is_refused_with_the_fix(tmp_path: Path, first: str) -> None:
    """'pos' under labels negative/positive is not read as sentence B of a pair (nor a pair as labels): the
    run is refused with every way to say which it is."""
    path = tmp_path / "reviews.tsv"
    path.write_text(f"{first}\nanother film\tneg\n")
    with pytest.raises(InputError) as refused:
        scan(str(path), LABELS, 8)
    message = str(refused.value)
    assert "Line 1 of 'reviews.tsv'" in message and str(tmp_path) not in message  # no server path in the app
    assert "--pairs" in message and "--labels yes" in message and "header line 'sentence<TAB>label'" in message
    assert "negative, positive" in message


def test_empty_input_and_csv_without_text_are_refused_with_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    with pytest.raises(InputError, match="has no rows"):
        scan(str(empty), LABELS, 8)
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nx,1\n")
    with pytest.raises(InputError, match="needs a header 'text'"):
        scan(str(bad), LABELS, 8)


# --- computing -----------------------------------------------------------------------------------------


def test_head_stats_of_uniform_attention() -> None:
    """Every query spreads evenly over n tokens: entropy log2 n bits, each token gets 1/n (a pair: two [SEP]s)."""
    from explain.inputs import Encoding

    tokens = ("[CLS]", "good", ",", "[SEP]", "film", "!", "[SEP]")
    n = len(tokens)
    special = np.array([True, False, False, True, False, False, True])
    encoding = Encoding(
        text="good ,", text_b="film !", input_ids=np.array([101, 1, 2, 102, 3, 4, 102]), token_type_ids=None,
        tokens=tokens, special=special, segment=np.array([0, 0, 0, 0, 1, 1, 1]),
        word_index=np.arange(n), words=tokens, n_original=n, notices=(),
    )  # fmt: skip
    weights = np.full((2, 3, n, n), 1.0 / n, dtype=np.float32)
    scores = np.array([0.0, 0.5, -0.1, 0.0, 0.3, 0.2, 0.0])
    stats = head_stats(weights, encoding, scores, sep_token_id=102)
    # float32 weights: 1/7 rounds by at most eps32/2 relative, and a float32 sum of n = 7 terms adds at most
    # n·eps32; 16·eps32 (1.9e-6) covers both with room on any CPU, while nats instead of bits is off by 31%.
    np.testing.assert_allclose(stats.entropy, math.log2(n), rtol=16 * 2.0**-23)
    np.testing.assert_allclose(stats.to_cls, 1 / n, rtol=1e-6)
    np.testing.assert_allclose(stats.to_sep, 2 / n, rtol=1e-6)  # both separators
    np.testing.assert_allclose(stats.to_punct, 2 / n, rtol=1e-6)  # "," and "!"
    assert np.isnan(stats.agreement).all()  # constant attention: no rank correlation
    focused = np.zeros((1, 1, n, n), dtype=np.float32)
    focused[..., 3] = 1.0  # every query on the first [SEP]
    one = head_stats(focused, encoding, scores, sep_token_id=102)
    assert one.entropy[0, 0] == 0.0 and one.to_sep[0, 0] == 1.0 and one.to_cls[0, 0] == 0.0


def test_head_entropy_is_in_bits() -> None:
    """By hand: a query spread evenly over 4 tokens carries log2 4 = 2 bits; half on each of 2 tokens, 1 bit
    (in nats they would be 1.386 and 0.693, which the page would mislabel as bits)."""
    from explain.inputs import Encoding

    tokens = ("[CLS]", "a", "film", "[SEP]")
    encoding = Encoding(
        text="a film", text_b=None, input_ids=np.array([101, 1, 2, 102]), token_type_ids=None, tokens=tokens,
        special=np.array([True, False, False, True]), segment=np.zeros(4, dtype=int), word_index=np.arange(4),
        words=tokens, n_original=4, notices=(),
    )  # fmt: skip
    weights = np.zeros((1, 2, 4, 4), dtype=np.float32)
    weights[0, 0] = 0.25  # head 0: uniform over the 4 tokens
    weights[0, 1, :, :2] = 0.5  # head 1: half on [CLS], half on "a"
    stats = head_stats(weights, encoding, np.zeros(4), sep_token_id=102)
    assert stats.entropy.tolist() == [[2.0, 1.0]]  # exact: log2 of powers of two


def test_a_batch_gives_what_each_input_gives_alone(steep: ModelBundle) -> None:
    texts = ["the movie was great and the actors were fine", "bad", "a terrible film , with bad jokes !"]
    rows = [CorpusRow(f"{i:010d}-x", i, t, None, None) for i, t in enumerate(texts)]
    records = compute_batch(steep, rows, CorpusSettings(ig=FAST, batch_size=3))
    for text, record in zip(texts, records, strict=True):
        encoding = prepare_input(steep, text)
        logits = predict_logits(steep, encoding)
        alone = attribute(steep, encoding, FAST)
        attention = run_attention(steep, encoding)
        assert record["status"] == "ok" and record["predicted"] == int(np.argmax(logits)) == alone.target
        np.testing.assert_allclose(record["probabilities"], np.exp(logits) / np.exp(logits).sum(), atol=1e-5)
        np.testing.assert_allclose(record["scores"], alone.scores, atol=1e-5)
        assert record["n_steps"] == alone.n_steps and record["token_error"] == pytest.approx(
            alone.token_error, abs=1e-5
        )
        entropy = -(attention.weights * np.log2(attention.weights)).sum(-1).mean(-1)  # bits
        np.testing.assert_allclose(record["entropy"], entropy.ravel(), rtol=1e-4)
        one_word = (~encoding.special).sum() < 2  # "bad": no rank correlation over one token
        agreement = np.full((2, 4), np.nan) if one_word else head_agreement(attention.weights, alone.scores, encoding)
        stored = np.array([np.nan if v is None else v for v in record["agreement"]])  # null = undefined
        np.testing.assert_allclose(stored, agreement.ravel(), atol=1e-4)
        assert sum(record["word_scores"]) == pytest.approx(sum(record["scores"]), abs=1e-9)  # specials carry no IG


def test_bad_rows_are_recorded_and_the_run_goes_on(steep: ModelBundle, tmp_path: Path) -> None:
    long = ("word " * (MAX_CHARS // 5 + 1)).encode()
    path = labelled_file(tmp_path, extra=b"\t1\nbad \xff\xfe byte\t0\n" + long + b"\t1\nno label here\t7\n")
    summary = run_corpus(steep, str(path), str(tmp_path / "out"), CorpusSettings(ig=FAST, batch_size=4))
    table = read_results(str(tmp_path / "out")).table
    errors = {row["number"]: row["error"] for row in table.to_pylist() if row["status"] == "error"}
    assert set(errors) == {12, 13, 14, 15}
    assert "at least one word" in errors[12]
    assert errors[13].startswith("Line 13 is not UTF-8")
    assert "reads at most 10,000" in errors[14]
    assert errors[15].startswith("Line 15 has the label '7'")
    assert summary["ok"] == 10 and summary["errors"] == 4 and summary["rows"] == table.num_rows == 14
    ok = [r for r in table.to_pylist() if r["status"] == "ok"]
    assert all(r["error"] is None and len(r["scores"]) == len(r["tokens"]) for r in ok)


# --- resuming ------------------------------------------------------------------------------------------


class Interrupt(Exception):
    pass


def test_resume_skips_finished_rows_and_ends_identical(
    steep: ModelBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = labelled_file(tmp_path)
    settings = CorpusSettings(ig=FAST, batch_size=3)
    run_corpus(steep, str(path), str(tmp_path / "whole"), settings)
    whole = read_results(str(tmp_path / "whole")).table
    computed: list[str] = []
    import explain.corpus.local as local

    original = local.compute_batch
    monkeypatch.setattr(local, "compute_batch", lambda b, rows, s: computed.extend(r.row_id for r in rows)
                        or original(b, rows, s))  # fmt: skip

    def stop_after_two(done: object) -> None:
        if len(computed) >= 6:
            raise Interrupt  # as a Ctrl-C after the second batch

    with pytest.raises(Interrupt):
        run_corpus(steep, str(path), str(tmp_path / "split"), settings, on_batch=stop_after_two)
    assert read_json_summary(tmp_path / "split") is None  # unfinished: no summary yet
    assert read_results(str(tmp_path / "split")).table.num_rows == 6
    run_corpus(steep, str(path), str(tmp_path / "split"), settings)
    assert sorted(computed) == sorted(whole.column("row_id").to_pylist())  # each row computed exactly once
    split = read_results(str(tmp_path / "split")).table
    assert split.equals(whole)


def read_json_summary(folder: Path) -> object:
    return storage.read_json(str(folder), storage.SUMMARY)


def test_a_batch_killed_while_writing_leaves_no_partial_shard(
    steep: ModelBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = labelled_file(tmp_path)
    settings = CorpusSettings(ig=FAST, batch_size=4)
    run_corpus(steep, str(path), str(tmp_path / "whole"), settings)
    import pyarrow.parquet as pq

    real = pq.write_table

    def dies_in_batch_one(table: pa.Table, where: str, **kwargs: object) -> None:
        if "batch-000001" in where:
            Path(where).write_bytes(b"PAR1 half a file")  # the process dies mid-write
            raise Interrupt
        real(table, where, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pq, "write_table", dies_in_batch_one)
    with pytest.raises(Interrupt):
        run_corpus(steep, str(path), str(tmp_path / "split"), settings)
    assert storage.finished(str(tmp_path / "split")) == {0}  # the half-written shard does not count
    monkeypatch.setattr(pq, "write_table", real)
    run_corpus(steep, str(path), str(tmp_path / "split"), settings)
    assert read_results(str(tmp_path / "split")).table.equals(read_results(str(tmp_path / "whole")).table)
    assert [p.name for p in (tmp_path / "split" / "rows").iterdir() if p.name.startswith(".")] == []


def test_a_shard_on_another_filesystem_is_renamed_into_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a filesystem that is not the local one (an object store, HDFS), a writer killed mid-write leaves a
    hidden file, not a truncated shard under its final name that would count as finished."""
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    remote = pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem())  # not a LocalFileSystem instance
    monkeypatch.setattr(storage, "filesystem", lambda out: (remote, out))
    real = pq.write_table

    def dies_mid_write(table: pa.Table, where: str, filesystem: pafs.FileSystem) -> None:
        with filesystem.open_output_stream(where) as f:
            f.write(b"PAR1 half a file")
        raise Interrupt

    monkeypatch.setattr(pq, "write_table", dies_mid_write)
    with pytest.raises(Interrupt):
        storage.write_shard("out", 3, [], storage.schema())
    assert storage.finished("out") == set()
    monkeypatch.setattr(pq, "write_table", real)
    storage.remove_partial("out")
    storage.write_shard("out", 3, [], storage.schema())
    assert storage.finished("out") == {3} and sorted(p.name for p in (tmp_path / "out" / "rows").iterdir()) == [
        "batch-000003.parquet"]  # fmt: skip


def test_json_is_replaced_whole_and_a_bad_one_is_a_message(tmp_path: Path) -> None:
    out = str(tmp_path)
    storage.write_json(out, storage.SUMMARY, {"rows": 1})
    with pytest.raises(ValueError):
        storage.write_json(out, storage.SUMMARY, {"rows": float("nan")})  # fails while writing
    assert storage.read_json(out, storage.SUMMARY) == {"rows": 1}  # a reader still sees the old file whole
    (tmp_path / storage.SUMMARY).write_text('{"rows": 1, "ok"')  # as a run of an older version left it
    with pytest.raises(InputError, match=r"summary\.json in .* is not readable JSON .*run the same command again"):
        storage.read_json(out, storage.SUMMARY)


def test_a_second_run_on_a_locked_folder_is_refused_and_a_stale_lock_is_taken(
    steep: ModelBundle, tmp_path: Path
) -> None:
    import os
    import socket

    from explain.corpus.lock import LOCK

    path = labelled_file(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".batch-000000.parquet.x.tmp").write_bytes(b"another run's shard in progress")
    holder = {"pid": os.getpid(), "host": socket.gethostname(), "since": "2026-01-01T00:00:00+00:00"}
    (out / LOCK).write_text(json.dumps(holder))  # a live process (this one) holds the folder
    with pytest.raises(InputError, match=rf"Another corpus run is writing to .*process {os.getpid()} .*delete"):
        run_corpus(steep, str(path), str(out), CorpusSettings(ig=FAST, batch_size=5))
    assert (out / ".batch-000000.parquet.x.tmp").exists()  # the other run's file in progress is left alone
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (out / LOCK).write_text(json.dumps(holder | {"pid": int(dead.stdout)}))  # its process has exited
    (out / ".batch-000000.parquet.x.tmp").unlink()
    summary = run_corpus(steep, str(path), str(out), CorpusSettings(ig=FAST, batch_size=5))
    assert summary["rows"] == 10 and not (out / LOCK).exists()  # taken over, and released at the end


def test_a_finished_folder_starts_no_engine(
    steep: ModelBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = labelled_file(tmp_path)
    out = str(tmp_path / "out")
    first = run_corpus(steep, str(path), out, CorpusSettings(ig=FAST, batch_size=5))
    monkeypatch.setitem(sys.modules, "ray", None)  # any import of Ray now fails
    again = run_corpus(steep, str(path), out, CorpusSettings(ig=FAST, batch_size=5), "ray", workers=1)
    assert again["manifest"]["engine"]["workers"] == 0 and again["manifest"]["resumed"]
    assert {k: v for k, v in again.items() if k != "manifest"} == {k: v for k, v in first.items() if k != "manifest"}


def test_a_file_of_random_bytes_named_csv_is_refused_with_the_fix(tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"text\nfine\n" + bytes(range(256)) * 8)  # bytes 0-9, \n, then a lone \r: csv.Error
    with pytest.raises(InputError, match=r"'junk\.csv' is not a readable CSV file \(record 4: .*Save it as a UTF-8"):
        scan(str(junk), LABELS, 8)
    junk.write_bytes(b"\xd8b\xc2\x00k\n" + bytes(range(256)))  # no header: named without raw bytes
    with pytest.raises(InputError, match=r"needs a header 'text'") as refused:
        scan(str(junk), LABELS, 8)
    str(refused.value).encode("utf-8")  # no lone surrogate: a page can send it to the browser


def test_resume_refuses_another_input_or_settings(steep: ModelBundle, tmp_path: Path) -> None:
    path = labelled_file(tmp_path)
    out = str(tmp_path / "out")
    run_corpus(steep, str(path), out, CorpusSettings(ig=FAST, batch_size=4))
    with pytest.raises(InputError, match=r"different settings .*give a new --out"):
        run_corpus(steep, str(path), out, CorpusSettings(ig=FAST, batch_size=3))
    path.write_text(path.read_text() + "one more line\t1\n")
    with pytest.raises(InputError, match="different input"):
        run_corpus(steep, str(path), out, CorpusSettings(ig=FAST, batch_size=4))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="holds other files"):
        run_corpus(steep, str(path), str(tmp_path / "other"), CorpusSettings(ig=FAST))


# --- summary, CLI, layering ----------------------------------------------------------------------------


def test_summary_counts_what_the_table_holds(steep: ModelBundle, tmp_path: Path) -> None:
    path = labelled_file(tmp_path)
    summary = run_corpus(steep, str(path), str(tmp_path / "out"), CorpusSettings(ig=FAST, batch_size=4), min_count=3)
    results = read_results(str(tmp_path / "out"))
    rows = results.table.to_pylist()
    confusion = np.zeros((2, 2), dtype=int)
    for r in rows:
        confusion[r["label"], r["predicted"]] += 1
    accuracy = summary["accuracy"]
    assert accuracy["confusion"] == confusion.tolist() and accuracy["total"] == 10
    assert accuracy["accuracy"] == pytest.approx(np.trace(confusion) / 10)
    entropy = np.mean([r["entropy"] for r in rows], axis=0).reshape(2, 4)
    np.testing.assert_allclose(summary["head_statistics"]["mean"]["entropy"], entropy, rtol=1e-6)
    assert results.summary == json.loads(json.dumps(summary))  # summary.json is what run_corpus returned
    for label_id, label in enumerate(LABELS):
        ranked = summary["top_words"]["by_class"][label]["for"]
        words = [
            (normalise(w), s)
            for r in rows
            if r["target"] == label_id
            for w, s in zip(r["words"], r["word_scores"], strict=True)
        ]
        for entry in ranked:
            scores = [s for w, s in words if w == entry["word"]]
            assert entry["count"] == len(scores) >= 3  # rare words are left out
            assert entry["mean_ig"] == pytest.approx(np.mean(scores))
        assert [e["mean_ig"] for e in ranked] == sorted((e["mean_ig"] for e in ranked), reverse=True)
    manifest = summary["manifest"]
    assert manifest["model"]["weights_sha256"] == steep.weights_sha256 and manifest["engine"]["name"] == "local"


def test_cli_verb_prints_the_summary_and_progress(
    steep: ModelBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from explain.corpus.cli import add_parser

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    path = labelled_file(tmp_path)
    args = parser.parse_args(["corpus", "--input", str(path), "--out", str(tmp_path / "out"), "--batch-size", "5",
                              "--steps", "5", "--max-steps", "25", "--tolerance", "0.05"])  # fmt: skip
    out = args.run(steep, args)
    assert out["rows"] == 10 and out["manifest"]["settings"]["ig"]["max_steps"] == 25
    json.dumps(out, allow_nan=False)  # what the CLI prints
    err = capsys.readouterr().err
    assert "10 rows in 2 batches of 5" in err and "batch 2/2" in err
    with pytest.raises(SettingsError, match="--engine ray"):
        args = parser.parse_args(["corpus", "--input", str(path), "--out", str(tmp_path / "o2"), "--workers", "2"])
        args.run(steep, args)


def test_cli_refuses_an_unknown_last_column_and_pairs_says_which(
    steep: ModelBundle, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from explain.cli import main

    path = tmp_path / "pairs.tsv"
    path.write_text("a great film\tpos\na premise\ta hypothesis\n")
    base = ["--model", str(steep.source.ref), "corpus", "--input", str(path), "--steps", "5", "--max-steps", "9"]
    assert main([*base, "--out", str(tmp_path / "refused")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Line 1 of 'pairs.tsv'") and "--pairs" in err and "Traceback" not in err
    assert not (tmp_path / "refused").exists()  # refused before anything was written
    assert main([*base, "--out", str(tmp_path / "pairs"), "--pairs"]) == 0
    rows = read_results(str(tmp_path / "pairs")).table.to_pylist()
    assert [(r["text"], r["text_b"], r["label"]) for r in rows] == [
        ("a great film", "pos", None), ("a premise", "a hypothesis", None)]  # fmt: skip


def test_the_local_engine_never_imports_ray(steep: ModelBundle, tmp_path: Path) -> None:
    path = labelled_file(tmp_path)
    code = (
        "import sys; from explain import load_bundle, ModelSource, SourceKind\n"
        "from explain.corpus import CorpusSettings, run_corpus\n"
        "from explain.methods.attribution import IGSettings\n"
        f"b = load_bundle(ModelSource(SourceKind.FOLDER, {steep.source.ref!r}))\n"
        f"run_corpus(b, {str(path)!r}, {str(tmp_path / 'out')!r}, CorpusSettings(IGSettings(n_steps=5, max_steps=9)))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'streamlit')))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         cwd=Path(__file__).parents[1]).stdout  # fmt: skip
    assert out.strip().splitlines()[-1] == "[]"


def test_faithfulness_columns_hold_each_methods_aopc(steep: ModelBundle, tmp_path: Path) -> None:
    from explain.methods.faithfulness import FaithfulnessSettings, faithfulness, method_scores

    path = tmp_path / "few.txt"
    path.write_text("the movie was great and the actors were fine\nbad jokes , terrible film\n")
    summary = run_corpus(steep, str(path), str(tmp_path / "out"), CorpusSettings(ig=FAST, faithfulness=True))
    rows = read_results(str(tmp_path / "out")).table.to_pylist()
    for row in rows:
        encoding = prepare_input(steep, row["text"])
        attribution = attribute(steep, encoding, FAST)
        scores = method_scores(attribution, run_attention(steep, encoding))
        result = faithfulness(steep, encoding, attribution.target, scores, FaithfulnessSettings())
        expected = {m.name: m for m in (*result.methods, result.random)}
        assert row["comprehensiveness_integrated_gradients"] == pytest.approx(
            expected["integrated gradients"].comprehensiveness, abs=1e-5)  # fmt: skip
        assert row["sufficiency_gradient_x_input"] == pytest.approx(expected["gradient × input"].sufficiency, abs=1e-5)
        assert row["comprehensiveness_random"] == pytest.approx(expected["random"].comprehensiveness, abs=1e-5)
        assert row["sufficiency_rollout"] == pytest.approx(expected["rollout"].sufficiency, abs=1e-5)
    mean = np.mean([r["sufficiency_attention"] for r in rows])
    assert summary["faithfulness"]["sufficiency_attention"] == pytest.approx(mean)

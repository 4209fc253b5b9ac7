"""Input files are read line by line on '\\n' alone, one bad line does not sink a batch, and nothing a
spreadsheet would run or hide reaches a CSV file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from explain import batch_export as batch
from explain.errors import InputError
from explain.export import files as export
from explain.methods.prediction import read_labelled

LABELS = ("negative", "positive")


def test_labelled_lines_keep_unicode_line_separators(tmp_path: Path) -> None:
    path = tmp_path / "dev.tsv"
    path.write_bytes(
        "sentence\tlabel\nA film\u2028with a break\t1\nAnother\u0085one\tnegative\r\nlast\u2029para\t0".encode()
    )
    examples = read_labelled(path, LABELS)
    assert [(e.text, e.label, e.line) for e in examples] == [
        ("A film\u2028with a break", 1, 2),
        ("Another\u0085one", 0, 3),  # the CRLF's \r is not part of the label
        ("last\u2029para", 0, 4),
    ]


def test_labelled_file_names_its_undecodable_line(tmp_path: Path) -> None:
    path = tmp_path / "dev.tsv"
    path.write_bytes(b"good\t1\nbad \xff here\t0\nfine\t1\n")
    with pytest.raises(InputError, match=r"dev\.tsv:2 is not UTF-8 .*Save the file as UTF-8"):
        read_labelled(path, LABELS)


def test_batch_text_rows_keep_separators_and_report_bad_bytes(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes(
        b"\xef\xbb\xbfone\xc2\x85two\r\n"  # a BOM, then U+0085 inside a sentence, CRLF
        b"bad \xff\xfe byte\n"
        b"\n"
        b"A\xe2\x80\xa8B\tand its pair\n"  # U+2028, and a pair
    )
    rows = batch.read_inputs(path)
    assert [(r.number, r.text, r.text_b, r.error) for r in rows] == [
        (1, "one\u0085two", None, None),
        (2, "", None, "Line 2 is not UTF-8 text, so it was skipped; save the file as UTF-8 and export it again."),
        (4, "A\u2028B", "and its pair", None),
    ]


def test_batch_csv_rows_report_bad_bytes_alone(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_bytes(b'text\n"multi\nline, quoted"\nbad \xff\nx\xe2\x80\xa8y\n')
    rows = batch.read_inputs(path)
    assert [(r.number, r.text, r.error is None) for r in rows] == [
        (2, "multi\nline, quoted", True),
        (3, "", False),
        (4, "x\u2028y", True),
    ]
    assert rows[1].error is not None and rows[1].error.startswith("Row 3 is not UTF-8")


def test_csv_text_defuses_formulas_and_shows_control_characters() -> None:
    cases = {
        '=HYPERLINK("http://evil.example","x")': '\'=HYPERLINK("http://evil.example","x")',
        "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
        "-": "'-",
        "@SUM(A1)": "'@SUM(A1)",
        "\t=1": "'\\t=1",
        "\r=1": "'\\r=1",
        "red\x1b[31m\x00": "red\\x1b[31m\\x00",
        "a\u2028b\u0085c\x7f": "a\\u2028b\\x85c\\x7f",
        "a = b - c": "a = b - c",  # only the first character makes a formula
        "日本 😀": "日本 😀",
    }
    assert {value: export.csv_text(value) for value in cases} == cases


def test_data_csvs_are_defused_and_numbers_stay_exact() -> None:
    labels = ["=1+1", "-", "ok", "\x1b"]
    data = {"labels": labels, "scores": [-0.5, 0.1, 1e-300, -2.5e-07], "saliency": [0.25, -0.0, 3.0, 7.0]}
    assert export.attribution_csv(data).decode() == (
        "index,token,scores,saliency\r\n"
        "0,'=1+1,-0.5,0.25\r\n"
        "1,'-,0.1,-0.0\r\n"
        "2,ok,1e-300,3.0\r\n"
        "3,\\x1b,-2.5e-07,7.0\r\n"
    )
    attention = {"labels": ["@a", "b"], "layers": [0], "heads": [1], "weights": [[[[0.75, 0.25], [-0.0, 1.0]]]]}
    assert export.attention_csv(attention).decode() == (
        "layer,head,query_index,query,key_index,key,weight\r\n"
        "0,1,0,'@a,0,'@a,0.75\r\n"
        "0,1,0,'@a,1,b,0.25\r\n"
        "0,1,1,b,0,'@a,-0.0\r\n"
        "0,1,1,b,1,b,1.0\r\n"
    )
    assert json.loads(export.to_json(data))["labels"] == labels  # JSON keeps the raw strings


def test_batch_index_is_defused_and_bad_rows_do_not_stop_it(payload_model_dir: Path, tmp_path: Path) -> None:
    from tests.conftest import bundle_from

    inputs = tmp_path / "in.txt"
    inputs.write_bytes(b'=HYPERLINK("http://evil.example","click")\n\x1b[31mred\x00 text\nbad \xff\n+fine too\n')
    out = tmp_path / "out"
    summary = batch.export_batch(bundle_from(payload_model_dir), batch.read_inputs(inputs), out, ("json", "csv"))
    assert (summary["rows"], summary["ok"], summary["errors"]) == (4, 3, 1)
    raw = (out / "index.csv").read_bytes()
    assert b"\x1b" not in raw and b"\x00" not in raw
    index = list(csv.DictReader(io.StringIO(raw.decode())))
    assert [r["text"] for r in index] == [
        '\'=HYPERLINK("http://evil.example","click")',
        "\\x1b[31mred\\x00 text",
        "",
        "'+fine too",
    ]
    assert [(r["row"], r["status"]) for r in index] == [("1", "ok"), ("2", "ok"), ("3", "error"), ("4", "ok")]
    assert index[2]["error"].startswith("Line 3 is not UTF-8")
    tokens = (out / "row-00001" / "data" / "attribution.csv").read_text().splitlines()
    assert tokens[2].startswith("1,'=,")  # the token '=' of the first row, defused
    assert json.loads((out / "row-00001" / "data" / "attribution.json").read_text())["labels"][1] == "="


def test_corpus_evaluate_and_export_read_a_file_the_same_way(tmp_path: Path) -> None:
    """One reader (explain/readers.py) behind all three: the same rows, numbers, labels and refusals."""
    from explain.corpus import read_span, scan

    tsv = tmp_path / "dev.tsv"
    tsv.write_bytes("\ufeffsentence\tlabel\r\nA film\u2028with a break\t1\n\nAnother\u0085one\tnegative\r\n".encode())
    plan = scan(str(tsv), LABELS, 8)
    corpus = sorted((r for s in plan.spans for r in read_span(plan, s, LABELS)), key=lambda r: r.number)
    expected = [(2, "A film\u2028with a break", 1), (4, "Another\u0085one", 0)]
    assert [(r.number, r.text, r.label) for r in corpus] == expected
    assert [(e.line, e.text, e.label) for e in read_labelled(tsv, LABELS)] == expected
    csv_file = tmp_path / "in.csv"
    csv_file.write_bytes(b' text_a , text_b\n"multi\nline",b\n\nbad \xff,x\nlast,\n')  # spaces around names
    plan = scan(str(csv_file), LABELS, 8)
    corpus = sorted((r for s in plan.spans for r in read_span(plan, s, LABELS)), key=lambda r: r.number)
    exported = batch.read_inputs(csv_file)
    expected_csv = [(2, "multi\nline", "b", True), (3, "", None, False), (4, "last", None, True)]
    assert [(r.number, r.text, r.text_b, r.error is None) for r in corpus] == expected_csv
    assert [(r.number, r.text, r.text_b, r.error is None) for r in exported] == expected_csv
    junk = tmp_path / "junk.csv"
    junk.write_bytes(b"text\na\rb\n")  # a lone \r: the csv module cannot parse it
    for read in (lambda: scan(str(junk), LABELS, 8), lambda: batch.read_inputs(junk)):
        with pytest.raises(InputError, match="not a readable CSV file"):
            read()


def test_one_csv_reader_and_one_label_parser() -> None:
    """A reader written twice drifts (a header with spaces was read by one and refused by another)."""
    import explain

    root = Path(explain.__file__).parent
    sources = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8") for p in root.rglob("*.py")}
    readers = [name for name, text in sources.items() if "reader(" in text.replace("DictReader(", "reader(")
               and ("csv.reader(" in text or "csv.DictReader(" in text or "csv_module.reader(" in text)]  # fmt: skip
    parsers = [name for name, text in sources.items() if "isdigit()" in text and "lower()" in text]
    assert readers == ["readers.py"] and parsers == ["readers.py"]

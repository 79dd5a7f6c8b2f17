"""Readers: every malformed record is quarantined with file, line and field; nothing vanishes."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rlvr.io.readers import InputError, ReadOptions, read_documents


def write_bad_jsonl(path):
    lines = [
        json.dumps({"id": "a", "text": "good one"}).encode(),
        b'{"id": "b", "text": "unterminated',
        b'{"id": "c", "text": "bad \xff\xfe utf8"}',
        json.dumps({"id": "d"}).encode(),
        json.dumps({"id": "e", "text": "   "}).encode(),
        json.dumps({"id": "f", "text": 42}).encode(),
        json.dumps({"id": "a", "text": "same id again"}).encode(),
        json.dumps(["not", "an", "object"]).encode(),
        json.dumps({"id": ["list"], "text": "bad id type"}).encode(),
        b"",
        json.dumps({"id": "g", "text": "another good", "title": "T", "lang": "en"}).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")


def test_jsonl_quarantine_names_file_line_field_and_reason(tmp_path):
    path = tmp_path / "docs.jsonl"
    write_bad_jsonl(path)
    result = read_documents(path)
    assert [d.doc_id for d in result.documents] == ["a", "g"]
    assert result.documents[1].title == "T" and result.documents[1].meta == {"lang": "en"}
    got = {(q.line, q.field, q.reason.split(":")[0].split(" (")[0]) for q in result.quarantined}
    assert got == {
        (2, "<line>", "invalid JSON"),
        (3, "<line>", "invalid UTF-8 at byte 25"),
        (4, "text", "missing text field"),
        (5, "text", "empty text"),
        (6, "text", "wrong type"),
        (7, "id", "duplicate id 'a'"),
        (8, "<record>", "wrong type"),
        (9, "id", "wrong type"),
    }
    assert all(q.file == str(path) for q in result.quarantined)
    # in = kept + quarantined (blank line 10 is not a record)
    assert result.counts == {"read": 10, "kept": 2, "quarantined": 8}
    assert "kept 2, quarantined 8" in result.summary()


def test_csv_parquet_and_text_field_choice(tmp_path):
    csv_path = tmp_path / "d.csv"
    csv_path.write_text('id,body,extra\n1,"first, with comma",x\n2,,y\n3,"multi\nline",z\n', encoding="utf-8")
    r = read_documents(csv_path, ReadOptions(text_field="body"))
    assert [d.text for d in r.documents] == ["first, with comma", "multi\nline"]
    assert [(q.line, q.reason) for q in r.quarantined] == [(3, "empty text")]

    pq_path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"doc_id": ["x", "y", "x"], "text": ["one", None, "dup"]}), pq_path)
    r = read_documents(pq_path)
    assert [d.doc_id for d in r.documents] == ["x"]
    assert sorted(q.reason.split(" (")[0] for q in r.quarantined) == ["duplicate id 'x'", "missing text field"]


def test_folder_of_text_files(tmp_path):
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# Heading A\n\nBecause x, therefore y.", encoding="utf-8")
    (root / "sub" / "b.rst").write_text("Title B\n=======\n\nStep 1.", encoding="utf-8")
    (root / "c.txt").write_bytes(b"bad \xff")
    (root / "d.pdf").write_bytes(b"%PDF")
    r = read_documents(root)
    assert sorted(d.doc_id for d in r.documents) == ["a.md", "sub/b.rst"]
    assert {d.title for d in r.documents} == {"Heading A", "Title B"}
    reasons = sorted(q.reason.split(" at")[0].split(":")[0] for q in r.quarantined)
    assert reasons == ["invalid UTF-8", "unsupported file type .pdf"]


def test_saved_hf_dataset(tmp_path):
    from datasets import Dataset, DatasetDict

    ds = DatasetDict({
        "train": Dataset.from_dict({"id": [1, 2], "question": ["q1", "q2"]}),
        "test": Dataset.from_dict({"id": [3, 4], "question": ["q3", ""]}),
    })
    ds.save_to_disk(tmp_path / "saved")
    r = read_documents(tmp_path / "saved", ReadOptions(text_field="question"))
    assert sorted(d.doc_id for d in r.documents) == ["1", "2", "3"]
    assert len(r.quarantined) == 1 and r.quarantined[0].file.endswith("[test]")
    r = read_documents(tmp_path / "saved", ReadOptions(text_field="question", split="train"))
    assert len(r.documents) == 2


def test_wholly_unusable_inputs_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_documents(tmp_path / "missing.jsonl")
    wrong_field = tmp_path / "w.jsonl"
    wrong_field.write_text(json.dumps({"question": "q"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"w\.jsonl: no usable record.*--field"):
        read_documents(wrong_field)
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not parquet")
    with pytest.raises(InputError, match="junk.parquet: not a readable Parquet"):
        read_documents(junk)
    sheet = tmp_path / "x.xlsx"
    sheet.write_bytes(b"x")
    with pytest.raises(InputError, match="unsupported input type"):
        read_documents(sheet)
    with pytest.raises(InputError, match="allow network"):
        read_documents("openai/gsm8k")

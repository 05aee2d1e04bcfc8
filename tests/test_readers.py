import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxnlp.ingest.readers import ReaderError, read_csv, read_jsonl, read_parquet, sniff_encoding


def rows(it):
    return list(it)


def test_csv_utf8_comma_with_multiline_quoted_field(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text('id,text,stars\n1,"Zeile eins\nZeile zwei, mit Komma",5\n2,Größe passt,4\n', encoding="utf-8")
    out = rows(read_csv(p))
    assert [r.row_number for r in out] == [1, 2]
    assert out[0].fields == {"id": "1", "text": "Zeile eins\nZeile zwei, mit Komma", "stars": "5"}
    assert out[1].fields["text"] == "Größe passt"


def test_csv_utf8_bom_header_is_clean(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("\ufeffticket_id,body\nT1,Grüße aus Köln\n".encode("utf-8"))
    assert sniff_encoding(p.read_bytes()) == "utf-8-sig"
    out = rows(read_csv(p))
    assert out[0].fields == {"ticket_id": "T1", "body": "Grüße aus Köln"}


def test_csv_cp1252_semicolon_export(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("Bewertungs-ID;Text;Preis\nA1;Schöne Grüße – sehr gut;49,99 €\n".encode("cp1252"))
    out = rows(read_csv(p))
    assert out[0].fields == {"Bewertungs-ID": "A1", "Text": "Schöne Grüße – sehr gut", "Preis": "49,99 €"}


def test_csv_latin1_detected_not_mangled(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("id;text\n1;Über die Maße süß\n".encode("latin-1"))
    assert rows(read_csv(p))[0].fields["text"] == "Über die Maße süß"


def test_csv_broken_quote_costs_one_row_only(tmp_path):
    p = tmp_path / "t.csv"
    lines = ['id,text', '1,"kaputtes Zitat ohne Ende', '2,gut', '3,"auch gut"']
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = rows(read_csv(p))
    assert [r.row_number for r in out] == [1, 2, 3]
    assert out[0].error == ("malformed_row", "unterminated quote")
    assert [r.fields["text"] for r in out[1:]] == ["gut", "auch gut"]


def test_csv_broken_quote_recovers_later_rows(tmp_path, monkeypatch):
    import cxnlp.ingest.readers as r

    monkeypatch.setattr(r, "MAX_RECORD_LINES", 3)
    p = tmp_path / "t.csv"
    body = ['id,text', '1,"offen', '2,zwei', '3,drei', '4,vier', '5,fünf']
    p.write_text("\n".join(body) + "\n", encoding="utf-8")
    out = rows(read_csv(p))
    assert out[0].error == ("malformed_row", "unterminated quote")
    assert [x.fields["text"] for x in out[1:]] == ["zwei", "drei", "vier", "fünf"]


def test_csv_wrong_field_count_and_bad_bytes_are_flagged(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes(b"id,text\n1,ok\n2,zu,viele,felder\n3,kaputt \xff\xfe bytes\n4,wieder ok\n")
    out = rows(read_csv(p, encoding="utf-8"))
    assert [r.row_number for r in out] == [1, 2, 3, 4]
    assert out[1].error[0] == "malformed_row" and "4 fields, header has 2" in out[1].error[1]
    assert out[2].error[0] == "broken_encoding" and "\\xff" in out[2].raw
    assert out[3].fields["text"] == "wieder ok"


def test_cp1252_undefined_byte_is_broken_encoding(tmp_path):
    p = tmp_path / "t.csv"
    p.write_bytes("id;text\n1;schön\n2;Müll \x81 drin\n".encode("latin-1"))
    out = rows(read_csv(p, encoding="cp1252"))
    assert out[0].fields["text"] == "schön"
    assert out[1].error[0] == "broken_encoding"


def test_jsonl_good_bad_and_non_objects(tmp_path):
    p = tmp_path / "t.jsonl"
    p.write_bytes(b'{"id": 1, "text": "gut"}\n\n{"id": 2, "text": \n[1, 2]\n{"id": 3, "text": "\xc3\x28"}\n'
                  + json.dumps({"id": 4, "text": "Grüße 😍"}, ensure_ascii=False).encode() + b"\n")
    out = rows(read_jsonl(p))
    assert [r.row_number for r in out] == [1, 2, 3, 4, 5]  # blank line is not a record
    assert out[0].fields == {"id": 1, "text": "gut"}
    assert out[1].error[0] == "malformed_row" and "invalid JSON" in out[1].error[1]
    assert out[2].error == ("malformed_row", "a JSON list, not an object")
    assert out[3].error[0] == "broken_encoding"
    assert out[4].fields["text"] == "Grüße 😍"


def test_parquet_streams_records(tmp_path):
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "nps": [9, 3], "comment": ["Super", "Naja"]}), p)
    out = rows(read_parquet(p, batch_size=1))
    assert [r.fields for r in out] == [{"id": "a", "nps": 9, "comment": "Super"},
                                       {"id": "b", "nps": 3, "comment": "Naja"}]


def test_unreadable_files_raise_reader_error(tmp_path):
    with pytest.raises(ReaderError):
        rows(read_csv(tmp_path / "missing.csv"))
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet at all")
    with pytest.raises(ReaderError, match="not a readable Parquet file"):
        rows(read_parquet(bad))

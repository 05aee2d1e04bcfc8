"""Malformed input at scale (issue 7): random bytes, wrong encodings, NUL bytes, broken quoting, truncated lines,
huge fields and odd Parquet go through every reader and through the full Ingestor. Nothing may crash, and every
row must be accounted for: the reader yields each record once with consecutive numbers, and the Ingestor
stores, de-duplicates, quarantines or counts as unchanged exactly the rows the reader yields.

The default example counts keep this file well under a minute; ``-m faults`` runs the long variants.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO
from cxnlp.ingest.readers import (RawRow, ReaderError, _utf16_without_bom, read_csv, read_jsonl, read_parquet,
                                  read_records)

KNOWN_REASONS = {"malformed_row", "broken_encoding"}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LONG = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_counter = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def new_file(workdir: Path, suffix: str, data: bytes) -> Path:
    p = workdir / f"f{next(_counter)}{suffix}"
    p.write_bytes(data)
    return p


def read_checked(path: Path, fmt: str, **kw) -> list[RawRow] | None:
    """Reads a file and checks what every reader promises: RawRows numbered 1..n, a row is either fields or an
    error with a known reason, and everything is valid text (storable, no lone surrogates). None when the
    reader refused the whole file with ReaderError (the only exception it may raise)."""
    try:
        rows = list(read_records(path, fmt, **kw))
    except ReaderError:
        return None
    assert [r.row_number for r in rows] == list(range(1, len(rows) + 1))
    for r in rows:
        assert isinstance(r, RawRow) and isinstance(r.raw, str)
        r.raw.encode("utf-8")  # raises on a lone surrogate
        if r.error is None:
            assert isinstance(r.fields, dict)
            for k, v in r.fields.items():
                str(k).encode("utf-8")
                if isinstance(v, str):
                    v.encode("utf-8")
        else:
            assert r.fields is None and r.error[0] in KNOWN_REASONS and isinstance(r.error[1], str)
    return rows


def _is_object(line: bytes) -> bool:
    """Whether a JSON line is a valid object (the stdlib's judgement; the reader uses orjson)."""
    depth = deepest = 0
    for ch in line:  # orjson (the reader's parser) refuses nesting deeper than 1024
        depth += (ch in b"[{") - (ch in b"]}")
        deepest = max(deepest, depth)
    try:
        obj = json.loads(line.decode("utf-8"), parse_float=_finite)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    if deepest > 1024:
        return False
    return isinstance(obj, dict) and _no_lone_surrogate(obj)  # orjson refuses "\\ud800" without its pair


def _no_lone_surrogate(v) -> bool:
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(v, dict):
        return all(_no_lone_surrogate(k) and _no_lone_surrogate(x) for k, x in v.items())
    if isinstance(v, list):
        return all(_no_lone_surrogate(x) for x in v)
    return True


def _finite(text: str) -> float:
    """orjson refuses numbers that overflow a double (1e999); the stdlib would make them inf."""
    x = float(text)
    if x in (float("inf"), float("-inf")):
        raise ValueError(text)
    return x


def same(a, b) -> bool:
    """Equality where NaN equals NaN (Parquet floats)."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


# ---------------------------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------------------------
LATIN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .!?-:/äöüÄÖÜß"
WIDE = LATIN + "€😀✓ñ"
MESSY = WIDE + ';,"\t|\r\n\x00\x1a\u2028\ufeff'
HEADER = ["id", "text", "created_at", "stars"]
ENCODINGS = ["utf-8", "utf-8-sig", "cp1252", "latin-1", "utf-16", "utf-16-le", "utf-16-be"]


def encode(text: str, enc: str) -> bytes:
    if enc == "utf-16":
        return text.encode("utf-16")  # with a byte order mark
    return text.encode(enc, errors="replace")


@st.composite
def csv_rows(draw, alphabet: str, max_rows: int = 12):
    n = draw(st.integers(0, max_rows))
    return [[draw(st.text(alphabet, max_size=30)) for _ in HEADER] for _ in range(n)]


def csv_text(rows: list[list[str]], line_end: str = "\n") -> str:
    """RFC 4180 quoting (a field with the delimiter, a quote, CR or LF is quoted), records ended by ``line_end``."""
    out = []
    for row in [HEADER, *rows]:
        buf = io.StringIO(newline="")
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerow(row)  # CRLF: CR alone is quoted too
        out.append(buf.getvalue()[:-2] + line_end)
    return "".join(out)


@st.composite
def mutated(draw, data: bytes) -> bytes:
    """The file as exported, or damaged: cut off, a stray quote, random bytes or a NUL run spliced in."""
    kind = draw(st.sampled_from(["none", "truncate", "quote", "bytes", "nul"]))
    if not data or kind == "none":
        return data
    at = draw(st.integers(0, len(data)))
    if kind == "truncate":
        return data[:at]
    insert = {"quote": b'"', "nul": b"\x00" * draw(st.integers(1, 9))}.get(kind) or draw(st.binary(min_size=1, max_size=16))
    return data[:at] + insert + data[at:]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(WIDE, max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(LATIN, max_size=8), inner, max_size=4),
    max_leaves=12)


@st.composite
def json_records(draw, max_rows: int = 10):
    n = draw(st.integers(0, max_rows))
    out = []
    for i in range(n):
        rec = {"id": draw(st.one_of(st.text(LATIN, max_size=6), st.integers(0, 99))),
               "text": draw(st.one_of(st.text(WIDE, max_size=60), json_values)),
               "created_at": draw(st.sampled_from(["2026-10-01T10:00:00Z", "01.10.2026 12:00", "", "morgen", 1790000000,
                                                   1790000000000, None, "2026-02-31"]))}
        rec.update(draw(st.dictionaries(st.text(LATIN, min_size=1, max_size=6), json_values, max_size=3)))
        out.append(rec)
    return out


# ---------------------------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------------------------
@FAST
@given(data=st.binary(max_size=3000), fmt=st.sampled_from(["csv", "jsonl", "parquet"]))
def test_random_bytes_never_crash_a_reader(workdir, data, fmt):
    read_checked(new_file(workdir, "." + fmt, data), fmt)


@FAST
@given(rows=csv_rows(LATIN), enc=st.sampled_from(ENCODINGS), line_end=st.sampled_from(["\n", "\r\n", "\r"]))
def test_csv_in_any_encoding_and_line_end_reads_back_exactly(workdir, rows, enc, line_end):
    """A well-formed export (quoting by the csv module) reads back record for record, value for value, in every
    encoding the sniffer must recognise, including UTF-16 without a byte order mark and old Mac line ends."""
    got = read_checked(new_file(workdir, ".csv", encode(csv_text(rows, line_end), enc)), "csv")
    assert got is not None and all(r.error is None for r in got)
    assert [[r.fields[h] for h in HEADER] for r in got] == rows


@FAST
@given(rows=csv_rows(MESSY), enc=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_csv_with_quotes_newlines_and_nul_reads_back_exactly(workdir, rows, enc):
    """Quoted fields holding the delimiter, quotes, CR/LF, NUL bytes and a BOM character survive intact."""
    got = read_checked(new_file(workdir, ".csv", encode(csv_text(rows), enc)), "csv")
    assert got is not None and all(r.error is None for r in got)
    assert [[r.fields[h] for h in HEADER] for r in got] == rows


@FAST
@given(data=st.data(), rows=csv_rows(MESSY), enc=st.sampled_from(ENCODINGS))
def test_damaged_csv_never_crashes_and_numbers_every_record(workdir, data, rows, enc):
    raw = data.draw(mutated(encode(csv_text(rows), enc)))
    read_checked(new_file(workdir, ".csv", raw), "csv")


@FAST
@given(recs=json_records(), ascii_only=st.booleans(), enc=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le"]),
       blank=st.sampled_from(["", "\n", "\r\n \n"]))
def test_jsonl_reads_back_every_object(workdir, recs, ascii_only, enc, blank):
    if enc == "utf-16-le":
        ascii_only = True  # without a byte order mark UTF-16 is recognised by its NUL bytes (Latin text)
    text = blank.join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in recs)
    got = read_checked(new_file(workdir, ".jsonl", encode(text, enc) if enc != "utf-8-sig" else
                                b"\xef\xbb\xbf" + text.encode("utf-8")), "jsonl")
    assert got is not None and [r.fields for r in got] == recs


@FAST
@given(data=st.data(), recs=json_records(), extra=st.lists(st.sampled_from([
    b"[1, 2]", b'"just a string"', b"{", b'{"text": "abgeschnitten', b"\x00\x00", b'{"a": "\\ud800"}', b"\xff\xfe\xfd",
    b'{"a": ' + b"[" * 1100 + b"]" * 1100 + b"}", b'{"text": "x", "deep": ' + b"[" * 300 + b"]" * 300 + b"}",
    b'{"n": 1e999}', b'{"n": 123456789012345678901234567890}', b"\xef\xbb\xbf{}", "{\"k\": \"\u00e4\"}".encode("cp1252")]),
    max_size=6))
def test_damaged_jsonl_never_crashes_and_counts_every_nonblank_line(workdir, data, recs, extra):
    lines = [json.dumps(r).encode("utf-8") for r in recs] + extra
    order = data.draw(st.permutations(range(len(lines))))
    raw = data.draw(mutated(b"\n".join(lines[i] for i in order) + b"\n"))
    got = read_checked(new_file(workdir, ".jsonl", raw), "jsonl")
    assert got is not None
    if not raw.startswith((b"\xff\xfe", b"\xfe\xff")) and _utf16_without_bom(raw[:4096]) is None:
        # UTF-8: one record per line that holds more than ASCII whitespace (a BOM opens the first line only);
        # an undecodable or unparseable line is a record too (quarantined)
        lines = raw.removeprefix(b"\xef\xbb\xbf").split(b"\n")
        assert len(got) == sum(1 for ln in lines if ln.strip())
        assert [r.error is None for r in got] == [_is_object(ln) for ln in lines if ln.strip()]


# -- Parquet -------------------------------------------------------------------------------------------------------
def _column(draw, n: int) -> pa.Array:
    kind = draw(st.sampled_from(["string", "binary", "int", "float", "bool", "ts", "ts_tz", "ts_wild", "date_wild",
                                 "list", "struct", "map", "decimal", "null", "dict", "duration", "big_uint"]))
    ints = st.integers(-(2**62), 2**62)
    if kind == "string":
        return pa.array(draw(st.lists(st.none() | st.text(MESSY, max_size=40), min_size=n, max_size=n)), pa.string())
    if kind == "binary":
        return pa.array(draw(st.lists(st.binary(max_size=20), min_size=n, max_size=n)), pa.binary())
    if kind == "int":
        return pa.array(draw(st.lists(st.none() | ints, min_size=n, max_size=n)), pa.int64())
    if kind == "float":
        return pa.array(draw(st.lists(st.floats(), min_size=n, max_size=n)), pa.float64())
    if kind == "bool":
        return pa.array(draw(st.lists(st.none() | st.booleans(), min_size=n, max_size=n)), pa.bool_())
    if kind in ("ts", "ts_tz"):
        vals = draw(st.lists(st.integers(0, 4_000_000_000), min_size=n, max_size=n))
        return pa.array(vals, pa.int64()).cast(pa.timestamp("s", tz="UTC" if kind == "ts_tz" else None))
    if kind == "ts_wild":  # years Python's datetime cannot hold
        return pa.array(draw(st.lists(ints, min_size=n, max_size=n)), pa.int64()).cast(pa.timestamp("us"))
    if kind == "date_wild":
        return pa.array(draw(st.lists(st.integers(-(2**31), 2**31 - 1), min_size=n, max_size=n)),
                        pa.int32()).cast(pa.date32())
    if kind == "list":
        return pa.array(draw(st.lists(st.none() | st.lists(ints, max_size=3), min_size=n, max_size=n)),
                        pa.list_(pa.int64()))
    if kind == "struct":
        return pa.array(draw(st.lists(st.fixed_dictionaries({"a": st.text(LATIN, max_size=5), "b": st.none() | ints}),
                                      min_size=n, max_size=n)))
    if kind == "map":
        return pa.array(draw(st.lists(st.lists(st.tuples(st.text(LATIN, max_size=3), ints), max_size=2),
                                      min_size=n, max_size=n)), pa.map_(pa.string(), pa.int64()))
    if kind == "decimal":
        from decimal import Decimal

        return pa.array([Decimal(x) / 100 for x in draw(st.lists(st.integers(-10**9, 10**9), min_size=n, max_size=n))],
                        pa.decimal128(18, 2))
    if kind == "null":
        return pa.nulls(n)
    if kind == "dict":
        return pa.array(draw(st.lists(st.sampled_from(["App", "Filiale", "Hotline"]), min_size=n, max_size=n))
                        ).dictionary_encode()
    if kind == "duration":
        return pa.array(draw(st.lists(ints, min_size=n, max_size=n)), pa.int64()).cast(pa.duration("us"))
    return pa.array(draw(st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n)), pa.uint64())


@st.composite
def parquet_tables(draw, max_rows: int = 12):
    n = draw(st.integers(0, max_rows))
    cols = {"text": _column(draw, n), "created_at": _column(draw, n)}
    for i in range(draw(st.integers(0, 3))):
        cols[f"x{i}"] = _column(draw, n)
    return pa.table(cols)


def _write_parquet(table: pa.Table, row_group_size: int) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=max(1, row_group_size))
    return buf.getvalue()


@FAST
@given(table=parquet_tables(), rg=st.integers(1, 5))
def test_parquet_with_odd_types_yields_one_row_per_record(workdir, table, rg):
    got = read_checked(new_file(workdir, ".parquet", _write_parquet(table, rg)), "parquet")
    assert got is not None and len(got) == table.num_rows
    for r in got:
        try:
            want = table.slice(r.row_number - 1, 1).to_pylist()[0]
        except (OverflowError, ValueError):  # a value Python cannot hold: the row must be quarantined, named
            assert r.error is not None and r.error[1].startswith("value out of range")
            continue
        assert r.error is None and same(r.fields, want)


@FAST
@given(data=st.data(), table=parquet_tables(), rg=st.integers(1, 5))
def test_damaged_parquet_never_crashes(workdir, data, table, rg):
    good = _write_parquet(table, rg)
    raw = data.draw(mutated(good))
    got = read_checked(new_file(workdir, ".parquet", raw), "parquet")
    if raw == good:
        assert got is not None and len(got) == table.num_rows


# ---------------------------------------------------------------------------------------------------------------
# the whole Ingestor
# ---------------------------------------------------------------------------------------------------------------
COLUMNS = {"csv": {"id": "id", "text": "text", "created_at": "created_at", "rating_stars": "stars"},
           "jsonl": {"id": "id", "text": "text", "created_at": "created_at", "likes": "likes"},
           "parquet": {"text": "text", "created_at": "created_at"}}


@pytest.fixture(scope="module")
def ingest_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("ingest")
    (root / "configs").mkdir()
    shutil.copy(REPO / "configs" / "settings.yaml", root / "configs" / "settings.yaml")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CXNLP_INGEST_WORKERS", "1")  # map in this process: no pool start-up per example
        mp.setenv("CXNLP_AUTHOR_SALT", "fuzz-salt")
        yield root


def ingest_twice(root: Path, fmt: str, raw: bytes) -> None:
    """Ingests a file and checks the accounting against the reader; then ingests it again as if its progress
    marker were lost (a re-export of the same rows): every row must come out 'unchanged', nothing stored twice;
    and once more with the marker: the file is skipped."""
    from cxnlp.config import SourceConfig, load_settings
    from cxnlp.ingest.pipeline import Ingestor, map_batch
    from cxnlp.schema import Feedback
    from cxnlp.store import open_store

    d = root / f"run{next(_counter)}"
    d.mkdir()
    path = d / f"export.{fmt}"
    path.write_bytes(raw)
    cfg = SourceConfig(name="fuzz", path=path, source="review", format=fmt, columns=COLUMNS[fmt])
    rows: list[RawRow] = []
    try:
        for r in read_records(path, fmt):
            rows.append(r)
        refused = False
    except ReaderError:
        refused = True  # the rows before the damage are still ingested
    tables = ("feedback", "duplicates", "quarantine")
    with open_store(path=d / "store.duckdb") as store:
        ing = Ingestor(store, load_settings(root), batch_size=5)
        # every row the reader yields, traced through the mapper on its own
        mapped = map_batch(ing.mapper(cfg), rows)
        want_ids = {m.id for m in mapped if isinstance(m, Feedback)}
        want_quarantined = sum(1 for m in mapped if not isinstance(m, Feedback))
        s1 = ing.ingest_source(cfg, "fuzz-1")
        totals = {t: store.count(t) for t in tables}
        have_ids = {r[0] for r in store.query("SELECT id FROM feedback UNION ALL SELECT id FROM duplicates")}
        store.query("DELETE FROM files RETURNING 1")
        s2 = ing.ingest_source(cfg, "fuzz-2")
        again = {t: store.count(t) for t in tables}
        s3 = ing.ingest_source(cfg, "fuzz-3")
        ing.close()
    assert s1.rows_read == len(rows)
    if refused:
        assert s1.errors  # the file (or its damaged rest) was refused: said so, not crashed
    else:
        assert not s1.errors and s3.files_skipped == 1 and s3.rows_read == 0
    assert s1.stored + s1.duplicates + s1.quarantined + s1.unchanged == s1.rows_read
    assert totals == {"feedback": s1.stored, "duplicates": s1.duplicates, "quarantine": s1.quarantined}
    # nothing lost: every good row is stored or a duplicate (identical records share one id: the repeats count
    # as unchanged), every bad row is quarantined
    assert have_ids == want_ids and s1.quarantined == want_quarantined
    assert s1.unchanged == sum(1 for m in mapped if isinstance(m, Feedback)) - len(want_ids)
    assert s2.rows_read == s1.rows_read and s2.unchanged == s2.rows_read, "a re-read stored something twice"
    assert again == totals
    shutil.rmtree(d)


@FAST
@given(data=st.data(), rows=csv_rows(MESSY), enc=st.sampled_from(ENCODINGS))
def test_ingestor_accounts_for_every_csv_row(ingest_root, data, rows, enc):
    rows = [[r[0], r[1] or data.draw(st.text(WIDE, min_size=1, max_size=40)),
             data.draw(st.sampled_from(["01.10.2026 10:00", "2026-10-01", "", "31.02.2026", r[2]])),
             data.draw(st.sampled_from(["5", "4,0", "7", "", "★★★☆☆", "x", r[3]]))] for r in rows]
    ingest_twice(ingest_root, "csv", data.draw(mutated(encode(csv_text(rows), enc))))


@FAST
@given(data=st.data(), recs=json_records())
def test_ingestor_accounts_for_every_jsonl_row(ingest_root, data, recs):
    for r in recs:
        r["likes"] = data.draw(st.sampled_from([None, 3, -1, 2**40, "1.234", 1e300, "viele", [1]]))
    lines = [json.dumps(r).encode("utf-8") for r in recs]
    lines += data.draw(st.lists(st.sampled_from([b"[1]", b"{", b'{"text": "x", "deep": ' + b"[" * 300 + b"]" * 300 + b"}",
                                                 b'{"text": "gleich", "created_at": "2026-10-01"}', b"\xff\x00"]),
                                max_size=4))
    ingest_twice(ingest_root, "jsonl", data.draw(mutated(b"\n".join(lines))))


@settings(FAST, max_examples=12)
@given(data=st.data(), table=parquet_tables())
def test_ingestor_accounts_for_every_parquet_row(ingest_root, data, table):
    ingest_twice(ingest_root, "parquet", data.draw(mutated(_write_parquet(table, data.draw(st.integers(1, 4))))))


# -- huge fields ---------------------------------------------------------------------------------------------------
def test_fields_of_several_megabytes_are_quarantined_or_kept_not_fatal(ingest_root):
    """5 MB texts and metadata, quoted and unquoted, in every format: the row is quarantined as oversize (text)
    or stored (metadata); its neighbours are untouched."""
    big = "Lieferung " * 500_000  # 5 MB
    rows = [["1", big, "01.10.2026 10:00", "5"], ["2", "Kurz und gut, danke schön!", "01.10.2026 10:00", "4"],
            ["3", '"' + big[:2_000_000] + '"', "01.10.2026 10:00", "1"]]
    legacy = [[a, b.replace('"', ""), c, d] for a, b, c, d in (rows[1], rows[0], rows[2])]  # umlaut in the sniffed MB
    for raw in (csv_text(rows).encode("utf-8"), csv_text(legacy).encode("cp1252")):
        got = read_checked(new_file(ingest_root, ".csv", raw), "csv")
        assert len(got) == 3 and all(r.error is None for r in got)
        ingest_twice(ingest_root, "csv", raw)
    recs = [{"id": "a", "text": big, "created_at": "2026-10-01"},
            {"id": "b", "text": "Alles bestens, gerne wieder.", "created_at": "2026-10-01", "anhang": big}]
    ingest_twice(ingest_root, "jsonl", b"\n".join(json.dumps(r).encode() for r in recs))
    ingest_twice(ingest_root, "parquet", _write_parquet(pa.table({"text": [big, "ok so weit", None],
                                                                  "created_at": ["2026-10-01"] * 3}), 2))


def test_reader_errors_only_for_unreadable_files(tmp_path):
    """The only exception a reader raises is ReaderError, and only for the file as a whole."""
    with pytest.raises(ReaderError):
        list(read_csv(tmp_path / "missing.csv"))
    with pytest.raises(ReaderError):
        list(read_jsonl(tmp_path / "missing.jsonl"))
    (tmp_path / "x.parquet").write_bytes(b"PAR1 not really PAR1")
    with pytest.raises(ReaderError):
        list(read_parquet(tmp_path / "x.parquet"))
    (tmp_path / "x.csv").write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(ReaderError, match="unknown encoding"):
        list(read_csv(tmp_path / "x.csv", encoding="utf-9"))


# -- long variants -------------------------------------------------------------------------------------------------
@pytest.mark.faults
@LONG
@given(data=st.binary(max_size=20_000), fmt=st.sampled_from(["csv", "jsonl", "parquet"]))
def test_long_random_bytes_never_crash_a_reader(workdir, data, fmt):
    read_checked(new_file(workdir, "." + fmt, data), fmt)


@pytest.mark.faults
@LONG
@given(data=st.data(), rows=csv_rows(MESSY, max_rows=60), enc=st.sampled_from(ENCODINGS))
def test_long_ingestor_accounts_for_every_csv_row(ingest_root, data, rows, enc):
    ingest_twice(ingest_root, "csv", data.draw(mutated(encode(csv_text(rows), enc))))


@pytest.mark.faults
@LONG
@given(data=st.data(), recs=json_records(max_rows=40))
def test_long_ingestor_accounts_for_every_jsonl_row(ingest_root, data, recs):
    ingest_twice(ingest_root, "jsonl", data.draw(mutated(b"\n".join(json.dumps(r).encode() for r in recs))))


@pytest.mark.faults
@LONG
@given(data=st.data(), table=parquet_tables(max_rows=40))
def test_long_ingestor_accounts_for_every_parquet_row(ingest_root, data, table):
    ingest_twice(ingest_root, "parquet", data.draw(mutated(_write_parquet(table, data.draw(st.integers(1, 9))))))

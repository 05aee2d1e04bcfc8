"""Streaming readers for CSV, JSONL and Parquet exports.

Each reader yields :class:`RawRow` one input record at a time, in bounded memory, and never raises
on bad content: a row that cannot be parsed comes out with ``error`` set (reason code + detail) and its
raw text, so the caller can quarantine it. Only an unreadable *file* (missing, not a Parquet file) raises
:class:`ReaderError`.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

try:  # orjson ships with prefect; the stdlib is the fallback
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

SNIFF_BYTES = 1 << 20
MAX_RECORD_LINES = 200  # a quoted CSV field spanning more lines is treated as broken quoting
MAX_RECORD_BYTES = 1 << 20
_SURROGATES = re.compile("[\udc80-\udcff]")


class ReaderError(IOError):
    """The file itself cannot be read (missing, unreadable, wrong format)."""


@dataclass(slots=True)
class RawRow:
    row_number: int  # 1-based record number within the file (header excluded)
    fields: dict[str, Any] | None
    raw: str
    error: tuple[str, str] | None = None


def sniff_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as such, else the most likely legacy
    encoding; German shop exports are usually cp1252."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        # a multi-byte sequence cut at the sample's end is still UTF-8
        if e.start >= len(sample) - 3 and e.reason == "unexpected end of data":
            return "utf-8"
        # invalid UTF-8 beyond the first few kB in an otherwise valid file: a broken row, not a legacy file
        try:
            sample[: e.start].decode("utf-8")
            head_ok = e.start > 4096 and not _looks_legacy(sample)
        except UnicodeDecodeError:
            head_ok = False
        if head_ok:
            return "utf-8"
    return "cp1252"


def _looks_legacy(sample: bytes) -> bool:
    """True when the sample holds many high bytes that are not UTF-8 sequences (cp1252/latin-1 text)."""
    bad = 0
    data = sample
    while data:
        try:
            data.decode("utf-8")
            break
        except UnicodeDecodeError as e:
            bad += 1
            data = data[e.end :]
            if bad > 3:
                return True
    return False


def sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    header = lines[0]
    # the delimiter that appears most often in the header and consistently in the next lines
    best, best_score = ",", -1.0
    for d in (";", ",", "\t", "|"):
        n = header.count(d)
        if n == 0:
            continue
        consistent = sum(1 for ln in lines[1:20] if ln.count(d) >= n) / max(1, len(lines[1:20]))
        score = n * (0.5 + consistent)
        if score > best_score:
            best, best_score = d, score
    return best


def _decoded_lines(f: io.BufferedReader, encoding: str) -> Iterator[str]:
    """Physical lines decoded one by one; undecodable bytes survive as surrogate escapes so the
    row that holds them can be quarantined without losing its neighbours."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    first = True
    for bline in f:
        if first:
            first = False
            if encoding == "utf-8-sig" and bline.startswith(b"\xef\xbb\xbf"):
                bline = bline[3:]
        yield bline.decode(codec, errors="surrogateescape")


def _has_bad_bytes(s: str) -> bool:
    return _SURROGATES.search(s) is not None


def _visible(s: str) -> str:
    """Raw text for the quarantine table: undecodable bytes shown as \\xNN."""
    return s.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="backslashreplace")


def read_csv(path: str | Path, delimiter: str | None = None, encoding: str | None = None) -> Iterator[RawRow]:
    """Stream a CSV file. Delimiter and encoding are sniffed unless given.

    Records are assembled line by line with an RFC 4180 quote-parity check, so a field with an
    unterminated quote costs one quarantined row, never the rest of the file.
    """
    p = Path(path)
    try:
        f = p.open("rb")
    except OSError as e:
        raise ReaderError(f"cannot open {p.name}: {e.strerror}") from e
    with f:
        sample = f.read(SNIFF_BYTES)
        enc = encoding or sniff_encoding(sample)
        if enc == "utf-16":  # rare; decode whole-stream (line splitting on bytes does not work)
            yield from _read_csv_text(io.TextIOWrapper(f, encoding="utf-16", errors="surrogateescape", newline=""),
                                      delimiter, sample, p)
            return
        f.seek(0)
        head = sample[:65536].decode("utf-8" if enc.startswith("utf-8") else enc, errors="replace")
        delim = delimiter or sniff_delimiter(head.lstrip("\ufeff"))
        lines = _decoded_lines(f, enc)
        yield from _records(lines, delim)


def _read_csv_text(stream: io.TextIOBase, delimiter: str | None, sample: bytes, p: Path) -> Iterator[RawRow]:
    head = sample[:65536].decode("utf-16", errors="replace")
    delim = delimiter or sniff_delimiter(head.lstrip("\ufeff"))
    yield from _records(iter(stream.readline, ""), delim)


def _split_simple(line: str, delim: str) -> list[str]:
    return line.rstrip("\r\n").split(delim)


def _records(lines: Iterator[str], delim: str) -> Iterator[RawRow]:
    header: list[str] | None = None
    pending: list[str] = []  # lines of the record being assembled
    row_no = 0

    def parse(record_lines: list[str]) -> list[str] | None:
        text = "".join(record_lines)
        if '"' not in text:
            return _split_simple(text, delim)
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=delim, strict=True))
        except csv.Error:
            return None
        if len(rows) != 1:
            return None
        return rows[0]

    buffered: list[str] = []  # lines to re-feed after an unterminated-quote recovery
    it = iter(lines)

    def next_line() -> str | None:
        if buffered:
            return buffered.pop(0)
        return next(it, None)

    while True:
        line = next_line()
        if line is None:
            if not pending:
                break
            at_eof = True  # the file ended inside a quoted field
        else:
            at_eof = False
            if not pending and not line.strip():
                continue  # blank physical line between records: carries nothing
            pending.append(line)
        text_len = sum(len(x) for x in pending)
        quotes = sum(x.count('"') for x in pending)
        if quotes % 2 == 1:
            if not at_eof and len(pending) < MAX_RECORD_LINES and text_len < MAX_RECORD_BYTES:
                continue  # a quoted field goes on over the next line
            # unterminated quote: the first line becomes a malformed row, the rest is read again
            bad = pending[0]
            buffered[:0] = pending[1:]
            pending = []
            if header is None:
                raise ReaderError("the CSV header has an unterminated quote")
            row_no += 1
            yield RawRow(row_no, None, _visible(bad.rstrip("\r\n")), ("malformed_row", "unterminated quote"))
            continue
        record, pending = pending, []
        fields = parse(record)
        raw = "".join(record).rstrip("\r\n")
        if header is None:
            if fields is None:
                raise ReaderError("the CSV header cannot be parsed")
            header = [h.strip().lstrip("\ufeff") for h in fields]
            continue
        row_no += 1
        if fields is None:
            yield RawRow(row_no, None, _visible(raw), ("malformed_row", "broken quoting"))
            continue
        if len(fields) != len(header):
            # trailing empty fields from a trailing delimiter are harmless
            while len(fields) > len(header) and fields[-1] == "":
                fields.pop()
            if len(fields) != len(header):
                yield RawRow(row_no, None, _visible(raw),
                             ("malformed_row", f"{len(fields)} fields, header has {len(header)}"))
                continue
        if _has_bad_bytes(raw):
            yield RawRow(row_no, None, _visible(raw), ("broken_encoding", "bytes invalid in the file's encoding"))
            continue
        yield RawRow(row_no, dict(zip(header, fields)), raw)


def read_jsonl(path: str | Path, encoding: str | None = None) -> Iterator[RawRow]:
    """Stream a JSON-lines file: one object per line. Blank lines are skipped."""
    p = Path(path)
    try:
        f = p.open("rb")
    except OSError as e:
        raise ReaderError(f"cannot open {p.name}: {e.strerror}") from e
    enc = encoding or "utf-8"
    row_no = 0
    with f:
        first = True
        for bline in f:
            if first:
                first = False
                if bline.startswith(b"\xef\xbb\xbf"):
                    bline = bline[3:]
            if not bline.strip():
                continue
            row_no += 1
            try:
                line = bline.decode(enc)
            except UnicodeDecodeError:
                raw = bline.decode(enc, errors="backslashreplace").rstrip("\r\n")
                yield RawRow(row_no, None, raw, ("broken_encoding", f"bytes invalid in {enc}"))
                continue
            raw = line.rstrip("\r\n")
            try:
                obj = _loads(raw)
            except (ValueError, TypeError) as e:
                yield RawRow(row_no, None, raw, ("malformed_row", f"invalid JSON: {str(e)[:120]}"))
                continue
            if not isinstance(obj, dict):
                yield RawRow(row_no, None, raw, ("malformed_row", f"a JSON {type(obj).__name__}, not an object"))
                continue
            yield RawRow(row_no, obj, raw)


def read_parquet(path: str | Path, batch_size: int = 10_000) -> Iterator[RawRow]:
    """Stream a Parquet file batch by batch (Arrow)."""
    import pyarrow.parquet as pq

    p = Path(path)
    try:
        pf = pq.ParquetFile(p)
    except FileNotFoundError as e:
        raise ReaderError(f"cannot open {p.name}: not found") from e
    except Exception as e:  # pyarrow raises ArrowInvalid and friends for non-Parquet files
        raise ReaderError(f"{p.name} is not a readable Parquet file: {e}") from e
    row_no = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for rec in batch.to_pylist():
            row_no += 1
            yield RawRow(row_no, rec, _json_raw(rec))


def _json_raw(rec: dict[str, Any]) -> str:
    return json.dumps(rec, ensure_ascii=False, default=str)


def read_records(path: str | Path, fmt: str, delimiter: str | None = None,
                 encoding: str | None = None) -> Iterator[RawRow]:
    if fmt == "csv":
        return read_csv(path, delimiter=delimiter, encoding=encoding)
    if fmt == "jsonl":
        return read_jsonl(path, encoding=encoding)
    if fmt == "parquet":
        return read_parquet(path)
    raise ReaderError(f"unknown format {fmt!r}; use csv, jsonl or parquet")

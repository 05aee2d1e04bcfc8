"""Streaming readers for CSV, JSONL and Parquet exports.

Each reader yields :class:`RawRow` one input record at a time, in bounded memory, and never raises
on bad content: a row that cannot be parsed comes out with ``error`` set (reason code + detail) and its
raw text, so the caller can quarantine it. Only an unreadable *file* (missing, not a Parquet file) raises
:class:`ReaderError`.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from cxnlp.schema import json_value

SNIFF_BYTES = 1 << 20
MAX_RECORD_LINES = 200  # a quoted CSV field spanning more lines is treated as broken quoting
MAX_RECORD_BYTES = 1 << 20
_SURROGATES = re.compile("[\ud800-\udfff]")  # lone surrogates: only our escapes of undecodable bytes make them
_ESCAPE = "cxnlp.escape"


def _escape_bytes(err: UnicodeDecodeError) -> tuple[str, int]:
    """Decoding error handler: each undecodable byte becomes the lone surrogate U+DC00 + byte. Unlike
    'surrogateescape' it also takes bytes below 0x80 (a stray half of a UTF-16 unit) instead of raising."""
    return "".join(chr(0xDC00 + b) for b in err.object[err.start:err.end]), err.end


codecs.register_error(_ESCAPE, _escape_bytes)
# a quoted field may be large (a pasted e-mail thread); the mapper rejects oversize texts with their own reason
csv.field_size_limit(max(csv.field_size_limit(), 1 << 26))


class ReaderError(IOError):
    """The file itself cannot be read (missing, unreadable, wrong format)."""


@dataclass(slots=True)
class RawRow:
    row_number: int  # 1-based record number within the file (header excluded)
    fields: dict[str, Any] | None
    raw: str
    error: tuple[str, str] | None = None
    # a row refused for bad bytes whose fields could still be split (shown as \\xNN): only for the quarantine's
    # redacted view (cxnlp.ingest.mapping.RowMapper.quarantine_view), never mapped
    partial: dict[str, Any] | None = None
    # a CSV row with more fields than the header (an unquoted delimiter inside a text): (header, fields,
    # delimiter), so the quarantine's view can still tell its columns apart; never mapped
    cells: tuple[list[str], list[str], str] | None = None


def sniff_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as such, else the most likely legacy
    encoding; German shop exports are usually cp1252."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    bom_less = _utf16_without_bom(sample)
    if bom_less:
        return bom_less
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


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 without a byte order mark: text in Latin script has a NUL byte in (nearly) every other position."""
    head = sample[:4096]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.6 and zeros_even < 0.1:
        return "utf-16-le"
    if zeros_even > 0.6 and zeros_odd < 0.1:
        return "utf-16-be"
    return None


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
        yield bline.decode(codec, errors=_ESCAPE)


def _has_bad_bytes(s: str) -> bool:
    return _SURROGATES.search(s) is not None


def _visible(s: str) -> str:
    """Raw text for the quarantine table: undecodable bytes shown as \\xNN (valid text, storable anywhere)."""
    if _SURROGATES.search(s) is None:
        return s
    return _SURROGATES.sub(lambda m: _show(ord(m.group())), s)


def _show(cp: int) -> str:
    return f"\\x{cp - 0xDC00:02x}" if 0xDC00 <= cp <= 0xDCFF else f"\\u{cp:04x}"


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
        enc = _codec(encoding) if encoding else sniff_encoding(sample)
        f.seek(0)  # the sample is read again: it holds the header and the first records
        if enc.startswith(("utf-16", "utf-32")) or (b"\r" in sample and b"\n" not in sample):
            # rare: two-byte units (line splitting on bytes does not work) or old Mac line ends (CR only);
            # decoded as a text stream that ends lines at CR, LF or CRLF
            yield from _read_csv_text(io.TextIOWrapper(f, encoding=enc, errors=_ESCAPE, newline=""),
                                      delimiter, sample, enc)
            return
        head = sample[:65536].decode("utf-8" if enc.startswith("utf-8") else enc, errors="replace")
        delim = delimiter or sniff_delimiter(head.lstrip("\ufeff"))
        lines = _decoded_lines(f, enc)
        yield from _records(lines, delim)


def _read_csv_text(stream: io.TextIOBase, delimiter: str | None, sample: bytes, enc: str) -> Iterator[RawRow]:
    head = sample[:65536].decode(enc, errors="replace")
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
            # undecodable bytes in a column name become visible \xNN escapes: names must be valid text
            header = [_visible(h.strip().lstrip("\ufeff")) for h in fields]
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
                             ("malformed_row", f"{len(fields)} fields, header has {len(header)}"),
                             cells=(header, [_visible(f) for f in fields], delim) if len(fields) > len(header)
                             else None)
                continue
        if _has_bad_bytes(raw):
            yield RawRow(row_no, None, _visible(raw), ("broken_encoding", "bytes invalid in the file's encoding"),
                         partial={h: _visible(v) for h, v in zip(header, fields)})
            continue
        yield RawRow(row_no, dict(zip(header, fields)), raw)


def read_jsonl(path: str | Path, encoding: str | None = None) -> Iterator[RawRow]:
    """Stream a JSON-lines file: one object per line. Blank lines are skipped. UTF-8 unless configured; UTF-16
    is recognised by its byte order mark (or its NUL bytes when it has none)."""
    for row_no, raw, enc in jsonl_lines(path, encoding):
        yield jsonl_row(row_no, raw, enc)


def jsonl_lines(path: str | Path, encoding: str | None = None) -> Iterator[tuple[int, str, str]]:
    """The records of a JSON-lines file, not yet parsed: ``(row number, line, encoding)``. The ingestor sends
    lines to its workers, which parse them with :func:`jsonl_row` (parsing costs more than reading)."""
    p = Path(path)
    try:
        f = p.open("rb")
    except OSError as e:
        raise ReaderError(f"cannot open {p.name}: {e.strerror}") from e
    row_no = 0
    with f:
        head = f.read(4096)
        f.seek(0)
        if encoding:
            enc = _codec(encoding)
        elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
            enc = "utf-16"
        else:
            enc = _utf16_without_bom(head) or "utf-8"
        if enc.startswith("utf-16") or enc.startswith("utf-32"):
            lines: Iterator[str] = iter(io.TextIOWrapper(f, encoding=enc, errors=_ESCAPE, newline="\n"))
        else:
            lines = _decoded_lines(f, "utf-8-sig" if enc in ("utf-8", "utf-8-sig") else enc)
        for line in lines:
            if not line.strip(" \t\n\r\x0b\x0c"):
                continue
            row_no += 1
            yield row_no, line.rstrip("\r\n"), enc


def jsonl_row(row_no: int, raw: str, enc: str) -> RawRow:
    """One JSON-lines record parsed: its fields, or the reason it cannot be read."""
    if _has_bad_bytes(raw):
        shown = _visible(raw)
        try:  # the bad bytes as \\xNN inside the JSON strings (an escaped backslash: valid JSON)
            obj = json_value(_SURROGATES.sub(lambda m: "\\" + _show(ord(m.group())), raw))
        except (ValueError, TypeError, RecursionError):
            obj = None
        return RawRow(row_no, None, shown, ("broken_encoding", f"bytes invalid in {enc}"),
                      partial=obj if isinstance(obj, dict) else None)
    try:
        obj = json_value(raw)
    except (ValueError, TypeError) as e:
        return RawRow(row_no, None, raw, ("malformed_row", f"invalid JSON: {str(e)[:120]}"))
    if not isinstance(obj, dict):
        return RawRow(row_no, None, raw, ("malformed_row", f"a JSON {type(obj).__name__}, not an object"))
    return RawRow(row_no, obj, raw)


def _codec(name: str) -> str:
    """The codec's canonical name; ReaderError for an unknown one (a typo in sources.yaml)."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ReaderError(f"unknown encoding {name!r} in the source's configuration") from None


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
    try:
        for batch in pf.iter_batches(batch_size=batch_size):
            try:
                records = batch.to_pylist()
            except (OverflowError, ValueError, ArithmeticError):  # a value Python cannot hold (year 30000)
                records = None
            for i in range(batch.num_rows):
                row_no += 1
                rec = records[i] if records is not None else _row_or_error(batch, i)
                if isinstance(rec, RawRow):
                    rec.row_number = row_no
                    yield rec
                else:
                    yield RawRow(row_no, rec, _json_raw(rec))
    except ReaderError:
        raise
    except Exception as e:  # a damaged row group or page: the rows before it are kept
        raise ReaderError(f"{p.name}: the Parquet data is damaged after row {row_no}: {str(e)[:200]}") from e


def _row_or_error(batch, i: int) -> dict[str, Any] | RawRow:
    """One row of a batch that failed to convert: the row, or a malformed RawRow naming the bad column."""
    row = batch.slice(i, 1)
    try:
        return row.to_pylist()[0]
    except (OverflowError, ValueError, ArithmeticError):
        pass
    shown: dict[str, Any] = {}
    bad: list[str] = []
    for name, col in zip(row.schema.names, row.columns):
        try:
            shown[name] = col.to_pylist()[0]
        except (OverflowError, ValueError, ArithmeticError):
            bad.append(name)
            try:
                shown[name] = col.cast("string").to_pylist()[0]
            except Exception:
                shown[name] = repr(col[0])
    return RawRow(0, None, _json_raw(shown),
                  ("malformed_row", f"value out of range in column(s) {', '.join(map(repr, bad))}"))


def _json_raw(rec: dict[str, Any]) -> str:
    try:
        return json.dumps(rec, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):  # nesting too deep for json: still a readable raw text
        return repr(rec)[:100_000]


def read_records(path: str | Path, fmt: str, delimiter: str | None = None,
                 encoding: str | None = None) -> Iterator[RawRow]:
    if fmt == "csv":
        return read_csv(path, delimiter=delimiter, encoding=encoding)
    if fmt == "jsonl":
        return read_jsonl(path, encoding=encoding)
    if fmt == "parquet":
        return read_parquet(path)
    raise ReaderError(f"unknown format {fmt!r}; use csv, jsonl or parquet")

"""`cxnlp tag IN -o OUT`: tag a file of texts (JSONL, CSV or Parquet) into a file of the same kind.

One output row per input record, with the same ``id``. Records that cannot be read (broken JSON, broken
quoting) still get a row, with ``error`` set, so the output accounts for every input record.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from cxnlp.config import format_from_path
from cxnlp.ingest.language import LanguageDetector
from cxnlp.ingest.normalize import normalize_text
from cxnlp.ingest.readers import read_records
from cxnlp.spreadsheet import safe_cell

PASSTHROUGH = ("created_at", "source", "rating")


def tag_file(tagger, src: str | Path, dst: str | Path, batch_size: int = 256) -> dict[str, int]:
    src, dst = Path(src), Path(dst)
    fmt_in, fmt_out = format_from_path(src), format_from_path(dst)
    detector = LanguageDetector()
    counts = {"rows": 0, "tagged": 0, "errors": 0}
    writer = _Writer(dst, fmt_out)
    try:
        pending: list[tuple[dict[str, Any], str | None]] = []  # in input order; text None = unreadable row

        def flush() -> None:
            results = iter(tagger.tag_batch([t for _, t in pending if t is not None]))
            for row, text in pending:
                if text is None:
                    writer.write(row)
                    continue
                lang, _ = detector.detect(text) if text else ("und", 0.0)
                writer.write({**row, "language": lang, **next(results)})
                counts["tagged"] += 1
            pending.clear()

        for raw in read_records(src, fmt_in):
            counts["rows"] += 1
            if raw.error or raw.fields is None:
                err = raw.error or ("malformed_row", "no fields")
                pending.append(({"id": None, "row_number": raw.row_number, "error": f"{err[0]}: {err[1]}"}, None))
                counts["errors"] += 1
                continue
            f = raw.fields
            row: dict[str, Any] = {"id": f.get("id", raw.row_number)}
            for k in PASSTHROUGH:
                if k in f:
                    row[k] = f[k]
            text = f.get("text")
            text = normalize_text(text if isinstance(text, str) else ("" if text is None else str(text)))
            if "id" not in f:
                row["warning"] = "no id in input: the row number is used"
            pending.append((row, text))
            if len(pending) >= batch_size:
                flush()
        if pending:
            flush()
    finally:
        writer.close()
    return counts


class _Writer:
    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt = path, fmt
        path.parent.mkdir(parents=True, exist_ok=True)
        self.rows: list[dict[str, Any]] = []
        self.f = path.open("w", encoding="utf-8", newline="") if fmt in ("jsonl", "csv") else None
        self.csv = None

    def write(self, row: dict[str, Any]) -> None:
        if self.fmt == "jsonl":
            self.f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            return
        flat = {k: (json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, (dict, list)) else v)
                for k, v in row.items()}
        if self.fmt == "csv":
            import csv

            if self.csv is None:
                self.fields = ["id", "row_number", "error", "warning", *PASSTHROUGH, "language", "sentiment",
                               "sentences", "emotions", "facets", "touchpoints", "phase", "relevance", "offensive",
                               "sustainability", "churn", "experience", "note", "model"]
                self.csv = csv.DictWriter(self.f, fieldnames=self.fields, extrasaction="ignore")
                self.csv.writeheader()
            self.csv.writerow({k: safe_cell(v) for k, v in flat.items()})
        else:
            self.rows.append(flat)

    def close(self) -> None:
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            keys: dict[str, None] = {}
            for r in self.rows:
                keys.update(dict.fromkeys(r))
            cols = {k: [None if r.get(k) is None else str(r.get(k)) for r in self.rows] for k in keys}
            pq.write_table(pa.table(cols), self.path)
        if self.f:
            self.f.close()


def iter_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)

"""Ingest: read each configured source, map, redact, de-duplicate, quarantine, store in batches.

Every input row ends as exactly one of: stored, duplicate (pointing to its original), quarantined,
unchanged (already accounted for by an earlier run: same id / same bad row), or erased (its id or author was
erased on request: :mod:`cxnlp.erasure`; nothing of it is stored). Counts per source and
per quarantine reason are returned and kept in the runs table.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa

from cxnlp.config import SourceConfig, load_settings, Settings
from cxnlp.ingest.language import LanguageDetector
from cxnlp.ingest.mapping import QUARANTINE_CHARS, RowMapper, RowRejected
from cxnlp.ingest.readers import RawRow, ReaderError, jsonl_lines, jsonl_row, read_records
from cxnlp.ingest.redact import Redactor
from cxnlp.schema import Duplicate, Feedback, QuarantineRow, feedback_table

log = logging.getLogger("cxnlp.ingest")

DEFAULT_SALT = "cxnlp-demo-salt-change-me"


def author_salt(settings: Settings) -> str:
    """The key of the author hashes: CXNLP_AUTHOR_SALT, else ingest.author_salt, else the demo default."""
    return os.environ.get("CXNLP_AUTHOR_SALT") or settings.get("ingest", "author_salt", DEFAULT_SALT) or DEFAULT_SALT


@dataclass
class SourceStats:
    source_name: str
    files_read: int = 0
    files_skipped: int = 0  # unchanged files already ingested completely
    rows_read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    unchanged: int = 0
    erased: int = 0  # rows of a text or author erased on request (cxnlp.erasure): not stored again
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def accounted(self) -> int:
        return self.stored + self.duplicates + self.quarantined + self.unchanged + self.erased

    def as_dict(self) -> dict:
        return {
            "source_name": self.source_name, "files_read": self.files_read, "files_skipped": self.files_skipped,
            "rows_read": self.rows_read, "stored": self.stored, "duplicates": self.duplicates,
            "quarantined": self.quarantined, "unchanged": self.unchanged, "erased": self.erased,
            "reasons": dict(sorted(self.reasons.items())), "seconds": round(self.seconds, 3),
            "errors": self.errors,
        }


def file_fingerprint(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


KEPT_RAW_CHARS = 100_000  # of a rejected row as read: what its key and fingerprint are computed from


def raw_hash(raw: str) -> str:
    """A rejected row's fingerprint: the quarantine keeps the row redacted, so identical bad rows are counted by
    this (across a resume too) instead of by their text."""
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def quarantine_key(source_name: str, raw: str, occurrence: int) -> str:
    """Same bad row of the same source -> same key, also when a re-export moves it to another file or
    line; ``occurrence`` keeps identical bad rows within one file apart."""
    key = f"{source_name}\x1f{occurrence}\x1f{raw}"
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class Ingestor:
    """Ingests configured sources into a store. Library entry point (no Prefect needed)."""

    def __init__(self, store, settings: Settings | None = None, *, batch_size: int | None = None):
        self.store = store
        self.settings = settings or load_settings()
        s = self.settings
        self.batch_size = int(batch_size or s.get("ingest", "batch_size", 5000))
        self.salt = author_salt(s)
        if self.salt == DEFAULT_SALT:
            log.warning("author hashes use the demo salt; set CXNLP_AUTHOR_SALT for real data")
        self.redactor = Redactor()
        self._pool = None
        self._erased: dict[str, set[str]] | None = None  # suppression list by kind, read once per ingest
        lang = s.section("language")
        self.detector = LanguageDetector(candidates=lang.get("candidates") or ("de", "en"),
                                         default=lang.get("default", "de"),
                                         min_confidence=float(lang.get("min_confidence", 0.55)))

    def mapper(self, cfg: SourceConfig) -> RowMapper:
        spec = self._mapper_spec()
        return RowMapper(cfg, redactor=self.redactor, detector=self.detector,
                         **{k: v for k, v in spec.items() if k != "language"})

    def ingest(self, sources: Iterable[SourceConfig], run_id: str,
               on_batch: Callable[[str, int], None] | None = None) -> dict[str, SourceStats]:
        sources = list(sources)
        self._erased = None  # requests made since the last ingest count
        try:
            self.redact_old_quarantine(sources)
            return {cfg.name: self.ingest_source(cfg, run_id, on_batch=on_batch) for cfg in sources}
        finally:
            self.close()

    def redact_old_quarantine(self, sources: Iterable[SourceConfig] = ()) -> int:
        """Redacts the rows an earlier version quarantined as they were read (they have no ``raw_hash``). Each
        gets its fingerprint, so a resumed file still counts its identical bad rows, and in place of the row what
        :meth:`RowMapper.quarantine_view` keeps of it: with the row's fields where its file is still there (read
        again, the row found by its number and checked against the stored text), else the redacted text.
        Returns the number of rows redacted."""
        rows = self.store.query("SELECT key, source_name, file, row_number, raw, detail FROM quarantine "
                                "WHERE raw_hash IS NULL")
        if not rows:
            return 0
        configs = {cfg.name: cfg for cfg in sources}
        mappers = {name: self.mapper(cfg) for name, cfg in configs.items()}
        omit = self._mapper_spec()["quarantine_raw"] == "omit"  # for the rows of sources no longer configured
        wanted: dict[tuple[str, str], set[int]] = {}
        for _, source_name, fname, row_number, _, _ in rows:
            wanted.setdefault((source_name, fname), set()).add(int(row_number))
        parsed: dict[tuple[str, str, int], RawRow] = {}  # the old rows as their files hold them now
        for (source_name, fname), numbers in wanted.items():
            cfg = configs.get(source_name)
            files = [f for f in _expand(cfg.path) if f.name == fname] if cfg is not None else []
            if not files:
                continue
            try:
                for r in read_records(files[0], cfg.format or "csv", delimiter=cfg.delimiter, encoding=cfg.encoding):
                    if r.row_number in numbers:
                        parsed[(source_name, fname, r.row_number)] = r
            except (ReaderError, OSError) as e:
                log.info("quarantine of %s: %s not read again (%s); its old rows get the redacted text",
                         source_name, fname, e)
        updates = []
        for key, source_name, fname, row_number, raw, detail in rows:
            raw = raw or ""
            mapper = mappers.get(source_name)
            again = parsed.get((source_name, fname, int(row_number)))
            fields = cells = None
            if again is not None and again.raw[:KEPT_RAW_CHARS] == raw:
                fields, cells = (again.fields, None) if again.error is None else (again.partial, again.cells)
            if mapper is not None:
                shown = mapper.quarantine_view(fields, raw, cells)
            else:
                shown = "" if omit else self.redactor.redact(raw)[0]
            updates.append((shown, raw_hash(raw), self.redactor.redact(detail)[0], key))
        with self.store.transaction() as con:
            for u in updates:
                con.execute("UPDATE quarantine SET raw = ?, raw_hash = ?, detail = ? WHERE key = ?", list(u))
        log.info("redacted %d rows quarantined before quarantined rows were redacted", len(updates))
        return len(updates)

    def ingest_source(self, cfg: SourceConfig, run_id: str, path: Path | None = None,
                      on_batch: Callable[[str, int], None] | None = None) -> SourceStats:
        """Ingest one source file. ``on_batch(source_name, batches_committed)`` is called after each
        committed batch (progress reporting; fault-injection tests kill the process there)."""
        stats = SourceStats(cfg.name)
        t0 = time.perf_counter()
        files = _expand(path or cfg.path)
        if not files:
            stats.errors.append(f"no input file matches {Path(cfg.path).name}")
            log.warning("source %s: %s", cfg.name, stats.errors[-1])
        for f in files:
            self._ingest_file(cfg, f, run_id, stats, on_batch)
        stats.seconds = time.perf_counter() - t0
        return stats

    def _mapper_spec(self) -> dict:
        s = self.settings
        lang = s.section("language")
        return {"author_salt": self.salt,
                "max_text_chars": int(s.get("ingest", "max_text_chars", 20000)),
                "default_timezone": s.get("ingest", "default_timezone", "Europe/Berlin"),
                "dedup_min_words": int(s.get("ingest", "dedup_min_words", 6)),
                "redact_meta": bool(s.get("ingest", "redact_meta", True)),
                "drop_columns": s.get("ingest", "drop_columns", []) or [],
                "quarantine_raw": s.get("ingest", "quarantine_raw", "redacted"),
                "language": {"candidates": tuple(lang.get("candidates") or ("de", "en")),
                             "default": lang.get("default", "de"),
                             "min_confidence": float(lang.get("min_confidence", 0.55))}}

    def _executor(self, f: Path):
        """A process pool for mapping when the file is big enough to pay for starting one."""
        workers = int(self.settings.get("ingest", "workers", 0) or 0) or (os.cpu_count() or 1)
        min_bytes = int(self.settings.get("ingest", "parallel_min_bytes", 8_000_000))
        if workers <= 1 or f.stat().st_size < min_bytes:
            return None
        if self._pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _ingest_file(self, cfg: SourceConfig, f: Path, run_id: str, stats: SourceStats,
                     on_batch: Callable[[str, int], None] | None) -> None:
        fp = file_fingerprint(f)
        done, status = self.store.file_progress(cfg.name, fp)
        if status == "done":
            stats.files_skipped += 1
            log.info("source %s: %s unchanged since its last complete ingest, skipped", cfg.name, f.name)
            return
        if done:
            log.info("source %s: resuming %s after row %d", cfg.name, f.name, done)
        stats.files_read += 1
        mapper = self.mapper(cfg)
        pool = self._executor(f)
        spec = self._mapper_spec()
        # identical bad rows within this file, counted from the file's start (also across a resume)
        self._bad_seen: Counter = Counter()
        if done:  # rows quarantined before cxnlp redacted them have no raw_hash: their raw is the row itself
            self._bad_seen.update(h or raw_hash(r or "") for h, r in self.store.query(
                "SELECT raw_hash, CASE WHEN raw_hash IS NULL THEN raw END FROM quarantine "
                "WHERE source_name = ? AND file = ? AND row_number <= ?", [cfg.name, f.name, done]))
        inflight: deque = deque()  # mapped batches waiting to be committed, in file order
        committed = 0
        # JSON lines go to the workers unparsed (parsing costs more than reading, and lines travel lighter)
        lines_enc = [""]
        fmt = cfg.format or "csv"
        if pool is not None and fmt == "jsonl":
            def records() -> Iterator[tuple[int, Any]]:
                for row_no, line, enc in jsonl_lines(f, cfg.encoding):
                    lines_enc[0] = enc
                    yield row_no, (row_no, line)
        else:
            def records() -> Iterator[tuple[int, Any]]:
                for raw in read_records(f, fmt, delimiter=cfg.delimiter, encoding=cfg.encoding):
                    yield raw.row_number, raw

        def submit(batch: list, last_row: int, final: bool) -> None:
            nonlocal committed
            if pool is not None:
                payload = Lines(lines_enc[0], batch) if fmt == "jsonl" else batch
                inflight.append((pool.submit(_map_in_worker, cfg, spec, payload), None, last_row, final))
            else:
                inflight.append((None, pack(map_batch(mapper, batch)), last_row, final))
            while inflight and (len(inflight) > 2 or final):
                fut, data, last, fin = inflight.popleft()
                mapped = fut.result() if fut is not None else data
                self._commit_batch(cfg, f.name, fp, mapped, run_id, stats, last, "done" if fin else "partial")
                committed += 1
                if on_batch:
                    on_batch(cfg.name, committed)

        batch: list = []
        last_row = done
        try:
            for row_no, rec in records():
                if row_no <= done:
                    continue
                batch.append(rec)
                last_row = row_no
                if len(batch) >= self.batch_size:
                    submit(batch, last_row, False)
                    batch = []
        except ReaderError as e:
            stats.errors.append(f"{f.name}: {e}")
            log.error("source %s: %s", cfg.name, e)
            submit(batch, last_row, False)
            while inflight:
                fut, data, last, fin = inflight.popleft()
                self._commit_batch(cfg, f.name, fp, fut.result() if fut is not None else data, run_id, stats,
                                   last, "partial")
            return
        submit(batch, last_row, True)

    def _suppressed(self) -> dict[str, set[str]]:
        if self._erased is None:
            from cxnlp.store.erasure_sql import suppressed

            self._erased = suppressed(self.store)
        return self._erased

    def _drop_erased(self, tbl: pa.Table, stats: SourceStats) -> pa.Table:
        """The batch without rows whose id or author hash an erasure request named (counted as ``erased``)."""
        erased = self._suppressed()
        ids, authors = erased["id"], erased["author"]
        if not (ids or authors) or not tbl.num_rows:
            return tbl
        keep = [i for i, (rid, a) in enumerate(zip(tbl.column("id").to_pylist(), tbl.column("author_hash").to_pylist()))
                if rid not in ids and a not in authors]
        stats.erased += tbl.num_rows - len(keep)
        return tbl if len(keep) == tbl.num_rows else tbl.take(pa.array(keep, pa.int64()))

    def _commit_batch(self, cfg: SourceConfig, fname: str, fp: str, mapped: "Mapped", run_id: str,
                      stats: SourceStats, last_row: int, status: str) -> None:
        stats.rows_read += mapped.rows
        quarantine: list[QuarantineRow] = []
        for row_number, reason, detail, raw, shown in mapped.rejected:
            kept_raw = raw[:KEPT_RAW_CHARS]
            h = raw_hash(kept_raw)
            occurrence = self._bad_seen[h]
            self._bad_seen[h] += 1
            quarantine.append(QuarantineRow(key=quarantine_key(cfg.name, kept_raw, occurrence),
                                            source_name=cfg.name, file=fname, row_number=row_number,
                                            reason=reason, detail=detail, raw=shown[:QUARANTINE_CHARS],
                                            raw_hash=h))
        erased_q = self._suppressed()["quarantine"]  # rejected rows of records erased on request
        if erased_q and quarantine:
            kept = [q for q in quarantine if q.key not in erased_q]
            stats.erased += len(quarantine) - len(kept)
            quarantine = kept
        # rows already accounted for by earlier runs
        known_q = self.store.existing_ids("quarantine", [q.key for q in quarantine])
        new_q = [q for q in quarantine if q.key not in known_q]
        stats.unchanged += len(quarantine) - len(new_q)
        stats.quarantined += len(new_q)
        for q in new_q:
            stats.reasons[q.reason] += 1
        tbl = self._drop_erased(mapped.feedback, stats)
        ids = tbl.column("id").to_pylist()
        near = tbl.column("near_key").to_pylist()
        hashes = tbl.column("content_hash").to_pylist()
        known = self.store.existing_ids("feedback", ids) | self.store.existing_ids("duplicates", ids)
        stored_keys = self.store.find_near_keys(k for i, k in zip(ids, near) if i not in known)
        keep: list[int] = []
        dup_of: list[tuple[int, str, str]] = []  # (row in the batch, original id, kind)
        seen_ids: set[str] = set()
        batch_keys: dict[str, tuple[str, str]] = {}
        for i, (rid, key, h) in enumerate(zip(ids, near, hashes)):
            if rid in known or rid in seen_ids:
                stats.unchanged += 1
                continue
            seen_ids.add(rid)
            orig = stored_keys.get(key) or batch_keys.get(key)
            if orig is not None:
                dup_of.append((i, orig[0], "exact" if orig[1] == h else "near"))
                continue
            batch_keys[key] = (rid, h)
            keep.append(i)
        dups: list[Duplicate] = []
        if dup_of:
            cols = ("id", "source_name", "created_at", "likes", "shares", "replies", "author_hash")
            rows = tbl.take(pa.array([i for i, _, _ in dup_of], pa.int64())).select(cols).to_pylist()
            dups = [Duplicate(original_id=orig, kind=kind, **r) for r, (_, orig, kind) in zip(rows, dup_of)]
        stats.stored += len(keep)
        stats.duplicates += len(dups)
        take = tbl if len(keep) == len(ids) else tbl.take(pa.array(keep, pa.int64()))
        self.store.write_ingest_batch(run_id=run_id, feedback=take,
                                      duplicates=dups, quarantine=new_q, source_name=cfg.name, fingerprint=fp,
                                      file=fname, rows_done=last_row, file_status=status)


@dataclass(slots=True)
class Lines:
    """JSON-lines records for a worker to parse: ``(row number, line)`` in file order."""
    encoding: str
    records: list[tuple[int, str]]


@dataclass(slots=True)
class Mapped:
    """A mapped batch as it travels back to the store's writer: the stored-to-be rows as one Arrow table
    (:func:`cxnlp.schema.feedback_table`, in input order) and the rejected rows."""
    feedback: Any  # pyarrow.Table
    # (row number, reason, detail, raw, what the quarantine keeps: RowMapper.quarantine_view, detail redacted too)
    rejected: list[tuple[int, str, str, str, str]]
    rows: int  # input records in the batch (rows of the table + rejected)


def pack(items: list) -> Mapped:
    """:func:`map_batch`'s output as a :class:`Mapped`."""
    fb = [x for x in items if isinstance(x, Feedback)]
    return Mapped(feedback_table(fb), [x for x in items if not isinstance(x, Feedback)], len(items))


def map_batch(mapper: RowMapper, batch: list[RawRow]) -> list:
    """Map raw rows: a Feedback, or (row_number, reason, redacted detail, raw, redacted view) for a row to
    quarantine (the raw row only keys it; the store keeps the view: :meth:`RowMapper.quarantine_view`)."""
    out: list = []
    for raw in batch:
        if raw.error is None:
            try:
                out.append(mapper.map(raw.fields or {}))
                continue
            except RowRejected as e:
                reason, detail = e.reason, e.detail
            except Exception as e:  # a value no rule foresaw: quarantine, never crash the run
                reason, detail = "malformed_row", f"{type(e).__name__}: {str(e)[:200]}"
        else:
            reason, detail = raw.error
        out.append((raw.row_number, reason, mapper.redactor.redact(detail)[0], raw.raw,
                    mapper.quarantine_view(raw.fields if raw.error is None else raw.partial, raw.raw, raw.cells)))
    return out


_WORKER_MAPPERS: dict = {}


def _map_in_worker(cfg: SourceConfig, spec: dict, batch: list[RawRow] | Lines) -> Mapped:
    key = (cfg.name, repr(sorted(spec.items(), key=lambda kv: kv[0])))
    mapper = _WORKER_MAPPERS.get(key)
    if mapper is None:
        lang = spec["language"]
        mapper = RowMapper(cfg, redactor=Redactor(), detector=LanguageDetector(**lang),
                           **{k: v for k, v in spec.items() if k != "language"})
        _WORKER_MAPPERS[key] = mapper
    if isinstance(batch, Lines):
        batch = [jsonl_row(n, line, batch.encoding) for n, line in batch.records]
    return pack(map_batch(mapper, batch))


def _expand(p: Path) -> list[Path]:
    p = Path(p)
    if any(ch in p.name for ch in "*?["):
        return sorted(x for x in p.parent.glob(p.name) if x.is_file())
    if p.is_dir():
        return sorted(x for x in p.iterdir() if x.is_file() and not x.name.startswith("."))
    return [p] if p.is_file() else []

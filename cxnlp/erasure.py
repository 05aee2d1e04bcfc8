"""Erasure on request: a data subject's texts leave cxnlp (Art. 17 GDPR / DSGVO, "Recht auf Löschung"); and
access on request (Art. 15, "Auskunft"): ``cxnlp access`` writes everything stored about them as JSON
(:func:`access`), selected exactly as an erasure would select it.

``cxnlp erase`` takes the subjects as they appear in the sources (an author's name, handle or e-mail address, as
the author column holds it; or a source's own record id, e.g. a ticket number) or as cxnlp knows them (record
ids, author hashes), and

1. deletes, in one transaction, their texts and repeated posts and everything derived from them, removes the
   examples that quote them from topics and alerts, and records a suppression key for every erased id and
   author (:mod:`cxnlp.store.erasure_sql`), so a later ingest of the same export stores nothing of them again
   (counted there as ``erased``);
2. recomputes the aggregates of the days the texts fell in (experience per day and week, daily volume);
3. removes the texts from the files cxnlp wrote that may quote them: the weakly labelled examples of promoted
   topics (``data/labelled/promoted_*.jsonl``) and the report, which is written anew from the store;
4. makes the deleted rows unrecoverable from the store's files (DuckDB: the file is rewritten; PostgreSQL:
   ``VACUUM FULL`` of the touched tables; ``compact=False``: a checkpoint / plain ``VACUUM`` only).

Without ``apply`` nothing changes: the counts say what a request would erase. Quarantined rows are kept
redacted with the author column replaced (``ingest.quarantine_raw``), so they cannot be found by author; a
record named by its source's own id leaves the quarantine too (its fields carry the id).
Alerts already delivered to a webhook, files users exported, and models trained on the store before
(``cxnlp train --distill`` / ``--from-ratings``) are outside the store: the result lists what to do about them.
"""
from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from cxnlp.config import Settings, load_sources
from cxnlp.store import erasure_sql

log = logging.getLogger("cxnlp.erasure")

# the tables a request deletes rows from (for the vacuum: PostgreSQL rewrites only these)
TOUCHED_TABLES = ("feedback", "duplicates", *erasure_sql.DERIVED_TABLES, *erasure_sql.EXAMPLE_TABLES)
OUTSIDE_THE_STORE = [
    "alerts already delivered to the webhook (configs/alerts.yaml) may quote a post: delete them at the receiver",
    "files exported from the review app or the report before today are copies: delete them where they were saved",
    "a model trained with `cxnlp train --distill` or `--from-ratings` on the store before today learnt from the "
    "texts: train it again (the store no longer holds them)",
]


class ErasureError(ValueError):
    """A request that names nobody, or a source that is not configured."""


@dataclass
class ErasureRequest:
    """Who is to be erased. ``authors``: as the sources' author column holds them (name, handle, e-mail:
    compared as ingest hashes them, trimmed and in lower case); ``external_ids``: (source name, the source's
    own record id); ``ids`` and ``author_hashes``: as cxnlp stores them. ``reference``: the request's reference
    in the company's records (a ticket number; never the subject's name), kept in the audit log."""
    authors: list[str] = field(default_factory=list)
    author_hashes: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    external_ids: list[tuple[str, str]] = field(default_factory=list)
    reference: str | None = None
    quarantine_keys: list[str] = field(default_factory=list)  # quarantined rows by key (the ingest's re-check)

    def subjects(self) -> dict[str, int]:
        """How many of each kind (the audit log keeps these counts, not the values)."""
        return {"authors": len(set(self.authors)) + len(set(self.author_hashes)), "ids": len(set(self.ids)),
                "external_ids": len(set(self.external_ids))}


def subject_keys(settings: Settings, req: ErasureRequest) -> tuple[set[str], set[str]]:
    """The request as (record ids, author hashes)."""
    ids, authors, _ = _subjects(settings, req)
    return ids, authors


def _subjects(settings: Settings, req: ErasureRequest) -> tuple[set[str], set[str], list[tuple[str, str, str]]]:
    """(record ids, author hashes, (source name, its id column, id) of the records named by their own id)."""
    from cxnlp.ingest.mapping import author_key, record_id
    from cxnlp.ingest.pipeline import author_salt

    salt = author_salt(settings).encode("utf-8")
    authors = {h for h in (author_key(salt, a) for a in req.authors) if h}
    authors |= {h.strip().lower() for h in req.author_hashes if h.strip()}
    ids = {i.strip() for i in req.ids if i.strip()}
    records: list[tuple[str, str, str]] = []
    if req.external_ids:
        known = {s.name: s.columns.get("id", "") for s in load_sources(settings.root)}
        for source, ext in req.external_ids:
            if source not in known:
                raise ErasureError(f"no source {source!r} in configs/sources.yaml (configured: "
                                   f"{', '.join(sorted(known)) or 'none'})")
            # with the source's own id, the record id depends on nothing else (cxnlp.ingest.mapping.record_id)
            ids.add(record_id(source, str(ext).strip(), datetime.now(timezone.utc), "", None))
            records.append((source, known[source], str(ext).strip()))
    if not ids and not authors and not req.quarantine_keys:
        raise ErasureError("the request names nobody: give an author, an author hash, a record id or a "
                           "source's record id")
    return ids, authors, records


def new_request_id() -> str:
    return f"erasure-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


def erase(store, settings: Settings, req: ErasureRequest, *, apply: bool = False,
          compact: bool = True, report: bool = True) -> dict[str, Any]:
    """Erases (``apply``) or counts (dry run) what ``req`` names; see the module's description. Returns the
    request id, the rows per table, the recomputed aggregates, the files changed and how the store's files were
    compacted. ``report=False`` leaves the report to the run that is about to write it anyway."""
    ids, authors, records = _subjects(settings, req)
    request_id = new_request_id()
    with store.transaction() as con:
        sel = erasure_sql.select(con, ids, authors, records, req.quarantine_keys)
        counts = erasure_sql.erase(con, sel, request_id=request_id, reference=req.reference,
                                   subjects=req.subjects(), ids=ids, authors=authors, apply=apply)
    texts = {r["text"] for r in sel.feedback}
    out: dict[str, Any] = {"request_id": request_id if apply else None, "applied": apply, "rows": counts,
                           "files": scrub_files(settings, set(sel.ids), texts, apply)}
    if not apply:
        return out
    from cxnlp.runs import aggregate_stage

    out["aggregates"] = aggregate_stage(store)  # the days erase() marked pending, and the daily volume
    out["report"] = rewrite_report(store, settings, texts) if report else None
    out["store"] = store.reclaim(TOUCHED_TABLES, full=compact)
    out["outside_the_store"] = OUTSIDE_THE_STORE
    log.info("erasure %s: %s", request_id, json.dumps(counts))
    return out


def access(store, settings: Settings, req: ErasureRequest) -> dict[str, Any]:
    """Everything cxnlp stores about the subjects ``req`` names, for an access request (Art. 15 GDPR): one entry
    per text with its fields, tags, experience signals, corrections and topics, then the repeated posts and the
    quarantined rows. Changes nothing. Suitable for ``json.dumps(..., default=str)``."""
    ids, authors, records = _subjects(settings, req)
    with store.transaction() as con:
        sel = erasure_sql.select(con, ids, authors, records, req.quarantine_keys)
        data = erasure_sql.subject_data(con, sel)
    per: dict[str, dict[str, list]] = {r["id"]: {"tags": [], "experience": [], "corrections": [], "topics": []}
                                       for r in data["feedback"]}
    for part in ("tags", "experience", "corrections", "topics"):
        for row in data[part]:
            per[row.pop("feedback_id")][part].append(row)
    texts = []
    for r in data["feedback"]:
        for k in ("pii", "meta"):
            r[k] = json.loads(r[k]) if r[k] else None
        for t in per[r["id"]]["tags"]:
            t["evidence"] = json.loads(t["evidence"]) if t["evidence"] else None
        texts.append({**r, **per[r["id"]]})
    return {
        "generated_at": datetime.now(timezone.utc), "reference": req.reference, "subjects": req.subjects(),
        "how_stored": "Texts are stored with e-mail addresses, phone numbers, IBANs, card numbers, addresses, handles, "
                      "customer numbers and names replaced by placeholders; authors only as a keyed hash.",
        "texts": texts, "repeated_posts": data["duplicates"], "quarantined": data["quarantine"],
    }


def enforce(store, settings: Settings) -> dict[str, Any] | None:
    """Erases once more what the suppression list names and the store holds all the same (a writer that read
    the list just before a request committed; a store restored from an older backup). Run after each ingest;
    None when there is nothing to do."""
    again, quarantined = erasure_sql.resurrected(store)
    if not again and not quarantined:
        return None
    log.warning("%d stored rows belong to texts or authors erased on request: erasing them again",
                len(again) + len(quarantined))
    # compacted as a request is (rare: a file rewrite costs about 16 s per million texts); the run that called
    # this writes its report next
    return erase(store, settings, ErasureRequest(ids=again, quarantine_keys=quarantined,
                                                 reference="suppression list (ingest)"), apply=True, report=False)


def _rewrite_jsonl(path: Path, drop, apply: bool) -> int:
    """How many records of a JSON-lines file ``drop`` selects; with ``apply`` the file is rewritten without them
    (atomically)."""
    kept: list[str] = []
    dropped = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if drop(_loads(line)):
            dropped += 1
        else:
            kept.append(line)
    if dropped and apply:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(x + "\n" for x in kept), encoding="utf-8")
        os.replace(tmp, path)
    return dropped


def scrub_files(settings: Settings, ids: set[str], texts: set[str], apply: bool) -> dict[str, int]:
    """The promoted topics' example files without the erased texts (matched by feedback id, or, in files written
    before they carried it, by the text itself). Returns records removed (dry run: to remove) per file."""
    out: dict[str, int] = {}
    folder = settings.root / "data" / "labelled"
    if not (ids or texts) or not folder.is_dir():
        return out

    def hit(rec: dict) -> bool:
        return rec.get("feedback_id") in ids or rec.get("text") in texts

    for path in sorted(folder.glob("promoted_*.jsonl")):
        n = _rewrite_jsonl(path, hit, apply)
        if n:
            out[f"data/labelled/{path.name}"] = n
    return out


def _loads(line: str) -> dict:
    """A JSON-lines record as a dict; {} for a blank or broken line, or one that holds no object."""
    try:
        rec = json.loads(line)
    except ValueError:
        return {}
    return rec if isinstance(rec, dict) else {}


def rewrite_report(store, settings: Settings, texts: Iterable[str]) -> str | None:
    """Writes the report anew from the store (the erased texts are gone from it), for the run it showed. None
    when there is no report yet."""
    from cxnlp.runs import report_stage

    folder = settings.path("report", "dir")
    last = folder / "last_run.json"
    if not last.is_file():
        return None
    results = json.loads(last.read_text(encoding="utf-8"))
    run_id = results.pop("run_id", "erasure")
    results.pop("store", None)
    report_stage(store, settings, run_id, results)
    page = (folder / "index.html").read_text(encoding="utf-8")
    import html

    quoted = [t for t in texts if html.escape(t[:80]) in page]
    if quoted:  # the report quotes only what the store holds: a text another author wrote word for word, or a defect
        still = _stored_texts(store, quoted)
        if set(quoted) - still:
            raise RuntimeError(f"the rewritten report still quotes {len(set(quoted) - still)} erased text(s)")
    return "index.html"


def _stored_texts(store, texts: list[str]) -> set[str]:
    """Which of ``texts`` some stored feedback still has, word for word."""
    import pyarrow as pa

    with store.transaction() as con:
        con.register("_e_texts", pa.table({"t": pa.array(texts, pa.string())}))
        try:
            rows = con.execute("SELECT DISTINCT f.text FROM feedback f JOIN _e_texts e ON f.text = e.t").fetchall()
        finally:
            con.unregister("_e_texts")
    return {r[0] for r in rows}


def describe(out: dict[str, Any]) -> str:
    """A request's result as lines for the terminal."""
    lines = [("erased" if out["applied"] else "would erase (dry run: add --yes to erase)")
             + (f" — request {out['request_id']}" if out.get("request_id") else "")]
    for table, n in out["rows"].items():
        if n:
            lines.append(f"  {table:<22} {n:>8}")
    if not any(out["rows"].values()):
        lines.append("  nothing stored matches (the suppression keys still keep it from being stored)"
                     if out["applied"] else "  nothing stored matches")
    for f, n in out.get("files", {}).items():
        lines.append(f"  {f}: {n} example(s)")
    if out["applied"]:
        days = (out.get("aggregates") or {}).get("experience", {}).get("periods_recomputed_days", 0)
        lines.append(f"aggregates recomputed: {days} day(s) of experience, daily volume")
        if out.get("report"):
            lines.append(f"report written anew: {out['report']}")
        st = out.get("store") or {}
        lines.append(f"store: {st.get('method')} ({st.get('bytes_before', 0) / 2**20:.1f} -> "
                     f"{st.get('bytes_after', 0) / 2**20:.1f} MiB)")
        lines.append("outside the store:")
        lines += [f"  - {x}" for x in out.get("outside_the_store", [])]
    return "\n".join(lines)


# -- command line ---------------------------------------------------------------------------------------------

def _subject_arguments(s) -> None:
    s.add_argument("--author", action="append", default=[], metavar="NAME",
                   help="an author as the sources' author column holds it (name, handle, e-mail); repeatable. "
                        "Prefer --authors-file: command lines end up in shell histories and process lists")
    s.add_argument("--authors-file", metavar="FILE", help="a UTF-8 text file with one author per line")
    s.add_argument("--author-hash", action="append", default=[], metavar="HASH",
                   help="an author hash as cxnlp stores it (feedback.author_hash); repeatable")
    s.add_argument("--id", action="append", default=[], metavar="ID", help="a cxnlp record id; repeatable")
    s.add_argument("--external-id", action="append", default=[], metavar="SOURCE:ID",
                   help="a record by its source's own id (the id column), e.g. tickets:T-000123; repeatable")
    s.add_argument("--reference", help="the request's reference for the audit log (a ticket number, never a name)")


def add_cli(subparsers) -> None:
    s = subparsers.add_parser(
        "erase", help="erase a data subject's texts on request (GDPR Art. 17); a dry run without --yes",
        description="Erases every stored text of the named authors or records, what was derived from them, and "
                    "the examples quoting them, recomputes the aggregates, rewrites the report and compacts the "
                    "store; ingest never stores them again. Without --yes: a dry run that only counts.")
    _subject_arguments(s)
    s.add_argument("--yes", action="store_true", help="erase (without it: a dry run that only counts)")
    s.add_argument("--no-compact", action="store_true",
                   help="skip rewriting the store's files (DuckDB: checkpoint only; PostgreSQL: plain VACUUM): "
                        "quicker for a series of requests, but the deleted rows stay readable from the files "
                        "until the last request of the series runs without this flag")
    s.add_argument("--log", action="store_true", help="list the erasure requests made so far (the audit log)")
    s.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    s.set_defaults(func=cmd_erase)
    s = subparsers.add_parser(
        "access", help="everything stored about a data subject, as JSON (GDPR Art. 15)",
        description="Writes every stored text of the named authors or records with its tags, experience signals, "
                    "corrections and topics, their repeated posts and quarantined rows, as one JSON file. "
                    "Changes nothing.")
    _subject_arguments(s)
    s.add_argument("-o", "--out", required=True, metavar="FILE", help="the JSON file to write")
    s.set_defaults(func=cmd_access)


def _request(args) -> ErasureRequest:
    authors = list(args.author)
    if args.authors_file:
        authors += [line.strip() for line in Path(args.authors_file).read_text(encoding="utf-8").splitlines()
                    if line.strip()]
    external = []
    for x in args.external_id:
        source, sep, ext = x.partition(":")
        if not sep or not source or not ext:
            raise ErasureError(f"--external-id takes SOURCE:ID (got {x!r})")
        external.append((source, ext))
    return ErasureRequest(authors=authors, author_hashes=args.author_hash, ids=args.id, external_ids=external,
                          reference=args.reference)


def cmd_access(args) -> int:
    import sys

    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    settings = load_settings(args.root)
    try:
        req = _request(args)
        with open_store(settings) as store:
            out = access(store, settings, req)
    except ErasureError as e:
        print(f"cxnlp: error: {e}", file=sys.stderr)
        return 2
    Path(args.out).write_text(json.dumps(out, indent=2, default=str, ensure_ascii=False), encoding="utf-8")
    print(f"{len(out['texts'])} text(s), {len(out['repeated_posts'])} repeated post(s), "
          f"{len(out['quarantined'])} quarantined row(s) written to {Path(args.out).name}")
    return 0


def cmd_erase(args) -> int:
    import sys

    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    settings = load_settings(args.root)
    if args.log:
        with open_store(settings, read_only=True) as store:
            done = erasure_sql.requests(store)
            if not done:
                print("no erasure requests yet")
            for r in done:
                rows = ", ".join(f"{k} {v}" for k, v in r["counts"].items() if v)
                print(f"{r['requested_at']:%Y-%m-%d %H:%M}  {r['request_id']}  ref {r['reference'] or '-'}  "
                      f"subjects {r['subjects']}  {rows or 'nothing stored'}")
        return 0
    try:
        req = _request(args)
        with open_store(settings) as store:
            out = erase(store, settings, req, apply=args.yes, compact=not args.no_compact)
    except ErasureError as e:
        print(f"cxnlp: error: {e}", file=sys.stderr)
        return 2
    print(describe(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str, ensure_ascii=False), encoding="utf-8")
    return 0

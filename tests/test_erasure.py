"""Erasure on request (GDPR Art. 17): ``cxnlp erase`` and :mod:`cxnlp.erasure` on a store the real pipeline
filled (a slice of the shipped sample with the planted backlash, so there are topics and an alert quoting posts),
on DuckDB and PostgreSQL: what is deleted, what is recomputed, what stays, what ingest does afterwards, and that
the DuckDB file no longer holds the deleted bytes."""
from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest

from pg import pg_server, pg_server_url, pg_url  # noqa: F401 (fixtures)
from test_store_backends import make_project

DERIVED = ("tags", "tag_state", "experience", "text_vectors", "topic_members", "review_index", "corrections")


def _store(root: Path):
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    return open_store(load_settings(root))


def _posts(root: Path) -> dict[str, dict]:
    """The project's social export by post id (lines that are not JSON objects left out)."""
    out = {}
    for line in (root / "data" / "social.jsonl").read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("post_id"):
            out[str(rec["post_id"])] = rec
    return out


def _subject(store, root: Path) -> str:
    """Among the authors the alert quotes and a topic counts as a member, the one with most posts and reposts of
    their posts (raw name, as the export holds it)."""
    posts = _posts(root)
    quoted = [x["id"] for (ex,) in store.query("SELECT CAST(examples AS VARCHAR) FROM alerts")
              for x in json.loads(ex)]
    assert quoted, "the sample slice raises an alert with examples"
    ext = {r[0]: r[1] for r in store.query("SELECT id, external_id FROM feedback WHERE source_name = 'social'")}
    members = {ext.get(r[0]) for r in store.query("SELECT DISTINCT feedback_id FROM topic_members")}
    users = {posts[ext[i]]["user"] for i in quoted if i in ext}
    users = {u for u in users if any(p.get("user") == u and k in members for k, p in posts.items())}
    assert users, "an author the alert quotes has a text in a topic"
    score = {u: sum(1 for p in posts.values() if p.get("user") == u or str(p.get("text")).startswith(f"RT {u}:"))
             for u in users}
    return max(score, key=lambda u: (score[u], u))


def _rows(store, sql: str) -> list[tuple]:
    """Rows with floats rounded (sums over the same rows in another order differ in the last bits)."""
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in store.query(sql)]


def _counts(store) -> dict[str, int]:
    tables = ("feedback", "duplicates", *DERIVED, "topics", "alerts", "experience_agg", "daily_volume", "erasures",
              "erased_keys")
    have = {r[0] for r in store.query("SELECT table_name FROM information_schema.tables")}
    return {t: store.query(f"SELECT count(*) FROM {t}")[0][0] for t in tables if t in have}


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """A project with the pipeline run once (DuckDB), the subject (an author quoted in the alert) and a topic
    promoted to a label, so its examples file quotes texts of the topic."""
    from cxnlp.aggregate.topics_stage import promote
    from cxnlp.config import load_settings
    from cxnlp.runs import run_pipeline

    root = make_project(tmp_path_factory.mktemp("erasure"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CXNLP_INGEST_WORKERS", "1")
        run_pipeline(load_settings(root))
    with _store(root) as store:
        subject = _subject(store, root)
        # promote the topic holding most of the subject's texts (its examples file then quotes them)
        from cxnlp.erasure import ErasureRequest, subject_keys

        (h,) = subject_keys(load_settings(root), ErasureRequest(authors=[subject]))[1]
        topic = store.query(
            "SELECT m.topic_id FROM topic_members m JOIN feedback f ON f.id = m.feedback_id "
            "WHERE f.author_hash = ? GROUP BY m.topic_id ORDER BY count(*) DESC, m.topic_id LIMIT 1", [h])
        assert topic, "the subject's texts belong to a topic"
        promote(root, store, topic[0][0], "touchpoints", "Erasure-Test")
        # the review app's index, and an analyst's correction of one of the subject's texts
        from cxnlp.store import review_sql

        review_sql.init(store)
        review_sql.refresh_index(store, full=True)
        fid = store.query("SELECT id FROM feedback WHERE author_hash = ? ORDER BY id LIMIT 1", [h])[0][0]
        review_sql.add_correction(store, fid, "sentiment", "negative", "analyst-1", note="klar negativ")
    return root, subject


@pytest.fixture
def project(filled, tmp_path):
    """A copy of the filled project for one test (the store file included; models stay linked)."""
    root, subject = filled
    dst = tmp_path / "p"
    shutil.copytree(root, dst, symlinks=True)
    return dst, subject


def test_a_dry_run_counts_and_changes_nothing(project):
    from cxnlp.config import load_settings
    from cxnlp.erasure import ErasureRequest, erase

    root, subject = project
    with _store(root) as store:
        before = _counts(store)
        out = erase(store, load_settings(root), ErasureRequest(authors=[subject]))
        assert _counts(store) == before
    assert out["applied"] is False and out["request_id"] is None
    rows = out["rows"]
    assert rows["feedback"] >= 1 and rows["duplicates"] >= 3 and rows["alerts_examples"] >= 1
    assert rows["tags"] > rows["feedback"] and rows["tag_state"] == rows["experience"] == rows["feedback"]
    assert rows["corrections"] == 1 and rows["review_index"] == rows["feedback"]
    assert sum(out["files"].values()) >= 1  # the promoted topic's examples quote the subject


def test_erasure_removes_the_subject_everywhere_and_recomputes_the_aggregates(project):
    from cxnlp.config import load_settings
    from cxnlp.erasure import ErasureRequest, erase, subject_keys
    from cxnlp.store import experience_sql

    root, subject = project
    settings = load_settings(root)
    _, authors = subject_keys(settings, ErasureRequest(authors=[subject]))
    (h,) = authors
    with _store(root) as store:
        ids = [r[0] for r in store.query("SELECT id FROM feedback WHERE author_hash = ?", [h])]
        texts = [r[0] for r in store.query("SELECT text FROM feedback WHERE author_hash = ?", [h])]
        reposts = [r[0] for r in store.query(
            "SELECT id FROM duplicates WHERE original_id IN (SELECT id FROM feedback WHERE author_hash = ?)", [h])]
        before = _counts(store)
        volume = store.query("SELECT sum(items), sum(reposts) FROM daily_volume")[0]
        # the author as the export spells it, in another case and with spaces: the same person
        out = erase(store, settings, ErasureRequest(authors=[f"  {subject.upper()} "], reference="DSAR-2026-17"),
                    apply=True)
        after = _counts(store)
        rows = out["rows"]
        assert rows["feedback"] == len(ids) and after["feedback"] == before["feedback"] - len(ids)
        assert rows["duplicates"] >= len(reposts) and after["duplicates"] == before["duplicates"] - rows["duplicates"]
        for t in DERIVED:
            assert store.query(f"SELECT count(*) FROM {t} WHERE feedback_id IN (SELECT unnest(?))", [ids])[0][0] == 0
            assert after.get(t) == (before[t] - rows.get(t, 0) if t in before else None), t
        assert store.query("SELECT count(*) FROM duplicates WHERE id IN (SELECT unnest(?))", [reposts])[0][0] == 0
        for table in ("topics", "alerts"):  # no example quotes the subject; the other examples stay
            quoted = [x["id"] for (ex,) in store.query(f"SELECT CAST(examples AS VARCHAR) FROM {table}")
                      for x in json.loads(ex)]
            assert quoted and not set(quoted) & set(ids), table
        # the aggregates are those of a store that never held the texts
        agg = _rows(store, "SELECT * FROM experience_agg ORDER BY grain, period, source, channel, facet, touchpoint")
        experience_sql.rebuild_aggregates(store, None)
        assert _rows(store, "SELECT * FROM experience_agg ORDER BY grain, period, source, channel, facet, "
                            "touchpoint") == agg
        assert not experience_sql.pending_days(store)
        assert store.query("SELECT sum(items), sum(reposts) FROM daily_volume")[0] == (
            volume[0] - len(ids), volume[1] - rows["duplicates"])
        # the audit log: the reference and counts, and nothing that names the subject
        (log,) = store.query_dicts("SELECT * FROM erasures")
        assert log["reference"] == "DSAR-2026-17" and json.loads(log["counts"])["feedback"] == len(ids)
        assert json.loads(log["subjects"]) == {"authors": 1, "ids": 0, "external_ids": 0}
        keys = store.query("SELECT kind, key FROM erased_keys")
        assert ("author", h) in keys and {("id", i) for i in ids + reposts} <= set(keys)
        dumped = json.dumps(store.query("SELECT * FROM erasures") + keys, default=str).lower()
        assert subject.lower().lstrip("@") not in dumped
    # the report was written anew without the texts; the promoted examples file lost them
    page = (root / "var" / "report" / "index.html").read_text(encoding="utf-8")
    assert out["report"] == "index.html" and not [t for t in texts if html.escape(t[:80]) in page]
    promoted = (root / "data" / "labelled" / "promoted_erasure-test.jsonl").read_text(encoding="utf-8")
    assert sum(out["files"].values()) >= 1
    assert not [t for t in texts if json.dumps(t, ensure_ascii=False) in promoted] and promoted.strip()
    assert out["store"]["method"] == "rewrite"


def test_ingest_does_not_store_an_erased_author_again_and_accounts_for_every_row(project):
    from cxnlp.config import load_settings, load_sources
    from cxnlp.erasure import ErasureRequest, erase
    from cxnlp.runs import ingest_stage

    root, subject = project
    settings = load_settings(root)
    posts = _posts(root)
    mine = [p for p in posts.values() if p.get("user") == subject]
    with _store(root) as store:
        out = erase(store, settings, ErasureRequest(authors=[subject]), apply=True, compact=False)
        assert out["store"]["method"] == "checkpoint"
    # the export grows by a new post of the subject and one of someone else; the file is read again
    new = [dict(mine[0], post_id="late-1", text="Ich melde mich nochmal: der Kundendienst hat sich nie gerührt."),
           dict(mine[0], post_id="late-2", user="@jemand_anders", text="Heute kam alles pünktlich an, danke!")]
    with (root / "data" / "social.jsonl").open("a", encoding="utf-8") as f:
        for p in new:
            f.write(json.dumps(p, ensure_ascii=False) + "\n")
    with _store(root) as store:
        social = ingest_stage(store, settings, load_sources(root), "rerun")["social"]
        # every stored row of the subject's comes back as erased (and a row the export repeats, once per copy)
        assert social["erased"] >= out["rows"]["feedback"] + out["rows"]["duplicates"] + 1
        assert social["stored"] == 1 and social["rows_read"] == (
            social["stored"] + social["duplicates"] + social["quarantined"] + social["unchanged"] + social["erased"])
        stored = {r[0] for r in store.query("SELECT external_id FROM feedback WHERE source_name = 'social'")}
        assert "late-2" in stored and not {p["post_id"] for p in mine} & stored and "late-1" not in stored


def test_rows_stored_again_despite_the_suppression_list_are_erased_after_the_next_ingest(project):
    """A store restored from a backup taken before the request (or a writer that read the list just before it
    committed) holds the texts again: the next ingest stage erases them once more."""
    import duckdb

    from cxnlp.config import load_settings, load_sources
    from cxnlp.erasure import ErasureRequest, erase
    from cxnlp.runs import ingest_stage

    root, subject = project
    settings = load_settings(root)
    db = root / "var" / "cxnlp.duckdb"
    backup = root / "backup.duckdb"
    shutil.copy(db, backup)
    with _store(root) as store:
        n = erase(store, settings, ErasureRequest(authors=[subject]), apply=True)["rows"]["feedback"]
        keys = store.query("SELECT kind, key, request_id, erased_at FROM erased_keys")
    shutil.copy(backup, db)  # the restore brings the rows back, and loses the suppression list with them ...
    con = duckdb.connect(str(db))  # ... which the operator keeps apart and loads again (README)
    con.execute("CREATE TABLE IF NOT EXISTS erased_keys (kind VARCHAR NOT NULL, key VARCHAR NOT NULL, "
                "request_id VARCHAR NOT NULL, erased_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (kind, key))")
    con.executemany("INSERT INTO erased_keys VALUES (?, ?, ?, ?)", keys)
    con.close()
    with _store(root) as store:
        from cxnlp.erasure import subject_keys

        (h,) = subject_keys(settings, ErasureRequest(authors=[subject]))[1]
        assert store.query("SELECT count(*) FROM feedback WHERE author_hash = ?", [h])[0][0] == n
        ingest_stage(store, settings, load_sources(root), "after-restore")
        assert store.query("SELECT count(*) FROM feedback WHERE author_hash = ?", [h])[0][0] == 0
        assert store.query("SELECT count(*) FROM erasures WHERE reference = 'suppression list (ingest)'")[0][0] == 1


def test_a_request_by_the_sources_own_id_or_cxnlp_id_erases_that_record_only(project):
    from cxnlp.config import load_settings
    from cxnlp.erasure import ErasureError, ErasureRequest, erase

    root, _ = project
    settings = load_settings(root)
    with _store(root) as store:
        ext, fid = store.query("SELECT external_id, id FROM feedback WHERE source_name = 'shop' "
                               "ORDER BY id LIMIT 1")[0]
        other = store.query("SELECT id FROM feedback WHERE source_name = 'shop' AND id <> ? ORDER BY id LIMIT 1",
                            [fid])[0][0]
        n = store.query("SELECT count(*) FROM feedback")[0][0]
        out = erase(store, settings, ErasureRequest(external_ids=[("shop", ext)], ids=[other]), apply=True)
        assert out["rows"]["feedback"] == 2 and store.query("SELECT count(*) FROM feedback")[0][0] == n - 2
        with pytest.raises(ErasureError, match="no source 'webshop'.*shop"):
            erase(store, settings, ErasureRequest(external_ids=[("webshop", ext)]))
        with pytest.raises(ErasureError, match="names nobody"):
            erase(store, settings, ErasureRequest(authors=["  "]))


def test_a_record_named_by_its_own_id_leaves_the_quarantine_and_stays_out(project):
    """A rejected row is kept (redacted) in the quarantine with its fields: a request by the source's own id
    removes it, and a later read of the file counts it as erased instead of quarantining it again."""
    from cxnlp.config import load_settings, load_sources
    from cxnlp.erasure import ErasureRequest, erase
    from cxnlp.runs import ingest_stage

    root, _ = project
    settings = load_settings(root)
    with _store(root) as store:
        rows = [(k, json.loads(r)) for k, r in store.query(
            "SELECT key, raw FROM quarantine WHERE source_name = 'social' ORDER BY key") if r.startswith("{")]
        key, rec = next((k, r) for k, r in rows if r.get("post_id"))
        n = store.query("SELECT count(*) FROM quarantine")[0][0]
        out = erase(store, settings, ErasureRequest(external_ids=[("social", str(rec["post_id"]))]), apply=True)
        assert out["rows"]["quarantine"] == 1 and out["rows"]["feedback"] == 0
        assert store.query("SELECT count(*) FROM quarantine")[0][0] == n - 1
        assert store.query("SELECT count(*) FROM quarantine WHERE key = ?", [key])[0][0] == 0
    with (root / "data" / "social.jsonl").open("a", encoding="utf-8") as f:  # the file changes: read again
        f.write(json.dumps({"post_id": "late-3", "user": "@x", "text": "Noch ein Beitrag.", "platform": "twitter",
                            "created_at": "2026-10-28T12:00:00Z"}) + "\n")
    with _store(root) as store:
        social = ingest_stage(store, settings, load_sources(root), "rerun")["social"]
        assert social["erased"] == 1 and social["quarantined"] == 0 and social["stored"] == 1
        assert store.query("SELECT count(*) FROM quarantine")[0][0] == n - 1


def test_an_access_request_returns_everything_stored_about_the_subject_and_changes_nothing(project, capsys,
                                                                                           monkeypatch):
    from cxnlp.cli import main
    from cxnlp.config import load_settings
    from cxnlp.erasure import ErasureRequest, subject_keys

    root, subject = project
    settings = load_settings(root)
    (h,) = subject_keys(settings, ErasureRequest(authors=[subject]))[1]
    with _store(root) as store:
        mine = dict(store.query("SELECT id, text FROM feedback WHERE author_hash = ?", [h]))
        tags = store.query("SELECT count(*) FROM tags WHERE feedback_id IN (SELECT id FROM feedback WHERE author_hash = ?)",
                           [h])[0][0]
        reposts = store.query("SELECT count(*) FROM duplicates WHERE author_hash = ? OR original_id IN "
                              "(SELECT id FROM feedback WHERE author_hash = ?)", [h, h])[0][0]
        before = _counts(store)
    monkeypatch.setenv("CXNLP_HOME", str(root))
    names = root / "subjects.txt"
    names.write_text(subject + "\n", encoding="utf-8")
    assert main(["access", "--authors-file", str(names), "--reference", "A-7", "-o", str(root / "a.json")]) == 0
    assert f"{len(mine)} text(s)" in capsys.readouterr().out
    out = json.loads((root / "a.json").read_text(encoding="utf-8"))
    assert out["reference"] == "A-7" and out["subjects"]["authors"] == 1
    assert {t["id"]: t["text"] for t in out["texts"]} == mine  # hers, all of them, and nobody else's
    assert sum(len(t["tags"]) for t in out["texts"]) == tags and all(t["experience"] for t in out["texts"])
    assert sum(len(t["corrections"]) for t in out["texts"]) == 1  # the fixture's correction, without the analyst
    assert "analyst-1" not in json.dumps(out, ensure_ascii=False)
    assert any(t["topics"] for t in out["texts"]) and len(out["repeated_posts"]) == reposts
    with _store(root) as store:
        assert _counts(store) == before


def test_the_command_line_dry_run_erase_and_log(project, capsys, monkeypatch):
    from cxnlp.cli import main

    root, subject = project
    monkeypatch.setenv("CXNLP_HOME", str(root))
    names = root / "subjects.txt"
    names.write_text(subject + "\n", encoding="utf-8")
    assert main(["erase", "--authors-file", str(names)]) == 0
    dry = capsys.readouterr().out
    assert "dry run" in dry and "feedback" in dry
    assert main(["erase", "--authors-file", str(names), "--reference", "T-1", "--yes", "--json",
                 str(root / "out.json")]) == 0
    done = capsys.readouterr().out
    assert "erased — request erasure-" in done and "outside the store" in done
    assert json.loads((root / "out.json").read_text(encoding="utf-8"))["rows"]["feedback"] >= 1
    assert main(["erase", "--log"]) == 0 and "ref T-1" in capsys.readouterr().out
    assert main(["erase", "--authors-file", str(names), "--yes"]) == 0  # again: nothing left to erase
    assert "nothing stored matches" in capsys.readouterr().out
    assert main(["erase", "--external-id", "no-colon"]) == 2


def test_the_duckdb_file_keeps_deleted_bytes_until_it_is_rewritten(tmp_path):
    """Why erasure rewrites the DuckDB file: a deleted row's bytes stay in it after CHECKPOINT (and VACUUM). The
    rewrite keeps the rest: tables, an index, a sequence's position."""
    from cxnlp.store import DuckDBStore

    marker = "Geheimnis-Erika-Musterfrau-0815"
    with DuckDBStore(tmp_path / "s.duckdb") as store:
        store.con.execute("SET force_compression = 'uncompressed'")  # the bytes as they are, to look for them
        store.con.execute("CREATE SEQUENCE seq START 1")
        store.con.execute("CREATE TABLE notes (id BIGINT DEFAULT nextval('seq'), text VARCHAR)")
        store.con.execute("CREATE INDEX notes_text ON notes (text)")
        store.con.execute("INSERT INTO notes (text) SELECT 'Zeile ' || i FROM range(5000) t(i)")
        store.con.execute("INSERT INTO notes (text) VALUES (?)", [marker])
        store.con.execute("CHECKPOINT")
        assert marker.encode() in store.path.read_bytes()
        store.con.execute("DELETE FROM notes WHERE text = ?", [marker])
        assert store.reclaim(full=False)["method"] == "checkpoint"
        assert marker.encode() in store.path.read_bytes()
        out = store.reclaim(full=True)
        assert out["method"] == "rewrite" and marker.encode() not in store.path.read_bytes()
        store.con.execute("INSERT INTO notes (text) VALUES ('neu')")
        assert store.query("SELECT max(id), count(*) FROM notes")[0] == (5002, 5001)
        assert store.query("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'notes'") == [("notes_text",)]
    assert not list(tmp_path.glob("*.compact*"))


def test_erasure_on_postgresql(pg_url, tmp_path):
    """The same request on the team store: the rows go, the tables are rewritten (VACUUM FULL gives each a new
    file), and the ingest after it stores nothing of the subject."""
    from cxnlp.config import load_settings, load_sources
    from cxnlp.erasure import ErasureRequest, erase
    from cxnlp.runs import ingest_stage, run_pipeline

    root = make_project(tmp_path / "pg", pg_url)
    settings = load_settings(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CXNLP_INGEST_WORKERS", "1")
        run_pipeline(settings)
    with _store(root) as store:
        subject = _subject(store, root)
        files = dict(store.query("SELECT t, pg_relation_filenode(to_regclass(t)) FROM unnest(?::text[]) t",
                                 [["feedback", "tags"]]))
        before = _counts(store)
        from cxnlp.erasure import access

        seen = json.loads(json.dumps(access(store, settings, ErasureRequest(authors=[subject])), default=str))
        out = erase(store, settings, ErasureRequest(authors=[subject]), apply=True)
        rows = out["rows"]
        assert rows["feedback"] >= 2 and rows["alerts_examples"] >= 1
        assert len(seen["texts"]) == rows["feedback"] and len(seen["repeated_posts"]) == rows["duplicates"]
        assert sum(len(t["tags"]) for t in seen["texts"]) == rows["tags"]
        assert _counts(store)["feedback"] == before["feedback"] - rows["feedback"]
        assert out["store"]["method"] == "vacuum full"
        after = dict(store.query("SELECT t, pg_relation_filenode(to_regclass(t)) FROM unnest(?::text[]) t",
                                 [["feedback", "tags"]]))
        assert all(after[t] != files[t] for t in files)
        agg = _rows(store, "SELECT * FROM experience_agg ORDER BY grain, period, source, channel, facet, touchpoint")
        from cxnlp.store import experience_sql

        experience_sql.rebuild_aggregates(store, None)
        assert _rows(store, "SELECT * FROM experience_agg ORDER BY grain, period, source, channel, facet, "
                            "touchpoint") == agg
        with (root / "data" / "social.jsonl").open("a", encoding="utf-8") as f:
            f.write(json.dumps({"post_id": "late-pg", "user": subject, "text": "Noch ein Beitrag von mir.",
                                "created_at": "2026-10-28T12:00:00Z", "platform": "twitter"}) + "\n")
        social = ingest_stage(store, settings, load_sources(root), "rerun")["social"]
        assert social["erased"] >= rows["feedback"] + 1 and social["stored"] == 0

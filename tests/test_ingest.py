"""End-to-end ingest into DuckDB: accounting, quarantine reasons, redaction, idempotence, resume."""
import json
from collections import Counter
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, write_sources
from cxnlp.config import load_settings, load_sources
from cxnlp.ingest.pipeline import Ingestor
from cxnlp.store import open_store

SOURCES = """
sources:
  shop:
    path: data/shop.csv
    source: review
    channel: webshop
    date_format: "%d.%m.%Y %H:%M"
    columns: {id: ID, text: Text, created_at: Datum, rating_stars: Sterne, author: Name}
  social:
    path: data/social.jsonl
    source: social
    columns: {id: post_id, text: text, created_at: created_at, channel: platform, author: user,
              likes: likes, shares: shares}
"""


WORDS = ("Jacke Hose Mantel Schal Kleid Bluse Hemd Rock Socken Stiefel Gürtel Mütze Tasche Pulli Weste "
         "Lampe Kissen Decke Teppich Vase Uhr Kopfhörer Kabel Akku Hülle").split()


def phrase(i):
    """Distinct wording per i (digits alone would make rows near-duplicates of each other)."""
    a, b, c = WORDS[i % len(WORDS)], WORDS[(i // len(WORDS)) % len(WORDS)], WORDS[(i * 7 + 3) % len(WORDS)]
    return f"{a} und {b} sowie {c}"


def make_inputs(root, n_good=40):
    shop = ["ID;Datum;Sterne;Text;Name;Produkt"]
    for i in range(n_good):
        shop.append(f"S{i};0{1 + i % 9}.10.2026 12:00;{1 + i % 5};Die Lieferung mit {phrase(i)} "
                    f"ist angekommen und passt sehr gut zu mir;Kundin {i};Jacke")
    shop += [
        "S900;01.10.2026 10:00;7;Sterne außerhalb der Skala, das darf nicht rein;Max;X",
        "S901;31.02.2026 10:00;3;Datum gibt es nicht, also ab in die Quarantäne;Max;X",
        "S902;01.10.2026 10:00;4;   <br>  ;Max;X",
        "S903;01.10.2026 10:00;abc;Sterne sind keine Zahl hier in dieser Zeile;Max;X",
        "S904;01.10.2026 10:00;4;zu;viele;Felder;hier",
        "S905;01.10.2026 10:00;2;Bitte ruft mich an: 0171 2345678 oder schreibt an max.mustermann@example.de;Max;X",
    ]
    (root / "data" / "shop.csv").write_bytes(("\n".join(shop) + "\n").encode("cp1252"))
    posts = []
    for i in range(n_good):
        posts.append({"post_id": f"P{i}", "created_at": f"2026-10-{1 + i % 28:02d}T10:00:00Z", "platform": "twitter",
                      "user": f"@nutzer{i}", "likes": i, "shares": 1,
                      "text": f"Heute im Laden {phrase(i)} gekauft, Beratung war richtig freundlich und kompetent"})
    posts.append({"post_id": "RT1", "created_at": "2026-10-02T11:00:00Z", "platform": "twitter", "user": "@fan",
                  "likes": 0, "shares": 5, "text": "RT @nutzer0: " + posts[0]["text"]})
    posts.append({"post_id": "T2", "created_at": "2026-10-03T11:00:00Z", "platform": "twitter", "user": "@kopie",
                  "text": posts[1]["text"] + "!!!"})
    lines = [json.dumps(p, ensure_ascii=False) for p in posts]
    lines += ['{"post_id": "B1", "text": "kaputt', '["kein", "objekt"]',
              json.dumps({"post_id": "B2", "created_at": "2026-10-05T10:00:00Z", "text": "x" * 30000})]
    (root / "data" / "social.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(shop) - 1 + len(lines)


def ingest(root, batch_size=7):
    settings = load_settings(root)
    with open_store(settings) as store:
        stats = Ingestor(store, settings, batch_size=batch_size).ingest(load_sources(root), "test-run")
        counts = {t: store.count(t) for t in ("feedback", "duplicates", "quarantine")}
        return stats, counts, store.summary()


def test_every_row_is_accounted_for_with_reasons(project):
    write_sources(project, SOURCES)
    total = make_inputs(project)
    stats, counts, _ = ingest(project)
    assert sum(s.rows_read for s in stats.values()) == total
    assert all(s.accounted == s.rows_read for s in stats.values())
    assert sum(counts.values()) == total
    assert counts["duplicates"] == 2
    reasons = sum((s.reasons for s in stats.values()), Counter())
    assert reasons == {"rating_out_of_range": 1, "unparseable_date": 1, "empty_text": 1, "unparseable_rating": 1,
                       "malformed_row": 3, "oversize_text": 1}


def test_store_holds_no_pii_and_hashes_authors(project):
    write_sources(project, SOURCES)
    make_inputs(project)
    ingest(project)
    with open_store(load_settings(project)) as store:
        text = store.query("SELECT text, author_hash, meta FROM feedback WHERE external_id = 'S905'")[0]
        assert "[PHONE]" in text[0] and "[EMAIL]" in text[0]
        assert "0171" not in text[0] and "mustermann" not in text[0]
        assert text[1] and "Max" not in text[1]
        dump = " ".join(str(r) for r in store.query("SELECT * FROM feedback"))
        assert "@nutzer" not in dump and "Kundin 1" not in dump and "example.de" not in dump


PII_BAD_ROWS = {
    # rating 9 of 5: quarantined after parsing; PII in the text and the author column
    "shop": "S906;01.10.2026 10:00;9;Ruft mich an: 0171 2345678 oder an max.mustermann@example.de;Max Mustermann;X\n",
    # broken JSON: never parsed, only the redactor sees it
    "social": '{"post_id": "B3", "user": "@anna", "text": "Schreibt an anna.schmidt@example.de oder 0152 9876543\n',
}


def add_pii_bad_rows(root):
    with (root / "data" / "shop.csv").open("ab") as f:
        f.write(PII_BAD_ROWS["shop"].encode("cp1252"))
        # a byte cp1252 does not define: refused as broken_encoding, its fields still split for the view
        f.write(b"S907;01.10.2026 10:00;4;Tolle Jacke\x81 sitzt super;Erika Beispiel;X\n")
        # a delimiter inside the text: one field too many, told apart around the text column
        f.write("S908;01.10.2026 10:00;2;Lieferung kam; aber kaputt;Petra Beispiel;X\n".encode("cp1252"))
    with (root / "data" / "social.jsonl").open("ab") as f:
        f.write(PII_BAD_ROWS["social"].encode("utf-8"))
        f.write(b'{"post_id": "B4", "user": "@bert_b", "text": "Super\xff Laden"}\n')  # not UTF-8


def quarantine_dump(store):
    return {r["key"]: r for r in store.query_dicts("SELECT key, source_name, reason, detail, raw, raw_hash "
                                                   "FROM quarantine ORDER BY key")}


def test_quarantined_rows_are_kept_redacted(project):
    write_sources(project, SOURCES)
    total = make_inputs(project) + 5
    add_pii_bad_rows(project)
    stats, counts, _ = ingest(project)
    assert sum(counts.values()) == total
    with open_store(load_settings(project)) as store:
        rows = quarantine_dump(store)
    dump = json.dumps(list(rows.values()), ensure_ascii=False)
    for secret in ("0171", "2345678", "mustermann", "Mustermann", "example.de", "0152", "anna.schmidt", "Erika", "bert_b", "Petra"):
        assert secret not in dump, secret
    shop = [r for r in rows.values() if "[AUTHOR]" in r["raw"]]
    # the parsed row: its fields as JSON, the author column replaced, the rest redacted, the reason kept
    s906 = next(json.loads(r["raw"]) for r in shop if '"S906"' in r["raw"])
    assert s906["Name"] == "[AUTHOR]" and s906["Sterne"] == "9" and "[PHONE]" in s906["Text"]
    assert "[EMAIL]" in s906["Text"] and s906["Produkt"] == "X"
    b3 = next(r for r in rows.values() if '"B3"' in r["raw"])
    assert b3["reason"] == "malformed_row" and "[EMAIL]" in b3["raw"] and "[PHONE]" in b3["raw"]
    s907 = next(json.loads(r["raw"]) for r in shop if '"S907"' in r["raw"])
    assert s907["Name"] == "[AUTHOR]" and s907["Text"] == "Tolle Jacke\\x81 sitzt super"
    b4 = next(json.loads(r["raw"]) for r in rows.values() if '"B4"' in r["raw"])
    assert b4 == {"post_id": "B4", "user": "[AUTHOR]", "text": "Super\\xff Laden"}
    s908 = next(json.loads(r["raw"]) for r in shop if '"S908"' in r["raw"])
    assert s908 == {"ID": "S908", "Datum": "01.10.2026 10:00", "Sterne": "2", "Text": "Lieferung kam; aber kaputt",
                    "Name": "[AUTHOR]", "Produkt": "X"}
    assert all(r["raw_hash"] and len(r["raw_hash"]) == 32 for r in rows.values())
    # identical keys on a second read of the same files (a re-export): nothing quarantined twice
    with open_store(load_settings(project)) as store:
        store.query("DELETE FROM files RETURNING 1")
    stats, again, _ = ingest(project)
    assert again == counts and sum(s.unchanged for s in stats.values()) == total


def test_quarantine_can_keep_no_row_text(project):
    write_sources(project, SOURCES)
    make_inputs(project)
    add_pii_bad_rows(project)
    settings = (project / "configs" / "settings.yaml").read_text()
    assert "quarantine_raw: redacted" in settings
    (project / "configs" / "settings.yaml").write_text(settings.replace("quarantine_raw: redacted",
                                                                        "quarantine_raw: omit"))
    stats, counts, _ = ingest(project)
    with open_store(load_settings(project)) as store:
        rows = quarantine_dump(store)
    assert len(rows) == counts["quarantine"] == 13
    assert all(r["raw"] == "" and r["reason"] and r["raw_hash"] for r in rows.values())


def test_rows_an_older_version_quarantined_unredacted_are_redacted_on_the_next_ingest(project):
    """A store from before: each quarantined row as it was read and no raw_hash. The next ingest redacts them
    in place, and a second read of the same files still finds every bad row already accounted for."""
    from cxnlp.ingest.pipeline import map_batch, quarantine_key
    from cxnlp.ingest.readers import read_records

    write_sources(project, SOURCES)
    total = make_inputs(project) + 5
    add_pii_bad_rows(project)
    _, counts, _ = ingest(project)
    settings = load_settings(project)
    original = {}  # quarantine key -> the row as read (what older versions stored)
    for cfg in load_sources(project):
        ing = Ingestor(None, settings)
        rows = list(read_records(project / cfg.path, cfg.format or "csv", delimiter=cfg.delimiter,
                                 encoding=cfg.encoding))
        seen = Counter()
        for item in map_batch(ing.mapper(cfg), rows):
            if isinstance(item, tuple):
                original[quarantine_key(cfg.name, item[3], seen[item[3]])] = item[3]
                seen[item[3]] += 1
    with open_store(settings) as store:
        redacted = quarantine_dump(store)
        assert set(original) == set(redacted)
        with store.transaction() as con:
            for key, raw in original.items():
                con.execute("UPDATE quarantine SET raw = ?, raw_hash = NULL WHERE key = ?", [raw, key])
        assert "mustermann" in json.dumps(list(quarantine_dump(store).values()))
        store.query("DELETE FROM files RETURNING 1")
    stats, again, _ = ingest(project)
    assert again == counts and sum(s.unchanged for s in stats.values()) == total
    with open_store(settings) as store:
        after = quarantine_dump(store)
    # each old row found again in its file: the same view as a row quarantined now (author column replaced)
    assert after == redacted
    assert "Mustermann" not in json.dumps(list(after.values()))
    # without the file only the redactor's rules apply: the author's name stays where no rule finds it
    with open_store(settings) as store:
        with store.transaction() as con:
            for key, raw in original.items():
                con.execute("UPDATE quarantine SET raw = ?, raw_hash = NULL WHERE key = ?", [raw, key])
    (project / "data" / "shop.csv").rename(project / "data" / "shop.csv.old")
    ingest(project)
    with open_store(settings) as store:
        gone = quarantine_dump(store)
    s906 = next(r for r in gone.values() if r["raw"].startswith("S906"))
    assert "[PHONE]" in s906["raw"] and "[EMAIL]" in s906["raw"] and "Max Mustermann" in s906["raw"]
    assert all(gone[k]["raw_hash"] == redacted[k]["raw_hash"] for k in gone)


def test_duplicates_point_to_their_original(project):
    write_sources(project, SOURCES)
    make_inputs(project)
    ingest(project)
    with open_store(load_settings(project)) as store:
        rows = store.query_dicts(
            "SELECT d.kind, f.external_id AS orig, d.shares FROM duplicates d JOIN feedback f ON f.id = d.original_id "
            "ORDER BY orig")
    assert rows == [{"kind": "exact", "orig": "P0", "shares": 5}, {"kind": "near", "orig": "P1", "shares": None}]


def test_reingest_is_idempotent(project):
    write_sources(project, SOURCES)
    make_inputs(project)
    _, first, _ = ingest(project)
    stats, second, _ = ingest(project)
    assert second == first
    assert all(s.files_skipped == 1 and s.rows_read == 0 for s in stats.values())
    # a re-export: the same rows plus one new row, under another file name
    data = (project / "data" / "shop.csv").read_bytes()
    data += "S999;05.10.2026 09:00;5;Neu dazugekommen: schnelle Lieferung und gute Qualität;Eva;Hose\n".encode("cp1252")
    (project / "data" / "shop_export2.csv").write_bytes(data)
    write_sources(project, SOURCES.replace("data/shop.csv", "data/shop*.csv"))
    stats, third, _ = ingest(project)
    assert third["feedback"] == first["feedback"] + 1
    assert (third["duplicates"], third["quarantine"]) == (first["duplicates"], first["quarantine"])
    assert stats["shop"].files_skipped == 1 and stats["shop"].files_read == 1
    assert stats["shop"].stored == 1 and stats["shop"].unchanged == stats["shop"].rows_read - 1


def test_killed_run_resumes_without_loss_or_duplicates(project):
    write_sources(project, SOURCES)
    total = make_inputs(project, n_good=120)
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from cxnlp.config import load_settings, load_sources
        from cxnlp.ingest.pipeline import Ingestor
        from cxnlp.store import open_store
        root = {str(project)!r}
        def kill(name, n):
            if name == "social" and n == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        s = load_settings(root)
        store = open_store(s)
        Ingestor(store, s, batch_size=10).ingest(load_sources(root), "killed-run", on_batch=kill)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with open_store(load_settings(project)) as store:
        partial = sum(store.count(t) for t in ("feedback", "duplicates", "quarantine"))
        progress = store.query("SELECT source_name, status, rows_done FROM files ORDER BY source_name")
    assert 0 < partial < total
    assert ("social", "partial", 30) in progress
    stats, counts, _ = ingest(project, batch_size=10)
    assert sum(counts.values()) == total
    assert stats["social"].rows_read == total - 126 - 30  # the shop file was done; social resumes at row 31
    with open_store(load_settings(project)) as store:
        ids = store.query("SELECT count(*), count(DISTINCT external_id) FROM feedback")[0]
    assert ids[0] == ids[1]


def test_missing_file_is_reported_not_fatal(project):
    write_sources(project, SOURCES)
    make_inputs(project)
    (project / "data" / "social.jsonl").unlink()
    stats, counts, _ = ingest(project)
    assert stats["social"].errors and "no input file" in stats["social"].errors[0]
    assert counts["feedback"] > 0

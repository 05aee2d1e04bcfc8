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

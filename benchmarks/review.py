"""Review app benchmark: filtered list pages over 1,000,000 tagged feedback rows.

    python benchmarks/review.py [--rows 1000000] [--reps 15] [--keep PATH]

1. Generates N feedback rows with their tags (about 7 tag rows per item) and tag states straight into a
   temporary DuckDB store with set-based SQL (no tagger), deterministic.
2. Builds the review index (first start of the app) and times it.
3. Times filtered, sorted list pages through the whole app (Starlette TestClient: routing, SQL, Jinja2
   rendering) and through the store functions alone; p50/p95 per query over --reps repetitions; plus keyset
   paging deep into a result, item pages, corrections and a CSV export of a filter.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHRASES = [
    "Die Lieferung kam zwei Tage zu spät", "Super freundliche Beratung in der Filiale", "Die App stürzt ständig ab",
    "Rechnung doppelt abgebucht, bitte erstatten", "Tolle Qualität, gerne wieder", "Der Kundenservice war nicht erreichbar",
    "Paket beschädigt angekommen", "Preis-Leistung stimmt", "Warum dauert die Rückerstattung so lange?",
    "Die neue Kampagne ist geschmacklos", "Hotline Warteschleife 40 Minuten", "Alles bestens, danke!",
    "Produkt entspricht nicht der Beschreibung", "Schnelle Antwort per Chat", "Nie wieder bestelle ich hier",
    "Die Verpackung ist viel zu groß, unnötiger Müll", "Bestellung storniert ohne Grund", "Ich bin begeistert",
    "Die Website ist unübersichtlich", "Mitarbeiterin war sehr kompetent", "Gutschein wurde nicht angerechnet",
    "Versandkosten sind zu hoch", "Top Service, schnelle Lieferung", "Seit Wochen keine Antwort auf meine E-Mail",
    "Das Essen war kalt", "Kaffeemaschine nach drei Monaten kaputt", "Die Größe passt perfekt",
    "Umtausch problemlos in der Filiale", "Der Kurier hat das Paket einfach abgestellt", "Wann kommt meine Bestellung?",
    "Die Farbe ist anders als auf dem Bild", "Kann ich nur empfehlen", "Login in der App geht nicht",
    "Sehr enttäuscht von der Qualität", "Vielen Dank für die schnelle Hilfe", "Mein Konto wurde gesperrt",
    "Wir kommen gerne wieder", "Lieferung pünktlich wie angekündigt", "Zahlung per Rechnung nicht möglich",
    "Die Beratung war eine Frechheit",
]
FACETS = ["Produkt-Erfahrung", "Service-Erfahrung", "Marken-Erfahrung", "Shopping-Erfahrung", "Konsum-Erfahrung"]
TOUCHPOINTS = ["Website/Webshop", "App", "Filiale", "Hotline", "E-Mail", "Chat/Messenger", "Social Media",
               "Lieferung/Versand", "Rechnung/Zahlung", "Beratung/Personal", "Werbung/Kampagne", "Bewertungsportal"]
PHASES = ["Bewusstsein", "Überlegung", "Kauf", "Bindung", "Befürwortung", "unknown"]
EMOTIONS = ["Ärger", "Enttäuschung", "Sorge", "Freude", "Überraschung", "Vertrauen", "Ekel", "Verachtung"]
SOURCES = [("review", "webshop"), ("review", "app_store"), ("review", "google"), ("social", "twitter"),
           ("social", "instagram"), ("social", "facebook"), ("ticket", "email"), ("ticket", "chat"), ("ticket", "hotline")]


def _lit(xs: list[str]) -> str:
    return "[" + ", ".join("'" + x.replace("'", "''") + "'" for x in xs) + "]"


def generate(store, n: int) -> dict[str, float]:
    """N feedback rows, their tags and tag states, with set-based SQL (seconds per table)."""
    con = store.con
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    con.execute("CREATE OR REPLACE TEMP MACRO h(i, k) AS CAST(hash(i, k) % 1000000007 AS BIGINT)")
    srcs = "[" + ", ".join(f"{{'s': '{s}', 'c': '{c}'}}" for s, c in SOURCES) + "]"
    con.execute(f"""
    CREATE TEMP TABLE g AS
    SELECT i, substr(md5('fb' || i), 1, 32) AS id,  -- random hex ids, like the ingest's blake2b ids
           {srcs}[1 + h(i, 1) % {len(SOURCES)}] AS sc,
           now() - to_seconds(CAST(({n} - i) * 31 + h(i, 2) % 30 AS BIGINT)) AS created_at,
           {_lit(PHRASES)}[1 + h(i, 3) % {len(PHRASES)}] || '. ' || {_lit(PHRASES)}[1 + h(i, 4) % {len(PHRASES)}]
             || '. ' || {_lit(PHRASES)}[1 + h(i, 5) % {len(PHRASES)}] || ' #' || (i % 997) AS text,
           h(i, 6) % 100 AS r_sent, h(i, 7) % 1000 / 1000.0 AS r_conf, h(i, 8) % 100 AS r_rating
    FROM range({n}) t(i)""")
    con.execute("""
    INSERT INTO feedback (id, source, source_name, channel, created_at, text, language, language_score,
                          rating_stars, rating_nps, likes, shares, replies, content_hash, near_key, pii, meta,
                          run_id, ingested_at)
    SELECT id, sc.s, sc.s || '_export', sc.c, created_at, text, 'de', 0.99,
           CASE WHEN sc.s = 'review' THEN CAST(1 + r_rating % 5 AS TINYINT) END,
           CASE WHEN sc.s = 'ticket' AND r_rating < 40 THEN CAST(r_rating % 11 AS TINYINT) END,
           CASE WHEN sc.s = 'social' THEN CAST(h(i, 9) % 200 AS INTEGER) END,
           CASE WHEN sc.s = 'social' THEN CAST(h(i, 10) % 20 AS INTEGER) END,
           CASE WHEN sc.s = 'social' THEN CAST(h(i, 11) % 30 AS INTEGER) END,
           md5(text || i), md5(id), '{}', '{}', 'bench', now()
    FROM g""")
    t["feedback"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute(f"""
    CREATE TEMP TABLE s AS
    SELECT id, i, text,
           CASE WHEN r_sent < 40 THEN 'negative' WHEN r_sent < 65 THEN 'neutral' ELSE 'positive' END AS label,
           0.34 + 0.64 * r_conf AS top
    FROM g""")
    con.execute(f"""
    INSERT INTO tags
    SELECT id, 'sentiment', label, top,
           '[{{"start": 0, "end": ' || least(length(text), 12) || ', "source": "model"}}]', 'cxnlp-de-small',
           'bench', 'bench', now() FROM s
    UNION ALL SELECT id, 'phase', {_lit(PHASES)}[1 + h(i, 20) % {len(PHASES)}], 0.6, '[]', 'cxnlp-de-small', 'bench', 'bench', now() FROM s
    UNION ALL SELECT id, 'relevance', CASE WHEN h(i, 21) % 10 = 0 THEN 'irrelevant' ELSE 'relevant' END, 0.8, '[]',
                     'cxnlp-de-small', 'bench', 'bench', now() FROM s
    UNION ALL SELECT id, 'facet', {_lit(FACETS)}[1 + h(i, 22) % {len(FACETS)}], 0.7, '[]', 'cxnlp-de-small', 'bench', 'bench', now() FROM s
    UNION ALL SELECT id, 'facet', {_lit(FACETS)}[1 + (h(i, 22) + 1 + h(i, 23) % 4) % {len(FACETS)}], 0.55, '[]',
                     'cxnlp-de-small', 'bench', 'bench', now() FROM s WHERE h(i, 24) % 3 = 0
    UNION ALL SELECT id, 'touchpoint', {_lit(TOUCHPOINTS)}[1 + h(i, 25) % {len(TOUCHPOINTS)}], 0.65, '[]',
                     'cxnlp-de-small', 'bench', 'bench', now() FROM s WHERE h(i, 26) % 3 <> 0
    UNION ALL SELECT id, 'emotion', {_lit(EMOTIONS)}[1 + h(i, 27) % {len(EMOTIONS)}], 0.5, '[]',
                     'cxnlp-de-small', 'bench', 'bench', now() FROM s WHERE label <> 'neutral'
    UNION ALL SELECT id, 'offensive', 'offensive', 0.7, '[]', 'cxnlp-de-small', 'bench', 'bench', now()
              FROM s WHERE h(i, 28) % 50 = 0""")
    t["tags"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    con.execute("""
    INSERT INTO tag_state
    SELECT id, 'cxnlp-de-small', 'bench',
           json_object('sentiment', json_object('label', label, 'scores', json_object(
               'negative', CASE WHEN label = 'negative' THEN top ELSE (1 - top) * 0.6 END,
               'neutral', CASE WHEN label = 'neutral' THEN top WHEN label = 'negative' THEN (1 - top) * 0.4
                               ELSE (1 - top) * 0.4 END,
               'positive', CASE WHEN label = 'positive' THEN top ELSE (1 - top) * 0.4 END))),
           now(), FALSE
    FROM s""")
    t["tag_state"] = time.perf_counter() - t0
    con.execute("DROP TABLE g")
    con.execute("DROP TABLE s")
    return t


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(q * (len(xs) - 1)))))
    return xs[k]


def timed(fn, reps: int) -> list[float]:
    fn()  # warm-up (first run compiles plans, loads columns)
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


QUERIES = [
    ("no filter, newest first", ""),
    ("source=social, last 30 days", "source=social&period=30d"),
    ("sentiment=negative & facet", "sentiment=negative&facet=Service-Erfahrung"),
    ("touchpoint & emotion & channel", "touchpoint=Lieferung/Versand&emotion=Ärger&channel=webshop"),
    ("phase & confidence 0.4–0.5, least certain first", "phase=Kauf&conf_min=0.4&conf_max=0.5&sort=confidence"),
    ("engagement sort, social", "source=social&sort=engagement"),
    ("text search 'Kaffeemaschine'", "q=Kaffeemaschine"),
    ("text search + sentiment + 90 days", "q=Rückerstattung&sentiment=negative&period=90d"),
    ("text search, no hit (full scan)", "q=Lieferadresse"),
    ("rating disagreement", "disagreement=1"),
    ("queue (priority)", "@queue"),
    ("queue: review, facet", "@queue?source=review&facet=Produkt-Erfahrung"),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--keep", help="write the store here and keep it (default: a temporary folder)")
    args = ap.parse_args()

    from starlette.testclient import TestClient

    from cxnlp.review.app import create_app
    from cxnlp.store import DuckDBStore
    from cxnlp.store import review_sql as sql

    tmp = None
    if args.keep:
        path = Path(args.keep)
        if path.exists():
            path.unlink()
    else:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "bench.duckdb"
    print(f"review benchmark: {args.rows:,} feedback rows, DuckDB at {path.name}, {os.cpu_count()} CPUs")
    t0 = time.perf_counter()
    with DuckDBStore(path) as st:
        gen = generate(st, args.rows)
        n_tags = st.count("tags")
    print(f"generated feedback {gen['feedback']:.1f} s, {n_tags:,} tags {gen['tags']:.1f} s, "
          f"tag states {gen['tag_state']:.1f} s (total {time.perf_counter() - t0:.1f} s)")

    t0 = time.perf_counter()
    app = create_app(path, analyst="bench")
    print(f"first start (review index built for {args.rows:,} items, tables/indexes created): "
          f"{time.perf_counter() - t0:.1f} s")
    st = app.state.review.store
    t0 = time.perf_counter()
    app2_info = sql.refresh_index(st)
    print(f"later start (index current): {1000 * (time.perf_counter() - t0):.0f} ms ({app2_info['mode']})")
    client = TestClient(app, base_url="http://127.0.0.1")

    print(f"\nlist pages, 50 rows, count capped at {sql.COUNT_CAP:,}; ms over {args.reps} runs after a warm-up")
    print(f"{'query':<50} {'hits':>8} {'HTTP p50':>9} {'p95':>7} {'store p50':>10} {'p95':>7}")
    from cxnlp.review.app import parse_filters

    all_http: list[float] = []
    for name, q in QUERIES:
        queue = q.startswith("@queue")
        qs = q.split("?", 1)[1] if queue and "?" in q else ("" if queue else q)
        url = ("/queue" if queue else "/") + ("?" + "&".join(
            k + "=" + quote(v, safe="") for k, v in (p.split("=", 1) for p in qs.split("&"))) if qs else "")
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        from starlette.datastructures import QueryParams

        qp = QueryParams(qs)
        filters, _ = parse_filters(qp)
        sort = qp.get("sort", "date")
        if queue:
            store_fn = lambda: sql.review_queue(st, filters, limit=50)  # noqa: E731
        else:
            store_fn = lambda: sql.list_feedback(st, filters, sort, limit=50)  # noqa: E731
        page = store_fn()
        hits = f"{'>' if page['total_capped'] else ''}{page['total']:,}"
        http = timed(lambda: client.get(url), args.reps)
        pure = timed(store_fn, args.reps)
        all_http += http
        print(f"{name:<50} {hits:>8} {pct(http, .5):>9.0f} {pct(http, .95):>7.0f} {pct(pure, .5):>10.0f} "
              f"{pct(pure, .95):>7.0f}")
    print(f"{'all list pages':<50} {'':>8} {pct(all_http, .5):>9.0f} {pct(all_http, .95):>7.0f}")

    # keyset paging deep into a large result
    filters = {"source": "review"}
    after, times = None, []
    for _ in range(40):
        t0 = time.perf_counter()
        page = sql.list_feedback(st, filters, "date", after=after, limit=50, with_count=False)
        times.append((time.perf_counter() - t0) * 1000)
        after = page["next"]
    print(f"\nkeyset paging, source=review, 40 consecutive pages: p50 {pct(times, .5):.0f} ms, "
          f"p95 {pct(times, .95):.0f} ms (page 40 {times[-1]:.0f} ms)")

    ids = [r[0] for r in st.query("SELECT feedback_id FROM review_index USING SAMPLE 20 ROWS")]
    t_item = []
    for fid in ids:
        t0 = time.perf_counter()
        assert client.get(f"/item/{fid}?source=review").status_code == 200
        t_item.append((time.perf_counter() - t0) * 1000)
    print(f"item page (text, tags, evidence, audit, next/previous): p50 {pct(t_item, .5):.0f} ms, "
          f"p95 {pct(t_item, .95):.0f} ms")
    client.get("/")
    tok = client.cookies.get("cxnlp_csrf")
    t_corr = []
    for fid in ids:
        t0 = time.perf_counter()
        r = client.post(f"/item/{fid}/correct", data={"task": "sentiment", "value": "neutral"},
                        headers={"X-CSRF-Token": tok, "Accept": "application/json"})
        assert r.status_code == 200
        t_corr.append((time.perf_counter() - t0) * 1000)
    print(f"correction (transaction: audit row + index row): p50 {pct(t_corr, .5):.0f} ms, "
          f"p95 {pct(t_corr, .95):.0f} ms")

    t0 = time.perf_counter()
    r = client.get("/export.csv?" + "source=ticket&sentiment=negative&period=30d")
    n_rows = r.text.count("\n") - 1
    secs = time.perf_counter() - t0
    print(f"CSV export of a filter: {n_rows:,} rows in {secs:.1f} s ({n_rows / secs:,.0f} rows/s)")
    client.close()
    app.state.review.close()
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

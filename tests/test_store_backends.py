"""The store suite on both backends (issue 7, "Store for teams"): DuckDB, the embedded file, and PostgreSQL,
the team store. A real PostgreSQL server is started for the session (tests/pg.py; CXNLP_TEST_PG_URL uses an
existing one).

The same tests run against each backend: the full pipeline (``cxnlp.runs.run_pipeline``) on a slice of the
shipped sample (shop reviews, the social posts around the planted campaign backlash, the survey), reruns,
tagging and re-tagging, summaries, daily volume, incremental aggregation, failed batches. Then both stores are
compared row by row, and PostgreSQL's own concerns are tested: migrations, an unavailable server, and two
processes writing the same input at once.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, SAMPLE_SOURCES as SOURCES, write_sources
from pg import create_database, drop_database, pg_server, pg_server_url, pg_url  # noqa: F401 (fixtures)

SAMPLE = REPO / "data" / "sample"
TESTS = Path(__file__).resolve().parent
BACKENDS = ["duckdb", "postgres"]


def _lines(path: Path, start: int, stop: int) -> bytes:
    with path.open("rb") as f:
        return b"".join(line for i, line in enumerate(f) if start <= i < stop)


def make_project(root: Path, url: str | None = None, social: tuple[int, int] = (802, 1817),
                 shop_rows: int = 150, topic_texts: int = 400) -> Path:
    """A project folder: the repository's configs (store.url set for PostgreSQL, few quick connection retries),
    the shipped model (linked) and a slice of the sample data. The default social slice holds three weeks
    before the planted backlash of 27 October and the backlash itself."""
    (root / "configs").mkdir(parents=True, exist_ok=True)
    for name in ("settings.yaml", "taxonomy.yaml", "models.yaml", "alerts.yaml"):
        shutil.copy(REPO / "configs" / name, root / "configs" / name)
    settings = (root / "configs" / "settings.yaml").read_text(encoding="utf-8")
    settings = settings.replace('url: ""', f'url: "{url or ""}"')
    settings = settings.replace("connect_attempts: 5", "connect_attempts: 3")
    settings = settings.replace("connect_backoff_s: 0.5", "connect_backoff_s: 0.05")
    # topics on a sample of the window: quicker, and the sample must be the same texts on both backends
    settings = settings.replace("max_texts: 50000", f"max_texts: {topic_texts}")
    (root / "configs" / "settings.yaml").write_text(settings, encoding="utf-8")
    assert f'url: "{url or ""}"' in settings and "connect_attempts: 3" in settings
    assert f"max_texts: {topic_texts}" in settings
    write_sources(root, SOURCES)
    if not (root / "models").exists():
        (root / "models").symlink_to(REPO / "models")
    data = root / "data"
    data.mkdir(exist_ok=True)
    (data / "shop.csv").write_bytes(_lines(SAMPLE / "shop_reviews.csv", 0, shop_rows))
    (data / "social.jsonl").write_bytes(_lines(SAMPLE / "social_posts.jsonl", *social))
    shutil.copy(SAMPLE / "survey.parquet", data / "survey.parquet")
    return root


def open_for(root: Path, read_only: bool = False):
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    return open_store(load_settings(root), read_only=read_only)


class CachingTagger:
    """The real tagger, remembering its result per text: the second backend gets exactly the results the
    first one got (and the model is loaded once per module). The store is what is under test here, not the
    model; the topic stage's sentence vectors are remembered the same way (per list of texts, so a backend
    handing the clustering other texts or another order would compute its own)."""

    def __init__(self, inner, cache: dict[str, Any]):
        self.inner, self.model, self.cache = inner, inner.model, cache

    def tag_batch(self, texts):
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.inner.tag_batch(todo)))
        return [self.cache[t] for t in texts]


@dataclass
class Built:
    backend: str
    root: Path
    url: str | None
    first: dict[str, Any]
    second: dict[str, Any]


@pytest.fixture(scope="module")
def built(tmp_path_factory, pg_server):
    """backend -> the pipeline run twice on the same slice of the sample, in a fresh store of that backend."""
    from cxnlp.classify.tagger import Tagger
    from cxnlp.config import load_settings
    from cxnlp.runs import run_pipeline

    cache: dict[str, Built] = {}
    results: dict[str, Any] = {}
    tagger: list = []
    real_from_config = Tagger.from_config
    dbs: list[str] = []

    def cached_from_config(*args, **kwargs):
        if not tagger:
            tagger.append(real_from_config(*args, **kwargs))
        return CachingTagger(tagger[0], results)

    import cxnlp.aggregate.topics_stage as topics_stage

    real_vectors = getattr(topics_stage, "vectors", None)
    vector_cache: dict[tuple, Any] = {}

    def cached_vectors(texts, seed=0):
        key = (tuple(texts), seed)
        if key not in vector_cache:
            vector_cache[key] = real_vectors(texts, seed)
        return vector_cache[key].copy()

    def get(backend: str) -> Built:
        if backend not in cache:
            url = None
            if backend == "postgres":
                server, why = pg_server
                if server is None:
                    pytest.skip(why)
                url = create_database(server)
                dbs.append(url)
            root = make_project(tmp_path_factory.mktemp(backend), url)
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(Tagger, "from_config", cached_from_config)
                if real_vectors is not None:
                    mp.setattr(topics_stage, "vectors", cached_vectors)
                mp.setenv("CXNLP_INGEST_WORKERS", "1")
                first = run_pipeline(load_settings(root))
                second = run_pipeline(load_settings(root))
            cache[backend] = Built(backend, root, url, first, second)
        return cache[backend]

    yield get
    for url in dbs:
        drop_database(pg_server[0], url)


# -- helpers: comparable rows ----------------------------------------------------------------------------------

def norm(v: Any) -> Any:
    """A value as both backends should agree on it: times in UTC, JSON decoded (floats stay floats: compare
    them with :func:`same`)."""
    if isinstance(v, datetime):
        return v.astimezone(timezone.utc).isoformat()
    if isinstance(v, str) and v[:1] in "[{":
        try:
            return norm(json.loads(v))
        except ValueError:
            return v
    if isinstance(v, dict):
        return {k: norm(x) for k, x in sorted(v.items())}
    if isinstance(v, (list, tuple)):
        return tuple(norm(x) for x in v)
    return v


def _sort_key(v: Any) -> str:
    return repr(round(v, 6) if isinstance(v, float) else tuple(_sort_key(x) for x in v) if isinstance(v, tuple) else v)


def table(store, sql: str, params=None) -> list[tuple]:
    return sorted((tuple(norm(x) for x in r) for r in store.query(sql, params)), key=_sort_key)


def same(a: Any, b: Any, path: str = "") -> None:
    """a equals b, floats up to 1e-9 (relative): sums of doubles added in another order differ in the last bits."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), (path, a, b)
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (path, a, b)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), (path, sorted(set(a) ^ set(b)))
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


# -- the same suite on each backend ----------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_pipeline_accounts_for_every_row_and_a_rerun_stores_nothing_twice(built, backend):
    b = built(backend)
    ing = b.first["ingest"]
    assert set(ing) == {"shop", "social", "survey"}
    for s in ing.values():
        assert s["rows_read"] > 0
        assert s["stored"] + s["duplicates"] + s["quarantined"] + s["unchanged"] == s["rows_read"]
    assert ing["social"]["duplicates"] > 100  # the backlash is carried by reposts
    assert sum(s["quarantined"] for s in ing.values()) >= 3
    with open_for(b.root, read_only=True) as store:
        assert store.dialect == ("postgresql" if backend == "postgres" else "duckdb")
        counts = {t: store.count(t) for t in ("feedback", "duplicates", "quarantine", "tag_state")}
        runs = sorted(r[0] for r in store.query("SELECT status FROM runs"))
        both = store.query("SELECT count(*) FROM feedback f JOIN duplicates d ON d.id = f.id")[0][0]
    assert counts["feedback"] == sum(s["stored"] for s in ing.values())
    assert counts["duplicates"] == sum(s["duplicates"] for s in ing.values())
    assert counts["quarantine"] == sum(s["quarantined"] for s in ing.values())
    assert counts["tag_state"] == counts["feedback"] == b.first["tag"]["tagged"]
    assert both == 0 and runs == ["completed", "completed"]
    # the second run found everything done: files skipped, nothing tagged, the same rows
    assert all(s["files_skipped"] == 1 and s["rows_read"] == 0 for s in b.second["ingest"].values())
    assert b.second["tag"]["tagged"] == 0 and b.second["aggregate"]["experience"]["texts_updated"] == 0
    assert b.second["summary"]["totals"] == b.first["summary"]["totals"]
    assert b.second["summary"]["totals"] == {k: counts[k] for k in ("feedback", "duplicates", "quarantine")}


@pytest.mark.parametrize("backend", BACKENDS)
def test_reexport_under_another_name_adds_only_new_rows(backend, project, request):
    """A re-export repeating 100 old posts plus two later ones: only the later ones are new."""
    from cxnlp.config import load_settings, load_sources
    from cxnlp.runs import ingest_stage

    make_project(project, _fresh_url(backend, request))
    settings = load_settings(project)
    with open_for(project) as store:
        ingest_stage(store, settings, load_sources(project), "first")
        before = {t: store.count(t) for t in ("feedback", "duplicates", "quarantine")}
        again = ingest_stage(store, settings, load_sources(project), "again")
        assert all(s["files_skipped"] == 1 and s["rows_read"] == 0 for s in again.values())
        extra = _lines(SAMPLE / "social_posts.jsonl", 1000, 1100) + _lines(SAMPLE / "social_posts.jsonl", 1900, 1902)
        (project / "data" / "social_export2.jsonl").write_bytes(extra)
        stats = ingest_stage(store, settings, load_sources(project), "reexport")
        after = {t: store.count(t) for t in before}
    soc = stats["social"]
    assert soc["files_skipped"] == 1 and soc["files_read"] == 1 and soc["rows_read"] == 102
    new = soc["stored"] + soc["duplicates"] + soc["quarantined"]
    assert soc["unchanged"] == 100 and new == 2
    assert sum(after.values()) == sum(before.values()) + new


def _duck_path(root: Path) -> Path:
    p = root / "var" / "cxnlp.duckdb"
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


@pytest.mark.parametrize("backend", BACKENDS)
def test_tagging_leaves_nothing_untagged(built, backend):
    b = built(backend)
    model, version = b.first["tag"]["model"], b.first["tag"]["model_version"]
    with open_for(b.root, read_only=True) as store:
        assert store.untagged(model, version, 10) == []
        assert store.count_untagged(model, version) == 0
        n = store.count("feedback")
        assert store.query("SELECT count(DISTINCT feedback_id) FROM tags WHERE task = 'sentiment'")[0][0] == n
        assert store.query("SELECT count(*) FROM tags WHERE model_version <> ?", [version])[0][0] == 0
        # another model version would re-tag everything
        assert store.count_untagged(model, version + "-next") == n


@pytest.mark.parametrize("backend", BACKENDS)
def test_summary_and_daily_volume(built, backend):
    b = built(backend)
    with open_for(b.root) as store:
        s = store.summary()
        counts = {t: store.count(t) for t in ("feedback", "duplicates", "quarantine")}
        assert s["totals"] == counts
        assert sum(r["stored"] for r in s["sources"]) == counts["feedback"]
        assert sum(r["duplicates"] for r in s["sources"]) == counts["duplicates"]
        assert sum(r["rows"] for r in s["quarantine_reasons"]) == counts["quarantine"]
        assert sum(r["rows"] for r in s["languages"]) == counts["feedback"]
        assert [r["source_name"] for r in s["sources"]] == ["shop", "social", "survey"]
        before = table(store, "SELECT * FROM daily_volume")
        cells = store.rebuild_daily_volume()
        assert cells == len(before) == b.first["aggregate"]["daily_volume_cells"]
        assert table(store, "SELECT * FROM daily_volume") == before  # deterministic
        items, reposts = store.query("SELECT sum(items), sum(reposts) FROM daily_volume")[0]
    assert (items, reposts) == (counts["feedback"], counts["duplicates"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_incremental_reaggregation_reproduces_the_cells(built, backend):
    from cxnlp.aggregate.stage import aggregate_experience
    from cxnlp.store import experience_sql as sql

    b = built(backend)
    with open_for(b.root) as store:
        full = table(store, "SELECT * FROM experience_agg")
        days = [r[0] for r in store.query("SELECT DISTINCT period FROM experience_agg WHERE grain = 'day' "
                                          "ORDER BY 1")][-9:]
        n = sql.rebuild_aggregates(store, days)
        assert n == len(full)
        same(table(store, "SELECT * FROM experience_agg"), full)
        assert aggregate_experience(store)["texts_updated"] == 0
        kpi = sql.kpis(store, "week", "source = ? AND channel = '*' AND facet = '*' AND touchpoint = '*'",
                       ["social"])
    assert kpi and all(isinstance(r["period"], date) for r in kpi)
    campaign = [r for r in kpi if r["period"] == date(2026, 10, 26)][0]
    earlier = [r for r in kpi if r["period"] < date(2026, 10, 26)]
    assert campaign["volume"] > 2 * max(r["volume"] for r in earlier)
    assert campaign["erlebnis_index"] < min(r["erlebnis_index"] for r in earlier)
    assert 0 <= campaign["neg_share"] <= 1 and campaign["neg_share"] > 0.5  # a share, not an integer division


@pytest.mark.parametrize("backend", BACKENDS)
def test_alerts_topics_and_report(built, backend):
    from cxnlp.store import alerts_sql, topics_sql

    b = built(backend)
    alerts = b.first["alerts"]
    assert alerts["status"] == "completed" and alerts["raised"] == 1
    assert alerts["alerts"][0]["severity"] == "critical"
    assert alerts["alerts"][0]["start_at"].startswith("2026-10-27")
    assert b.second["alerts"]["raised"] == 0  # raised once, not again
    with open_for(b.root) as store:
        stored = alerts_sql.get_alerts(store)
        posts = alerts_sql.social_posts(store, datetime(2026, 10, 27, tzinfo=timezone.utc),
                                        datetime(2026, 10, 28, tzinfo=timezone.utc), negative_only=True)
        topics = topics_sql.latest_topics(store, "negative")
    assert len(stored) == 1 and stored[0]["metrics"] and isinstance(stored[0]["drivers"], (dict, list))
    assert posts and all(p["sentiment"] == "negative" for p in posts)
    assert any(p["reposts"] > 0 for p in posts)
    tags = [t for p in posts for t in p["tags"]]
    assert tags and all(set(t) == {"task", "label", "score"} and isinstance(t["score"], float) for t in tags)
    assert topics and all(t["size"] >= 8 for t in topics)
    report = Path(b.first["report"])
    assert report.is_file() and "Kundenerlebnis" in report.read_text(encoding="utf-8")
    assert b.first["headline"]["exports"] == ["kpis_week.csv", "kpis_week.xlsx"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_request_retag_and_write_tags_replace_rows(backend, project, request):
    """A fresh small store: ingest, tag with a stand-in tagger, ask for a re-tag of two texts."""
    from cxnlp.classify.stage import tag_untagged
    from cxnlp.config import load_settings, load_sources
    from cxnlp.runs import ingest_stage

    url = _fresh_url(backend, request)
    make_project(project, url, social=(802, 862), shop_rows=30)
    settings = load_settings(project)
    with open_for(project) as store:
        ingest_stage(store, settings, load_sources(project), "r1")
        n = store.count("feedback")
        first = tag_untagged(store, settings, "r1", tagger=StubTagger(), batch_size=16, progress=False)
        assert first["tagged"] == n and store.untagged("stub", "1", 100) == []
        n_tags = store.count("tags")
        ids = [r[0] for r in store.query("SELECT id FROM feedback ORDER BY id LIMIT 2")]
        assert store.request_retag(ids) == 2
        assert sorted(i for i, _ in store.untagged("stub", "1", 100)) == ids
        assert store.count_untagged("stub", "1") == 2
        again = tag_untagged(store, settings, "r2", tagger=StubTagger(), batch_size=16, progress=False)
        assert again["tagged"] == 2 and store.untagged("stub", "1", 100) == []
        assert store.count("tags") == n_tags and store.count("tag_state") == n
        assert store.query("SELECT feedback_id, task, label FROM tags GROUP BY feedback_id, task, label "
                           "HAVING count(*) > 1") == []  # the tags table has no key: replacement keeps it unique
        assert sorted(r[0] for r in store.query("SELECT DISTINCT feedback_id FROM tags WHERE run_id = 'r2'")) == ids
        assert store.query("SELECT count(*) FROM tag_state WHERE retag")[0][0] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_tag_writes_replace_what_an_earlier_write_or_the_topic_stage_left(backend, project, request):
    """First-time tag writes take plain inserts; a text that already has a vector (stored by the topic stage) or
    tags (a re-tag) is replaced in the same call, with nothing doubled and nothing half-written."""
    from cxnlp.store.common import tag_tables
    from cxnlp.store.topics_sql import upsert_vectors, vector_table

    url = _fresh_url(backend, request)
    make_project(project, url)
    result = StubTagger().tag_batch(["Alles gut"])[0]

    def write(ids, label, run, blob):
        docs, tags = tag_tables([(i, result) for i in ids], [(i, "sentiment", label, 0.9, []) for i in ids])
        store.write_tag_tables(docs, tags, "stub", "1", run, vectors=vector_table(ids, [blob] * len(ids), "enc-b"))

    with open_for(project) as store:
        with store.transaction() as con:  # the topic stage stored a vector for t2 before it was ever tagged
            upsert_vectors(con, vector_table(["t2"], [b"old"], "enc-a"))
        write(["t1"], "positive", "r1", b"v1")  # nothing stored for t1: the plain inserts
        write(["t2", "t3"], "positive", "r1", b"v2")  # t2's vector is there: the batch is replaced as a whole
        write(["t1", "t4"], "negative", "r2", b"v3")  # a re-tag of t1 beside a new text
        assert sorted(store.query("SELECT feedback_id, label, run_id FROM tags")) == [
            ("t1", "negative", "r2"), ("t2", "positive", "r1"), ("t3", "positive", "r1"), ("t4", "negative", "r2")]
        assert store.count("tag_state") == 4
        assert sorted((r[0], r[1], bytes(r[2])) for r in store.query(
            "SELECT feedback_id, encoder, vec FROM text_vectors")) == [
            ("t1", "enc-b", b"v3"), ("t2", "enc-b", b"v2"), ("t3", "enc-b", b"v2"), ("t4", "enc-b", b"v3")]
        with pytest.raises(Exception):  # a bad row fails the replacement too, and leaves the earlier write
            docs, tags = tag_tables([("t3", result)], [("t3", "sentiment", None, 0.9, [])])
            store.write_tag_tables(docs, tags, "stub", "1", "r3")
        assert store.query("SELECT label, run_id FROM tags WHERE feedback_id = 't3'") == [("positive", "r1")]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failing_batch_leaves_nothing_behind(backend, project, request):
    from cxnlp.schema import Feedback

    url = _fresh_url(backend, request)
    make_project(project, url)
    now = datetime(2026, 10, 1, 12, tzinfo=timezone.utc)
    good = Feedback(id="ok-1", source="review", source_name="shop", created_at=now, text="Alles gut",
                    content_hash="h1", near_key="k1")
    bad = Feedback(id="bad-1", source="review", source_name="shop", created_at=None, text="kein Datum",
                   content_hash="h2", near_key="k2")
    with open_for(project) as store:
        with pytest.raises(Exception):
            store.write_ingest_batch(run_id="r", feedback=[good, bad], duplicates=[], quarantine=[],
                                     source_name="shop", fingerprint="fp", file="shop.csv", rows_done=2,
                                     file_status="done")
        assert store.count("feedback") == 0 and store.file_progress("shop", "fp") == (0, None)
        store.write_ingest_batch(run_id="r", feedback=[good], duplicates=[], quarantine=[], source_name="shop",
                                 fingerprint="fp", file="shop.csv", rows_done=1, file_status="partial")
        result = StubTagger().tag_batch(["Alles gut"])[0]
        store.write_tags([("ok-1", result)], [("ok-1", "sentiment", "positive", 0.9, [])], "stub", "1", "r")
        with pytest.raises(Exception):  # a tag row without label: the replacement fails as a whole
            store.write_tags([("ok-1", result)], [("ok-1", "sentiment", None, 0.9, [])], "stub", "1", "r2")
        assert store.query("SELECT label, run_id FROM tags") == [("positive", "r")]
        assert store.file_progress("shop", "fp") == (1, "partial")
        with pytest.raises(RuntimeError):
            with store.transaction() as con:
                con.execute("DELETE FROM feedback")
                raise RuntimeError("killed mid-transaction")
        assert store.count("feedback") == 1


def _fresh_url(backend: str, request) -> str | None:
    if backend != "postgres":
        return None
    return request.getfixturevalue("pg_url")


# -- both backends agree ---------------------------------------------------------------------------------------

SAME_ROWS = {
    "feedback": "SELECT id, source, source_name, external_id, channel, created_at, text, title, language, "
                "language_score, rating_stars, rating_nps, rating_csat, rating_ces, author_hash, thread_id, likes, "
                "shares, replies, content_hash, near_key, pii, meta FROM feedback",
    "duplicates": "SELECT id, original_id, kind, source_name, created_at, likes, shares, replies FROM duplicates",
    "quarantine": "SELECT key, source_name, file, row_number, reason, detail, raw, raw_hash FROM quarantine",
    "files": "SELECT source_name, fingerprint, file, rows_done, status FROM files",
    "tags": "SELECT feedback_id, task, label, score, evidence, model, model_version FROM tags",
    "tag_state": "SELECT feedback_id, model, model_version, result, retag FROM tag_state",
    "daily_volume": "SELECT day, source, channel, language, items, reposts FROM daily_volume",
    "experience": "SELECT feedback_id, erlebnis, erlebnis_intensity, erlebnis_confidence, dominant_emotions, "
                  "erfahrung, erfahrung_source, erfahrung_confidence, sentiment, emotions, recommends, churn, "
                  "relevant FROM experience",
    "experience_kpis": "SELECT * FROM experience_kpis",
    "topics": "SELECT scope, topic_id, label, terms, size, neg_share, status, growth, first_week, facet, "
              "touchpoint, covered, weekly, examples, window_start, window_end, stability FROM topics",
    "topic_members": "SELECT scope, topic_id, feedback_id FROM topic_members",
    "alerts": "SELECT alert_id, kind, status, severity, start_at, detected_at, peak_at, last_burst_at, end_at, "
              "title, summary, metrics, drivers, examples, evolution, updates FROM alerts",
}


def test_both_backends_hold_the_same_rows(built):
    duck, pg = built("duckdb"), built("postgres")
    with open_for(duck.root, read_only=True) as d, open_for(pg.root, read_only=True) as p:
        for name, sql in SAME_ROWS.items():
            a, b = table(d, sql), table(p, sql)
            assert len(a) == len(b) and len(a) > 0, name
            same(a, b, name)
        same(norm(d.summary()), norm(p.summary()), "summary")
        since, until = datetime(2026, 10, 1, tzinfo=timezone.utc), datetime(2026, 11, 1, tzinfo=timezone.utc)
        from cxnlp.store import alerts_sql

        hourly = alerts_sql.social_hourly(d, since, until)
        assert len(hourly) > 100
        same(norm(hourly), norm(alerts_sql.social_hourly(p, since, until)), "social_hourly")
        assert alerts_sql.social_span(d) == alerts_sql.social_span(p)


def test_both_backends_report_the_same_numbers(built):
    duck, pg = built("duckdb"), built("postgres")
    for key in ("ingest", "aggregate", "topics", "alerts", "headline"):
        same(_plain(duck.first[key]), _plain(pg.first[key]), key)
    a = list(csv.reader((duck.root / "var" / "report" / "exports" / "kpis_week.csv").open(encoding="utf-8-sig"),
                        delimiter=";"))
    b = list(csv.reader((pg.root / "var" / "report" / "exports" / "kpis_week.csv").open(encoding="utf-8-sig"),
                        delimiter=";"))
    assert len(a) == len(b) > 10
    for ra, rb in zip(a, b):  # the exports round to 4 places: sums added in another order may differ there
        for x, y in zip(ra, rb):
            try:
                assert float(x) == pytest.approx(float(y), abs=2e-4), (ra, rb)
            except ValueError:
                assert x == y


def _plain(o: Any, drop: tuple[str, ...] = ("seconds", "run_id")) -> Any:
    """A stage result without what differs between any two runs (timings, run ids)."""
    if isinstance(o, dict):
        return {k: _plain(v, drop) for k, v in o.items() if k not in drop}
    if isinstance(o, (list, tuple)):
        return [_plain(v, drop) for v in o]
    return norm(o)


# -- PostgreSQL: migrations, an unavailable server, concurrent writers -----------------------------------------

EXPECTED_TABLES = {"meta", "feedback", "duplicates", "quarantine", "files", "runs", "tags", "tag_state",
                   "daily_volume", "experience", "experience_agg", "topics", "topic_members", "alerts",
                   "corrections", "review_index", "text_vectors", "erasures", "erased_keys", "alembic_version"}


def _pg_tables(url: str) -> dict[str, list[str]]:
    from cxnlp.store.postgres import connect

    conn = connect(url)
    try:
        rows = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                            "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position").fetchall()
    finally:
        conn.close()
    out: dict[str, list[str]] = {}
    for t, c in rows:
        out.setdefault(t, []).append(c)
    return out


def test_migrations_upgrade_an_empty_database_and_are_idempotent(pg_url, tmp_path):
    from alembic import command

    from cxnlp.store import DuckDBStore, alerts_sql, experience_sql, review_sql, topics_sql
    from cxnlp.store.postgres import alembic_config, current_revision, head_revision, migrate

    assert current_revision(pg_url) is None and _pg_tables(pg_url) == {}
    head = head_revision()
    assert migrate(pg_url) == head == current_revision(pg_url)
    tables = _pg_tables(pg_url)
    assert set(tables) == EXPECTED_TABLES | {"experience_kpis"}
    assert migrate(pg_url) == head and _pg_tables(pg_url) == tables  # a second upgrade changes nothing
    # every table has the columns DuckDB gives it (the lazily created ones included), in the same order
    with DuckDBStore(tmp_path / "ref.duckdb") as duck:
        experience_sql.init(duck)
        topics_sql.init(duck)
        alerts_sql.ensure_alerts_table(duck)
        review_sql.init(duck)
        duck.rebuild_daily_volume()
        for name, cols in tables.items():
            if name == "alembic_version":
                continue
            got = [r[0] for r in duck.query("SELECT column_name FROM information_schema.columns "
                                             "WHERE table_name = ? ORDER BY ordinal_position", [name])]
            assert got == cols, name
    cfg = alembic_config(pg_url)
    command.downgrade(cfg, "base")
    assert set(_pg_tables(pg_url)) == {"alembic_version"} and current_revision(pg_url) is None
    command.upgrade(cfg, "head")
    assert _pg_tables(pg_url) == tables


def test_store_cli_reports_and_migrates(pg_url, capsys, monkeypatch):
    import argparse

    from cxnlp.store.postgres import add_cli

    parser = argparse.ArgumentParser()
    add_cli(parser.add_subparsers(dest="cmd"))
    args = parser.parse_args(["store", "status", "--url", pg_url])
    assert args.func(args) == 0 and "revision (none)" in capsys.readouterr().out
    # a team store made before the stored document vectors (revision 0001) upgrades in place
    args = parser.parse_args(["store", "migrate", "--url", pg_url, "--revision", "0001"])
    assert args.func(args) == 0 and "at revision 0001" in capsys.readouterr().out
    assert "text_vectors" not in _pg_tables(pg_url)
    monkeypatch.setenv("CXNLP_STORE_URL", pg_url)
    args = parser.parse_args(["store"])
    assert args.func(args) == 0 and "revision 0001, head 0005" in capsys.readouterr().out
    args = parser.parse_args(["store", "migrate", "--url", pg_url])
    assert args.func(args) == 0 and "at revision 0005" in capsys.readouterr().out
    assert _pg_tables(pg_url)["text_vectors"] == ["feedback_id", "encoder", "vec"]
    assert _pg_tables(pg_url)["topics"][-1] == "stability"  # revision 0003
    assert _pg_tables(pg_url)["quarantine"][-1] == "raw_hash"  # revision 0004
    assert _pg_tables(pg_url)["duplicates"][-1] == "author_hash"  # revision 0005
    assert _pg_tables(pg_url)["erased_keys"] == ["kind", "key", "request_id", "erased_at"]
    assert _pg_tables(pg_url)["erasures"] == ["request_id", "requested_at", "reference", "subjects", "counts"]
    args = parser.parse_args(["store"])
    assert args.func(args) == 0 and "revision 0005, head 0005" in capsys.readouterr().out


def test_a_read_only_open_of_an_unmigrated_database_says_what_to_do(pg_url):
    from cxnlp.store import StoreError, open_store

    with pytest.raises(StoreError, match="cxnlp store migrate"):
        open_store(url=pg_url, read_only=True)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unavailable_postgres_fails_after_retries_with_a_clear_message(project, caplog, monkeypatch):
    from cxnlp.config import load_settings
    from cxnlp.store import StoreError, open_store

    port = _free_port()  # nothing listens there
    make_project(project, f"postgresql+psycopg://cxnlp:s3cret-pw@127.0.0.1:{port}/cxnlp")
    t0 = time.perf_counter()
    with caplog.at_level("WARNING", logger="cxnlp.store"), pytest.raises(StoreError) as err:
        open_store(load_settings(project))
    elapsed = time.perf_counter() - t0
    msg = str(err.value)
    assert f"127.0.0.1:{port}/cxnlp" in msg and "***" in msg and "s3cret" not in msg
    assert "after 3 attempt(s)" in msg and "server is running" in msg
    assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 2
    assert elapsed >= 0.05 + 0.1  # the backoff was waited
    assert "s3cret" not in caplog.text
    # the environment variable wins over the settings file
    monkeypatch.setenv("CXNLP_STORE_URL", f"postgresql+psycopg://other@127.0.0.1:{port}/elsewhere")
    monkeypatch.setenv("CXNLP_STORE_CONNECT_ATTEMPTS", "1")
    with pytest.raises(StoreError, match="elsewhere.*after 1 attempt"):
        open_store(load_settings(project))


HOLD_DUCKDB = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_locked_duckdb_file_fails_after_retries_and_succeeds_once_released(project, monkeypatch):
    from cxnlp.config import load_settings
    from cxnlp.store import StoreError, open_store

    make_project(project)
    db = _duck_path(project)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_DUCKDB, str(db), "30"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError) as err:
            open_store(load_settings(project))
        msg = str(err.value)
        assert "locked by another process" in msg and str(db) in msg and "after 3 attempt(s)" in msg
        assert "wait for it to finish" in msg
    finally:
        holder.kill()
        holder.wait()
    # a holder that lets go while open_store is still retrying: the store opens
    holder = subprocess.Popen([sys.executable, "-c", HOLD_DUCKDB, str(db), "0.6"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("CXNLP_STORE_CONNECT_ATTEMPTS", "8")
        monkeypatch.setenv("CXNLP_STORE_CONNECT_BACKOFF_S", "0.2")
        with open_store(load_settings(project)) as store:
            assert store.count("feedback") == 0
    finally:
        holder.wait(timeout=30)


# -- concurrent writers ----------------------------------------------------------------------------------------

class StubTagger:
    """A deterministic stand-in for the model (results in the tagger's format, derived from the text's hash):
    the store tests need many quick, reproducible write_tags calls, not the model's judgement."""

    class model:  # noqa: N801 - mimics tagger.model.name / .version
        name, version = "stub", "1"

    def tag_batch(self, texts):
        out = []
        for t in texts:
            h = hashlib.sha256(t.encode("utf-8")).digest()
            label = ("negative", "neutral", "positive")[h[0] % 3]
            scores = {k: (0.8 if k == label else 0.1) for k in ("negative", "neutral", "positive")}
            ev = [[0, min(5, len(t))]]
            out.append({
                "sentiment": {"label": label, "scores": scores, "evidence": ev},
                "emotions": [{"label": "Ärger", "score": h[1] / 255, "intensity": h[1] / 255, "evidence": ev}]
                if h[1] % 2 else [],
                "facets": [{"label": ("Preis", "Service", "Qualität")[h[2] % 3], "score": 0.7, "evidence": ev}],
                "touchpoints": [{"label": "Webshop", "score": 0.6, "evidence": []}] if h[3] % 2 else [],
                "phase": {"label": "Kauf", "score": 0.5, "evidence": []},
                "relevance": {"relevant": h[4] % 5 != 0, "score": 0.9},
                "offensive": {"flag": h[5] % 7 == 0, "score": 0.6},
                "sustainability": {"flag": False, "score": 0.0, "evidence": []},
                "churn": {"flag": h[6] % 11 == 0, "evidence": []},
                "sentences": [],
            })
        return out


WRITER = """
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
root, go, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
from test_store_backends import StubTagger, open_for
from cxnlp.classify.stage import tag_untagged
from cxnlp.config import load_settings, load_sources
from cxnlp.ingest.pipeline import Ingestor
settings = load_settings(root)
(root / f"ready-{{name}}").touch()
while not go.exists():
    time.sleep(0.01)
t0 = time.time()
with open_for(root) as store:  # both open a fresh database at once: the migration runs once
    stats = Ingestor(store, settings, batch_size=25).ingest(load_sources(root), name)
    tagged = tag_untagged(store, settings, name, tagger=StubTagger(), batch_size=20, progress=False)
print(json.dumps({{"ingest": {{k: s.as_dict() for k, s in stats.items()}}, "tagged": tagged["tagged"],
                  "span": [t0, time.time()]}}))
"""


def test_two_processes_writing_the_same_input_store_everything_once(pg_url, tmp_path, request):
    from cxnlp.classify.stage import tag_untagged
    from cxnlp.config import load_settings, load_sources
    from cxnlp.ingest.pipeline import Ingestor

    root = make_project(tmp_path / "shared", pg_url, social=(802, 1300), shop_rows=120)
    go = tmp_path / "go"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(tests=str(TESTS)), encoding="utf-8")
    env = {**os.environ, "CXNLP_INGEST_WORKERS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, str(script), str(root), str(go), f"w{i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=str(root)) for i in (1, 2)]
    try:
        deadline = time.time() + 120
        while not all((root / f"ready-w{i}").exists() for i in (1, 2)):
            assert time.time() < deadline and all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.05)
        go.touch()
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    runs = [json.loads(o[0].strip().splitlines()[-1]) for o in outs]
    for r in runs:
        for s in r["ingest"].values():
            assert s["stored"] + s["duplicates"] + s["quarantined"] + s["unchanged"] == s["rows_read"]
            # a writer that comes to a file the other one has finished skips it (how fast each is varies)
            assert s["rows_read"] > 0 or s["files_skipped"] == 1
    for name in runs[0]["ingest"]:
        assert max(r["ingest"][name]["rows_read"] for r in runs) > 0

    # the reference: one writer alone, on another fresh database
    server = request.getfixturevalue("pg_server_url")
    ref_url = create_database(server)
    try:
        ref_root = make_project(tmp_path / "alone", ref_url, social=(802, 1300), shop_rows=120)
        with open_for(ref_root) as store:
            Ingestor(store, load_settings(ref_root), batch_size=25).ingest(load_sources(ref_root), "alone")
            tag_untagged(store, load_settings(ref_root), "alone", tagger=StubTagger(), batch_size=20, progress=False)
            ref = _snapshot(store)
    finally:
        drop_database(server, ref_url)
    with open_for(root, read_only=True) as store:
        got = _snapshot(store)
        assert store.query("SELECT count(*) FROM alembic_version")[0][0] == 1
        assert store.query("SELECT count(*) FROM feedback f JOIN duplicates d ON d.id = f.id")[0][0] == 0
        assert store.query("SELECT count(*) FROM feedback f LEFT JOIN tag_state s ON s.feedback_id = f.id "
                           "WHERE s.feedback_id IS NULL")[0][0] == 0
    assert got == ref
    # the two writers ran at the same time (their spans overlap), yet each row is stored once
    (a0, a1), (b0, b1) = runs[0]["span"], runs[1]["span"]
    assert a0 < b1 and b0 < a1
    assert sum(r["tagged"] for r in runs) >= len(ref["tag_state"])


def _snapshot(store) -> dict[str, list[tuple]]:
    return {
        "feedback": table(store, "SELECT id, source_name, text, near_key FROM feedback"),
        "duplicates": table(store, "SELECT id, original_id, kind FROM duplicates"),
        "quarantine": table(store, "SELECT key, reason FROM quarantine"),
        "files": table(store, "SELECT source_name, fingerprint, rows_done, status FROM files"),
        "tags": table(store, "SELECT feedback_id, task, label, score FROM tags"),
        "tag_state": table(store, "SELECT feedback_id, model, model_version, retag FROM tag_state"),
    }


def test_duckdb_memory_cap_from_settings_and_environment(project, monkeypatch):
    """store.duckdb_memory caps DuckDB (flat memory as the store grows); CXNLP_DUCKDB_MEMORY overrides it."""
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    monkeypatch.delenv("CXNLP_DUCKDB_MEMORY", raising=False)
    settings = load_settings(project)
    settings.data["store"]["duckdb_memory"] = "384MB"
    with open_store(settings) as store:
        capped = store.query("SELECT current_setting('memory_limit')")[0][0]
    monkeypatch.setenv("CXNLP_DUCKDB_MEMORY", "256MB")
    with open_store(settings) as store:
        env = store.query("SELECT current_setting('memory_limit')")[0][0]
    monkeypatch.delenv("CXNLP_DUCKDB_MEMORY")
    settings.data["store"]["duckdb_memory"] = ""
    with open_store(settings) as store:
        default = store.query("SELECT current_setting('memory_limit')")[0][0]
    assert capped.startswith("366") or capped.startswith("384"), capped  # DuckDB shows MiB or MB
    assert env.startswith("244") or env.startswith("256"), env
    assert default not in (capped, env)


def test_duckdb_checkpoint_threshold_from_settings_and_environment(project, monkeypatch):
    """store.duckdb_checkpoint sets how much log DuckDB gathers before a checkpoint (1GB by default, against
    DuckDB's own 16MB); CXNLP_DUCKDB_CHECKPOINT overrides it."""
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    monkeypatch.delenv("CXNLP_DUCKDB_CHECKPOINT", raising=False)
    settings = load_settings(project)
    show = "SELECT current_setting('checkpoint_threshold')"
    with open_store(settings) as store:
        shipped = store.query(show)[0][0]
    settings.data["store"]["duckdb_checkpoint"] = "64MB"
    with open_store(settings) as store:
        configured = store.query(show)[0][0]
    monkeypatch.setenv("CXNLP_DUCKDB_CHECKPOINT", "32MB")
    with open_store(settings) as store:
        env = store.query(show)[0][0]
    assert shipped.startswith("953") or shipped.startswith("1.0 GB"), shipped  # MiB or GB
    assert configured.startswith("61") or configured.startswith("64"), configured
    assert env.startswith("30") or env.startswith("32"), env


@pytest.mark.parametrize("backend", BACKENDS)
def test_stream_reads_each_row_once_while_the_store_is_written(built, backend):
    b = built(backend)
    with open_for(b.root) as store:
        ids = sorted(r[0] for r in store.query("SELECT id FROM feedback"))
        seen: list[str] = []
        sizes: list[int] = []
        for k, rows in enumerate(store.stream("SELECT id, text FROM feedback WHERE id >= ?", [""], 97)):
            sizes.append(len(rows))
            seen += [r["id"] for r in rows]
            with store.transaction() as con:  # writes between batches do not disturb the stream
                con.execute("DELETE FROM meta WHERE key = 'stream_test'")
                con.execute("INSERT INTO meta (key, value) VALUES ('stream_test', ?)", [str(k)])
        with store.transaction() as con:
            con.execute("DELETE FROM meta WHERE key = 'stream_test'")
    assert sorted(seen) == ids and len(ids) > 300
    assert all(n == 97 for n in sizes[:-1]) and 0 < sizes[-1] <= 97


@pytest.mark.parametrize("backend", BACKENDS)
def test_experience_rows_recomputed_in_small_batches_equal_the_stored_ones(built, backend):
    from cxnlp.aggregate.stage import aggregate_experience

    b = built(backend)
    cols = "feedback_id, erlebnis, erfahrung, erfahrung_source, sentiment, recommends, churn, relevant"
    with open_for(b.root) as store:
        exp = table(store, f"SELECT {cols} FROM experience ORDER BY feedback_id")
        agg = table(store, "SELECT * FROM experience_agg")
        try:
            with store.transaction() as con:
                con.execute("DELETE FROM experience")
                con.execute("DELETE FROM experience_agg")
            out = aggregate_experience(store, batch_size=211)
            assert out["texts_updated"] == len(exp) > 211 * 3 and out["periods_recomputed_days"] == "all"
            same(table(store, f"SELECT {cols} FROM experience ORDER BY feedback_id"), exp)
            same(table(store, "SELECT * FROM experience_agg"), agg)
            assert aggregate_experience(store)["texts_updated"] == 0
        finally:  # the module's store stays as the other tests expect it, whatever happened here
            if store.query("SELECT count(*) FROM experience")[0][0] != len(exp):
                aggregate_experience(store)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_run_whose_process_died_becomes_interrupted(backend, project, request):
    import json
    import subprocess
    import sys
    from datetime import datetime, timedelta, timezone

    import psutil

    from cxnlp.store.common import run_owner

    url = _fresh_url(backend, request)
    make_project(project, url, social=(802, 862), shop_rows=30)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    born = psutil.Process(gone.pid).create_time()
    gone.wait()
    now = datetime.now(timezone.utc)
    me = run_owner()
    owners = {
        "killed-here": {**me, "pid": gone.pid, "proc_started": round(born, 2)},  # this machine, process gone
        "pid-reused": {**me, "proc_started": me["proc_started"] - 1000},  # a live pid, but another process
        "alive-here": me,
        "old-elsewhere": {"host": "another", "pid": 1, "proc_started": 0.0},
        "new-elsewhere": {"host": "another", "pid": 1, "proc_started": 0.0},
        "no-owner": None,  # a run recorded before owners were kept: judged by age only
    }
    started = {k: now - timedelta(hours=30 if k in ("old-elsewhere",) else 1) for k in owners}
    with open_for(project) as store:
        with store.transaction() as con:
            for run_id, owner in owners.items():
                con.execute("INSERT INTO runs (run_id, kind, started_at, finished_at, status, stats, model_versions) "
                            "VALUES (?, 'nightly', ?, NULL, 'running', ?, NULL)",
                            [run_id, started[run_id], json.dumps({"owner": owner}) if owner else None])
        dead = store.start_run("new", "nightly")
        status = dict(store.query("SELECT run_id, status FROM runs"))
    assert sorted(dead) == ["killed-here", "old-elsewhere", "pid-reused"]
    assert status == {"killed-here": "interrupted", "pid-reused": "interrupted", "old-elsewhere": "interrupted",
                      "alive-here": "running", "new-elsewhere": "running", "no-owner": "running", "new": "running"}

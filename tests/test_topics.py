"""Emerging topics: German labels (lemmas, compounds, stop words), determinism, trends, promotion to the taxonomy."""
import json
import shutil
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from conftest import REPO
from cxnlp.aggregate.topics import _trend, ctfidf, discover, terms


def test_terms_are_lemmas_without_stop_words_and_keep_compounds():
    t = terms("Die Graspapier-Verpackungen sind bei mir schon zweimal gerissen, die Pakete kamen nass an! "
              "#LumoraLiebe [EMAIL] @kunde1")
    assert "graspapier-verpackung" in t and "paket" in t and "#lumoraliebe" in t
    assert not {"die", "sind", "bei", "mir", "schon", "email", "kunde1"} & set(t)


def test_ctfidf_prefers_terms_specific_to_a_cluster():
    clusters = {0: Counter({"lieferung": 10, "graspapier": 8, "verpackung": 7}),
                1: Counter({"lieferung": 10, "hotline": 9, "warteschleife": 6}),
                2: Counter({"lieferung": 9, "app": 9, "absturz": 5})}
    top = ctfidf(clusters)
    assert [t for t, _ in top[0][:2]] == ["graspapier", "verpackung"]
    assert top[1][0][0] == "hotline" and top[2][0][0] == "app"
    assert all(t != "lieferung" for t, _ in top[0][:2])  # in every cluster: no label material


def test_trend_flags():
    assert _trend([0, 0, 0, 0, 0.01, 0.03, 0.05, 0.08])[0] == "new"
    assert _trend([0.02, 0.02, 0.03, 0.03, 0.05, 0.06, 0.08, 0.09])[0] == "growing"
    assert _trend([0.05, 0.05, 0.06, 0.05, 0.05, 0.06, 0.05, 0.05])[0] == "stable"
    assert _trend([0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.0, 0.0])[0] == "spike"


def synthetic_docs():
    """8 weeks of two steady complaint themes and one that starts in week 5 and grows."""
    start = date(2026, 9, 7)
    steady = [("Die Hotline ist nie erreichbar, ewig in der Warteschleife gehangen.", "Hotline"),
              ("Hotline Warteschleife schon wieder 40 Minuten, keiner geht ran.", "Hotline"),
              ("Die App stürzt beim Bezahlen ab, Absturz nach jedem Update.", "App"),
              ("App Absturz nach dem Update, Login geht nicht mehr.", "App")]
    new = ["Die neue Graspapier-Verpackung ist im Regen aufgeweicht, Ware nass.",
           "Graspapier-Verpackung gerissen, der Pullover lag offen im Karton.",
           "Schon wieder eine aufgerissene Graspapier-Verpackung, bitte zurück zum alten Karton."]
    docs = []
    for w in range(8):
        for i in range(12):
            text, tp = steady[(w + i) % 4]
            docs.append({"id": f"s{w}-{i}", "text": text, "day": start + timedelta(weeks=w, days=i % 5),
                         "negative": True, "facets": [], "touchpoints": [tp]})
        for i in range(0 if w < 4 else 3 * (w - 3)):
            docs.append({"id": f"n{w}-{i}", "text": new[i % 3], "day": start + timedelta(weeks=w, days=i % 5),
                         "negative": True, "facets": [], "touchpoints": ["Lieferung/Versand"] if i % 2 else []})
    return docs


def test_an_emerging_theme_is_found_labelled_and_flagged():
    from cxnlp.classify.taxonomy import load_taxonomy

    docs = synthetic_docs()
    topics = discover(docs, seed=1, n_topics=3, taxonomy=load_taxonomy(REPO / "configs" / "taxonomy.yaml"), min_size=5)
    emerging = [t for t in topics if "graspapier-verpackung" in t.label]
    assert len(emerging) == 1
    t = emerging[0]
    assert t.status in ("new", "growing") and t.first_week == "2026-10-05"
    assert t.covered is False  # the taxonomy's cues do not name it
    hotline = [x for x in topics if x.touchpoint and x.touchpoint[0] == "Hotline"]
    # steady in counts (its share falls as the new theme takes room): neither new nor growing
    assert hotline and hotline[0].status not in ("new", "growing", "spike") and hotline[0].covered


def test_discovery_is_deterministic_given_a_seed():
    docs = synthetic_docs()
    rng = np.random.default_rng(0)
    v = rng.normal(size=(len(docs), 16)).astype(np.float32)
    v[:, 0] += np.array([5.0 if d["id"].startswith("n") else 0.0 for d in docs])
    a = [(t.id, t.label, t.size, t.status) for t in discover(docs, seed=3, vecs=v, n_topics=4, min_size=3)]
    b = [(t.id, t.label, t.size, t.status) for t in discover(docs, seed=3, vecs=v, n_topics=4, min_size=3)]
    assert a == b and a


def test_promotion_writes_the_taxonomy_and_training_learns_the_label(tmp_path):
    from cxnlp.aggregate.topics_stage import promote
    from cxnlp.classify.data import load_own
    from cxnlp.classify.taxonomy import load_taxonomy
    from cxnlp.classify.train import train_model
    from cxnlp.schema import Feedback
    from cxnlp.store import DuckDBStore
    from cxnlp.store import topics_sql
    from datetime import datetime, timezone

    (tmp_path / "configs").mkdir()
    shutil.copy(REPO / "configs" / "taxonomy.yaml", tmp_path / "configs" / "taxonomy.yaml")
    docs = synthetic_docs()
    store = DuckDBStore(tmp_path / "s.duckdb")
    fbs = [Feedback(id=d["id"], source="review", source_name="x", created_at=datetime(2026, 10, 1, tzinfo=timezone.utc),
                    text=d["text"], content_hash=d["id"], near_key=d["id"]) for d in docs]
    store.write_ingest_batch(run_id="r", feedback=fbs, duplicates=[], quarantine=[], source_name="x", fingerprint="f",
                             file="f", rows_done=len(fbs), file_status="done")
    topics_sql.init(store)
    topics = discover(docs, seed=1, n_topics=3, min_size=5)
    topics_sql.save_topics(store, "run1", "negative", topics, date(2026, 9, 7), date(2026, 11, 2))
    tid = next(t.id for t in topics if "graspapier-verpackung" in t.label)
    res = promote(tmp_path, store, tid, "touchpoints", "Verpackung")
    store.close()
    assert res["examples"] == sum(d["id"].startswith("n") for d in docs) == 30
    assert "graspapier-verpackung" in res["cues"]
    text = (tmp_path / "configs" / "taxonomy.yaml").read_text(encoding="utf-8")
    assert "# cxnlp taxonomy" in text  # comments survive the round trip
    tax = load_taxonomy(tmp_path / "configs" / "taxonomy.yaml")
    assert "Verpackung" in tax.labels("touchpoints")
    assert any(h.label == "Verpackung" for h in tax.cues("Die Graspapier-Verpackung war nass"))
    labelled = tmp_path / "data" / "labelled"
    promoted = load_own(labelled)
    assert promoted and all(e.touchpoints == ["Verpackung"] and e.facets is None and e.sentiment is None
                            for e in promoted)
    # a tiny own set plus the promoted examples: the next model has a head for the new label and uses it
    rows = [{"id": f"o{i}", "text": t, "sentiment": s, "touchpoints": tp, "facets": [], "emotions": {},
             "phase": "Kauf", "relevant": True, "offensive": False, "sustainability": False,
             "sentences": [{"text": t, "sentiment": s, "type": "erfahrung"}]}
            for i, (t, s, tp) in enumerate([("Die Hotline war super.", "positive", ["Hotline"]),
                                             ("Die App stürzt ab.", "negative", ["App"]),
                                             ("Lieferung kam schnell.", "positive", ["Lieferung/Versand"])] * 10)]
    (labelled / "tiny.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    model, _ = train_model(tmp_path / "model", tax, own_dir=labelled, use_embeddings=False, evaluate=False)
    assert "touchpoints:Verpackung" in model.heads.heads
    from cxnlp.classify.tagger import Tagger

    r = Tagger(model, tax)("Die Graspapier-Verpackung ist gerissen und die Ware war nass.")
    assert "Verpackung" in {t["label"] for t in r["touchpoints"]}



def test_clusters_with_the_same_top_terms_get_distinct_stable_ids():
    """Two clusters can share their three top terms; their ids (the topics table's key) must still differ,
    and the first keeps the id its label terms give it (stable across runs)."""
    from cxnlp.aggregate.topics import topic_id

    used: set[str] = set()
    a = topic_id(["akku", "laden", "app"], ["akku", "laden", "app", "update"], used)
    b = topic_id(["app", "akku", "laden"], ["akku", "laden", "app", "kabel"], used)
    c = topic_id(["akku", "laden", "app"], ["akku", "laden", "app", "kabel"], used)
    assert len({a, b, c}) == 3 and used == {a, b, c}
    assert a == topic_id(["laden", "app", "akku"], [], set())  # order of the label terms does not matter


# ------------------------------------------------------------------------------- clusterwise stability
def blobs_and_cloud(seed: int = 0):
    """Three tight, far-apart groups (150 rows each) and one diffuse cloud (450 rows) that k-means must cut
    somewhere: the cut moves when the rows are resampled."""
    rng = np.random.default_rng(seed)
    eye = np.eye(8)
    parts = [rng.normal(eye[i] * 5, 0.05, size=(150, 8)) for i in range(3)]
    parts.append(rng.uniform(-1, 1, size=(450, 8)) + eye[3] * 5)
    return np.vstack(parts).astype(np.float32)


def test_stability_is_high_for_separated_groups_and_low_for_an_arbitrary_cut():
    from sklearn.cluster import KMeans

    from cxnlp.aggregate.topics import cluster_stability

    X = blobs_and_cloud()
    labels = KMeans(6, random_state=0, n_init=10).fit_predict(X)
    stab = cluster_stability(X, labels, 6, seed=0)
    in_cloud = [bool((labels[450:] == c).sum() > (labels[:450] == c).sum()) for c in range(6)]
    assert sum(in_cloud) == 3  # three clusters are the tight groups, three are pieces of the cloud
    assert all(stab[c] >= 0.95 for c in range(6) if not in_cloud[c])
    assert all(stab[c] < 0.75 for c in range(6) if in_cloud[c])
    assert np.array_equal(stab, cluster_stability(X, labels, 6, seed=0))  # seeded
    assert cluster_stability(X, labels, 6, seed=0, runs=0) is None
    assert cluster_stability(X[:10], labels[:10], 6, seed=0) is None  # too few rows to resample


def test_a_new_topic_that_does_not_come_back_is_listed_but_not_flagged():
    """Of the new theme, one text forms a tight group (a real topic), the other two a diffuse cloud that
    k-means cuts into pieces: every piece is 'new', but only the tight group is flagged, and it comes first."""
    docs = synthetic_docs()
    rng = np.random.default_rng(1)
    eye = np.eye(12)
    steady_text = {t: i for i, t in enumerate(sorted({d["text"] for d in docs if d["id"].startswith("s")}))}
    tight_new = [d["id"] for d in docs if d["id"].startswith("n") and d["text"].startswith("Die neue")]
    v = []
    for d in docs:
        if d["id"].startswith("s"):
            v.append(rng.normal(eye[steady_text[d["text"]]] * 10, 0.05))
        elif d["id"] in tight_new:
            v.append(rng.normal(eye[4] * 10, 0.05))
        else:
            v.append(rng.uniform(-1, 1, size=12) + eye[5] * 10)
    v = np.array(v, dtype=np.float32)
    topics = discover(docs, seed=0, vecs=v, n_topics=8, min_size=3)
    cloud = {d["id"] for d in docs if d["id"].startswith("n")} - set(tight_new)
    tight = [t for t in topics if set(t.member_ids) == set(tight_new)]
    pieces = [t for t in topics if set(t.member_ids) <= cloud]
    steady = [t for t in topics if all(i.startswith("s") for i in t.member_ids)]
    assert len(tight) == 1 and len(pieces) >= 2 and len(steady) == 4
    assert tight[0].status == "new" and tight[0].stability >= 0.9 and tight[0].flagged()
    # new (or, for a piece with most of its texts in one week, a spike), but not a lead
    assert all(t.status in ("new", "spike") and t.stability < 0.6 and not t.flagged() and t.flagged(min_stability=0.0)
               for t in pieces)
    assert all(t.stability >= 0.95 and not t.flagged() for t in steady)
    assert topics[0] is tight[0]  # the robust lead first, then the pieces, then the steady themes
    assert {t.id for t in topics[1:1 + len(pieces)]} == {t.id for t in pieces}
    unmeasured = discover(docs, seed=0, vecs=v, n_topics=8, min_size=3, stability_runs=0)
    assert all(t.stability is None and t.robust() for t in unmeasured)
    assert sum(t.flagged() for t in unmeasured) == 1 + len(pieces)


def test_stored_topics_carry_their_stability_and_an_older_store_gains_the_column(tmp_path):
    from cxnlp.aggregate.topics import Topic
    from cxnlp.report.experience_report import _topics_section
    from cxnlp.store import DuckDBStore
    from cxnlp.store import topics_sql

    path = tmp_path / "old.duckdb"
    with DuckDBStore(path) as store:  # the topics table as stores made before the stability column have it
        old = topics_sql.DDL[0].replace(", stability DOUBLE", "")
        assert "stability" not in old
        store.con.execute(old)
        store.con.execute(topics_sql.DDL[1])
        store.con.execute("INSERT INTO topics (run_id, scope, topic_id, label, terms, size, status, growth, covered, "
                          "examples, created_at) VALUES ('r0', 'negative', 'old', 'alt', '[]', 9, 'growing', 2.0, "
                          "false, '[]', now() - INTERVAL 1 DAY)")
    with DuckDBStore(path) as store:
        rows = topics_sql.latest_topics(store, "negative")  # init adds the column; the old row has none
        assert [(r["topic_id"], r["stability"], r["flagged"]) for r in rows] == [("old", None, True)]

        def topic(tid, status, stability, size):
            return Topic(id=tid, label=f"label {tid}", terms=[(tid, 1.0)], size=size, neg_share=1.0, weekly={},
                         first_week=None, status=status, growth=3.0, stability=stability,
                         examples=[{"id": "x", "text": f"Beispiel {tid}"}])

        topics = [topic("a", "growing", 0.9, 10), topic("b", "new", 0.3, 50), topic("c", "stable", 0.95, 99),
                  topic("d", "spike", None, 5)]
        topics_sql.save_topics(store, "r1", "negative", topics, date(2026, 9, 1), date(2026, 12, 1))
        rows = topics_sql.latest_topics(store, "negative")
        assert [(r["topic_id"], r["stability"], r["flagged"]) for r in rows] == [
            ("a", 0.9, True), ("d", None, True), ("b", 0.3, False), ("c", 0.95, False)]
        assert [r["topic_id"] for r in topics_sql.latest_topics(store, "negative", min_stability=0.2)][:3] == \
            ["b", "a", "d"]  # with a lower floor "b" (new) is a lead again
        html = _topics_section(store)
        assert "Stabilität" in html and html.count("unsicher") == 1 and "0.30" in html
        row_b = html[html.index("label b"):].split("</tr>")[0]
        assert "unsicher" in row_b


# ------------------------------------------------------------------------------- stored document vectors
def test_packed_vectors_read_back_close_to_the_originals():
    from cxnlp.classify.docvec import pack, unpack

    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 512)).astype(np.float32)
    v[7] *= 1e-3  # small and large rows alike: each row has its own scale
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v[3] = 0  # an empty text: no vector
    blobs = pack(v)
    assert blobs[3] is None and all(len(b) == 516 for i, b in enumerate(blobs) if i != 3)
    back = unpack([b for b in blobs if b is not None])
    cos = (back * np.delete(v, 3, axis=0)).sum(1)
    assert cos.min() > 0.9999
    with pytest.raises(ValueError, match="516"):
        unpack([b"\0" * 100])


def test_tag_stage_stores_document_vectors_and_the_topic_stage_reuses_them(tmp_path, monkeypatch):
    import cxnlp.aggregate.topics_stage as topics_stage
    from cxnlp.classify.docvec import ENCODER, document_vectors, unpack
    from cxnlp.classify.stage import tag_untagged
    from cxnlp.classify.tagger import Tagger
    from cxnlp.config import load_settings
    from cxnlp.samplegen import iter_records
    from cxnlp.schema import Feedback
    from cxnlp.store import open_store, topics_sql

    recs = [r for r in iter_records(400, seed=3) if r.get("text")][:48]
    t0 = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    rows = [Feedback(id=f"fb-{i:03d}", source="review", source_name="s", created_at=t0 + timedelta(days=i // 2),
                     text=r["text"], content_hash=f"h{i}", near_key=f"k{i}") for i, r in enumerate(recs)]
    settings = load_settings(REPO)
    with open_store(path=tmp_path / "s.duckdb") as store:
        store.write_ingest_batch(run_id="r", feedback=rows, duplicates=[], quarantine=[], source_name="s",
                                 fingerprint="f", file="f", rows_done=len(rows), file_status="done")
        tag_untagged(store, settings, "r", tagger=Tagger.from_config(REPO), batch_size=16, progress=False)
        got = topics_sql.read_vectors(store, [r.id for r in rows], ENCODER)
        assert set(got) == {r.id for r in rows}  # every tagged text has its vector
        ids = sorted(got)
        fresh = document_vectors([rows[int(i[3:])].text for i in ids])
        assert (unpack([got[i] for i in ids]) * fresh).sum(1).min() > 0.999  # the tagger's = computed afresh

        docs = [{"id": r.id, "text": r.text} for r in rows]
        calls: list[int] = []
        real = topics_stage.vectors
        monkeypatch.setattr(topics_stage, "vectors", lambda texts, seed=0: calls.append(len(texts)) or real(texts, seed))
        vecs, info = topics_stage.window_vectors(store, docs)
        assert info == {"stored": len(rows), "computed": 0} and calls == []  # nothing encoded again
        assert np.allclose(vecs, unpack([got[d["id"]] for d in docs]))
        # texts tagged without vectors (another backend, an older store): computed once, then stored
        with store.transaction() as con:
            con.execute("DELETE FROM text_vectors WHERE feedback_id IN ('fb-001', 'fb-005')")
        vecs2, info = topics_stage.window_vectors(store, docs)
        assert info == {"stored": len(rows) - 2, "computed": 2} and calls == [2]
        assert (vecs2 * vecs).sum(1).min() > 0.999
        assert topics_stage.window_vectors(store, docs)[1]["computed"] == 0
        # vectors of texts older than any topic window are dropped
        days = sorted(r.created_at.date() for r in rows)
        cut = days[len(days) // 2]
        older = store.query("SELECT count(*) FROM feedback WHERE CAST(timezone('Europe/Berlin', created_at) AS DATE) "
                            "< ?", [cut])[0][0]
        assert 0 < older < len(rows)
        assert topics_sql.prune_vectors(store, cut) == older
        assert store.query("SELECT count(*) FROM text_vectors")[0][0] == len(rows) - older


def test_old_runs_lose_their_members_but_keep_their_topics(tmp_path):
    from cxnlp.aggregate.topics import Topic
    from cxnlp.store import DuckDBStore
    from cxnlp.store import topics_sql

    with DuckDBStore(tmp_path / "s.duckdb") as store:
        topics_sql.init(store)
        for run in ("r1", "r2", "r3", "r4"):
            t = Topic(id="t", label="x", terms=[("x", 1.0)], size=3, neg_share=1.0, weekly={}, first_week=None,
                      status="stable", growth=1.0, member_ids=[f"{run}-a", f"{run}-b", f"{run}-c"])
            topics_sql.save_topics(store, run, "all", [t], date(2026, 9, 1), date(2026, 12, 1))
        assert topics_sql.prune_members(store, 2) == 6
        assert store.query("SELECT DISTINCT run_id FROM topic_members ORDER BY run_id") == [("r3",), ("r4",)]
        assert store.query("SELECT count(DISTINCT run_id) FROM topics") == [(4,)]
        assert topics_sql.prune_members(store, 2) == 0  # nothing more to drop
        assert topics_sql.prune_members(store, 0) == 3  # at least the last run keeps its members
        assert store.query("SELECT DISTINCT run_id FROM topic_members") == [("r4",)]

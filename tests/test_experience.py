"""Kundenerlebnis vs. Kundenerfahrung: per-text signals, KPI formulas on hand-computed cases, idempotent and
incremental aggregation, the planted episode of the sample data, the report in a real browser, exports."""
import csv
import json
import shutil
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import REPO
from cxnlp.aggregate.experience import erfahrung_signal, erlebnis_signal, experience_row, rating_value
from cxnlp.aggregate.stage import aggregate_experience
from cxnlp.schema import Feedback
from cxnlp.store import DuckDBStore
from cxnlp.store import experience_sql as sql


def sent(text, label, typ, pos=0.0, neg=0.0):
    return {"text": text, "sentiment": {"label": label, "scores": {"negative": neg, "neutral": 1 - pos - neg,
                                                                   "positive": pos}},
            "type": typ, "type_scores": {"erlebnis": 1.0 if typ == "erlebnis" else 0.0,
                                         "erfahrung": 1.0 if typ == "erfahrung" else 0.0,
                                         "both": 1.0 if typ == "both" else 0.0, "neither": 1.0 if typ == "neither" else 0.0}}


def result(sents, emotions=(), label="neutral", facets=(), touchpoints=(), phase="unknown", churn=False):
    return {"sentiment": {"label": label, "scores": {}}, "sentences": list(sents),
            "emotions": [{"label": e, "score": i, "intensity": i} for e, i in emotions],
            "facets": [{"label": f, "score": 0.9, "evidence": []} for f in facets],
            "touchpoints": [{"label": t, "score": 0.9, "evidence": []} for t in touchpoints],
            "phase": {"label": phase, "score": 0.9, "evidence": []}, "relevance": {"relevant": True, "score": 0.9},
            "churn": {"flag": churn, "evidence": []}}


def test_erlebnis_reads_emotional_sentences_only():
    r = result([sent("Ich bin so wütend!!", "negative", "erlebnis", neg=0.9),
                sent("Die Ware kam am Montag.", "neutral", "neither"),
                sent("Insgesamt aber ok.", "positive", "erfahrung", pos=0.6)], emotions=[("Ärger", 0.8)])
    e = erlebnis_signal(r)
    assert e["valence"] == pytest.approx(-0.9) and e["sentences"] == [0] and e["emotions"] == ["Ärger"]
    f = erfahrung_signal(r, {})
    assert f["value"] == pytest.approx(0.6) and f["source"] == "text" and f["sentences"] == [2]


def test_explicit_rating_wins_and_nothing_is_invented():
    r = result([sent("Toll!", "positive", "erlebnis", pos=0.9)])
    assert erfahrung_signal(r, {"rating_stars": 1})["value"] == -1.0
    assert erfahrung_signal(r, {"rating_nps": 10})["source"] == "rating:nps"
    assert erfahrung_signal(r, {}) is None  # no rating, no evaluative sentence: no Erfahrung
    assert erlebnis_signal(result([sent("Bestellt am 3.", "neutral", "neither")])) is None
    assert rating_value(stars=5) == (1.0, "stars") and rating_value(ces=4) == (0.0, "ces")
    assert rating_value(csat=1) == (-1.0, "csat")


@pytest.fixture
def store(tmp_path):
    s = DuckDBStore(tmp_path / "t.duckdb")
    yield s
    s.close()


def add(store, rows):
    """rows: (id, day, source, ratings dict, result)"""
    fbs, states = [], []
    for fid, day, source, ratings, res in rows:
        created = datetime(day.year, day.month, day.day, 10, tzinfo=timezone.utc)
        fbs.append(Feedback(id=fid, source=source, source_name=source, created_at=created, text=f"text {fid}",
                            content_hash=fid, near_key=fid, channel="web", **ratings))
        states.append((fid, res))
    store.write_ingest_batch(run_id="r", feedback=fbs, duplicates=[], quarantine=[], source_name="x",
                             fingerprint=fids_fp(rows), file="f", rows_done=len(rows), file_status="done")
    from cxnlp.classify.stage import tag_rows

    store.write_tags(states, [row for fid, res in states for row in tag_rows(fid, {
        **res, "offensive": {"flag": False, "score": 0}, "sustainability": {"flag": False, "score": 0,
                                                                             "evidence": []},
        "sentiment": {"label": res["sentiment"]["label"], "scores": {res["sentiment"]["label"]: 1.0}}})],
        "m", "1", "r")


def fids_fp(rows):
    return "fp-" + "-".join(r[0] for r in rows)


MON = date(2026, 10, 5)  # a Monday


def kpi_rows(store):
    return store.query_dicts("SELECT * EXCLUDE (erlebnis_ci, erfahrung_ci, nps_ci) FROM experience_kpis "
                             "ORDER BY grain, period, source, channel, facet, touchpoint")


def test_kpi_formulas_on_hand_computed_cases(store):
    nps = [10, 9, 8, 7, 6, 0]
    rows = [(f"n{i}", MON, "review", {"rating_nps": v}, result([])) for i, v in enumerate(nps)]
    rows += [(f"c{i}", MON, "ticket", {"rating_csat": v, "rating_ces": c}, result([]))
             for i, (v, c) in enumerate([(5, 7), (4, 6), (3, 2), (2, 1)])]
    rows += [(f"s{i}", MON + timedelta(days=1), "review", {"rating_stars": v},
              result([sent("x", "negative", "erlebnis", neg=1.0 if v < 3 else 0.0, pos=1.0 if v >= 3 else 0.0)],
                     label="positive" if v >= 3 else "negative", phase="Befürwortung", churn=v == 1))
             for i, v in enumerate([5, 4, 1])]
    add(store, rows)
    aggregate_experience(store)
    wk = sql.kpis(store, "week", "source = '*' AND channel = '*' AND facet = '*' AND touchpoint = '*'")[0]
    assert wk["volume"] == 13
    assert wk["nps"] == pytest.approx(0.0)  # 2 promoters (9, 10) - 2 detractors (6, 0) of 6
    assert wk["csat"] == pytest.approx(50.0)  # 4 and 5 of four answers
    assert wk["ces"] == pytest.approx(4.0)
    assert wk["mean_stars"] == pytest.approx(10 / 3)
    assert wk["weiterempfehlungsrate"] == pytest.approx(100 * 2 / 13)  # positive + Befürwortung
    assert wk["churn_rate"] == pytest.approx(100 / 13)
    # Erlebnis: three texts with valence +1, +1, -1 -> mean 1/3; its 95 % CI half-width 1.96 * sd / sqrt(n)
    assert wk["erlebnis_index"] == pytest.approx(100 / 3)
    sd = (1 - (1 / 3) ** 2) ** 0.5
    assert wk["erlebnis_ci"] == pytest.approx(100 * 1.96 * sd / 3 ** 0.5)
    day = sql.kpis(store, "day", "source = 'review' AND channel = '*' AND facet = '*' AND touchpoint = '*'")
    assert [d["period"] for d in day] == [MON, MON + timedelta(days=1)]
    assert day[0]["nps"] == pytest.approx(0.0) and day[1]["mean_stars"] == pytest.approx(10 / 3)
    nps_p, nps_d = 2 / 6, 2 / 6
    assert wk["nps_ci"] == pytest.approx(100 * 1.96 * ((nps_p + nps_d - (nps_p - nps_d) ** 2) / 6) ** 0.5)


def test_facet_and_touchpoint_cells(store):
    add(store, [("a", MON, "review", {}, result([sent("x", "negative", "erlebnis", neg=0.8)],
                                                 facets=["Service-Erfahrung"], touchpoints=["Hotline", "E-Mail"])),
                ("b", MON, "review", {}, result([sent("y", "positive", "erlebnis", pos=0.6)],
                                                 facets=["Produkt-Erfahrung"], touchpoints=["Hotline"]))])
    aggregate_experience(store)
    cells = {(r["facet"], r["touchpoint"]): r for r in sql.kpis(store, "week", "source = '*'")}
    assert cells[("*", "Hotline")]["volume"] == 2 and cells[("*", "E-Mail")]["volume"] == 1
    assert cells[("Service-Erfahrung", "Hotline")]["erlebnis_index"] == pytest.approx(-80)
    assert cells[("*", "*")]["erlebnis_index"] == pytest.approx(-10)


def test_reaggregation_is_idempotent_and_incremental(store):
    add(store, [(f"w1-{i}", MON, "review", {"rating_stars": 1 + i % 5}, result([])) for i in range(10)])
    add(store, [(f"w2-{i}", MON + timedelta(days=7), "review", {"rating_stars": 5}, result([])) for i in range(5)])
    aggregate_experience(store)
    before = kpi_rows(store)
    again = aggregate_experience(store)
    assert again["texts_updated"] == 0 and kpi_rows(store) == before
    sql.rebuild_aggregates(store, None)  # a full rebuild gives the same numbers as the incremental path
    assert kpi_rows(store) == before
    add(store, [("late", MON + timedelta(days=8), "review", {"rating_stars": 1}, result([]))])
    inc = aggregate_experience(store)
    assert inc["texts_updated"] == 1 and inc["periods_recomputed_days"] == 1
    after = kpi_rows(store)
    week1 = [r for r in after if r["period"] in (MON,) or (r["grain"] == "day" and r["period"] < MON + timedelta(7))]
    assert week1 == [r for r in before if r in week1]  # untouched periods are unchanged
    w2 = [r for r in after if r["grain"] == "week" and r["period"] == MON + timedelta(7) and r["source"] == "*"
          and r["facet"] == "*" and r["touchpoint"] == "*"][0]
    assert w2["volume"] == 6 and w2["mean_stars"] == pytest.approx(26 / 6)


# -- the sample data: the planted campaign backlash ------------------------------------------------------------
def _sample_project(root: Path, source_names: tuple[str, ...] | None) -> Path:
    """The shipped sample's sources (``source_names``; None: all of them), ingested, tagged, aggregated and
    clustered into topics (real pipeline)."""
    from cxnlp.config import load_settings, load_sources
    from cxnlp.runs import aggregate_stage, ingest_stage, tag_stage
    from cxnlp.store import open_store

    (root / "configs").mkdir()
    for name in ("settings.yaml", "taxonomy.yaml", "models.yaml"):
        shutil.copy(REPO / "configs" / name, root / "configs" / name)
    (root / "models").symlink_to(REPO / "models")
    src = (REPO / "configs" / "sources.yaml").read_text(encoding="utf-8").replace("data/sample", str(REPO / "data" / "sample"))
    (root / "configs" / "sources.yaml").write_text(src, encoding="utf-8")
    settings = load_settings(root)
    sources = [s for s in load_sources(root) if source_names is None or s.name in source_names]
    with open_store(settings) as store:
        ingest_stage(store, settings, sources, "ep")
        tag_stage(store, settings, "ep")
        aggregate_stage(store)
        from cxnlp.aggregate.topics_stage import topics_stage

        topics_stage(store, settings, "ep")
    return root


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory):
    """The sample's social posts and shop reviews (the planted campaign backlash and its ratings)."""
    return _sample_project(tmp_path_factory.mktemp("episode"), ("social_posts", "shop_reviews"))


@pytest.fixture(scope="module")
def full_sample(tmp_path_factory):
    """Every source of the sample, as `make demo` ingests it. The planted packaging topic needs all of them to
    come back robustly: on social posts and shop reviews alone its stability lies between 0.42 and 0.66 over
    seeds 0-5 (in float32 and in int8 alike), on the whole sample between 0.69 and 0.81 (measured)."""
    return _sample_project(tmp_path_factory.mktemp("full-sample"), None)


def test_planted_backlash_erlebnis_drops_on_social_while_ratings_lag(sample_store):
    from cxnlp.aggregate.drivers import weekly_drivers
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    campaign_week = date(2026, 10, 26)
    with open_store(load_settings(sample_store)) as store:
        social = {r["period"]: r for r in sql.kpis(store, "week", "source = 'social' AND channel = '*' AND "
                                                   "facet = '*' AND touchpoint = '*'")}
        review = {r["period"]: r for r in sql.kpis(store, "week", "source = 'review' AND channel = '*' AND "
                                                   "facet = '*' AND touchpoint = '*'")}
        before = [social[campaign_week - timedelta(weeks=k)]["erlebnis_index"] for k in (1, 2, 3, 4)]
        assert social[campaign_week]["erlebnis_index"] < sum(before) / 4 - 30
        assert social[campaign_week]["volume"] > 2.5 * social[campaign_week - timedelta(weeks=1)]["volume"]
        # ratings (Erfahrung from stars) hold in the campaign week and fall two weeks later
        r_before = review[campaign_week - timedelta(weeks=1)]["erfahrung_index"]
        assert review[campaign_week]["erfahrung_index"] > r_before - 10
        assert review[campaign_week + timedelta(weeks=2)]["erfahrung_index"] < review[campaign_week]["erfahrung_index"] - 10
        drivers = weekly_drivers(store, week=campaign_week)
    terms = {t["term"] for t in drivers["terms"]}
    assert terms & {"#lumoraliebe", "#lumoraboykott"}
    top = [(d["dimension"], d["value"]) for d in drivers["drivers"]["erlebnis"][:5]]
    assert ("source", "social") in top and ("touchpoint", "Werbung/Kampagne") in top
    assert all(d["verbatims"] for d in drivers["drivers"]["erlebnis"][:3])


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def test_report_renders_charts_in_a_browser(sample_store, tmp_path):
    from cxnlp.config import load_settings
    from cxnlp.runs import report_stage
    from cxnlp.store import open_store

    settings = load_settings(sample_store)
    with open_store(settings) as store:
        path, headline = report_stage(store, settings, "test-run", {"ingest": {}})
    assert headline["top_terms"] and headline["exports"] == ["kpis_week.csv", "kpis_week.xlsx"]
    exe = chromium()
    if not exe:
        pytest.skip("no Chromium on this machine: `make test` installs it with apt-get where it can")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([exe, *flags, "--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert dom.count('<svg class="chart"') >= 8
    assert dom.count('data-series="Erlebnis"') >= 8 and dom.count('data-series="Erfahrung"') >= 4
    assert "Treiber der Woche" in dom and "Social-Media-Alarme" in dom and "Neue und wachsende Themen" in dom
    shot = tmp_path / "report.png"
    subprocess.run([exe, *flags, "--window-size=1200,1600", f"--screenshot={shot}", path.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.stat().st_size > 30_000  # a blank page compresses to a few kB; charts and text do not


def test_exports_are_safe_against_formula_injection(store, tmp_path):
    from cxnlp.report.experience_report import export_kpis

    add(store, [("x1", MON, "review", {"rating_stars": 5}, result([]))])
    store.con.execute("UPDATE feedback SET channel = '=HYPERLINK(\"http://x\")'")
    aggregate_experience(store)
    paths = export_kpis(store, tmp_path)
    rows = list(csv.reader(paths[0].open(encoding="utf-8-sig"), delimiter=";"))
    channels = {r[3] for r in rows[1:]}
    assert "'=HYPERLINK(\"http://x\")" in channels and not any(c.startswith("=") for c in channels)
    from openpyxl import load_workbook

    ws = load_workbook(paths[1]).active
    assert all(not (isinstance(c.value, str) and c.value.startswith("=")) for row in ws.iter_rows() for c in row)


def test_sample_packaging_topic_is_found_and_flagged_growing(full_sample):
    from cxnlp.config import load_settings
    from cxnlp.store import open_store
    from cxnlp.store import topics_sql

    settings = load_settings(full_sample)
    with open_store(settings) as store:
        rows = topics_sql.latest_topics(store, "negative")
    assert len(rows) >= 5
    pack = [r for r in rows if "graspapier" in r["label"]]
    assert pack, [r["label"] for r in rows]
    assert pack[0]["status"] in ("new", "growing") and pack[0]["growth"] > 2
    assert pack[0]["first_week"] >= date(2026, 9, 28) or pack[0]["growth"] > 4
    assert not pack[0]["covered"]  # "Graspapier" is no taxonomy term
    # a lead: its cluster comes back when the texts are resampled; listed before every topic that is not a lead
    assert pack[0]["flagged"] and pack[0]["stability"] >= 0.6
    assert rows.index(pack[0]) < min([i for i, r in enumerate(rows) if not r["flagged"]], default=len(rows))


def test_topics_cli_marks_the_flagged_topics_and_prints_each_stability(full_sample, capsys):
    from cxnlp.cli import main

    assert main(["--root", str(full_sample), "topics", "--scope", "negative"]) == 0
    lines = capsys.readouterr().out.splitlines()
    pack = [ln for ln in lines if "graspapier" in ln]
    assert pack and pack[0].startswith("*") and " stab 0." in pack[0]
    listed = [ln for ln in lines if " negative " in ln]
    assert all(" stab " in ln for ln in listed) and any(not ln.startswith("*") for ln in listed)
    assert lines[-1].startswith("* flagged")

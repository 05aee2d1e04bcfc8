"""The review app: filters and keyset paging, corrections with their audit trail, the queue, CSRF and token
protection, formula-safe exports, hostile text rendered inert (HTTP and a real headless Chromium), and
training with analysts' corrections."""
import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import NEG, NEU, POS, REPO

from cxnlp.review.app import check_bind, create_app, BindError
from cxnlp.review_data import corrections_as_examples
from cxnlp.schema import Feedback
from cxnlp.store import DuckDBStore
from cxnlp.store import review_sql as sql

BASE = "http://127.0.0.1:8765"
XSS = "Lieferung kaputt <script>alert(1)</script> und <img src=x onerror=alert(1)> nie wieder"
FORMULA = '=HYPERLINK("http://evil.example","klick") Rechnung falsch'
SOURCES = [("review", "webshop"), ("social", "twitter"), ("ticket", "email")]
SENTS = ["negative", "neutral", "positive"]
T0 = datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc)


def _scores(label: str, top: float) -> dict:
    rest = (1 - top) / 2
    return {s: round(top if s == label else rest, 4) for s in SENTS}


def _item(i: int) -> dict:
    src, ch = SOURCES[i % 3]
    label = SENTS[(i // 3) % 3]
    word = {"negative": "schlecht", "neutral": "angekommen", "positive": "wunderbar"}[label]
    text = f"Eintrag {i}: Die Lieferung war {word}."
    return {"id": f"fb{i:03d}", "source": src, "channel": ch, "created_at": T0 + timedelta(hours=7 * i),
            "text": text, "label": label, "top": 0.45 + 0.05 * (i % 10), "stars": (i % 5) + 1,
            "facets": ["Produkt-Erfahrung"] if i % 2 else ["Service-Erfahrung"],
            "touchpoints": ["Lieferung/Versand"] if i % 4 == 0 else [],
            "emotions": ["Ärger"] if label == "negative" else [], "likes": i % 13,
            "evidence": word}


SPECIAL = [
    {"id": "xss", "source": "social", "channel": "twitter", "created_at": T0 + timedelta(days=60), "text": XSS,
     "label": "negative", "top": 0.9, "stars": None, "facets": ["Service-Erfahrung"], "touchpoints": [],
     "emotions": ["Ärger"], "likes": 500, "evidence": "<script>alert(1)</script>", "title": "<b>fett</b>"},
    {"id": "formula", "source": "ticket", "channel": "@evil", "created_at": T0 + timedelta(days=61), "text": FORMULA,
     "label": "negative", "top": 0.8, "stars": 2, "facets": ["=cmd|' /C calc'!A0"], "touchpoints": [],
     "emotions": [], "likes": 0, "evidence": "Rechnung", "title": "+49 123"},
    # five stars but the model says negative, by a hair: the top of the queue
    {"id": "sarcasm", "source": "review", "channel": "webshop", "created_at": T0 + timedelta(days=62),
     "text": "Na super, wieder drei Wochen gewartet. Toll gemacht!", "label": "negative", "top": 0.36,
     "stars": 5, "facets": ["Service-Erfahrung"], "touchpoints": ["Lieferung/Versand"], "emotions": [],
     "likes": 3, "evidence": "wieder drei Wochen"},
]


def fill(store: DuckDBStore, items: list[dict]) -> None:
    fbs = [Feedback(id=it["id"], source=it["source"], source_name=f"{it['source']}_export", channel=it["channel"],
                    created_at=it["created_at"], text=it["text"], title=it.get("title"), language="de",
                    rating_stars=it["stars"], likes=it["likes"], content_hash="h" + it["id"], near_key="k" + it["id"])
           for it in items]
    store.write_ingest_batch(run_id="r1", feedback=fbs, duplicates=[], quarantine=[], source_name="s",
                             fingerprint="fp", file="f", rows_done=len(fbs), file_status="done")
    results, rows = [], []
    for it in items:
        scores = _scores(it["label"], it["top"])
        results.append((it["id"], {"sentiment": {"label": it["label"], "scores": scores}, "sentences": []}))
        at = it["text"].find(it["evidence"])
        ev = [{"start": at, "end": at + len(it["evidence"]), "text": it["evidence"], "source": "model"}]
        rows.append((it["id"], "sentiment", it["label"], scores[it["label"]], ev))
        for f in it["facets"]:
            rows.append((it["id"], "facet", f, 0.8, ev))
        for t in it["touchpoints"]:
            rows.append((it["id"], "touchpoint", t, 0.7, []))
        for e in it["emotions"]:
            rows.append((it["id"], "emotion", e, 0.6, []))
        rows.append((it["id"], "phase", "Kauf", 0.5, []))
        rows.append((it["id"], "relevance", "relevant", 0.9, []))
    store.write_tags(results, rows, "cxnlp-de-small", "2026.11.01", "tag-run")


N = 120
ITEMS = [_item(i) for i in range(N)] + SPECIAL


@pytest.fixture
def store_path(tmp_path):
    p = tmp_path / "review.duckdb"
    with DuckDBStore(p) as s:
        fill(s, ITEMS)
    return p


@pytest.fixture
def app(store_path):
    a = create_app(store_path, analyst="tester")
    yield a
    a.state.review.close()


@pytest.fixture
def client(app):
    with TestClient(app, base_url=BASE) as c:
        yield c


def ids_of(html: str) -> list[str]:
    return re.findall(r'<tr class="row" data-href="[^"]*" data-id="([^"]+)"', html)


def csrf_of(client: TestClient) -> str:
    client.get("/")
    return client.cookies.get("cxnlp_csrf")


# -- browsing --------------------------------------------------------------------------------------------------

def test_filters_select_on_the_server(client):
    by_id = {it["id"]: it for it in ITEMS}
    html = client.get("/?source=social&size=200").text
    got = ids_of(html)
    assert got and {by_id[i]["source"] for i in got} == {"social"}
    assert len(got) == sum(it["source"] == "social" for it in ITEMS)
    got = ids_of(client.get("/?sentiment=negative&facet=Produkt-Erfahrung&size=200").text)
    assert got and all(by_id[i]["label"] == "negative" and "Produkt-Erfahrung" in by_id[i]["facets"] for i in got)
    got = ids_of(client.get("/?touchpoint=Lieferung/Versand&emotion=Ärger&size=200").text)
    assert set(got) == {it["id"] for it in ITEMS if "Lieferung/Versand" in it["touchpoints"] and "Ärger" in it["emotions"]}
    got = ids_of(client.get("/?q=Eintrag 17:&size=200").text)
    assert got == ["fb017"]
    got = ids_of(client.get("/?conf_min=0.85&conf_max=0.9&size=200").text)
    assert set(got) == {it["id"] for it in ITEMS if 0.85 <= it["top"] <= 0.9 + 1e-9}
    got = ids_of(client.get("/?date_from=2026-10-02&date_to=2026-10-03&size=200").text)
    assert set(got) == {it["id"] for it in ITEMS
                        if datetime(2026, 10, 1, 22, tzinfo=timezone.utc) <= it["created_at"]
                        < datetime(2026, 10, 3, 22, tzinfo=timezone.utc)}
    got = ids_of(client.get("/?channel=email&phase=Kauf&size=200").text)
    assert got and {by_id[i]["channel"] for i in got} == {"email"}
    # engagement sort: the viral post first; confidence sort: the least certain first
    assert ids_of(client.get("/?sort=engagement").text)[0] == "xss"
    assert ids_of(client.get("/?sort=confidence").text)[0] == "sarcasm"
    # junk parameters are ignored, not errors
    assert client.get("/?conf_min=abc&date_from=gestern&sort=drop table&status=x&size=7").status_code == 200


def test_keyset_paging_walks_every_row_once(client):
    seen, url, pages = [], "/?size=25", 0
    while url:
        html = client.get(url).text
        seen += ids_of(html)
        m = re.search(r'id="next-page" href="([^"]+)"', html)
        url = m.group(1).replace("&amp;", "&") if m else None
        pages += 1
    expected = [it["id"] for it in sorted(ITEMS, key=lambda it: (it["created_at"], it["id"]), reverse=True)]
    assert seen == expected and pages == 5
    # and back: the previous page of page 2 is page 1
    from urllib.parse import quote

    html2 = client.get("/?size=25&after=" + quote(json.dumps(["2026-10-01T00:00:00+00:00", "zzz"]))).text
    assert ids_of(html2) == []
    # a tampered cursor is ignored (first page), not an error
    assert ids_of(client.get("/?size=25&after=" + quote('["gestern", "x"]')).text) == seen[:25]
    first = client.get("/?size=25").text
    nxt = re.search(r'id="next-page" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(nxt).text
    prev = re.search(r'id="prev-page" href="([^"]+)"', second).group(1).replace("&amp;", "&")
    assert ids_of(client.get(prev).text) == ids_of(first)
    assert 'id="prev-page"' not in first


def test_counts_are_capped(app):
    st = app.state.review.store
    assert sql.count_capped(st, {}, cap=50) == (50, True)
    assert sql.count_capped(st, {"source": "social"}, cap=1000) == (sum(it["source"] == "social" for it in ITEMS), False)


# -- corrections -----------------------------------------------------------------------------------------------

def test_correction_is_persisted_and_in_the_audit_trail(client, app):
    tok = csrf_of(client)
    r = client.post("/analyst", data={"analyst": "Anna K", "csrf_token": tok, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/item/fb004/correct?source=review", data={"task": "sentiment", "value": "positive",
                                                                "note": "ironisch gemeint", "csrf_token": tok},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/item/fb004?source=review"
    r = client.post("/item/fb004/correct", data={"task": "facet", "value": ["Marken-Erfahrung", "Produkt-Erfahrung"]},
                    headers={"X-CSRF-Token": tok, "Accept": "application/json"})
    assert r.status_code == 200 and r.json()["correction"]["old_value"] == ["Service-Erfahrung"]
    r = client.post("/item/fb004/correct", json={"task": "offensive", "value": True},
                    headers={"X-CSRF-Token": tok, "Accept": "application/json"})
    assert r.status_code == 200
    st = app.state.review.store
    item = sql.get_item(st, "fb004")
    assert item["values"]["sentiment"] == "positive" and item["model_values"]["sentiment"] == "neutral"
    assert item["values"]["facet"] == ["Marken-Erfahrung", "Produkt-Erfahrung"] and item["values"]["offensive"] is True
    trail = sql.audit_trail(st, feedback_id="fb004")["rows"]
    assert [(c["task"], c["old_value"], c["new_value"], c["analyst"]) for c in reversed(trail)] == [
        ("sentiment", "neutral", "positive", "Anna K"),
        ("facet", ["Service-Erfahrung"], ["Marken-Erfahrung", "Produkt-Erfahrung"], "Anna K"),
        ("offensive", False, True, "Anna K")]
    assert trail[-1]["note"] == "ironisch gemeint" and trail[-1]["created_at"] is not None
    # a second correction of the same task is appended, the first stays
    client.post("/item/fb004/correct", data={"task": "sentiment", "value": "negative"},
                headers={"X-CSRF-Token": tok, "Accept": "application/json"})
    sentiment_rows = [c for c in sql.audit_trail(st, feedback_id="fb004")["rows"] if c["task"] == "sentiment"]
    assert [(c["old_value"], c["new_value"]) for c in sentiment_rows] == [("positive", "negative"),
                                                                           ("neutral", "positive")]
    page = client.get("/audit").text
    assert "Anna K" in page and "ironisch gemeint" in page and "Marken-Erfahrung" in page
    item_page = client.get("/item/fb004").text
    assert 'id="audit"' in item_page and item_page.count('class="changed"') == 4
    # the list reflects the effective value and the status filters
    assert "fb004" in ids_of(client.get("/?status=corrected").text)
    assert "fb004" in ids_of(client.get("/?sentiment=negative&size=200").text)
    assert "fb004" not in ids_of(client.get("/?status=unreviewed&size=200").text)


def test_confirm_and_note(client, app):
    tok = csrf_of(client)
    h = {"X-CSRF-Token": tok, "Accept": "application/json"}
    assert client.post("/item/fb010/confirm", data={}, headers=h).json()["confirmed"] == len(sql.CORRECTABLE_TASKS)
    assert client.post("/item/fb010/note", data={"note": "Kunde ruft zurück"}, headers=h).status_code == 200
    rows = sql.audit_trail(app.state.review.store, feedback_id="fb010")["rows"]
    assert rows[0]["task"] == "note" and rows[0]["note"] == "Kunde ruft zurück"
    assert all(not c["changed"] for c in rows)
    assert "fb010" in ids_of(client.get("/?status=reviewed&size=200").text)
    assert "fb010" not in ids_of(client.get("/?status=corrected&size=200").text)


def test_bad_corrections_are_refused(client, app):
    tok = csrf_of(client)
    h = {"X-CSRF-Token": tok, "Accept": "application/json"}
    assert client.post("/item/fb001/correct", data={"task": "sentiment", "value": "begeistert"}, headers=h).status_code == 400
    assert client.post("/item/fb001/correct", data={"task": "facet", "value": "Erfunden"}, headers=h).status_code == 400
    assert client.post("/item/fb001/correct", data={"task": "drop", "value": "x"}, headers=h).status_code == 400
    assert client.post("/item/nope/correct", data={"task": "sentiment", "value": "neutral"}, headers=h).status_code == 404
    assert sql.audit_trail(app.state.review.store)["rows"] == []


def test_queue_puts_the_most_useful_items_first(client, app):
    html = client.get("/queue").text
    got = ids_of(html)
    assert got[0] == "sarcasm" and "Bewertung widerspricht Stimmung" in html
    tok = csrf_of(client)
    client.post("/item/sarcasm/correct", data={"task": "sentiment", "value": "positive"},
                headers={"X-CSRF-Token": tok, "Accept": "application/json"})
    assert "sarcasm" not in ids_of(client.get("/queue?size=200").text)
    page = sql.review_queue(app.state.review.store, {"source": "review"}, limit=10)
    assert page["rows"] and all(r["source"] == "review" and not r["reviewed"] for r in page["rows"])
    pr = [r["priority"] for r in page["rows"]]
    assert pr == sorted(pr, reverse=True)


def test_item_page_shows_tags_ratings_model_and_evidence(client):
    html = client.get("/item/sarcasm").text
    assert "cxnlp-de-small" in html and "2026.11.01" in html and "Sterne 5/5" in html
    assert re.search(r'<mark class="ev ev-facet ev-sentiment "[^>]*>wieder drei Wochen</mark>', html)
    assert "Service-Erfahrung" in html and "Lieferung/Versand" in html
    # next/previous follow the list context
    html = client.get("/item/fb051?source=review&sort=date").text
    nxt = re.search(r'id="next-item" rel="next" href="/item/([^"?]+)', html).group(1)
    prv = re.search(r'id="prev-item" rel="prev" href="/item/([^"?]+)', html).group(1)
    assert (nxt, prv) == ("fb048", "fb054")
    assert client.get("/item/does-not-exist").status_code == 404


NIGHTLY = """
import sys
from datetime import datetime, timezone
sys.path.insert(0, {tests!r})
from test_review import fill
from cxnlp.store import DuckDBStore
with DuckDBStore({path!r}) as s:
    fill(s, [{{"id": "night", "source": "social", "channel": "twitter", "created_at": datetime.now(timezone.utc),
              "text": "Nachtlauf: neu getaggt", "label": "positive", "top": 0.9, "stars": None, "facets": [],
              "touchpoints": [], "emotions": [], "likes": 1, "evidence": "neu"}}])
"""


def test_idle_app_releases_the_store_for_the_nightly_run(store_path):
    import sys

    app = create_app(store_path, idle_release=0.2)
    handle = app.state.review.handle
    try:
        c = TestClient(app, base_url=BASE)
        assert c.get("/").status_code == 200
        opened = handle.opened  # 1, or 2 where the machine was slow enough to idle before the first request
        deadline = time.monotonic() + 20
        while handle.is_open:
            assert time.monotonic() < deadline, "the store was not released"
            time.sleep(0.05)
        # another process (the nightly run) can now write the store
        code = NIGHTLY.format(tests=str(Path(__file__).parent), path=str(store_path))
        subprocess.run([sys.executable, "-c", code], check=True, cwd=str(REPO), timeout=120)
        # the next request opens it again and sees the newly tagged item
        assert ids_of(c.get("/?q=Nachtlauf").text) == ["night"]
        assert handle.opened == opened + 1
    finally:
        app.state.review.close()


# -- security ----------------------------------------------------------------------------------------------------

def test_csrf_rejects_writes_without_the_token(client, app):
    tok = csrf_of(client)
    r = client.post("/item/fb001/correct", data={"task": "sentiment", "value": "positive"})
    assert r.status_code == 403
    r = client.post("/item/fb001/correct", data={"task": "sentiment", "value": "positive", "csrf_token": "x" * 43})
    assert r.status_code == 403
    r = client.post("/item/fb001/confirm", data={"csrf_token": tok}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = client.post("/item/fb001/note", data={"note": "hi", "csrf_token": tok}, headers={"Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    # a token without the matching cookie (another session) is refused too
    other = TestClient(app, base_url=BASE)
    assert other.post("/item/fb001/correct", data={"task": "sentiment", "value": "positive", "csrf_token": tok}).status_code == 403
    assert sql.audit_trail(app.state.review.store)["rows"] == []
    cookie = TestClient(app, base_url=BASE).get("/").headers["set-cookie"].lower()
    assert "cxnlp_csrf=" in cookie and "samesite=strict" in cookie and "httponly" in cookie


def test_security_headers_and_host_check(client, app):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    assert re.findall(r"<script[^>]*>", r.text) == ['<script src="/static/review.js" defer>']
    assert " style=" not in r.text and "onclick" not in r.text
    assert client.get("/static/review.js").status_code == 200
    # DNS rebinding: a foreign Host name is not served when there is no token
    assert TestClient(app, base_url="http://evil.example").get("/").status_code == 400


def test_token_required_for_non_local_bind(store_path, tmp_path):
    with pytest.raises(BindError):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", "s3cret")
    check_bind("127.0.0.1", None)
    check_bind("localhost", None)
    import argparse

    from cxnlp.review import add_cli

    p = argparse.ArgumentParser()
    add_cli(p.add_subparsers(dest="cmd"))
    args = p.parse_args(["review", "--host", "0.0.0.0", "--store", str(store_path)])
    old = os.environ.pop("CXNLP_REVIEW_TOKEN", None)
    try:
        assert args.func(args) == 2  # refuses before starting anything
    finally:
        if old is not None:
            os.environ["CXNLP_REVIEW_TOKEN"] = old
    args = p.parse_args(["review"])
    assert (args.host, args.port, args.token) == ("127.0.0.1", 8765, None)

    app = create_app(store_path, token="s3cret")
    try:
        c = TestClient(app, base_url="http://192.0.2.10:8765")
        assert c.get("/").status_code == 401
        assert c.get("/export.csv").status_code == 401
        r = c.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?")
        assert c.get("/", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        r = c.get("/?token=s3cret&source=social", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/?source=social" and "s3cret" not in r.headers["set-cookie"]
        assert c.get("/").status_code == 200  # the cookie now carries the session
        # the login form needs the CSRF token too and refuses a wrong token
        d = TestClient(app, base_url="http://192.0.2.10:8765")
        d.get("/login")
        tok = d.cookies.get("cxnlp_csrf")
        assert d.post("/login", data={"token": "nope", "csrf_token": tok}).status_code == 401
        assert d.post("/login", data={"token": "s3cret", "csrf_token": tok, "next": "//evil.example/"},
                      follow_redirects=False).headers["location"] == "/"
        assert d.get("/").status_code == 200
    finally:
        app.state.review.close()


def test_hostile_text_renders_escaped(client):
    for url in ("/item/xss", "/?q=alert", "/audit"):
        if url == "/audit":
            tok = csrf_of(client)
            client.post("/item/xss/note", data={"note": "<img src=x onerror=alert(2)>", "csrf_token": tok})
        html = client.get(url).text
        assert "<img" not in html and "<b>fett</b>" not in html
        assert len(re.findall(r"<script\b", html)) == 1  # only the static review.js
        assert "alert(1)" in html or "alert(2)" in html
    html = client.get("/item/xss").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;fett&lt;/b&gt;" in html
    assert '<mark class="ev ev-facet ev-sentiment "' in html and "&lt;script&gt;alert(1)&lt;/script&gt;</mark>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/?q=alert").text


# -- exports -----------------------------------------------------------------------------------------------------

def _unsafe(v) -> bool:
    return isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r")


def test_exports_are_formula_safe_and_follow_the_filter(client):
    r = client.get("/export.csv?source=ticket")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    header, body = rows[0], rows[1:]
    assert len(body) == sum(it["source"] == "ticket" for it in ITEMS)
    assert not any(_unsafe(c) for row in body for c in row)
    formula = next(dict(zip(header, row)) for row in body if row[0] == "formula")
    assert formula["text"] == "'" + FORMULA and formula["channel"] == "'@evil" and formula["title"] == "'+49 123"
    assert formula["facets"] == "'=cmd|' /C calc'!A0"

    from openpyxl import load_workbook

    r = client.get("/export.xlsx?source=ticket")
    ws = load_workbook(io.BytesIO(r.content)).active
    cells = [c.value for row in ws.iter_rows() for c in row]
    assert ws.max_row == len(body) + 1 and not any(_unsafe(v) for v in cells)
    assert "'" + FORMULA in cells

    tok = csrf_of(client)
    client.post("/item/formula/correct", data={"task": "sentiment", "value": "neutral", "csrf_token": tok})
    tasks = client.get("/export.labelstudio.json?source=ticket").json()
    assert len(tasks) == len(body) and all(t["data"]["text"] for t in tasks)
    t = next(t for t in tasks if t["data"]["feedback_id"] == "formula")
    pred = t["predictions"][0]
    assert pred["result"][0]["value"]["choices"] == ["negative"] and pred["model_version"] == "2026.11.01"
    assert pred["result"][0]["from_name"] == "sentiment" and pred["result"][0]["type"] == "choices"
    assert t["annotations"][0]["result"][0]["value"]["choices"] == ["neutral"]
    other = next(t for t in tasks if t["data"]["feedback_id"] != "formula")
    assert "annotations" not in other


# -- training with corrections ---------------------------------------------------------------------------------

SARCASM = ["Na super, wieder drei Wochen auf das Paket gewartet. Toll gemacht!",
           "Ganz tolle Qualität, nach zwei Tagen auseinandergefallen.",
           "Super Beratung, man hat mich einfach stehen lassen."]


def write_tiny(folder: Path) -> None:
    folder.mkdir()
    rows, k = [], 0
    for _ in range(4):
        for label, texts in (("positive", POS), ("negative", NEG), ("neutral", NEU)):
            for t in texts:
                k += 1
                rows.append({"id": f"t-{k}", "text": t, "sentiment": label, "emotions": {}, "facets": [],
                             "touchpoints": [], "phase": "Kauf", "relevant": True, "offensive": False,
                             "sustainability": False,
                             "sentences": [{"text": t, "sentiment": label, "type": "erfahrung"}]})
    (folder / "tiny.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")


def test_corrections_as_examples_take_the_latest_value(tmp_path):
    with DuckDBStore(tmp_path / "c.duckdb") as st:
        fill(st, ITEMS[:6])
        assert corrections_as_examples(st) == []  # no corrections table yet: nothing, no error
        sql.init(st)
        sql.add_correction(st, "fb000", "sentiment", "positive", "a")
        sql.add_correction(st, "fb000", "sentiment", "neutral", "b")
        sql.add_correction(st, "fb000", "emotion", ["Freude"], "a")
        sql.add_note(st, "fb001", "nur eine Notiz", "a")
        sql.confirm_all(st, "fb002", "a")
    with DuckDBStore(tmp_path / "c.duckdb", read_only=True) as ro:  # `cxnlp train` opens the store read-only
        exs = {e.uid: e for e in corrections_as_examples(ro)}
    assert set(exs) == {"corr-fb000", "corr-fb002"}
    e = exs["corr-fb000"]
    assert (e.corpus, e.split, e.weight, e.sentiment) == ("corrections", "train", 5.0, "neutral")
    assert e.emotions == {"Freude": 1.0} and e.facets == ["Service-Erfahrung"] and e.phase == "Kauf"
    assert e.touchpoints == ["Lieferung/Versand"] and e.relevant is True and e.offensive is False
    assert exs["corr-fb002"].sentiment == "negative"


def test_training_with_corrections_moves_the_model_towards_them(tmp_path):
    from cxnlp.classify.tagger import Tagger
    from cxnlp.classify.taxonomy import load_taxonomy
    from cxnlp.classify.train import train_model

    write_tiny(tmp_path / "labelled")
    tax = load_taxonomy(REPO / "configs" / "taxonomy.yaml")
    base, _ = train_model(tmp_path / "m0", tax, own_dir=tmp_path / "labelled", use_embeddings=False,
                          version="base", evaluate=False)
    before = [Tagger(base, tax)(t)["sentiment"] for t in SARCASM]
    items = [{"id": f"s{i}", "source": "review", "channel": "webshop", "created_at": T0 + timedelta(hours=i),
              "text": t, "label": b["label"], "top": b["scores"][b["label"]], "stars": 1, "facets": [],
              "touchpoints": [], "emotions": [], "likes": 0, "evidence": t[:5]} for i, (t, b) in enumerate(zip(SARCASM, before))]
    store_path = tmp_path / "s.duckdb"
    with DuckDBStore(store_path) as st:
        fill(st, items)
    app = create_app(store_path, analyst="trainer")
    try:  # the analyst corrects through the app
        with TestClient(app, base_url=BASE) as c:
            tok = csrf_of(c)
            for it in items:
                assert c.post(f"/item/{it['id']}/correct", data={"task": "sentiment", "value": "negative",
                                                                 "csrf_token": tok}).status_code == 200
            extra = corrections_as_examples(app.state.review.store)
    finally:
        app.state.review.close()
    assert len(extra) == 3 and {e.sentiment for e in extra} == {"negative"}
    tuned, _ = train_model(tmp_path / "m1", tax, own_dir=tmp_path / "labelled", use_embeddings=False,
                           version="tuned", evaluate=False, extra=extra)
    after = [Tagger(tuned, tax)(t)["sentiment"] for t in SARCASM]
    assert [b["label"] for b in before].count("negative") < len(SARCASM)  # the base model gets them wrong
    for b, a in zip(before, after):
        assert a["scores"]["negative"] > b["scores"]["negative"] + 0.2
        assert a["label"] == "negative"
    # the rest of what it learnt stays
    t = Tagger(tuned, tax)
    assert t("Sehr zufrieden, tolle Beratung!")["sentiment"]["label"] == "positive"


# -- a real browser -----------------------------------------------------------------------------------------------

def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class CDP:
    """A minimal DevTools-protocol client over one page's websocket: commands, buffered events, and any
    JavaScript dialog (alert/confirm) recorded and dismissed at once."""

    def __init__(self, ws_url: str):
        from websockets.sync.client import connect

        self.ws = connect(ws_url, max_size=None, open_timeout=20)
        self.n = 0
        self.dialogs: list[str] = []

    def _handle(self, msg: dict) -> None:
        if msg.get("method") == "Page.javascriptDialogOpening":
            self.dialogs.append(msg["params"].get("message", ""))
            self.n += 1
            self.ws.send(json.dumps({"id": self.n, "method": "Page.handleJavaScriptDialog",
                                     "params": {"accept": True}}))

    def send(self, method: str, **params):
        self.n += 1
        mid = self.n
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self._handle(msg)

    def js(self, expr: str):
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(r["exceptionDetails"].get("text", "js error"))
        return r["result"].get("value")

    def wait(self, expr: str, timeout: float = 15.0):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                v = self.js(f"document.readyState === 'complete' && ({expr})")
                if v:
                    return v
            except RuntimeError as e:  # navigation in flight: the context is being replaced
                last = e
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {expr} ({last})")

    def key(self, key: str) -> None:
        code = f"Digit{key}" if key.isdigit() else ("Enter" if key == "Enter" else f"Key{key.upper()}")
        vk = 13 if key == "Enter" else ord(key.upper())
        text = "\r" if key == "Enter" else key
        self.send("Input.dispatchKeyEvent", type="keyDown", key=key, code=code, text=text,
                  windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk)
        self.send("Input.dispatchKeyEvent", type="keyUp", key=key, code=code, windowsVirtualKeyCode=vk,
                  nativeVirtualKeyCode=vk)

    def close(self) -> None:
        self.ws.close()


def _get_json(url: str):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as r:
        return json.loads(r.read())


def test_browser_filter_open_correct_audit_and_inert_hostile_text(store_path, tmp_path):
    exe = chromium()
    if not exe:
        pytest.skip("no Chromium found (chromium / chromium-browser / google-chrome on PATH): `make browser` "
                    "installs Debian's chromium where it can")
    pytest.importorskip("websockets", reason="the browser test drives Chromium over the DevTools protocol")
    import uvicorn

    app = create_app(store_path, analyst="browser-analyst")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    profile = tmp_path / "profile"
    proc = None
    cdp = None
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        proc = subprocess.Popen([exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                 "--no-default-browser-check", "--disable-background-networking",
                                 "--disable-component-update", "--disable-sync", "--no-proxy-server",
                                 "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
                                 f"--user-data-dir={profile}", "--window-size=1300,1000", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, "chromium exited"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        devport = int(port_file.read_text().split()[0])
        pages = [t for t in _get_json(f"http://127.0.0.1:{devport}/json/list") if t.get("type") == "page"]
        cdp = CDP(pages[0]["webSocketDebuggerUrl"])
        cdp.send("Page.enable")
        cdp.send("Runtime.enable")
        base = f"http://127.0.0.1:{port}"

        # 1. filter through the form
        cdp.send("Page.navigate", url=base + "/")
        cdp.wait("document.querySelectorAll('#items tr.row').length > 0")
        cdp.js("document.querySelector('select[name=source]').value = 'review';"
               "document.querySelector('select[name=sentiment]').value = 'negative';"
               "document.getElementById('apply').click(); true")
        cdp.wait("location.search.includes('source=review') && location.search.includes('sentiment=negative')")
        rows = cdp.js("Array.from(document.querySelectorAll('#items tr.row')).map(r => r.dataset.id)")
        assert rows and set(rows) == {it["id"] for it in ITEMS if it["source"] == "review" and it["label"] == "negative"}

        # 2. open the first item with the keyboard (j, Enter)
        cdp.key("j")
        cdp.key("Enter")
        cdp.wait("location.pathname.startsWith('/item/')")
        fid = cdp.js("document.querySelector('.item').dataset.fid")
        assert fid == rows[0]
        assert cdp.js("document.querySelector('#form-sentiment .current').textContent") == "negativ"

        # 3. correct the sentiment with a shortcut, with a note
        cdp.js("document.getElementById('note').value = 'Ironie, eigentlich positiv'; true")
        cdp.key("3")
        cdp.wait("document.querySelectorAll('#audit tr.changed').length === 1")
        assert cdp.js("document.querySelector('#form-sentiment .current').textContent") == "positiv"
        cells = cdp.js("Array.from(document.querySelectorAll('#audit tr.changed td')).map(td => td.textContent.trim())")
        assert "browser-analyst" in cells and "negativ" in cells and "Ironie, eigentlich positiv" in cells
        trail = sql.audit_trail(app.state.review.store, feedback_id=fid)["rows"]
        assert [(c["task"], c["old_value"], c["new_value"], c["analyst"], c["note"]) for c in trail] == [
            ("sentiment", "negative", "positive", "browser-analyst", "Ironie, eigentlich positiv")]
        cdp.send("Page.navigate", url=base + "/audit")
        cdp.wait("document.querySelectorAll('#audit tbody tr.changed').length === 1")

        # 4. the hostile post: visible literally, nothing executes
        cdp.send("Page.navigate", url=base + "/?q=" + "onerror")
        cdp.wait("document.querySelectorAll('#items tr.row').length === 1")
        assert XSS in cdp.js("document.querySelector('#items tr.row .snippet').textContent")
        cdp.send("Page.navigate", url=base + "/item/xss")
        cdp.wait("document.getElementById('text') !== null")
        assert cdp.js("document.getElementById('text').textContent") == XSS
        assert cdp.js("document.querySelectorAll('#text img, #text script, main img').length") == 0
        assert cdp.js("document.scripts.length") == 1
        assert cdp.js("document.querySelector('h2.title').textContent") == "<b>fett</b>"
        time.sleep(0.3)
        cdp.js("true")  # drain events
        assert cdp.dialogs == []
    finally:
        if cdp is not None:
            cdp.close()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        server.should_exit = True
        thread.join(timeout=10)
        app.state.review.close()

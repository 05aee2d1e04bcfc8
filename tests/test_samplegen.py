"""Sample-data generator: determinism, planted episodes, planted broken rows, the benchmark stream."""
from __future__ import annotations

import csv
import io
import itertools
import json
import shutil
import statistics
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import REPO
from cxnlp.samplegen import FILES, Timeline, generate, iban, iter_records

BERLIN = ZoneInfo("Europe/Berlin")
CAMPAIGN = datetime(2026, 10, 27, 10, 0, tzinfo=BERLIN)
GRAS = date(2026, 10, 5)
DIP = date(2026, 11, 5)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate(out, seed=7)
    return out


# ------------------------------------------------------------------------------------------- readers (test-local)
def shop_rows(d: Path) -> list[list[str]]:
    text = (d / "shop_reviews.csv").read_bytes().decode("cp1252", errors="replace")
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]


def ticket_rows(d: Path) -> list[list[str]]:
    text = (d / "tickets.csv").read_bytes().decode("utf-8-sig", errors="replace")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def jsonl(d: Path, name: str) -> tuple[list[dict], list[bytes]]:
    good, bad = [], []
    for line in (d / name).read_bytes().splitlines():
        try:
            obj = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            bad.append(line)
            continue
        (good if isinstance(obj, dict) else bad).append(obj if isinstance(obj, dict) else line)
    return good, bad


def berlin(iso: str) -> datetime | None:
    try:
        return datetime.fromisoformat(iso).astimezone(BERLIN)
    except (TypeError, ValueError):
        return None


# ------------------------------------------------------------------------------------------- determinism
def test_same_seed_gives_identical_files(sample, tmp_path):
    counts = generate(tmp_path, seed=7)
    assert set(counts) == set(FILES)
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (sample / name).read_bytes(), name


def test_other_seed_gives_other_files(sample, tmp_path):
    generate(tmp_path, seed=8, scale=0.3)
    for name in FILES:
        assert (tmp_path / name).read_bytes() != (sample / name).read_bytes(), name


def test_committed_sample_is_current(sample):
    """data/sample must be what `python -m cxnlp.samplegen data/sample` writes today."""
    committed = REPO / "data" / "sample"
    if not committed.is_dir():
        pytest.skip("data/sample not generated")
    for name in FILES:
        if name.endswith(".parquet"):
            import pyarrow.parquet as pq

            assert pq.read_table(committed / name).equals(pq.read_table(sample / name)), name
        else:
            assert (committed / name).read_bytes() == (sample / name).read_bytes(), f"{name} is stale: regenerate"


def test_volumes_and_size(sample):
    counts = {name: 0 for name in FILES}
    counts["shop_reviews.csv"] = len(shop_rows(sample))
    counts["tickets.csv"] = len(ticket_rows(sample))
    for name in ("app_reviews.jsonl", "social_posts.jsonl"):
        counts[name] = len((sample / name).read_bytes().splitlines())
    assert 1400 <= counts["shop_reviews.csv"] <= 1650
    assert 700 <= counts["app_reviews.jsonl"] <= 900
    assert 1800 <= counts["social_posts.jsonl"] <= 2400
    assert 700 <= counts["tickets.csv"] <= 900
    assert sum(f.stat().st_size for f in sample.iterdir()) < 4 * 2**20


# ------------------------------------------------------------------------------------------- episodes
def test_timeline_dates():
    tl = Timeline.build(date(2026, 11, 20), 90)
    assert tl.start == date(2026, 8, 23)
    assert tl.campaign == CAMPAIGN and tl.gras == GRAS and tl.dip == DIP


def test_backlash_in_social_posts(sample):
    posts, _ = jsonl(sample, "social_posts.jsonl")
    per_day: Counter = Counter()
    first24 = boycott_before = 0
    retweets_after = 0
    for p in posts:
        t = berlin(p["created_at"])
        if t is None:
            continue
        per_day[t.date()] += 1
        if "#LumoraBoykott" in p["text"] and t < CAMPAIGN:
            boycott_before += 1
        if CAMPAIGN <= t < CAMPAIGN + timedelta(hours=24):
            first24 += 1
            retweets_after += p["text"].startswith("RT @")
    baseline = [per_day[CAMPAIGN.date() - timedelta(days=k)] for k in range(1, 29)]
    assert 15 <= statistics.mean(baseline) <= 25
    assert boycott_before == 0
    assert first24 >= 300
    assert retweets_after >= 50
    day = CAMPAIGN.date()
    assert per_day[day + timedelta(days=1)] > per_day[day + timedelta(days=2)] > per_day[day + timedelta(days=4)]
    assert per_day[day + timedelta(days=5)] < 2 * statistics.mean(baseline)  # back to normal after ~4 days
    texts = " ".join(p["text"] for p in posts)
    for word in ("#LumoraLiebe", "#LumoraBoykott", "geschmacklos", "Boykott", "chämt euch"):
        assert word in texts


def test_stars_dip_late_not_at_once(sample):
    stars: dict[date, list[int]] = defaultdict(list)
    for row in shop_rows(sample):
        try:
            d = datetime.strptime(row[1], "%d.%m.%Y %H:%M").date()
            s = int(row[2])
        except (ValueError, IndexError):
            continue
        if 1 <= s <= 5:
            stars[d].append(s)

    def mean(a: date, b: date) -> float:
        vals = [s for d, v in stars.items() if a <= d < b for s in v]
        return statistics.mean(vals)

    before = mean(date(2026, 8, 23), CAMPAIGN.date())
    first_week = mean(CAMPAIGN.date(), CAMPAIGN.date() + timedelta(days=7))
    late = mean(DIP + timedelta(days=3), date(2026, 11, 21))
    assert first_week > before - 0.2  # no immediate drop
    assert late < before - 0.25  # a mild dip, later


def test_graspapier_emerges(sample):
    weekly: Counter = Counter()
    for row in shop_rows(sample):
        try:
            d = datetime.strptime(row[1], "%d.%m.%Y %H:%M").date()
        except (ValueError, IndexError):
            continue
        if "Graspapier" in row[4]:
            assert d >= GRAS
            weekly[(d - GRAS).days // 7] += 1
    for row in ticket_rows(sample):
        if len(row) == 11 and "Graspapier" in row[4]:
            assert row[2][:10] >= GRAS.isoformat()
    posts, _ = jsonl(sample, "social_posts.jsonl")
    for p in posts:
        if "Graspapier" in p["text"] and p["user"] != "@LumoraDE":
            assert berlin(p["created_at"]).date() >= GRAS
    assert weekly[0] >= 1
    assert weekly[0] + weekly[1] < weekly[4] + weekly[5]
    assert sum(weekly.values()) >= 60


# ------------------------------------------------------------------------------------------- broken rows
def test_shop_reviews_broken_rows(sample):
    raw = (sample / "shop_reviews.csv").read_bytes()
    assert raw.count(b"\x81") == 1
    with pytest.raises(UnicodeDecodeError):
        raw.decode("cp1252")
    rows = shop_rows(sample)
    assert {r[2] for r in rows if len(r) == 8} >= {"1", "2", "3", "4", "5", "7", "abc"}
    assert {r[1] for r in rows if len(r) == 8} >= {"31.02.2026 12:30", "gestern"}
    assert sum(1 for r in rows if len(r) != 8) == 1
    assert any(len(r) == 8 and not r[4] for r in rows)
    assert any(len(r) == 8 and r[4] and not r[4].replace("<p>", "").replace("</p>", "").replace("<br>", "")
               .replace("<br/>", "").strip() for r in rows)
    assert any(len(r) == 8 and not r[0] for r in rows)
    assert max(len(r[4]) for r in rows if len(r) == 8) > 25_000
    texts = [r[4] for r in rows if len(r) == 8 and len(r[4].split()) >= 8]
    assert len(texts) - len(set(texts)) >= 2
    assert any("<br>" in r[4] for r in rows) and any("&amp;" in r[4] for r in rows)
    assert any("<3" in r[4] for r in rows)
    assert any("ä" in r[4] or "ü" in r[4] for r in rows)


def test_jsonl_broken_rows(sample):
    apps, bad = jsonl(sample, "app_reviews.jsonl")
    assert len(bad) == 3  # invalid JSON, a JSON array, invalid UTF-8
    assert any(line.startswith(b"[") for line in bad)
    assert {a["score"] for a in apps} >= {0, 1, 5}
    assert any(a.get("at") == "gestern" for a in apps) and any("at" not in a for a in apps)
    assert any(not a["content"].strip() for a in apps)
    offsets = {a["at"][-6:] for a in apps if a.get("at", "").startswith("2026-")}
    assert offsets == {"+01:00", "+02:00"}

    posts, bad = jsonl(sample, "social_posts.jsonl")
    assert len(bad) == 3
    assert any(p["created_at"] is None for p in posts)
    assert any(len(p["text"]) > 25_000 for p in posts)
    assert {p["platform"] for p in posts} == {"twitter", "instagram", "facebook", "tiktok"}
    assert all(p["created_at"].endswith("Z") for p in posts if p["created_at"] and p["created_at"][:2] == "20")
    ids = {p["post_id"] for p in posts}
    assert sum(1 for p in posts if p["in_reply_to"] and p["in_reply_to"] in ids) >= 50
    texts = Counter(p["text"] for p in posts)
    assert texts.most_common(1)[0][1] >= 10  # copy-paste template posts


def test_tickets_format_and_broken_rows(sample):
    raw = (sample / "tickets.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\xfc") == 1
    rows = ticket_rows(sample)
    good = [r for r in rows if len(r) == 11]
    assert len(rows) - len(good) == 1
    assert {r[1] for r in good} == {"E-Mail", "Chat", "Hotline"}
    assert any("\n" in r[4] for r in good)
    assert any(r[4].startswith("Kd. ruft an wg.") for r in good)
    assert "11" in {r[7] for r in good} and "sehr gut" in {r[8] for r in good}
    assert "31.02.2026" in {r[2] for r in good} and "" in {r[2] for r in good}
    scored = [r for r in good if r[7] or r[8] or r[9]]
    assert 0.3 < len(scored) / len(good) < 0.5
    bodies = "\n".join(r[4] for r in good)
    for needle in ("@example.", "DE89 3704 0044 0532 0130 00", "Kundennummer ", "+49 (0)", "IBAN"):
        assert needle in bodies, needle
    assert max(len(r[4]) for r in good) > 25_000
    weekday_hours = Counter((datetime.fromisoformat(r[2]).weekday(), datetime.fromisoformat(r[2]).hour)
                            for r in good if r[2].startswith("2026-"))
    monday_morning = sum(weekday_hours[(0, h)] for h in range(8, 12))
    tuesday_morning = sum(weekday_hours[(1, h)] for h in range(8, 12))
    assert monday_morning > 1.3 * tuesday_morning


def test_survey_parquet(sample):
    import pyarrow.parquet as pq

    t = pq.read_table(sample / "survey.parquet")
    assert t.schema.names == ["response_id", "submitted", "nps", "comment", "touchpoint"]
    assert str(t.schema.field("submitted").type) == "timestamp[us, tz=UTC]"
    nps = t.column("nps").to_pylist()
    assert 12 in nps and all(0 <= x <= 12 for x in nps)
    assert t.column("submitted").null_count == 1
    assert 380 <= t.num_rows <= 450


def test_ingest_accepts_sample_with_planted_reasons(sample, tmp_path):
    """The project's ingest reads every file; quarantine reasons are exactly the planted ones."""
    from cxnlp.config import load_settings, load_sources
    from cxnlp.ingest.pipeline import Ingestor
    from cxnlp.store import open_store

    (tmp_path / "configs").mkdir()
    shutil.copy(REPO / "configs" / "settings.yaml", tmp_path / "configs" / "settings.yaml")
    shutil.copy(REPO / "configs" / "sources.yaml", tmp_path / "configs" / "sources.yaml")
    (tmp_path / "data").mkdir()
    shutil.copytree(sample, tmp_path / "data" / "sample")
    settings = load_settings(tmp_path)
    with open_store(settings) as store:
        stats = Ingestor(store, settings).ingest(load_sources(tmp_path), "test-samplegen")
    expected = {
        "shop_reviews": {"broken_encoding": 1, "empty_text": 2, "malformed_row": 1, "missing_id": 1,
                         "oversize_text": 1, "rating_out_of_range": 1, "unparseable_date": 2,
                         "unparseable_rating": 1},
        "app_reviews": {"broken_encoding": 1, "empty_text": 2, "malformed_row": 2, "missing_date": 1,
                        "rating_out_of_range": 1, "unparseable_date": 1},
        "social_posts": {"broken_encoding": 1, "empty_text": 2, "malformed_row": 2, "missing_date": 1,
                         "oversize_text": 1, "unparseable_date": 1},
        "tickets": {"broken_encoding": 1, "empty_text": 1, "malformed_row": 1, "missing_date": 1,
                    "oversize_text": 1, "rating_out_of_range": 1, "unparseable_date": 1, "unparseable_rating": 1},
        "survey": {"empty_text": 2, "missing_date": 1, "rating_out_of_range": 1},
    }
    for name, reasons in expected.items():
        s = stats[name]
        assert s.errors == [] and s.files_read == 1, name
        assert dict(s.reasons) == reasons, name
        assert s.rows_read == s.stored + s.duplicates + s.quarantined, name
        assert s.duplicates >= 2, name  # the planted exact duplicates at least


# ------------------------------------------------------------------------------------------- helpers, stream
def test_ibans_are_valid():
    import random

    rng = random.Random(1)
    for _ in range(50):
        v = iban(rng).replace(" ", "")
        assert len(v) == 22 and int(v[4:] + "1314" + v[2:4]) % 97 == 1


def test_iter_records_stream():
    recs = list(iter_records(2000, seed=3))
    assert recs == list(iter_records(2000, seed=3))
    assert len({r["id"] for r in recs}) == 2000
    keys = {"id", "text", "created_at", "source", "channel", "rating_stars", "author", "likes", "shares", "replies"}
    assert all(set(r) == keys for r in recs)
    assert {r["source"] for r in recs} == {"review", "social", "ticket"}
    assert all(datetime.fromisoformat(r["created_at"]).tzinfo is not None for r in recs)
    assert all((r["rating_stars"] is None) == (r["source"] != "review") for r in recs)
    # texts differ in their words, not only in digits
    words = Counter(" ".join("".join(c for c in r["text"].lower() if c.isalpha() or c == " ").split()) for r in recs)
    assert len(words) > 0.95 * len(recs)


def test_iter_records_is_lazy():
    it = iter_records(10**9, seed=0)
    assert len(list(itertools.islice(it, 10))) == 10

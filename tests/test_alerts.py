"""Social backlash alerts: the detector on synthetic hourly series (seasonality, growth, spikes), the planted
#LumoraLiebe episode of the sample data through the real pipeline, idempotent alerts, the webhook against a
real local HTTP server, and the backtest command."""
from __future__ import annotations

import argparse
import json
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import yaml

from conftest import REPO
from cxnlp.alerts import add_cli
from cxnlp.alerts.backtest import (Burst, evaluate, labels_from_flags, read_series_csv, synthetic_series,
                                   write_series_csv)
from cxnlp.alerts.deliver import post_json, safe_url
from cxnlp.alerts.detect import DetectParams, HourlySeries, detect, local_calendar, seasonal_profile
from cxnlp.alerts.explain import log_odds, tokens

pytestmark = pytest.mark.filterwarnings("ignore")

UTC = timezone.utc
EPISODE_START = datetime(2026, 10, 27, 9, tzinfo=UTC)  # 10:00 Berlin, the campaign's angry posts begin


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


# ------------------------------------------------------------------------------------------- synthetic series
def test_monday_morning_and_evening_peaks_are_seasonality_not_alerts():
    series, _ = synthetic_series(seed=11, days=84, per_day=30, monday_peak=4.0)
    det = detect(series)
    assert det.alerts == []
    # the hour-of-week profile has learned the Monday-morning peak (08-12 Berlin) and the evening peak
    slots, _ = local_calendar(series.start, len(series), "Europe/Berlin")
    prof = seasonal_profile(slots[-56 * 24:], series.total[-56 * 24:])
    monday_9, tuesday_9, tuesday_4, tuesday_20 = prof[9], prof[24 + 9], prof[24 + 4], prof[24 + 20]
    assert monday_9 > 2.5 * tuesday_9
    assert tuesday_20 > 5 * tuesday_4


def test_slow_growth_is_followed_not_alerted():
    series, _ = synthetic_series(seed=5, days=84, per_day=20, growth_per_day=0.015)  # x3.5 over 12 weeks
    assert series.total[-7 * 24:].sum() > 2 * series.total[14 * 24:21 * 24].sum()  # week 12 vs week 3
    det = detect(series)
    assert det.alerts == []
    last = slice(-14 * 24, None)
    assert 0.8 < det.y[last].sum() / det.mu[last].sum() < 1.25  # the baseline keeps up with the growth


def test_sudden_spike_raises_one_alert_within_hours():
    start = 45 * 24 + 17  # day 45, 18:00 Berlin
    series, labels = synthetic_series(seed=3, days=70, per_day=20, bursts=[Burst(start, peak=15.0)])
    det = detect(series)
    assert len(det.alerts) == 1
    ep = det.alerts[0]
    assert ep.raised_at - start <= 2                          # raised by the end of the burst's 3rd hour
    assert abs(ep.start_retro - start) <= 2                   # and dated to when it began
    assert ep.severity in ("warning", "critical") and ep.max_level >= 2
    assert ep.share > ep.share0 + 0.3
    res = evaluate(det, labels)
    assert (res["precision"], res["recall"]) == (1.0, 1.0) and res["delays_hours"][0] <= 3


def test_more_volume_at_the_usual_negative_share_is_no_backlash():
    series, _ = synthetic_series(seed=8, days=70, per_day=20)
    i = 50 * 24 + 12
    rng = np.random.default_rng(1)
    extra = rng.poisson(12, 10).astype(float)                  # a viral moment: 10 busy hours ...
    neg = rng.binomial(extra.astype(int), 0.3).astype(float)   # ... with the usual 30 % negative
    series.total[i:i + 10] += extra
    series.negative[i:i + 10] += neg
    series.weighted[i:i + 10] += neg * 1.6
    series.weighted_sq[i:i + 10] += neg * 1.6 ** 2
    det = detect(series)
    assert det.alerts == []
    assert det.state[i:i + 10].max() >= 1  # the volume burst is seen, the share lift is missing


def test_reach_and_anger_weighting_counts():
    """The same number of negative posts: widely shared angry ones raise an alert, ignored mild ones do not."""
    base, _ = synthetic_series(seed=21, days=60, per_day=20)
    i = 45 * 24 + 18
    results = {}
    for name, weight in (("mild", 1.0), ("angry", 6.0)):
        s = HourlySeries(base.start, base.total.copy(), base.negative.copy(), base.weighted.copy(), None,
                         base.weighted_sq.copy())
        for h, n in zip(range(i, i + 3), (3, 3, 3)):
            s.total[h] += n; s.negative[h] += n; s.weighted[h] += n * weight; s.weighted_sq[h] += n * weight ** 2
        det = detect(s)
        results[name] = det
        assert det.y[i:i + 3].sum() > (0 if name == "mild" else 3 * results["mild"].y[i:i + 3].sum())
    assert results["mild"].alerts == []
    assert len(results["angry"].alerts) == 1


def test_kleinberg_path_marks_the_block_and_causal_state_is_replayable():
    n = 30 * 24
    total = np.full(n, 4.0)
    neg = np.full(n, 1.0)
    neg[25 * 24:25 * 24 + 6] = 12
    total[25 * 24:25 * 24 + 6] = 14
    s = HourlySeries(datetime(2026, 3, 2, tzinfo=UTC), total, neg)
    det = detect(s, DetectParams(warmup_days=7))
    assert set(np.flatnonzero(det.path)) == set(range(25 * 24, 25 * 24 + 6))
    # causal: cutting the series at any hour gives the same decision for that hour
    for cut in (25 * 24 + 1, 25 * 24 + 4, 25 * 24 + 10):
        part = HourlySeries(s.start, total[:cut], neg[:cut])
        assert detect(part, DetectParams(warmup_days=7)).state[-1] == det.state[cut - 1]


def test_labelled_series_csv_roundtrip(tmp_path):
    series, labels = synthetic_series(seed=3, days=40, per_day=20, bursts=[Burst(30 * 24 + 10, peak=10.0)])
    f = write_series_csv(tmp_path / "s.csv", series, labels)
    back, back_labels = read_series_csv(f)
    assert back_labels == labels and len(back) == len(series)
    assert np.allclose(back.weighted, series.weighted, atol=1e-3)
    assert labels_from_flags([0, 1, 1, 0, 1]) == [(1, 2), (4, 4)]


def test_log_odds_and_tokens():
    assert tokens("Schämt euch! #LumoraLiebe ist [HANDLE] geschmacklos") == {"schämt", "#lumoraliebe", "geschmacklos"}
    from collections import Counter

    lo = log_odds(Counter({"boykott": 30, "lieferung": 3}), Counter({"lieferung": 40, "boykott": 1, "paket": 30}))
    assert lo["boykott"][1] > 3 > lo["lieferung"][1]


# ------------------------------------------------------------------------------------------- webhook
@contextmanager
def webhook_server(statuses, default=200):
    """A real HTTP server on 127.0.0.1 that answers POSTs with the given status codes in turn."""
    received: list[dict] = []
    todo = list(statuses)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                             "body": json.loads(body)})
            code = todo.pop(0) if todo else default
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}/hooks/cx?token=secret", received
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(5)


def test_webhook_retries_once_after_a_500_and_posts_the_payload():
    payload = {"event": "raised", "alert": {"alert_id": "a1", "title": "Negative Welle: #LumoraLiebe", "n": 3}}
    waits = []
    with webhook_server([500, 200]) as (url, got):
        res = post_json(url, payload, retries=3, backoff_s=0.5, sleep=waits.append)
    assert res.ok and res.attempts == 2 and res.status == 200 and res.history == ["500", "200"]
    assert waits == [0.5]
    assert len(got) == 2 and all(r["body"] == payload for r in got)
    assert got[0]["path"] == "/hooks/cx?token=secret" and got[0]["content_type"].startswith("application/json")
    assert res.url == safe_url(url) and "secret" not in res.url


def test_failing_webhook_never_raises():
    with webhook_server([], default=503) as (url, got):
        res = post_json(url, {"x": 1}, retries=2, backoff_s=0, sleep=lambda s: None)
    assert not res.ok and res.attempts == 3 and res.status == 503 and len(got) == 3
    with webhook_server([], default=404) as (url, got):  # a client error is final: no retry
        res = post_json(url, {"x": 1}, retries=2, backoff_s=0, sleep=lambda s: None)
    assert not res.ok and res.attempts == 1 and len(got) == 1
    res = post_json(url, {"x": 1}, retries=1, backoff_s=0, timeout_s=2, sleep=lambda s: None)  # server gone
    assert not res.ok and res.attempts == 2 and res.status is None and res.error
    assert not post_json("not a url", {"x": 1}, retries=0).ok


# ------------------------------------------------------------------------------------------- the sample data
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The shipped sample's social posts through the real pipeline (ingest, tag, ..., alerts) in a tmp project."""
    from cxnlp.config import load_settings
    from cxnlp.runs import run_pipeline

    root = tmp_path_factory.mktemp("alerts_project")
    (root / "configs").mkdir()
    for name in ("settings.yaml", "taxonomy.yaml", "models.yaml", "alerts.yaml"):
        shutil.copy(REPO / "configs" / name, root / "configs" / name)
    (root / "models").symlink_to(REPO / "models")
    srcs = yaml.safe_load((REPO / "configs" / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    social = {k: {**v, "path": str(REPO / v["path"])} for k, v in srcs.items() if v["source"] == "social"}
    (root / "configs" / "sources.yaml").write_text(yaml.safe_dump({"sources": social}, allow_unicode=True),
                                                   encoding="utf-8")
    settings = load_settings(root)
    result = run_pipeline(settings)
    return {"root": root, "settings": settings, "result": result}


@pytest.fixture
def store_copy(sample, tmp_path):
    """A copy of the sample store with no alerts yet."""
    from cxnlp.store import alerts_sql, open_store

    path = tmp_path / "copy.duckdb"
    shutil.copy(sample["settings"].path("store", "path"), path)
    with open_store(path=path) as store:
        alerts_sql.clear_alerts(store)
        yield store


def _config(sample, url=None):
    from cxnlp.alerts.monitor import AlertsConfig

    cfg = AlertsConfig.load(sample["root"])
    cfg.webhook.url = url
    cfg.webhook.retries = 1
    cfg.webhook.backoff_s = 0
    return cfg


def test_nightly_run_raises_one_alert_for_the_planted_campaign_backlash(sample):
    from cxnlp.store import alerts_sql, open_store

    summary = sample["result"]["alerts"]
    assert summary["status"] == "completed" and summary["raised"] == 1 and len(summary["alerts"]) == 1
    with open_store(sample["settings"], read_only=True) as store:
        (a,) = alerts_sql.get_alerts(store)
    assert abs(a["start_at"] - EPISODE_START) <= timedelta(hours=1)
    assert a["detected_at"] - EPISODE_START <= timedelta(hours=3)          # within the first hours
    assert a["severity"] == "critical" and a["status"] == "resolved"     # the sample ends weeks later
    d = a["drivers"]
    assert d["campaign"]["name"] == "#LumoraLiebe"
    assert "#LumoraLiebe" in [h["term"] for h in d["hashtags"]] and "#LumoraLiebe" in a["title"]
    assert "Werbung/Kampagne" in [t["label"] for t in d["touchpoints"]]
    assert d["facets"][0]["label"] == "Marken-Erfahrung"
    m = a["metrics"]
    assert m["negative_events"] > 300 and m["negative_share"] > m["baseline_share"] + 0.3
    assert m["severity_at"]["info"] <= m["severity_at"]["warning"] <= m["severity_at"]["critical"]
    assert len(a["examples"]) >= 3 and all("@" not in x["text"] for x in a["examples"])
    assert a["examples"][0]["reach"] >= a["examples"][-1]["reach"]
    hours = [e["hour"] for e in a["evolution"]]
    assert hours == sorted(hours) and max(e["level"] for e in a["evolution"]) == 3


def test_quiet_periods_raise_none(sample, store_copy):
    from cxnlp.alerts.detect import detect
    from cxnlp.alerts.monitor import run_monitor, store_series

    cfg = _config(sample)
    series = store_series(store_copy, cfg)
    det = detect(series, cfg.detect)  # causal: what hourly checks over the whole sample would have raised
    assert [series.hour(e.start_retro) for e in det.alerts] == [EPISODE_START]
    for t in ("2026-09-20T20:00", "2026-10-05T21:00", "2026-10-26T21:00", "2026-11-10T20:00", "2026-11-20T21:00"):
        s = run_monitor(store_copy, config=cfg, now=utc(t), window_hours=48)
        assert s["status"] == "completed" and s["alerts"] == [], t


def test_live_checks_raise_early_then_update_the_same_alert(sample, store_copy):
    from cxnlp.alerts.monitor import run_monitor
    from cxnlp.store import alerts_sql

    cfg = _config(sample)
    seen = []
    for i, t in enumerate(("2026-10-27T08:30", "2026-10-27T10:15", "2026-10-27T11:15", "2026-10-27T14:15",
                           None, None)):
        s = run_monitor(store_copy, config=cfg, run_id=f"check-{i}", now=utc(t) if t else None,
                        window_hours=48 if t else None)
        seen.append([(a["severity"], a["status"], a["change"], a["notify"]) for a in s["alerts"]])
    assert seen[0] == []
    assert seen[1] == [("info", "open", "raised", "raised")]
    assert seen[2] == [("warning", "open", "updated", "escalated")]
    assert seen[3] == [("critical", "open", "updated", "escalated")]
    assert seen[4] == [("critical", "resolved", "updated", "resolved")]
    assert seen[5] == [("critical", "resolved", "unchanged", None)]        # not repeated
    (a,) = alerts_sql.get_alerts(store_copy)
    assert a["first_run_id"] == "check-1" and a["last_run_id"] == "check-5" and a["updates"] == 3
    assert a["detected_at"] == utc("2026-10-27T10:00")                     # 1 h after the first angry posts


def test_webhook_delivery_from_the_monitor_failure_then_retry(sample, store_copy):
    from cxnlp.alerts.monitor import run_monitor
    from cxnlp.store import alerts_sql

    with webhook_server([], default=500) as (url, got):
        s = run_monitor(store_copy, config=_config(sample, url), now=utc("2026-10-27T10:15"), window_hours=48,
                        sleep=lambda x: None)
    assert s["status"] == "completed" and s["raised"] == 1 and len(got) == 2    # tried twice, run not failed
    (f,) = s["delivery_failures"]
    assert f["attempts"] == 2 and "500" in f["error"] and "token" not in f["url"]
    assert alerts_sql.get_alerts(store_copy)[0]["notified_severity"] is None

    with webhook_server([]) as (url, got):
        cfg = _config(sample, url)
        s1 = run_monitor(store_copy, config=cfg, now=utc("2026-10-27T11:15"), window_hours=48)
        s2 = run_monitor(store_copy, config=cfg, now=utc("2026-10-27T11:15"), window_hours=48)
        s3 = run_monitor(store_copy, config=cfg, now=utc("2026-10-27T14:15"), window_hours=48)
    assert [r["body"]["event"] for r in got] == ["raised", "escalated"]      # the failed one caught up, no repeat
    assert s1["deliveries"]["sent"] == 1 and s2["deliveries"]["sent"] == 0 and s3["deliveries"]["sent"] == 1
    body = got[0]["body"]
    assert body["type"] == "social_backlash_alert" and body["alert"]["severity"] == "warning"
    al = body["alert"]
    assert al["start_at"].startswith("2026-10-27T09:00") and al["detected_at"].startswith("2026-10-27T10:00")
    assert al["examples"] and al["evolution"] and al["metrics"]["negative_events"] >= 20
    assert "#LumoraBoykott" in [h["term"] for h in al["drivers"]["hashtags"]]  # 2 h in: the boycott tag first ...
    later = got[1]["body"]["alert"]
    assert later["severity"] == "critical" and later["drivers"]["campaign"]["name"] == "#LumoraLiebe"  # ... then
    assert alerts_sql.get_alerts(store_copy)[0]["notified_severity"] == "critical"


def run_cli(argv):
    p = argparse.ArgumentParser(prog="cxnlp")
    p.add_argument("--root")
    add_cli(p.add_subparsers(dest="cmd", required=True))
    args = p.parse_args(argv)
    return args.func(args)


def test_backtest_command_on_the_sample_and_a_labelled_file(sample, tmp_path, capsys):
    root = str(sample["root"])
    csv_path = tmp_path / "sample_series.csv"
    assert run_cli(["--root", root, "alerts", "backtest", "--store", "--label",
                    "2026-10-27T09:00Z/2026-10-31T09:00Z", "--save", str(csv_path)]) == 0
    out = capsys.readouterr().out
    assert "recall 100 %" in out and "precision 100 %" in out and "median 1 h" in out
    assert run_cli(["--root", root, "alerts", "backtest", str(csv_path), "--synthetic", "3"]) == 0
    out = capsys.readouterr().out
    assert "synthetic suite" in out and "sample_series.csv" in out and "recall 100 %" in out
    assert run_cli(["--root", root, "alerts", "list"]) == 0
    assert "social_backlash-20261027T0900Z" in capsys.readouterr().out


@pytest.mark.slow
def test_backlash_watch_flow_runs_as_its_own_prefect_flow(sample):
    """The 15-minute deployment's flow once, on ephemeral Prefect (slow: starts a Prefect server)."""
    from prefect.testing.utilities import prefect_test_harness

    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    with prefect_test_harness(server_startup_timeout=120):
        from flows.alerts import backlash_watch

        res = backlash_watch(str(sample["root"]), window_hours=24 * 40, refresh_data=True)
    assert res["refresh"]["ingest"]["social_posts"]["stored"] == 0          # nothing new since the nightly run
    s = res["alerts"]
    assert s["status"] == "completed" and [a["alert_id"] for a in s["alerts"]] == ["social_backlash-20261027T0900Z"]
    assert s["alerts"][0]["change"] == "unchanged"                        # raised by the nightly run, not again
    with open_store(load_settings(sample["root"]), read_only=True) as store:
        kinds = dict(store.query("SELECT run_id, kind FROM runs"))
    assert kinds[res["run_id"]] == "alerts"

"""The backlash monitor: reads the hourly social series through the store, detects bursts, explains them,
raises or updates alerts in the ``alerts`` table and delivers them to the webhook. One call is one check;
it is idempotent (a second call over the same data changes nothing but the check time)."""
from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import yaml

from cxnlp.alerts.deliver import DeliveryResult, WebhookConfig, deliver
from cxnlp.alerts.detect import HOUR, SEVERITY_RANK, Detection, DetectParams, Episode, HourlySeries, detect, trend
from cxnlp.alerts.explain import ExplainParams, explain, headline
from cxnlp.store import alerts_sql as sql

log = logging.getLogger("cxnlp.alerts")

KIND = "social_backlash"


@dataclass
class AlertsConfig:
    source: str = "social"
    anger_labels: tuple[str, ...] = ("Ärger", "Ekel", "Verachtung")
    weights: dict[str, float] = field(default_factory=lambda: {"reach_log": 0.5, "shares": 2.0, "replies": 1.0,
                                                               "anger": 1.0})
    lookback_days: int = 56
    watch_hours: int = 48
    merge_gap_hours: float = 24.0
    baseline_days: int = 28
    every_minutes: int = 15
    detect: DetectParams = field(default_factory=DetectParams)
    explain: ExplainParams = field(default_factory=ExplainParams)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)

    @classmethod
    def load(cls, root: str | os.PathLike | None = None, path: str | os.PathLike | None = None) -> "AlertsConfig":
        """configs/alerts.yaml of the project (defaults when it is missing); the webhook URL can be set with the
        environment variable CXNLP_ALERTS_WEBHOOK_URL."""
        if path is None and root is not None:
            path = Path(root) / "configs" / "alerts.yaml"
        d: dict[str, Any] = {}
        if path is not None and Path(path).is_file():
            d = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        return cls.from_dict(d)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AlertsConfig":
        s, w = d.get("series") or {}, d.get("window") or {}
        cfg = cls()
        cfg.source = s.get("source", cfg.source)
        cfg.anger_labels = tuple(s.get("anger_labels", cfg.anger_labels))
        cfg.weights = {**cfg.weights, **{k: float(v) for k, v in (s.get("weights") or {}).items()}}
        cfg.lookback_days = int(w.get("lookback_days", cfg.lookback_days))
        cfg.watch_hours = int(w.get("watch_hours", cfg.watch_hours))
        cfg.merge_gap_hours = float(w.get("merge_gap_hours", cfg.merge_gap_hours))
        cfg.baseline_days = int(w.get("baseline_days", cfg.baseline_days))
        cfg.every_minutes = int((d.get("schedule") or {}).get("every_minutes", cfg.every_minutes))
        cfg.detect = DetectParams.from_config(d.get("detect"))
        cfg.explain = ExplainParams.from_config(d.get("explain"))
        cfg.webhook = WebhookConfig.from_config(d.get("webhook"), os.environ.get("CXNLP_ALERTS_WEBHOOK_URL"))
        if cfg.lookback_days < cfg.detect.warmup_days + 1:
            raise ValueError("alerts config: window.lookback_days must exceed detect.warmup_days")
        return cfg


# ---------------------------------------------------------------------------------------------- series
def read_series(store, cfg: AlertsConfig, since: datetime, until: datetime) -> tuple[HourlySeries, int]:
    """The zero-filled hourly series for [since, until) and the number of untagged events in it."""
    wt = cfg.weights
    rows = sql.social_hourly(store, since, until, anger_labels=cfg.anger_labels, reach_log_weight=wt["reach_log"],
                             share_weight=wt["shares"], reply_weight=wt["replies"], anger_weight=wt["anger"],
                             source=cfg.source)
    return HourlySeries.from_rows(rows, since, until), int(sum(r["untagged"] for r in rows))


def store_series(store, cfg: AlertsConfig, since: datetime | None = None,
                 until: datetime | None = None) -> HourlySeries | None:
    """The hourly series over all stored data of the source (or [since, until)); None without data."""
    span = sql.social_span(store, cfg.source)
    if span is None:
        return None
    since = _floor_hour(since) if since is not None else _floor_hour(span[0])
    until = _utc(until) if until is not None else span[1] + timedelta(microseconds=1)
    return read_series(store, cfg, since, until)[0]


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def _floor_hour(t: datetime) -> datetime:
    return _utc(t).replace(minute=0, second=0, microsecond=0)


# ---------------------------------------------------------------------------------------------- alerts
def _berlin(t: datetime, tz: str) -> str:
    return t.astimezone(ZoneInfo(tz)).strftime("%d.%m.%Y %H:%M")


def _evolution(det: Detection, ep: Episode, upto: int) -> list[dict[str, Any]]:
    s = det.series
    out = []
    for t in range(max(0, ep.start_retro - 3), upto + 1):
        out.append({"hour": s.hour(t).isoformat(), "negative": int(s.negative[t]), "total": int(s.total[t]),
                    "effective": round(float(det.y[t]), 2), "expected": round(float(det.mu[t]), 2),
                    "level": int(det.state[t]), "severity": det.severity[t]})
    return out


def build_alert(det: Detection, ep: Episode, drivers: dict[str, Any], as_of: datetime, tz: str) -> dict[str, Any]:
    """The alert row (without identity and delivery fields) for one raised episode."""
    s = det.series
    upto = min(len(s) - 1, ep.until)
    start = s.hour(ep.start_retro)
    detected = min(s.hour(ep.raised_at) + HOUR, as_of)
    status = "resolved" if ep.closed else "open"
    direction = trend(det, ep)
    base_share = ep.share0
    metrics = {
        "negative_events": int(ep.negative), "social_events": int(ep.total),
        "effective_negatives": round(ep.observed, 1), "expected_effective": round(ep.expected, 1),
        "excess": round(ep.excess, 1), "ratio": round(ep.ratio, 1) if math.isfinite(ep.ratio) else None,
        "z": round(ep.z, 1), "negative_share": round(ep.share, 3), "baseline_share": round(base_share, 3),
        "share_lift": round(ep.share - base_share, 3), "max_level": ep.max_level, "hours": ep.hours,
        "peak_effective": round(ep.peak_y, 1), "detection_delay_hours": round((detected - start) / HOUR, 2),
        "trend": direction,
        "severity_at": {k: min(s.hour(v) + HOUR, as_of).isoformat() for k, v in ep.severity_at.items()},
    }
    names = headline(drivers)
    sev_de = {"info": "Info", "warning": "Warnung", "critical": "Kritisch"}[ep.severity]
    title = f"[{sev_de}] Negative Social-Media-Welle" + (f": {', '.join(names[:2])}" if names else "")
    trend_de = {"rising": "steigend", "stable": "gleichbleibend", "falling": "abklingend", "ended": "beendet"}[direction]
    facets = ", ".join(f["label"] for f in drivers.get("facets", [])[:2] if f["over_represented"])
    tps = ", ".join(f["label"] for f in drivers.get("touchpoints", [])[:2] if f["over_represented"])
    summary = (f"Seit {_berlin(start, tz)} Uhr: {int(ep.negative)} negative Beiträge/Reposts "
               f"(reichweiten- und ärgergewichtet {ep.observed:.0f}, erwartet {ep.expected:.0f}); negativer Anteil "
               f"{100 * ep.share:.0f} % statt {100 * base_share:.0f} %. "
               + (f"Treiber: {', '.join(names)}. " if names else "")
               + (f"Facetten: {facets}. " if facets else "") + (f"Touchpoints: {tps}. " if tps else "")
               + f"Verlauf: {trend_de}; erkannt {_berlin(detected, tz)} Uhr.")
    return {
        "kind": KIND, "status": status, "severity": ep.severity, "start_at": start, "detected_at": detected,
        "peak_at": s.hour(ep.peak), "last_burst_at": s.hour(ep.last_burst),
        "end_at": s.hour(ep.last_burst) + HOUR if ep.closed else None,
        "title": title, "summary": summary, "metrics": metrics, "drivers": {k: v for k, v in drivers.items()
                                                                            if k != "examples"},
        "examples": drivers.get("examples", []), "evolution": _evolution(det, ep, upto),
    }


def _signature(a: dict[str, Any]) -> tuple:
    m = a.get("metrics") or {}
    return (a.get("status"), a.get("severity"), a.get("last_burst_at"), m.get("negative_events"),
            m.get("social_events"), a.get("start_at"))


def notification_event(a: dict[str, Any]) -> str | None:
    """What the receiver has not heard yet: raised | escalated | resolved | None."""
    if a.get("notified_severity") is None:
        return "raised"
    if SEVERITY_RANK[a["severity"]] > SEVERITY_RANK.get(a["notified_severity"], 0):
        return "escalated"
    if a["status"] == "resolved" and a.get("notified_status") != "resolved":
        return "resolved"
    return None


def payload(a: dict[str, Any], event: str, max_evolution: int = 72) -> dict[str, Any]:
    """The webhook's JSON body."""
    keep = ("alert_id", "kind", "status", "severity", "title", "summary", "start_at", "detected_at", "peak_at",
            "last_burst_at", "end_at", "metrics", "drivers", "examples", "updated_at")
    body = {k: (a[k].isoformat() if isinstance(a.get(k), datetime) else a.get(k)) for k in keep}
    body["evolution"] = (a.get("evolution") or [])[-max_evolution:]
    return {"source": "cxnlp", "type": "social_backlash_alert", "event": event, "sent_at":
            datetime.now(timezone.utc).isoformat(), "alert": body}


# ---------------------------------------------------------------------------------------------- the check
def run_monitor(store, settings=None, *, config: AlertsConfig | None = None, run_id: str | None = None,
                now: datetime | None = None, window_hours: float | None = None, send: bool = True,
                sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """One check. ``now``: the time to check as of (default: the clock; the series ends at the newest stored
    event if that is earlier, so a replay with an earlier ``now`` sees only what was there then).
    ``window_hours``: only bursts touching the last N hours are raised/updated (None: the whole lookback).
    ``send``: deliver to the webhook (False: store only, the receiver hears about it on a later run)."""
    t0 = time.perf_counter()
    cfg = config or AlertsConfig.load(settings.root if settings is not None else None)
    sql.ensure_alerts_table(store)
    wall = datetime.now(timezone.utc)
    summary: dict[str, Any] = {"status": "completed", "kind": KIND, "run_id": run_id, "alerts": [], "raised": 0,
                               "updated": 0, "unchanged": 0, "resolved": 0,
                               "deliveries": {"sent": 0, "failed": 0, "skipped": 0}, "delivery_failures": []}
    span = sql.social_span(store, cfg.source)
    as_of = None if span is None else min(_utc(now) if now is not None else wall, span[1] + timedelta(microseconds=1))
    if span is None or as_of <= span[0]:
        summary.update(status="skipped", reason=f"no {cfg.source} events in the store"
                       + (f" before {as_of.isoformat()}" if as_of is not None else ""))
        return summary
    # the series starts with the data: hours before the first event are unknown, not quiet
    since = max(_floor_hour(as_of - timedelta(days=cfg.lookback_days)), _floor_hour(span[0]))
    series, untagged = read_series(store, cfg, since, as_of)
    det = detect(series, cfg.detect)
    window_start = as_of - timedelta(hours=window_hours) if window_hours is not None else since
    summary.update(as_of=as_of.isoformat(), since=since.isoformat(), window_start=window_start.isoformat(),
                   hours=len(series), events=int(series.total.sum()), negative_events=int(series.negative.sum()),
                   untagged_events=untagged, episodes=len(det.episodes), method="seasonal NB baseline + Kleinberg")
    if len(series) < cfg.detect.warmup_days * 24:
        summary["note"] = f"less than {cfg.detect.warmup_days} days of history: no alerts yet"

    touched: list[dict[str, Any]] = []
    for ep in det.alerts:
        last_relevant = series.hour(min(len(series) - 1, ep.until)) + HOUR
        if ep.closed and last_relevant < window_start:
            continue
        start, last = series.hour(ep.start_retro), series.hour(ep.last_burst)
        burst_until = min(last_relevant, as_of)
        burst_posts = sql.social_posts(store, start, burst_until, anger_labels=cfg.anger_labels, source=cfg.source)
        base_posts = sql.social_posts(store, start - timedelta(days=cfg.baseline_days), start,
                                      anger_labels=cfg.anger_labels, source=cfg.source)
        drivers = explain(burst_posts, base_posts, cfg.explain, redact=_redact)
        alert = build_alert(det, ep, drivers, as_of, cfg.detect.timezone)
        existing = sql.find_matching_alert(store, KIND, start, last, cfg.merge_gap_hours)
        now_ts = datetime.now(timezone.utc)
        if existing is None:
            alert.update(alert_id=f"{KIND}-{start.strftime('%Y%m%dT%H%MZ')}", first_run_id=run_id, created_at=now_ts,
                         updated_at=now_ts, updates=0, notified_severity=None, notified_status=None,
                         notified_at=None, delivery=None)
            event = "raised"
        else:
            keep = ("alert_id", "first_run_id", "created_at", "notified_severity", "notified_status", "notified_at",
                    "delivery", "updates", "updated_at")
            alert.update({k: existing[k] for k in keep})
            # severity never drops and a start never moves later for the same alert
            if SEVERITY_RANK[existing["severity"]] > SEVERITY_RANK[alert["severity"]]:
                alert["severity"] = existing["severity"]
            alert["start_at"] = min(alert["start_at"], existing["start_at"])
            if existing["detected_at"] is not None:
                alert["detected_at"] = min(alert["detected_at"], existing["detected_at"])
            changed = _signature(alert) != _signature(existing)
            if changed:
                alert["updates"] = existing["updates"] + 1
                alert["updated_at"] = now_ts
            event = "updated" if changed else "unchanged"
        alert.update(last_run_id=run_id, checked_at=now_ts)
        sql.upsert_alert(store, alert)
        summary["raised" if event == "raised" else "updated" if event == "updated" else "unchanged"] += 1
        if alert["status"] == "resolved" and (existing is None or existing["status"] != "resolved"):
            summary["resolved"] += 1
        touched.append({**alert, "_event": event})

    # stored open alerts the detector no longer sees (e.g. out of the lookback): resolved once quiet long enough
    seen = {a["alert_id"] for a in touched}
    for a in sql.get_alerts(store, KIND):
        if a["status"] == "open" and a["alert_id"] not in seen and a["last_burst_at"] is not None and \
                a["last_burst_at"] + timedelta(hours=cfg.detect.cooldown_hours) < as_of:
            a.update(status="resolved", end_at=a["last_burst_at"] + HOUR, updated_at=datetime.now(timezone.utc),
                     updates=a["updates"] + 1, last_run_id=run_id, checked_at=datetime.now(timezone.utc))
            sql.upsert_alert(store, a)
            summary["resolved"] += 1
            touched.append({**a, "_event": "updated"})

    # delivery: what the receiver has not heard yet (a failure is retried on the next run)
    min_rank = SEVERITY_RANK.get(cfg.webhook.min_severity, 1)
    for a in touched:
        ev = notification_event(a)
        info = {"alert_id": a["alert_id"], "severity": a["severity"], "status": a["status"],
                "start_at": a["start_at"].isoformat(), "detected_at": a["detected_at"].isoformat()
                if a.get("detected_at") else None, "title": a["title"], "change": a["_event"],
                "drivers": headline(a.get("drivers") or {}),
                "detection_delay_hours": (a.get("metrics") or {}).get("detection_delay_hours"),
                "notify": ev, "delivery": None}
        if ev is not None and SEVERITY_RANK[a["severity"]] >= min_rank and send:
            if not cfg.webhook.url:
                res = DeliveryResult(False, 0, None, "no webhook url configured")
                sql.record_delivery(store, a["alert_id"], {**res.as_dict(), "event": ev, "skipped": True},
                                    a["severity"], a["status"])
                summary["deliveries"]["skipped"] += 1
                info["delivery"] = "skipped: no webhook url configured"
            else:
                res = deliver(cfg.webhook, payload({**a, "updated_at": a.get("updated_at")}, ev), sleep=sleep)
                rec = {**res.as_dict(), "event": ev, "at": datetime.now(timezone.utc).isoformat()}
                if res.ok:
                    sql.record_delivery(store, a["alert_id"], rec, a["severity"], a["status"])
                    summary["deliveries"]["sent"] += 1
                    info["delivery"] = f"sent ({ev}, {res.attempts} attempt{'s' if res.attempts > 1 else ''})"
                else:
                    sql.record_delivery(store, a["alert_id"], rec, None, None)
                    summary["deliveries"]["failed"] += 1
                    summary["delivery_failures"].append({"alert_id": a["alert_id"], "event": ev, "url": res.url,
                                                         "attempts": res.attempts, "error": res.error})
                    info["delivery"] = f"failed after {res.attempts} attempts: {res.error} (retried next run)"
        summary["alerts"].append(info)
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return summary


def _redact(text: str) -> str:
    from cxnlp.ingest.redact import redact

    return redact(text)[0]


# ---------------------------------------------------------------------------------------------- reporting
def markdown(summary: dict[str, Any]) -> str:
    """A Markdown summary of one check (the Prefect artifact)."""
    lines = [f"# Social backlash monitor", "",
             f"Checked as of {summary.get('as_of', '-')} over {summary.get('hours', 0)} hours "
             f"({summary.get('events', 0)} social events, {summary.get('negative_events', 0)} negative"
             + (f", {summary['untagged_events']} not tagged yet" if summary.get("untagged_events") else "") + ").", ""]
    if summary.get("status") != "completed":
        lines.append(f"Status: {summary.get('status')} ({summary.get('reason', '')})")
        return "\n".join(lines)
    if not summary["alerts"]:
        lines.append("No backlash alert.")
    else:
        lines += ["| alert | severity | status | start (UTC) | detected (UTC) | drivers | change | delivery |",
                  "|---|---|---|---|---|---|---|---|"]
        for a in summary["alerts"]:
            lines.append(f"| {a['title']} | {a['severity']} | {a['status']} | {a['start_at'][:16]} | "
                         f"{(a['detected_at'] or '-')[:16]} | {', '.join(a['drivers'])} | {a['change']} | "
                         f"{a['delivery'] or '-'} |")
    d = summary["deliveries"]
    lines += ["", f"Raised {summary['raised']}, updated {summary['updated']}, unchanged {summary['unchanged']}, "
                  f"resolved {summary['resolved']}. Webhook: sent {d['sent']}, failed {d['failed']}, "
                  f"skipped {d['skipped']}."]
    for f in summary["delivery_failures"]:
        lines.append(f"- **Webhook failed** for `{f['alert_id']}` ({f['event']}) at {f['url']}: {f['error']} "
                     f"after {f['attempts']} attempts; it is retried on the next run.")
    return "\n".join(lines)


def publish_artifact(summary: dict[str, Any], key: str = "cxnlp-backlash-alerts") -> bool:
    """Writes the summary as a Prefect Markdown artifact when running inside a Prefect flow; else does nothing."""
    if "prefect" not in sys.modules:
        return False
    try:
        from prefect.artifacts import create_markdown_artifact
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return False
        create_markdown_artifact(markdown(summary), key=key, description="cxnlp social backlash alerts")
        return True
    except Exception as e:  # noqa: BLE001 - an artifact must never fail the run
        log.warning("could not write the alerts artifact: %s", e)
        return False

"""Backtest: replay a labelled hourly series through the detector and score it.

The detector is causal (each hour's decision uses only the data up to that hour), so one pass over a series
replays exactly what the live monitor would have raised, and when.

Scores, per labelled episode (a maximal run of hours labelled 1):
- **recall**: labelled episodes for which an alert was raised between ``tolerance_hours`` before their start
  and their end;
- **precision**: raised alerts whose burst period overlaps a labelled episode (widened by the tolerance);
- **detection delay**: hours from the labelled start to the end of the hour in which the alert was raised
  (the monitor may see it earlier within that hour; with hourly bins this is the upper bound).

Labelled series files are CSV with a header: ``hour`` (ISO 8601, UTC if no offset), ``total``, ``negative``,
optional ``weighted`` (reach/anger-weighted negatives), optional ``weighted_sq``, and ``label`` (0/1).
``synthetic_series`` writes such series with planted bursts; ``cxnlp alerts backtest --synthetic N`` scores a
seeded suite of them.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from statistics import median
from typing import Any, Sequence
from zoneinfo import ZoneInfo

import numpy as np

from cxnlp.alerts.detect import HOUR, Detection, DetectParams, HourlySeries, detect

# Typical social posting rhythm by local hour (share of a day's posts), evenings busiest.
HOD_SHAPE = np.array([3.0, 1.6, 1.0, 0.7, 0.5, 0.6, 0.7, 1.1, 2.0, 2.8, 3.2, 3.8, 4.0, 4.0, 3.8, 3.2, 3.8, 5.0,
                      5.2, 7.0, 8.5, 7.6, 7.5, 3.6])
DOW_SHAPE = np.array([1.0, 1.0, 1.0, 1.0, 1.05, 0.85, 0.8])  # Monday .. Sunday


@dataclass
class Burst:
    start: int               # hour index
    peak: float              # extra negative events per hour at the peak
    rise_hours: float = 2.5
    decay_hours: float = 22.0
    reach_boost: float = 2.0  # burst posts are shared more ...
    anger: float = 0.8        # ... and angrier


def labels_from_flags(flags: Sequence[int]) -> list[tuple[int, int]]:
    """Maximal runs of truthy flags as (first, last) index pairs."""
    out: list[tuple[int, int]] = []
    start = None
    for i, f in enumerate(flags):
        if f and start is None:
            start = i
        elif not f and start is not None:
            out.append((start, i - 1)); start = None
    if start is not None:
        out.append((start, len(flags) - 1))
    return out


def synthetic_series(seed: int = 0, days: int = 84, start: datetime = datetime(2026, 1, 5, tzinfo=timezone.utc),
                     per_day: float = 20.0, neg_share: float = 0.3, growth_per_day: float = 0.0,
                     monday_peak: float = 1.0, monday_hours: tuple[int, int] = (8, 12), dispersion: float = 8.0,
                     bursts: Sequence[Burst] = (), tz: str = "Europe/Berlin",
                     label_fraction: float = 0.05) -> tuple[HourlySeries, list[tuple[int, int]]]:
    """A seeded hourly series of social events with seasonality, optional growth, a regular Monday-morning
    peak (``monday_peak`` times the usual rate in ``monday_hours`` local), gamma-Poisson noise and planted
    bursts of negative events. Returns the series and the labelled bursts (hours where the burst adds at least
    ``label_fraction`` of its peak)."""
    rng = np.random.default_rng(seed)
    n = days * 24
    zone = ZoneInfo(tz)
    rate = np.empty(n)
    for i in range(n):
        loc = (start + i * HOUR).astimezone(zone)
        r = per_day * HOD_SHAPE[loc.hour] / HOD_SHAPE.sum() * DOW_SHAPE[loc.weekday()]
        if loc.weekday() == 0 and monday_hours[0] <= loc.hour < monday_hours[1]:
            r *= monday_peak
        rate[i] = r * math.exp(growth_per_day * i / 24)
    noise = rng.gamma(dispersion, 1.0 / dispersion, n) if dispersion and dispersion < 1e6 else np.ones(n)
    total = rng.poisson(rate * noise).astype(float)
    neg = rng.binomial(total.astype(int), neg_share).astype(float)
    w = np.zeros(n); w2 = np.zeros(n)

    def weights(k: int, boost: float, anger: float) -> np.ndarray:
        reach = rng.geometric(1.0 / (3.0 * boost), k) - 1
        ang = np.where(rng.random(k) < anger, rng.uniform(0.5, 1.0, k), 0.0)
        return (1 + 0.5 * np.log1p(reach)) * (1 + ang)

    for i in range(n):
        ww = weights(int(neg[i]), 1.0, 0.35)
        w[i], w2[i] = ww.sum(), (ww ** 2).sum()
    flags = np.zeros(n, dtype=int)
    for b in bursts:
        for i in range(b.start, n):
            m = i - b.start
            envelope = b.peak * (1 - math.exp(-(m + 0.5) / b.rise_hours)) * math.exp(-m / b.decay_hours)
            if envelope < 0.01 * b.peak and m > b.rise_hours:
                break
            loc = (start + i * HOUR).astimezone(zone)
            lam = envelope * (0.3 + 0.7 * HOD_SHAPE[loc.hour] / HOD_SHAPE.max())  # quieter nights
            extra = int(rng.poisson(lam))
            defenders = int(rng.poisson(lam * 0.15))
            total[i] += extra + defenders
            neg[i] += extra
            ww = weights(extra, b.reach_boost, b.anger)
            w[i] += ww.sum(); w2[i] += (ww ** 2).sum()
            if envelope >= label_fraction * b.peak:
                flags[i] = 1
    return HourlySeries(start, total, neg, w, None, w2), labels_from_flags(flags)


# ---------------------------------------------------------------------------------------------- scoring
def evaluate(det: Detection, labels: Sequence[tuple[int, int]], tolerance_hours: int = 6) -> dict[str, Any]:
    """Precision, recall and detection delays of a detection against labelled episodes (index pairs)."""
    warm = det.params.warmup_days * 24
    labels = [tuple(map(int, l)) for l in labels]
    scored = [l for l in labels if l[0] >= warm]
    alerts = det.alerts
    tp_alerts = 0
    for a in alerts:
        if any(a.start_retro <= le + tolerance_hours and a.last_burst >= ls - tolerance_hours for ls, le in labels):
            tp_alerts += 1
    delays: list[float] = []
    detected = 0
    per_label = []
    for ls, le in scored:
        hits = [a.raised_at for a in alerts if a.raised_at is not None and ls - tolerance_hours <= a.raised_at <= le]
        if hits:
            detected += 1
            delays.append(float(min(hits) + 1 - ls))
        per_label.append({"start": ls, "end": le, "detected": bool(hits),
                          "delay_hours": float(min(hits) + 1 - ls) if hits else None})
    return {
        "hours": len(det.series), "labelled_episodes": len(scored), "labelled_in_warmup": len(labels) - len(scored),
        "alerts": len(alerts), "true_alerts": tp_alerts, "false_alerts": len(alerts) - tp_alerts,
        "detected": detected, "missed": len(scored) - detected,
        "precision": tp_alerts / len(alerts) if alerts else None,
        "recall": detected / len(scored) if scored else None,
        "delays_hours": delays,
        "delay_median_hours": median(delays) if delays else None,
        "delay_max_hours": max(delays) if delays else None,
        "false_alerts_per_30_days": (len(alerts) - tp_alerts) / max(1e-9, (len(det.series) - warm) / 720),
        "labels": per_label,
        "alert_list": [{"start": det.hour(a.start_retro).isoformat(), "raised": (det.hour(a.raised_at) + HOUR).isoformat(),
                        "severity": a.severity, "true": any(a.start_retro <= le + tolerance_hours and
                                                            a.last_burst >= ls - tolerance_hours for ls, le in labels)}
                       for a in alerts],
    }


def backtest(series: HourlySeries, labels: Sequence[tuple[int, int]], params: DetectParams | None = None,
             tolerance_hours: int = 6) -> dict[str, Any]:
    return evaluate(detect(series, params), labels, tolerance_hours)


def synthetic_suite(n: int = 24, seed: int = 0, params: DetectParams | None = None, days: int = 84,
                    tolerance_hours: int = 6) -> dict[str, Any]:
    """``n`` seeded series (volumes 8-80 posts/day, some growing up to 1.5 %/day, some with a Monday-morning
    peak) with 0-2 planted bursts of varied size each (peak 0.6x-8x the usual hourly volume, i.e. small ones
    that should be missed too); the pooled scores."""
    rng = np.random.default_rng(seed)
    results = []
    for i in range(n):
        per_day = float(rng.choice([8, 20, 40, 80]))
        hourly = per_day / 24
        bursts = []
        size_of: dict[int, float] = {}
        for _ in range(int(rng.integers(0, 3))):
            start = int(rng.integers(20 * 24, (days - 6) * 24))
            if any(abs(start - b.start) < 7 * 24 for b in bursts):
                continue
            size = float(rng.choice([0.6, 1.5, 3, 8]))
            size_of[start] = size
            bursts.append(Burst(start, peak=float(hourly * size + rng.uniform(0.5, 2)),
                                decay_hours=float(rng.uniform(6, 30))))
        series, labels = synthetic_series(
            seed=seed * 1000 + i, days=days, per_day=per_day, growth_per_day=float(rng.choice([0, 0, 0.01, 0.015])),
            monday_peak=float(rng.choice([1, 1, 3])), dispersion=float(rng.choice([5, 20])), bursts=bursts)
        res = backtest(series, labels, params, tolerance_hours)
        res["series"] = {"per_day": per_day, "bursts": [(b.start, round(b.peak, 2)) for b in bursts]}
        for lab in res["labels"]:
            lab["size"] = size_of.get(lab["start"])
        results.append(res)
    return pool(results)


def pool(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    alerts = sum(r["alerts"] for r in results)
    true = sum(r["true_alerts"] for r in results)
    labelled = sum(r["labelled_episodes"] for r in results)
    detected = sum(r["detected"] for r in results)
    delays = [d for r in results for d in r["delays_hours"]]
    hours = sum(r["hours"] for r in results)
    by_size: dict[str, dict[str, Any]] = {}
    for r in results:
        for lab in r.get("labels", []):
            if lab.get("size") is None:
                continue
            b = by_size.setdefault(f"{lab['size']:g}x", {"bursts": 0, "detected": 0, "delays_hours": []})
            b["bursts"] += 1
            if lab["detected"]:
                b["detected"] += 1
                b["delays_hours"].append(lab["delay_hours"])
    for b in by_size.values():
        b["recall"] = b["detected"] / b["bursts"]
        b["delay_median_hours"] = median(b["delays_hours"]) if b["delays_hours"] else None
    return {"by_size": dict(sorted(by_size.items(), key=lambda kv: float(kv[0][:-1]))),"series": len(results), "hours": hours, "labelled_episodes": labelled, "detected": detected,
            "alerts": alerts, "true_alerts": true, "false_alerts": alerts - true,
            "precision": true / alerts if alerts else None, "recall": detected / labelled if labelled else None,
            "delays_hours": delays, "delay_median_hours": median(delays) if delays else None,
            "delay_max_hours": max(delays) if delays else None, "runs": list(results)}


# ---------------------------------------------------------------------------------------------- files
def write_series_csv(path: str | Path, series: HourlySeries, labels: Sequence[tuple[int, int]] = ()) -> Path:
    flags = np.zeros(len(series), dtype=int)
    for a, b in labels:
        flags[a:b + 1] = 1
    p = Path(path)
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["hour", "total", "negative", "weighted", "weighted_sq", "label"])
        for i in range(len(series)):
            w.writerow([series.hour(i).strftime("%Y-%m-%dT%H:%M:%SZ"), int(series.total[i]), int(series.negative[i]),
                        round(float(series.weighted[i]), 4), round(float(series.weighted_sq[i]), 4), int(flags[i])])
    return p


def read_series_csv(path: str | Path) -> tuple[HourlySeries, list[tuple[int, int]]]:
    """A labelled hourly series (see the module doc); missing hours are zero, unlabelled hours 0."""
    rows = []
    with Path(path).open(newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            h = datetime.fromisoformat(r["hour"].strip().replace("Z", "+00:00"))
            h = h.replace(tzinfo=timezone.utc) if h.tzinfo is None else h.astimezone(timezone.utc)
            neg = float(r["negative"])
            row = {"hour": h, "total": float(r["total"]), "negative": neg,
                   "weighted": float(r["weighted"]) if r.get("weighted") not in (None, "") else neg,
                   "label": int(float(r.get("label") or 0))}
            if r.get("weighted_sq") not in (None, ""):
                row["weighted_sq"] = float(r["weighted_sq"])
            rows.append(row)
    if not rows:
        raise ValueError(f"{Path(path).name}: no rows")
    rows.sort(key=lambda r: r["hour"])
    start, end = rows[0]["hour"], rows[-1]["hour"] + HOUR
    series = HourlySeries.from_rows(rows, start, end)
    if not any("weighted_sq" in r for r in rows):
        series.weighted_sq = np.where(series.negative > 0, series.weighted ** 2 / np.maximum(series.negative, 1), 0.0)
    flags = np.zeros(len(series), dtype=int)
    for r in rows:
        flags[series.index(r["hour"])] = r["label"]
    return series, labels_from_flags(flags)


def labels_from_spans(series: HourlySeries, spans: Sequence[str]) -> list[tuple[int, int]]:
    """``START/END`` ISO spans (UTC if no offset) as index pairs of the series."""
    out = []
    for s in spans:
        a, b = (datetime.fromisoformat(x.strip().replace("Z", "+00:00")) for x in s.split("/"))
        a, b = (x.replace(tzinfo=timezone.utc) if x.tzinfo is None else x for x in (a, b))
        out.append((max(0, series.index(a)), min(len(series) - 1, series.index(b - timedelta(microseconds=1)))))
    return out


def format_report(res: dict[str, Any], title: str = "backtest") -> str:
    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.0f} %"

    lines = [f"{title}: {res.get('series', 1)} series, {res['hours']} hours",
             f"  labelled bursts   {res['labelled_episodes']}   detected {res['detected']}   "
             f"recall {pct(res['recall'])}",
             f"  alerts raised     {res['alerts']}   true {res['true_alerts']}   false {res['false_alerts']}   "
             f"precision {pct(res['precision'])}"]
    if res["delays_hours"]:
        d = sorted(res["delays_hours"])
        lines.append(f"  detection delay   median {res['delay_median_hours']:.0f} h   max {res['delay_max_hours']:.0f} h"
                     f"   (hours from burst start to the end of the hour the alert was raised in; all: "
                     f"{', '.join(f'{x:.0f}' for x in d[:20])}{' ...' if len(d) > 20 else ''})")
    for size, b in (res.get("by_size") or {}).items():
        med = "n/a" if b["delay_median_hours"] is None else f"{b['delay_median_hours']:.0f} h"
        lines.append(f"  bursts peaking at {size:>4} the usual hourly volume: {b['detected']}/{b['bursts']} detected, "
                     f"median delay {med}")
    return "\n".join(lines)

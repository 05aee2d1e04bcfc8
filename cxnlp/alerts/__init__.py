"""Social backlash monitoring: early, explained alerts.

- :mod:`cxnlp.alerts.detect`   seasonal baseline, negative-binomial scores, Kleinberg burst states (pure)
- :mod:`cxnlp.alerts.explain`  what drives a burst: terms, hashtags, campaign, facets, touchpoints, examples
- :mod:`cxnlp.alerts.deliver`  webhook (JSON POST with retries; never raises)
- :mod:`cxnlp.alerts.monitor`  one check: store -> detect -> explain -> alerts table -> webhook
- :mod:`cxnlp.alerts.backtest` replay labelled series: detection delay, precision, recall

Commands (``add_cli``): ``cxnlp alerts watch`` (one check, or ``--serve`` the 15-minute deployment),
``cxnlp alerts backtest`` and ``cxnlp alerts list``.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path


def _settings(args: argparse.Namespace):
    from cxnlp.config import load_settings

    return load_settings(getattr(args, "root", None))


def _time(s: str) -> datetime:
    t = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t


def cmd_watch(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.serve or args.prefect:
        from cxnlp.cli import _prefect_env

        _prefect_env(settings.root)
        from flows.alerts import backlash_watch, serve

        if args.serve:
            serve(every_minutes=args.every, root=str(settings.root), window_hours=args.window_hours)
            return 0
        res = backlash_watch(str(settings.root), window_hours=args.window_hours, refresh_data=not args.no_refresh)
        summary = res["alerts"]
    else:
        from cxnlp.alerts.monitor import AlertsConfig, run_monitor
        from cxnlp.runs import new_run_id
        from cxnlp.store import open_store

        cfg = AlertsConfig.load(settings.root)
        window = args.window_hours if args.window_hours is not None else cfg.watch_hours
        if args.all:
            window = None
        run_id = new_run_id("alerts")
        with open_store(settings) as store:
            store.start_run(run_id, "alerts")
            summary = run_monitor(store, settings, config=cfg, run_id=run_id, window_hours=window,
                                  now=_time(args.as_of) if args.as_of else None, send=not args.no_send)
            store.finish_run(run_id, "completed", {"alerts": summary})
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    else:
        from cxnlp.alerts.monitor import markdown

        print(markdown(summary))
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from cxnlp.alerts import backtest as bt
    from cxnlp.alerts.monitor import AlertsConfig

    settings = _settings(args)
    cfg = AlertsConfig.load(settings.root)
    params = cfg.detect
    out: dict = {}
    if args.synthetic:
        res = bt.synthetic_suite(args.synthetic, seed=args.seed, params=params,
                                 tolerance_hours=args.tolerance_hours)
        print(bt.format_report(res, f"synthetic suite (seed {args.seed})"))
        out["synthetic"] = {k: v for k, v in res.items() if k != "runs"}
    sources = []
    if args.series:
        series, labels = bt.read_series_csv(args.series)
        if args.label:
            labels = bt.labels_from_spans(series, args.label)
        sources.append((Path(args.series).name, series, labels))
    if args.store:
        from cxnlp.alerts.monitor import store_series
        from cxnlp.store import open_store

        with open_store(settings, read_only=True) as store:
            series = store_series(store, cfg)
        if series is None:
            print(f"cxnlp: no {cfg.source} events in the store", file=sys.stderr)
            return 2
        sources.append(("store", series, bt.labels_from_spans(series, args.label)))
    if not sources and not args.synthetic:
        print("nothing to replay: give a labelled SERIES.csv, --store --label START/END, or --synthetic N",
              file=sys.stderr)
        return 2
    for name, series, labels in sources:
        from cxnlp.alerts.detect import detect

        det = detect(series, params)
        res = bt.evaluate(det, labels, args.tolerance_hours)
        print(bt.format_report({**res, "series": 1}, f"{name} ({series.hour(0):%Y-%m-%d} .. "
                                                   f"{series.hour(len(series) - 1):%Y-%m-%d})"))
        for a in res["alert_list"]:
            print(f"    alert {a['severity']:<8} start {a['start'][:16]}  raised {a['raised'][:16]}  "
                  f"{'matches a labelled burst' if a['true'] else 'FALSE ALERT'}")
        out[name] = res
        if args.save:
            bt.write_series_csv(args.save, series, labels)
            print(f"    labelled series written to {args.save}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from cxnlp.store import alerts_sql, open_store

    with open_store(_settings(args), read_only=True) as store:
        rows = alerts_sql.get_alerts(store, limit=args.limit)
    if not rows:
        print("no alerts stored")
    for a in rows:
        print(f"{a['alert_id']}  {a['severity']:<8} {a['status']:<8} start {a['start_at']:%Y-%m-%d %H:%M}Z  "
              f"detected {a['detected_at']:%Y-%m-%d %H:%M}Z  updates {a['updates']}  "
              f"notified {a['notified_severity'] or '-'}")
        print(f"    {a['summary']}")
    return 0


def add_cli(subparsers) -> None:
    """Adds ``cxnlp alerts watch|backtest|list`` to the main parser's subparsers."""
    p = subparsers.add_parser("alerts", help="social backlash alerts: watch, backtest, list")
    sub = p.add_subparsers(dest="alerts_cmd", required=True)

    w = sub.add_parser("watch", help="check for social backlash now (or --serve the 15-minute deployment)")
    w.add_argument("--window-hours", type=float, help="bursts touching the last N hours (default: window.watch_hours)")
    w.add_argument("--all", action="store_true", help="the whole lookback, as the nightly run does")
    w.add_argument("--as-of", help="check as of this time (ISO 8601; replays stored data)")
    w.add_argument("--no-send", action="store_true", help="store alerts, do not call the webhook")
    w.add_argument("--prefect", action="store_true", help="run the backlash_watch flow once (artifact, run record)")
    w.add_argument("--no-refresh", action="store_true", help="with --prefect: do not ingest/tag new posts first")
    w.add_argument("--serve", action="store_true", help="serve the backlash_watch deployment (blocks)")
    w.add_argument("--every", type=int, help="minutes between checks with --serve (default: schedule.every_minutes)")
    w.add_argument("--json", action="store_true", help="print the check's summary as JSON")
    w.set_defaults(func=cmd_watch)

    b = sub.add_parser("backtest", help="replay a labelled series: detection delay, precision, recall")
    b.add_argument("series", nargs="?", help="labelled hourly CSV: hour,total,negative[,weighted,weighted_sq],label")
    b.add_argument("--store", action="store_true", help="replay the store's social series (label it with --label)")
    b.add_argument("--label", action="append", default=[], metavar="START/END",
                   help="a labelled burst (ISO times, UTC if no offset); repeatable")
    b.add_argument("--synthetic", type=int, metavar="N", help="also score N seeded synthetic series")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--tolerance-hours", type=int, default=6)
    b.add_argument("--save", help="write the replayed (labelled) series as CSV")
    b.add_argument("--json", help="also write the figures as JSON here")
    b.set_defaults(func=cmd_backtest)

    s = sub.add_parser("list", help="stored alerts, newest first")
    s.add_argument("--limit", type=int, default=20)
    s.set_defaults(func=cmd_list)

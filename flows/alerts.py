"""The backlash watch: a Prefect flow that checks for social backlash more often than nightly.

Thin orchestration over cxnlp (every step is a library function): optionally ingest and tag new social posts,
then one monitor check over the last ``window_hours`` (raise / update alerts, deliver to the webhook), and a
Markdown artifact of the result. `cxnlp alerts watch --serve` serves it every 15 minutes (configs/alerts.yaml,
``schedule.every_minutes``).
"""
from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from cxnlp import runs
from cxnlp.config import load_settings, load_sources
from cxnlp.store import open_store


@task(retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)
def refresh(root: str, run_id: str, source: str) -> dict[str, Any]:
    """Ingest the configured exports of this source type and tag what is new (both incremental)."""
    settings = load_settings(root)
    sources = [s for s in load_sources(settings.root) if s.source == source]
    with open_store(settings) as store:
        ingest = runs.ingest_stage(store, settings, sources, run_id) if sources else {}
        tag = runs.tag_stage(store, settings, run_id)
    return {"ingest": ingest, "tag": tag}


@task(retries=2, retry_delay_seconds=30, cache_policy=NO_CACHE)  # retried when the store is busy (nightly run)
def check(root: str, run_id: str, window_hours: float | None) -> dict[str, Any]:
    from cxnlp.alerts.monitor import run_monitor

    settings = load_settings(root)
    with open_store(settings) as store:
        return run_monitor(store, settings, run_id=run_id, window_hours=window_hours)


@flow(name="cxnlp-backlash-watch", log_prints=True)
def backlash_watch(root: str | None = None, window_hours: float | None = None,
                   refresh_data: bool = True) -> dict[str, Any]:
    """One check. ``window_hours``: bursts touching the last N hours (default: ``window.watch_hours`` of
    configs/alerts.yaml). ``refresh_data``: ingest and tag new social posts first."""
    from cxnlp.alerts.monitor import AlertsConfig, markdown

    log = get_run_logger()
    settings = load_settings(root)
    root = str(settings.root)
    cfg = AlertsConfig.load(settings.root)
    window = float(window_hours if window_hours is not None else cfg.watch_hours)
    run_id = runs.new_run_id("alerts")
    with open_store(settings) as store:
        store.start_run(run_id, "alerts")
    results: dict[str, Any] = {}
    status = "failed"
    try:
        if refresh_data:
            results["refresh"] = refresh(root, run_id, cfg.source)
        summary = check(root, run_id, window)
        results["alerts"] = summary
        create_markdown_artifact(markdown(summary), key="cxnlp-backlash-alerts",
                                 description="cxnlp social backlash alerts")
        for a in summary["alerts"]:
            log.info("%s %s (%s): %s; delivery: %s", a["severity"], a["alert_id"], a["change"], a["title"],
                     a["delivery"] or "-")
        for f in summary["delivery_failures"]:
            log.warning("webhook failed for %s: %s (retried next run)", f["alert_id"], f["error"])
        status = "completed"
    finally:
        with open_store(settings) as store:
            store.finish_run(run_id, status, results)
    return {"run_id": run_id, **results}


def serve(every_minutes: int | None = None, root: str | None = None, window_hours: float | None = None) -> None:
    """Serve the backlash-watch deployment every ``every_minutes`` (blocks)."""
    from cxnlp.alerts.monitor import AlertsConfig

    settings = load_settings(root)
    minutes = every_minutes or AlertsConfig.load(settings.root).every_minutes
    backlash_watch.serve(name="cxnlp-backlash-watch", interval=60 * minutes,
                         parameters={"root": str(settings.root), "window_hours": window_hours}, tags=["cxnlp", "alerts"])


if __name__ == "__main__":
    backlash_watch()

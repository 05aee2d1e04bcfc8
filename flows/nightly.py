"""The nightly Prefect flow: ingest -> tag -> aggregate -> alert -> report.

Thin orchestration over cxnlp.runs; every stage is a plain library function. Runs without a Prefect
server (ephemeral mode). `cxnlp run` starts it once, `cxnlp serve` serves it on a cron schedule.
"""
from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from cxnlp import runs
from cxnlp.config import load_settings, load_sources
from cxnlp.store import open_store


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def ingest(root: str | None, run_id: str) -> dict[str, Any]:
    settings = load_settings(root)
    with open_store(settings) as store:
        return runs.ingest_stage(store, settings, load_sources(settings.root), run_id)


@task(retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def tag(root: str | None, run_id: str) -> dict[str, Any]:
    settings = load_settings(root)
    with open_store(settings) as store:
        return runs.tag_stage(store, settings, run_id)


@task(cache_policy=NO_CACHE)
def aggregate(root: str | None) -> dict[str, Any]:
    with open_store(load_settings(root)) as store:
        return runs.aggregate_stage(store)


@task(cache_policy=NO_CACHE)
def topics(root: str | None, run_id: str) -> dict[str, Any]:
    settings = load_settings(root)
    with open_store(settings) as store:
        return runs.topics_stage(store, settings, run_id)


@task(cache_policy=NO_CACHE)
def alert(root: str | None, run_id: str) -> dict[str, Any]:
    settings = load_settings(root)
    with open_store(settings) as store:
        return runs.alert_stage(store, settings, run_id)


@task(retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def report(root: str | None, run_id: str, results: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings(root)
    with open_store(settings) as store:
        path, headline = runs.report_stage(store, settings, run_id, results)
        summary = store.summary()
    create_markdown_artifact(runs.ingest_markdown(run_id, results["ingest"], summary, headline) +
                             f"\n\nReport: `{path.name}` in the report folder.", key="cxnlp-nightly",
                             description="cxnlp nightly run")
    create_table_artifact([{"source": k, **{c: v[c] for c in ("rows_read", "stored", "duplicates", "quarantined",
                                                               "unchanged")}}
                           for k, v in results["ingest"].items()], key="cxnlp-ingest-counts")
    return {"path": str(path), "headline": headline}


@flow(name="cxnlp-nightly", log_prints=True)
def nightly(root: str | None = None) -> dict[str, Any]:
    log = get_run_logger()
    settings = load_settings(root)
    root = str(settings.root)
    run_id = runs.new_run_id()
    with open_store(settings) as store:
        store.start_run(run_id, "nightly")
    results: dict[str, Any] = {}
    status = "failed"
    try:
        results["ingest"] = ingest(root, run_id)
        for name, s in results["ingest"].items():
            log.info("ingest %s: %d read, %d stored, %d duplicates, %d quarantined, %d unchanged",
                     name, s["rows_read"], s["stored"], s["duplicates"], s["quarantined"], s["unchanged"])
        results["tag"] = tag(root, run_id)
        results["aggregate"] = aggregate(root)
        results["topics"] = topics(root, run_id)
        results["alerts"] = alert(root, run_id)
        rep = report(root, run_id, results)
        results["report"], results["headline"] = rep["path"], rep["headline"]
        status = "completed"
    finally:
        with open_store(settings) as store:
            store.finish_run(run_id, status, results)
    log.info("report written: %s", results["report"])
    return {"run_id": run_id, **results}


def deployment(cron: str = "0 2 * * *", timezone: str = "Europe/Berlin", root: str | None = None):
    """The nightly deployment: the flow on a cron schedule in the given time zone."""
    from prefect.schedules import Cron

    return nightly.to_deployment(name="cxnlp-nightly", schedules=[Cron(cron, timezone=timezone)],
                                 parameters={"root": root}, tags=["cxnlp"])


def serve(cron: str = "0 2 * * *", timezone: str = "Europe/Berlin", root: str | None = None) -> None:
    """Serve the nightly deployment (blocks; Ctrl-C stops it). Scheduled runs need a running Prefect server
    (`prefect server start`) or Prefect Cloud; PREFECT_API_URL says which."""
    from prefect import serve as prefect_serve

    prefect_serve(deployment(cron, timezone, root))


if __name__ == "__main__":
    nightly()

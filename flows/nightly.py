"""The nightly Prefect flow: ingest -> tag -> aggregate -> alert -> report.

Thin orchestration over cxnlp.runs; every stage is a plain library function. Runs without a Prefect
server (ephemeral mode). `cxnlp run` starts it once, `cxnlp serve` serves it on a cron schedule.

``engine.runner: dask`` (configs/settings.yaml) scales ingest mapping and tagging out through Prefect's
DaskTaskRunner (a LocalCluster, or the scheduler at ``engine.address``); this process stays the store's only
writer. See cxnlp/engine.py for the partitioning.
"""
from __future__ import annotations

import time
from contextlib import ExitStack
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from cxnlp import engine, runs
from cxnlp.config import load_settings, load_sources
from cxnlp.store import open_store


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def ingest(root: str | None, run_id: str, scheduler: str | None = None,
           workers: list[str] | None = None) -> dict[str, Any]:
    """Runs in the flow's process (the store's writer); with ``scheduler`` the batches are mapped on those
    Dask workers."""
    settings = load_settings(root)
    with open_store(settings) as store:
        if scheduler is None:
            return runs.ingest_stage(store, settings, load_sources(settings.root), run_id)
        from distributed import Client

        with Client(scheduler, set_as_default=False) as client:
            return runs.ingest_stage(store, settings, load_sources(settings.root), run_id, client, workers)


@task(retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def tag_partition(root: str, in_path: str, out_path: str, model: str, model_version: str, batch_size: int,
                  backend: str = "embedded") -> dict[str, Any]:
    """One partition, on a Dask worker (see cxnlp.engine.tag_partition)."""
    return engine.tag_partition(root, in_path, out_path, model, model_version, batch_size, backend)


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


def _tag_on_dask(runner, settings, run_id: str, plan: engine.TagPlan) -> dict[str, Any]:
    """Tag partitions go to the Dask task runner (to the GPU worker when the plan asks for one); results are
    written here as partitions finish."""
    import dask

    def submit(params: dict[str, Any]):
        if plan.resources:
            with dask.annotate(resources=plan.resources):
                return runner.submit(tag_partition, params)
        return runner.submit(tag_partition, params)

    slots = engine.tag_slots(runner.client, plan)
    with open_store(settings) as store:
        return runs.tag_stage(store, settings, run_id, submit=submit, slots=slots, backend=plan.backend)


@flow(name="cxnlp-nightly", log_prints=True)
def nightly(root: str | None = None) -> dict[str, Any]:
    log = get_run_logger()
    settings = load_settings(root)
    root = str(settings.root)
    eng = engine.EngineSettings.from_settings(settings)
    run_id = runs.new_run_id()
    with open_store(settings) as store:
        store.start_run(run_id, "nightly")
    timings: dict[str, float] = {}
    results: dict[str, Any] = {"engine": {"runner": eng.runner}, "timings": timings}
    status = "failed"

    def timed(name: str, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timings[name] = round(time.perf_counter() - t0, 3)

    try:
        with ExitStack() as stack:
            runner = plan = None
            if eng.runner == "dask":
                plan = engine.tag_plan(settings.root)
                runner = stack.enter_context(engine.dask_task_runner(eng, gpu_workers=1 if plan.resources else 0))
                if not eng.address:  # our own worker processes report to this run's Prefect API
                    stack.enter_context(engine.prefect_api_for_workers())
                client = timed("cluster_start", lambda: runner.client)
                plan = engine.fit_plan(client, plan)
                cpu = engine.cpu_workers(client)
                results["engine"].update(scheduler=client.scheduler.address, workers=len(engine.workers_info(client)),
                                         gpu_workers=engine.gpu_workers(client), tag_backend=plan.backend,
                                         tag_resources=plan.resources)
                log.info("Dask cluster at %s: %d workers (%d without GPU); tagging with %s%s",
                         client.scheduler.address, results["engine"]["workers"], len(cpu), plan.backend,
                         " on the GPU worker" if plan.resources else "")
                results["ingest"] = timed("ingest", ingest, root, run_id, client.scheduler.address, cpu or None)
            else:
                results["ingest"] = timed("ingest", ingest, root, run_id)
            for name, s in results["ingest"].items():
                log.info("ingest %s: %d read, %d stored, %d duplicates, %d quarantined, %d unchanged",
                         name, s["rows_read"], s["stored"], s["duplicates"], s["quarantined"], s["unchanged"])
            if runner is not None:
                results["tag"] = timed("tag", _tag_on_dask, runner, settings, run_id, plan)
            else:
                results["tag"] = timed("tag", tag, root, run_id)
            t_stop = time.perf_counter()
        if runner is not None:
            timings["cluster_stop"] = round(time.perf_counter() - t_stop, 3)
        results["aggregate"] = timed("aggregate", aggregate, root)
        results["topics"] = timed("topics", topics, root, run_id)
        results["alerts"] = timed("alerts", alert, root, run_id)
        rep = timed("report", report, root, run_id, results)
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

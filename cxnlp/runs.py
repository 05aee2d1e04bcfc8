"""The nightly pipeline as plain, importable stage functions. The Prefect flow in ``flows/`` only
orchestrates these; :func:`run_pipeline` runs the same stages without Prefect."""
from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cxnlp.config import Settings, SourceConfig, load_settings, load_sources

log = logging.getLogger("cxnlp.runs")


def new_run_id(kind: str = "nightly") -> str:
    return f"{kind}-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:6]}"


def ingest_stage(store, settings: Settings, sources: list[SourceConfig], run_id: str, client=None,
                 workers: list[str] | None = None) -> dict[str, Any]:
    """Ingests the sources into ``store``. With a Dask ``client`` the batches are mapped on its workers
    (``workers``: only these addresses); reading and committing stay here."""
    if client is not None:
        from cxnlp.engine import dask_ingestor

        ingestor = dask_ingestor(store, settings, client, workers)
        stats = ingestor.ingest(sources, run_id)
        log.info("ingest: %d batches mapped on Dask workers", ingestor.remote_batches)
    else:
        from cxnlp.ingest.pipeline import Ingestor

        stats = Ingestor(store, settings).ingest(sources, run_id)
    from cxnlp.erasure import enforce

    enforce(store, settings)  # rows an erasure request named that were stored all the same (logged)
    return {name: s.as_dict() for name, s in stats.items()}


def tag_stage(store, settings: Settings, run_id: str, submit=None, slots: int = 1,
              backend: str | None = None) -> dict[str, Any]:
    """Tags stored feedback that has no tags from the current model yet (incremental). With ``submit`` (see
    :func:`cxnlp.engine.tag_in_partitions`) the work goes out in partitions to a task runner or Dask client;
    without, a big backlog of the CPU model goes to a local process pool the same way (engine.local_processes)."""
    from cxnlp.engine import EngineSettings, local_tag_processes, tag_in_partitions, tag_plan, tag_process_pool

    eng = EngineSettings.from_settings(settings)
    backend = backend or tag_plan(settings.root).backend
    if submit is not None:
        return tag_in_partitions(store, settings, run_id, submit, slots, backend=backend)
    from cxnlp.classify.stage import build_tagger, tag_untagged

    tagger = build_tagger(settings.root, backend)
    model = (tagger.model.name, tagger.model.version)
    procs = local_tag_processes(eng, backend, store.count_untagged(*model))
    if procs:
        del tagger  # the processes load their own
        with tag_process_pool(procs) as submit:
            out = tag_in_partitions(store, settings, run_id, submit, procs, backend=backend, model=model)
        return {**out, "processes": procs}
    return tag_untagged(store, settings, run_id, tagger=tagger, batch_size=eng.batch_size,
                        partition_rows=eng.partition_rows)


def aggregate_stage(store) -> dict[str, Any]:
    from cxnlp.aggregate.stage import aggregate_experience

    return {"daily_volume_cells": store.rebuild_daily_volume(), "experience": aggregate_experience(store)}


def topics_stage(store, settings: Settings, run_id: str) -> dict[str, Any]:
    from cxnlp.aggregate.topics_stage import topics_stage as run_topics

    return run_topics(store, settings, run_id)


def alert_stage(store, settings: Settings, run_id: str) -> dict[str, Any]:
    """Backlash alerts over the whole lookback (configs/alerts.yaml): bursts of negative social posts raise or
    update rows of the ``alerts`` table and go to the webhook when new, escalated or resolved. A failing webhook
    is reported in the result, never fails the run. Inside a Prefect run the result is also an artifact."""
    from cxnlp.alerts.monitor import publish_artifact, run_monitor

    summary = run_monitor(store, settings, run_id=run_id)
    publish_artifact(summary)
    return summary


def report_stage(store, settings: Settings, run_id: str, results: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The HTML report (Erlebnis vs. Erfahrung, KPIs, drivers, run counts) and the KPI exports. Returns the
    report's path and the headline numbers."""
    from cxnlp.report.experience_report import experience_sections, export_kpis
    from cxnlp.report.run_report import write_run_report

    out = settings.path("report", "dir")
    sections, headline = experience_sections(store, int(settings.get("report", "min_volume", 10)),
                                             min_stability=settings.get("topics", "min_stability", None))
    path = write_run_report(out, run_id, results, store.summary(), sections)
    headline["exports"] = [p.name for p in export_kpis(store, out / "exports")]
    return path, headline


def ingest_markdown(run_id: str, ingest: dict[str, Any], summary: dict[str, Any],
                    headline: dict[str, Any] | None = None) -> str:
    lines = [f"# cxnlp run `{run_id}`", "", "## Ingest (this run)", "",
             "| source | rows read | stored | duplicates | quarantined | unchanged | erased on request | files skipped |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, s in ingest.items():
        lines.append(f"| {name} | {s['rows_read']} | {s['stored']} | {s['duplicates']} | {s['quarantined']} | "
                     f"{s['unchanged']} | {s.get('erased', 0)} | {s['files_skipped']} |")
    reasons: dict[str, int] = {}
    for s in ingest.values():
        for r, n in s["reasons"].items():
            reasons[r] = reasons.get(r, 0) + n
    if reasons:
        lines += ["", "Quarantined this run: " + ", ".join(f"{r} {n}" for r, n in sorted(reasons.items()))]
    t = summary["totals"]
    lines += ["", f"**Store:** {t['feedback']} feedback rows, {t['duplicates']} duplicates, "
                  f"{t['quarantine']} quarantined."]
    if headline:
        lines += ["", "## Kundenerlebnis vs. Kundenerfahrung", ""]
        if headline.get("latest_week"):
            lines.append(f"Week of {headline['latest_week']}: Erlebnis {_num(headline.get('erlebnis_index'))}, "
                         f"Erfahrung {_num(headline.get('erfahrung_index'))}, gap {_num(headline.get('gap'))}, "
                         f"NPS {_num(headline.get('nps'))}.")
        if headline.get("week"):
            lines.append(f"Change in the week of {headline['week']}: " +
                         ", ".join(f"{k} {v:+.1f}" for k, v in headline.get("change", {}).items()) + ".")
            for sig, ds in (headline.get("top_drivers") or {}).items():
                lines.append(f"- drivers of {sig}: " + "; ".join(ds))
            if headline.get("top_terms"):
                lines.append("- terms: " + ", ".join(headline["top_terms"]))
    return "\n".join(lines)


def _num(v: Any) -> str:
    return "–" if v is None else f"{v:.1f}"


def run_pipeline(settings: Settings | None = None, sources: list[SourceConfig] | None = None,
                 run_id: str | None = None) -> dict[str, Any]:
    """Every stage in order, without Prefect. Returns the stage results and where the report is. With
    ``engine.runner: dask`` ingest mapping and tagging run on a Dask cluster (plain Dask client)."""
    from contextlib import ExitStack

    from cxnlp.engine import EngineSettings, cpu_workers, dask_client, fit_plan, tag_plan, tag_slots
    from cxnlp.store import open_store

    settings = settings or load_settings()
    sources = sources if sources is not None else load_sources(settings.root)
    run_id = run_id or new_run_id()
    eng = EngineSettings.from_settings(settings)
    results: dict[str, Any] = {}
    with open_store(settings) as store, ExitStack() as stack:
        store.start_run(run_id, "nightly")
        try:
            if eng.runner == "dask":
                from cxnlp.engine import tag_partition

                plan = tag_plan(settings.root)
                client = stack.enter_context(dask_client(eng, gpu_workers=1 if plan.resources else 0))
                plan = fit_plan(client, plan)

                def submit(params: dict[str, Any]):
                    return client.submit(tag_partition, **params, resources=plan.resources, pure=False)

                results["ingest"] = ingest_stage(store, settings, sources, run_id, client, cpu_workers(client))
                results["tag"] = tag_stage(store, settings, run_id, submit, tag_slots(client, plan), plan.backend)
                stack.close()
            else:
                results["ingest"] = ingest_stage(store, settings, sources, run_id)
                results["tag"] = tag_stage(store, settings, run_id)
            results["aggregate"] = aggregate_stage(store)
            results["topics"] = topics_stage(store, settings, run_id)
            results["alerts"] = alert_stage(store, settings, run_id)
            report, results["headline"] = report_stage(store, settings, run_id, results)
            results["report"] = str(report)
        except BaseException as e:
            store.finish_run(run_id, "failed", {"error": f"{type(e).__name__}: {e}", **results})
            raise
        store.finish_run(run_id, "completed", results)
        summary = store.summary()
    return {"run_id": run_id, **results, "summary": summary}

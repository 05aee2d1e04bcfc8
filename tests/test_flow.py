"""The nightly Prefect flow end to end on part of the shipped sample data (ephemeral Prefect, no server)."""
import json
import textwrap

import pytest

from conftest import REPO, write_sources

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.fixture(scope="module")
def prefect_home():
    """A throw-away Prefect database and server, stopped before pytest closes its output streams."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_nightly_flow_runs_every_stage_and_reruns_idempotently(project, prefect_home):
    for name in ("taxonomy.yaml", "models.yaml"):
        (project / "configs" / name).write_text((REPO / "configs" / name).read_text(encoding="utf-8"), encoding="utf-8")
    (project / "models").symlink_to(REPO / "models")
    write_sources(project, textwrap.dedent(f"""
        sources:
          tickets:
            path: {REPO / 'data' / 'sample' / 'tickets.csv'}
            source: ticket
            timezone: Europe/Berlin
            columns: {{id: ticket_id, text: body, title: subject, created_at: opened_at, channel: channel,
                       author: customer_email, rating_nps: nps, rating_csat: csat, rating_ces: ces}}
          survey:
            path: {REPO / 'data' / 'sample' / 'survey.parquet'}
            source: review
            columns: {{id: response_id, text: comment, created_at: submitted, rating_nps: nps, channel: touchpoint}}
    """))
    from flows.nightly import nightly
    from cxnlp.config import load_settings
    from cxnlp.store import open_store

    first = nightly(str(project))
    ing = first["ingest"]
    assert ing["tickets"]["rows_read"] > 500 and ing["survey"]["rows_read"] > 300
    for s in ing.values():
        assert s["stored"] + s["duplicates"] + s["quarantined"] + s["unchanged"] == s["rows_read"]
    assert first["tag"]["tagged"] == ing["tickets"]["stored"] + ing["survey"]["stored"]
    report = project / "var" / "report" / "index.html"
    assert report.is_file() and "Quarantäne" in report.read_text(encoding="utf-8")
    with open_store(load_settings(project), read_only=True) as store:
        n_tagged = store.query("SELECT count(DISTINCT feedback_id) FROM tags")[0][0]
        n_feedback = store.count("feedback")
        runs = store.query("SELECT status FROM runs")
        cells = store.query("SELECT sum(items) FROM daily_volume")[0][0]
    assert n_tagged == n_feedback and runs == [("completed",)] and cells == n_feedback

    second = nightly(str(project))
    assert all(s["files_skipped"] == 1 and s["rows_read"] == 0 for s in second["ingest"].values())
    assert second["tag"]["tagged"] == 0
    with open_store(load_settings(project), read_only=True) as store:
        assert store.count("feedback") == n_feedback
        assert sorted(r[0] for r in store.query("SELECT status FROM runs")) == ["completed", "completed"]
    summary = json.loads((project / "var" / "report" / "last_run.json").read_text(encoding="utf-8"))
    assert summary["store"]["totals"]["feedback"] == n_feedback


def test_nightly_deployment_is_scheduled_at_two_in_berlin():
    from flows.nightly import deployment

    dep = deployment(root="/x")
    sched = dep.schedules[0].schedule
    assert (sched.cron, sched.timezone) == ("0 2 * * *", "Europe/Berlin")
    assert dep.name == "cxnlp-nightly" and dep.parameters == {"root": "/x"}


def test_cli_prefect_env_makes_a_local_prefect_home(tmp_path, monkeypatch):
    """`cxnlp run` on a fresh clone: Prefect's SQLite database must find its folder (var/prefect)."""
    from cxnlp.cli import _prefect_env

    monkeypatch.delenv("PREFECT_HOME", raising=False)
    monkeypatch.delenv("PREFECT_SERVER_ANALYTICS_ENABLED", raising=False)
    _prefect_env(tmp_path)
    import os

    assert os.environ["PREFECT_HOME"] == str(tmp_path / "var" / "prefect")
    assert (tmp_path / "var" / "prefect").is_dir()
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"

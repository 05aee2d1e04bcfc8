"""Fault injection (issue 7, "nothing lost"): a pipeline process killed inside a stage, a report folder that
cannot be written, and model files that are missing or corrupt.

The kill tests run the real pipeline (``cxnlp.runs.run_pipeline``) in a child process. The child only
*observes*: it wraps the stage functions to know which stage is running and the store's transactions to
count them, and SIGKILLs itself at a chosen point (right before or right after the n-th commit of the
target stage, or at the stage's entry): no hook in the product code is needed. Then the pipeline runs again to completion and the store is
compared row by row with an uninterrupted run on the same input.
"""
from __future__ import annotations

import errno
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, SAMPLE_SOURCES as SOURCES

SAMPLE = REPO / "data" / "sample"

# the environment of every pipeline process: small ingest batches (many commits to kill between), no GPU
ENV = {"CXNLP_INGEST_BATCH_SIZE": "60", "CXNLP_INGEST_WORKERS": "1", "CUDA_VISIBLE_DEVICES": "",
       "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1",
       "TOKENIZERS_PARALLELISM": "false", "OMP_NUM_THREADS": "1"}


def _lines(path: Path, start: int, stop: int) -> bytes:
    with path.open("rb") as f:
        return b"".join(line for i, line in enumerate(f) if start <= i < stop)


def make_project(root: Path) -> Path:
    """A project folder with the repository's configs, the shipped model (linked) and the first slice of the
    sample data (the 'old' data a first nightly run has already processed)."""
    (root / "configs").mkdir(parents=True)
    for name in ("settings.yaml", "taxonomy.yaml", "models.yaml", "alerts.yaml"):
        shutil.copy(REPO / "configs" / name, root / "configs" / name)
    (root / "configs" / "sources.yaml").write_text(textwrap.dedent(SOURCES), encoding="utf-8")
    (root / "models").symlink_to(REPO / "models")
    data = root / "data"
    data.mkdir()
    header = _lines(SAMPLE / "shop_reviews.csv", 0, 1)
    (data / "shop_1.csv").write_bytes(header + _lines(SAMPLE / "shop_reviews.csv", 1, 90))
    (data / "social_1.jsonl").write_bytes(_lines(SAMPLE / "social_posts.jsonl", 0, 120))
    return root


def add_new_data(root: Path) -> None:
    """The night's new exports: later sample rows (overlapping the old weeks), a re-export that repeats old
    rows, rows that must be quarantined, and a Parquet survey."""
    import pyarrow.parquet as pq

    data = root / "data"
    header = _lines(SAMPLE / "shop_reviews.csv", 0, 1)
    bad_shop = ("SR-X1;31.02.2026 10:00;3;Kaputt;Dieses Datum gibt es nicht, also Quarantäne;Eva;Lampe;1\n"
                "SR-X2;01.10.2026 10:00;9;Zu viel;Neun Sterne passen nicht auf die Skala;Eva;Lampe;1\n"
                "SR-X3;01.10.2026 10:00;4;zu;viele;Felder;in;dieser;Zeile;hier\n").encode("cp1252")
    (data / "shop_2.csv").write_bytes(header + _lines(SAMPLE / "shop_reviews.csv", 80, 330) + bad_shop)
    social = _lines(SAMPLE / "social_posts.jsonl", 110, 420)
    social += b'{"post_id": "broken", "text": "abgeschnitten\n[1, 2, 3]\n'
    (data / "social_2.jsonl").write_bytes(social)
    survey = pq.read_table(SAMPLE / "survey.parquet").slice(0, 160)
    pq.write_table(survey, data / "survey_1.parquet")


CHILD = r'''
import os, signal, sys
from contextlib import contextmanager

root, target, when, nth = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

import cxnlp.runs as runs
from cxnlp.config import load_settings, load_sources
from cxnlp.store.duck import DuckDBStore

state = {"stage": None, "tx": 0}


def die():
    sys.stdout.write(f"KILL {state['stage']} {when} {state['tx']}\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def watch(name, fn):
    def wrapped(*a, **k):
        state["stage"], state["tx"] = name, 0
        print("STAGE", name, flush=True)
        if name == target and when == "start":
            die()
        return fn(*a, **k)
    return wrapped


for stage in ("ingest", "tag", "aggregate", "topics", "alert", "report"):
    setattr(runs, stage + "_stage", watch(stage, getattr(runs, stage + "_stage")))

plain_tx = DuckDBStore.transaction


@contextmanager
def transaction(self):
    with plain_tx(self) as con:
        yield con
        if state["stage"] == target:
            state["tx"] += 1
            if when == "before-commit" and state["tx"] == nth:
                die()  # every statement of the transaction ran; COMMIT did not
    if state["stage"] == target and when == "after-commit" and state["tx"] == nth:
        die()


DuckDBStore.transaction = transaction
settings = load_settings(root)
out = runs.run_pipeline(settings, load_sources(settings.root))
print("DONE", out["run_id"], flush=True)
'''


def run_child(root: Path, target: str = "none", when: str = "never", nth: int = 0, timeout: int = 400):
    script = root / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    env = {**os.environ, **ENV, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("CXNLP_HOME", None)
    return subprocess.run([sys.executable, str(script), str(root), target, when, str(nth)], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=root)


def snapshot(root: Path) -> dict:
    """Everything the pipeline keeps, sorted (timestamps and run ids left out)."""
    import duckdb

    con = duckdb.connect(str(root / "var" / "cxnlp.duckdb"), read_only=True)
    try:
        def q(sql):
            return sorted(con.execute(sql).fetchall(), key=repr)

        return {
            "feedback": q("SELECT id, source_name, external_id, text, language, created_at FROM feedback"),
            "duplicates": q("SELECT id, original_id, kind FROM duplicates"),
            "quarantine": q("SELECT key, source_name, file, row_number, reason FROM quarantine"),
            "files": q("SELECT source_name, file, rows_done, status FROM files"),
            "tag_state": q("SELECT feedback_id, model, model_version, retag FROM tag_state"),
            "tags": q("SELECT feedback_id, task, label, score FROM tags"),
            "experience": q("SELECT * EXCLUDE (computed_at) FROM experience"),
            "experience_agg": q("SELECT * FROM experience_agg"),
            "daily_volume": q("SELECT * FROM daily_volume"),
            "runs": q("SELECT status FROM runs"),
        }
    finally:
        con.close()


def assert_same_rows(got: list[tuple], want: list[tuple], table: str) -> None:
    """Equal row for row; floats equal up to summation order (sums over the same values in another order)."""
    assert len(got) == len(want), f"{table}: {len(got)} rows, an uninterrupted run has {len(want)}"
    for g, w in zip(got, want):
        same = len(g) == len(w) and all(
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) if isinstance(a, float) and isinstance(b, float) else a == b
            for a, b in zip(g, w))
        assert same, f"{table} differs from an uninterrupted run: {g} != {w}"


def expected_accounting(root: Path) -> tuple[set[str], set[str], int]:
    """Traces every input record through the mapper: the ids of the good ones (each must end up stored or
    as a duplicate) and the quarantine keys of the bad ones. Also returns the number of records read."""
    from cxnlp.config import load_settings, load_sources
    from cxnlp.ingest.pipeline import Ingestor, _expand, map_batch, quarantine_key
    from cxnlp.ingest.readers import read_records
    from cxnlp.schema import Feedback

    settings = load_settings(root)
    ingestor = Ingestor(store=None, settings=settings)
    ids: set[str] = set()
    keys: set[str] = set()
    n = 0
    for cfg in load_sources(root):
        mapper = ingestor.mapper(cfg)
        for f in _expand(root / cfg.path):
            rows = list(read_records(f, cfg.format or "csv", delimiter=cfg.delimiter, encoding=cfg.encoding))
            n += len(rows)
            seen: dict[str, int] = {}
            for item in map_batch(mapper, rows):
                if isinstance(item, Feedback):
                    ids.add(item.id)
                    continue
                raw = item[3][:100_000]
                keys.add(quarantine_key(cfg.name, raw, seen.get(raw, 0)))
                seen[raw] = seen.get(raw, 0) + 1
    return ids, keys, n


def check_nothing_lost(root: Path) -> None:
    """Every input record is stored, a duplicate or quarantined exactly once; every stored row has exactly one
    tag_state row and exactly the tags its result implies; every tagged row has its experience row."""
    import duckdb

    from cxnlp.classify.stage import tag_rows

    ids, keys, n_records = expected_accounting(root)
    con = duckdb.connect(str(root / "var" / "cxnlp.duckdb"), read_only=True)
    try:
        fb = [r[0] for r in con.execute("SELECT id FROM feedback").fetchall()]
        dup = [r[0] for r in con.execute("SELECT id FROM duplicates").fetchall()]
        quar = [r[0] for r in con.execute("SELECT key FROM quarantine").fetchall()]
        assert len(fb) == len(set(fb)) and len(dup) == len(set(dup)) and len(quar) == len(set(quar))
        assert not set(fb) & set(dup), "a row is both stored and a duplicate"
        assert set(fb) | set(dup) == ids, "good input rows lost or invented"
        assert set(quar) == keys, "bad input rows lost or invented in quarantine"
        assert len(fb) + len(dup) + len(quar) <= n_records
        orphans = con.execute("SELECT count(*) FROM duplicates d LEFT JOIN feedback f ON f.id = d.original_id "
                          "WHERE f.id IS NULL").fetchone()[0]
        assert orphans == 0
        state = con.execute("SELECT feedback_id, result FROM tag_state").fetchall()
        assert sorted(r[0] for r in state) == sorted(fb), "a stored row without (or with two) tag_state rows"
        want = sorted((fid, t[1], t[2]) for fid, res in state for t in tag_rows(fid, json.loads(res)))
        have = sorted(con.execute("SELECT feedback_id, task, label FROM tags").fetchall())
        assert have == want, "tags do not match the tag_state results"
        exp = sorted(r[0] for r in con.execute("SELECT feedback_id FROM experience").fetchall())
        assert exp == sorted(fb)
    finally:
        con.close()


@pytest.fixture(scope="module")
def fault_base(tmp_path_factory):
    """The old data processed by a completed first run; and the same project plus the night's new data after
    an uninterrupted second run (the reference every interrupted run must reach)."""
    base = make_project(tmp_path_factory.mktemp("faults") / "base")
    first = run_child(base)
    assert first.returncode == 0, first.stderr[-3000:]
    clean = tmp_path_factory.mktemp("faults") / "clean"
    shutil.copytree(base, clean, symlinks=True)
    add_new_data(clean)
    second = run_child(clean)
    assert second.returncode == 0, second.stderr[-3000:]
    check_nothing_lost(clean)
    return base, snapshot(clean)


KILLS = [
    pytest.param("ingest", "after-commit", 3, id="ingest-after-3rd-commit"),
    pytest.param("ingest", "before-commit", 6, id="ingest-inside-6th-transaction"),
    pytest.param("tag", "after-commit", 1, id="tag-after-1st-batch"),
    pytest.param("tag", "before-commit", 2, id="tag-inside-2nd-batch"),
    pytest.param("aggregate", "after-commit", 1, id="aggregate-after-daily-volume"),
    pytest.param("aggregate", "after-commit", 2, id="aggregate-after-experience-rows"),
    pytest.param("aggregate", "before-commit", 3, id="aggregate-inside-rebuild"),
    pytest.param("topics", "before-commit", 2, id="topics-inside-2nd-scope"),
    pytest.param("report", "start", 0, id="report-start"),
]


@pytest.mark.faults
@pytest.mark.parametrize("stage,when,nth", KILLS)
def test_sigkill_inside_a_stage_then_rerun_loses_and_duplicates_nothing(fault_base, tmp_path, stage, when, nth):
    base, reference = fault_base
    root = tmp_path / "p"
    shutil.copytree(base, root, symlinks=True)
    add_new_data(root)
    killed = run_child(root, stage, when, nth)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-3000:]
    assert f"KILL {stage} {when}" in killed.stdout, "the kill did not happen inside the target stage"
    assert killed.stdout.strip().splitlines()[-2] == f"STAGE {stage}"
    partial = snapshot(root)
    assert partial["runs"] == [("completed",), ("running",)]  # the killed run never claims success

    resumed = run_child(root)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    check_nothing_lost(root)
    after = snapshot(root)
    for table in reference:
        if table != "runs":
            assert_same_rows(after[table], reference[table], table)
    # the next run marks the killed one as interrupted (its process is gone); nothing stays 'running'
    assert sorted(after["runs"]) == [("completed",), ("completed",), ("interrupted",)]
    report = root / "var" / "report" / "index.html"
    assert report.is_file() and "</html>" in report.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
# 2. the report folder cannot be written: clear error, store untouched, no half-written file
# ---------------------------------------------------------------------------------------------------------------
STORE_TABLES = ("feedback", "duplicates", "quarantine", "tags", "tag_state", "experience", "experience_agg",
                "daily_volume", "files")


def store_state(root: Path) -> dict[str, list]:
    import duckdb

    con = duckdb.connect(str(root / "var" / "cxnlp.duckdb"), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in STORE_TABLES}
    finally:
        con.close()


def report_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    """A small project after a complete run: store filled, report written."""
    root = tmp_path_factory.mktemp("report") / "p"
    (root / "configs").mkdir(parents=True)
    for name in ("settings.yaml", "taxonomy.yaml", "models.yaml", "alerts.yaml"):
        shutil.copy(REPO / "configs" / name, root / "configs" / name)
    (root / "configs" / "sources.yaml").write_text(textwrap.dedent(SOURCES), encoding="utf-8")
    (root / "models").symlink_to(REPO / "models")
    (root / "data").mkdir()
    (root / "data" / "social_1.jsonl").write_bytes(_lines(SAMPLE / "social_posts.jsonl", 0, 60))
    done = run_child(root)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (root / "var" / "report" / "index.html").is_file()
    return root


@pytest.fixture
def project_copy(reported, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(reported, root, symlinks=True)
    return root


def test_report_folder_blocked_by_a_file_fails_clearly_and_leaves_the_store(project_copy, monkeypatch):
    """A report path whose parent is a regular file cannot be created, not even by root (chmod cannot
    simulate that for root): the run fails naming the folder, and the store's data is exactly as before."""
    from cxnlp.config import load_settings, load_sources
    from cxnlp.report.output import ReportError
    from cxnlp.runs import run_pipeline

    root = project_copy
    (root / "blocker").write_text("a file, not a folder", encoding="utf-8")
    bad = root / "blocker" / "report"
    monkeypatch.setenv("CXNLP_REPORT_DIR", str(bad))
    monkeypatch.setenv("CXNLP_AUTHOR_SALT", "faults")
    before = store_state(root)
    settings = load_settings(root)
    with pytest.raises(ReportError) as err:
        run_pipeline(settings, load_sources(root))
    assert str(bad) in str(err.value) and "report folder" in str(err.value)
    assert isinstance(err.value, OSError)
    assert store_state(root) == before
    assert (root / "blocker").read_text(encoding="utf-8") == "a file, not a folder"
    import duckdb

    con = duckdb.connect(str(root / "var" / "cxnlp.duckdb"), read_only=True)
    status, stats = con.execute("SELECT status, stats FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    con.close()
    assert status == "failed" and str(bad) in json.loads(stats)["error"]


def _fail_writes_to(monkeypatch, target: str, how: str) -> list[str]:
    """Makes writes to files whose temporary name contains ``target`` fail with ENOSPC like a full disk:
    ``write`` after a partial write, ``fsync`` after all bytes were handed over (delayed allocation)."""
    fds: dict[int, str] = {}
    hits: list[str] = []
    real_open, real_write, real_fsync = os.open, os.write, os.fsync

    def fake_open(path, flags, mode=0o777, *, dir_fd=None):
        fd = real_open(path, flags, mode, dir_fd=dir_fd)
        fds[fd] = os.fspath(path)
        return fd

    def fake_write(fd, data):
        name = fds.get(fd, "")
        if target in name and how == "write":
            if name in hits:
                raise OSError(errno.ENOSPC, "No space left on device")
            hits.append(name)
            return real_write(fd, bytes(data)[: max(1, len(data) // 2)])
        return real_write(fd, data)

    def fake_fsync(fd):
        name = fds.get(fd, "")
        if target in name and how == "fsync":
            hits.append(name)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "write", fake_write)
    monkeypatch.setattr(os, "fsync", fake_fsync)
    return hits


@pytest.mark.parametrize("target", ["last_run.json", "index.html", "kpis_week.csv", "kpis_week.xlsx"])
@pytest.mark.parametrize("how", ["write", "fsync"])
def test_disk_full_keeps_the_previous_report_whole_and_the_store_untouched(project_copy, monkeypatch, target, how):
    from cxnlp.config import load_settings
    from cxnlp.report.output import ReportError
    from cxnlp.runs import report_stage
    from cxnlp.store import open_store

    root = project_copy
    folder = root / "var" / "report"
    old_report = report_files(folder)
    assert {"index.html", "last_run.json", "exports/kpis_week.csv"} <= set(old_report)
    before = store_state(root)
    settings = load_settings(root)
    with open_store(settings) as store:
        hits = _fail_writes_to(monkeypatch, target, how)
        with pytest.raises(ReportError) as err:
            report_stage(store, settings, "disk-full-run", {"ingest": {}})
        monkeypatch.undo()
    assert hits and target in hits[0], "the simulated disk-full never hit the target file"
    assert err.value.errno == errno.ENOSPC
    msg = str(err.value)
    assert target in msg and str(folder if not target.startswith("kpis") else folder / "exports") in msg
    assert "No space left" in msg and "CXNLP_REPORT_DIR" in msg
    # the files written before the failure are new and whole; the others are the previous run's, byte for byte;
    # no temporary file is left anywhere
    after = report_files(folder)
    assert set(after) == set(old_report)
    assert not any(name.endswith(".tmp") or "/." in "/" + name for name in after)
    if target in ("last_run.json", "index.html"):
        assert after == old_report  # index.html and last_run.json are replaced together or not at all
    else:
        assert after["exports/kpis_week.csv"] == old_report["exports/kpis_week.csv"]
        assert after["exports/kpis_week.xlsx"] == old_report["exports/kpis_week.xlsx"]
        assert b"disk-full-run" in after["last_run.json"]  # the HTML report itself was written before
    assert store_state(root) == before


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_report_folder_is_named(project_copy):
    from cxnlp.report.output import ReportError
    from cxnlp.report.run_report import write_run_report

    folder = project_copy / "var" / "report"
    old = report_files(folder)
    folder.chmod(0o555)
    try:
        with pytest.raises(ReportError, match="report folder") as err:
            write_run_report(folder, "ro-run", {"ingest": {}}, {"sources": [], "quarantine_reasons": [],
                                                                 "languages": [], "totals": {}})
    finally:
        folder.chmod(0o755)
    assert str(folder) in str(err.value) and report_files(folder) == old


def test_report_writes_are_atomic_unit(tmp_path, monkeypatch):
    """write_files: all temporary files first, then the renames; a failure in the middle leaves no trace."""
    from cxnlp.report.output import ReportError, write_files

    (tmp_path / "a.txt").write_text("old a", encoding="utf-8")
    (tmp_path / "b.txt").write_text("old b", encoding="utf-8")
    hits = _fail_writes_to(monkeypatch, "b.txt", "write")
    with pytest.raises(ReportError, match="b.txt"):
        write_files([(tmp_path / "a.txt", "new a" * 1000), (tmp_path / "b.txt", "new b" * 1000)])
    monkeypatch.undo()
    assert hits
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "old a"
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "old b"
    assert write_files([(tmp_path / "a.txt", "new a"), (tmp_path / "c.txt", b"\x00\x01")])
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "new a" and (tmp_path / "c.txt").read_bytes() == b"\x00\x01"


# ---------------------------------------------------------------------------------------------------------------
# 4. model files missing or corrupt: ModelError naming the file and how to restore it
# ---------------------------------------------------------------------------------------------------------------
MODEL = REPO / "models" / "cxnlp-de-small"
MODEL_FILES = ["meta.json", "heads.npz", "featurizer.json", "word_vocab.txt", "word_idf.npy", "char_vocab.txt",
               "char_idf.npy", "checksums.json", "dense_heads.npz", "lexicon_words.txt", "lexicon.npy"]


@pytest.fixture
def model_copy(tmp_path) -> Path:
    d = tmp_path / "cxnlp-de-small"
    shutil.copytree(MODEL, d)  # a real copy: the tests damage it
    return d


def load(d: Path):
    from cxnlp.classify.model import EmbeddedModel
    from cxnlp.classify.taxonomy import load_taxonomy

    return EmbeddedModel.load(d, load_taxonomy(REPO / "configs" / "taxonomy.yaml"))


def assert_names(err, name: str) -> None:
    msg = str(err.value)
    assert f"cxnlp-de-small/{name}" in msg, msg
    assert "git checkout -- models/cxnlp-de-small" in msg and "cxnlp train" in msg, msg


def test_model_directory_lists_exactly_the_files_the_loader_checks():
    from cxnlp.classify import model

    assert sorted(model.MODEL_FILES + model.OPTIONAL_MODEL_FILES) == sorted(MODEL_FILES)
    assert sorted(p.name for p in MODEL.iterdir()) == sorted(MODEL_FILES + ["MODEL_CARD.md"])


@pytest.mark.parametrize("name", MODEL_FILES)
def test_missing_model_file_is_named_with_the_way_back(model_copy, name):
    from cxnlp.classify.model import ModelError

    (model_copy / name).unlink()
    with pytest.raises(ModelError, match="missing") as err:
        load(model_copy)
    assert_names(err, name)


@pytest.mark.parametrize("name", MODEL_FILES)
@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_model_file_is_named(model_copy, name, keep):
    from cxnlp.classify.model import ModelError

    data = (model_copy / name).read_bytes()
    (model_copy / name).write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ModelError) as err:
        load(model_copy)
    assert_names(err, name)


@pytest.mark.parametrize("name,garble", [
    ("meta.json", lambda t: t.replace('"heads"', '"koepfe"', 1)),
    ("meta.json", lambda t: t.replace('"rows": [\n    0,', '"rows": [\n    1,', 1)),
    ("featurizer.json", lambda t: t.rstrip()[:-1]),
    ("featurizer.json", lambda t: t.replace('"cue_keys"', '"cues"', 1)),
    ("checksums.json", lambda t: '{"sha256": 5}'),
    ("word_vocab.txt", lambda t: t.replace("\n", "\n\n", 1)),
    ("char_vocab.txt", lambda t: "[1, 2]\n" + t),
])
def test_garbled_model_file_is_named(model_copy, name, garble):
    from cxnlp.classify.model import ModelError

    p = model_copy / name
    p.write_text(garble(p.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ModelError) as err:
        load(model_copy)
    assert_names(err, name)


def test_changed_numbers_that_still_parse_are_caught_by_the_checksums(model_copy):
    """A flipped weight in word_idf.npy keeps every shape intact; only checksums.json can tell."""
    import numpy as np

    from cxnlp.classify.model import ModelError

    idf = np.load(model_copy / "word_idf.npy")
    idf[7] += 1.0
    np.save(model_copy / "word_idf.npy", idf)
    with pytest.raises(ModelError, match="do not match") as err:
        load(model_copy)
    assert_names(err, "checksums.json")


def test_intact_model_loads_without_its_card_and_with_extra_files(model_copy):
    (model_copy / "MODEL_CARD.md").unlink()
    (model_copy / "NOTES.txt").write_text("an analyst's note", encoding="utf-8")
    m = load(model_copy)
    assert m.name == "cxnlp-de-small" and m.heads.W.shape[1] == m.featurizer.n_features


def test_tag_stage_with_a_broken_model_fails_before_writing_anything(project_copy, monkeypatch):
    """The pipeline stops at the tag stage with the ModelError; no stored row loses or gains a tag."""
    from cxnlp.classify.model import ModelError
    from cxnlp.config import load_settings, load_sources
    from cxnlp.runs import run_pipeline

    root = project_copy
    (root / "models").unlink()
    shutil.copytree(MODEL, root / "models" / "cxnlp-de-small")
    heads = root / "models" / "cxnlp-de-small" / "heads.npz"
    heads.write_bytes(heads.read_bytes()[:1000])
    (root / "data" / "social_2.jsonl").write_bytes(_lines(SAMPLE / "social_posts.jsonl", 60, 80))
    monkeypatch.setenv("CXNLP_AUTHOR_SALT", "faults")
    before = store_state(root)
    with pytest.raises(ModelError) as err:
        run_pipeline(load_settings(root), load_sources(root))
    assert_names(err, "heads.npz")
    after = store_state(root)
    for table in ("tags", "tag_state", "experience", "experience_agg"):
        assert after[table] == before[table], table
    assert len(after["feedback"]) > len(before["feedback"])  # ingest ran; its rows wait, untagged, for a good model

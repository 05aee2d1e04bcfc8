"""The initial schema: every table the store and its modules use (ingest, tags, experience aggregates,
topics, alerts, the review app's corrections and index) and the experience_kpis view.

The DDL is written out here (not imported from the store modules) so this revision stays what it was when a
later revision changes a table.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""
from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EMOTION_COLUMNS = ("emo_aerger", "emo_enttaeuschung", "emo_sorge", "emo_freude", "emo_ueberraschung", "emo_vertrauen",
                   "emo_ekel", "emo_verachtung")

TABLES = [
    "CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE feedback (
        id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        source_name VARCHAR NOT NULL,
        external_id VARCHAR,
        channel VARCHAR,
        created_at TIMESTAMPTZ NOT NULL,
        text VARCHAR NOT NULL,
        title VARCHAR,
        language VARCHAR,
        language_score DOUBLE PRECISION,
        rating_stars SMALLINT,
        rating_nps SMALLINT,
        rating_csat SMALLINT,
        rating_ces SMALLINT,
        author_hash VARCHAR,
        thread_id VARCHAR,
        likes INTEGER,
        shares INTEGER,
        replies INTEGER,
        content_hash VARCHAR NOT NULL,
        near_key VARCHAR NOT NULL,
        pii JSON,
        meta JSON,
        run_id VARCHAR,
        ingested_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE duplicates (
        id VARCHAR PRIMARY KEY,
        original_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        source_name VARCHAR NOT NULL,
        created_at TIMESTAMPTZ,
        likes INTEGER,
        shares INTEGER,
        replies INTEGER,
        run_id VARCHAR,
        ingested_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE quarantine (
        key VARCHAR PRIMARY KEY,
        source_name VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        row_number BIGINT NOT NULL,
        reason VARCHAR NOT NULL,
        detail VARCHAR,
        raw VARCHAR,
        run_id VARCHAR,
        quarantined_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE files (
        source_name VARCHAR NOT NULL,
        fingerprint VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        rows_done BIGINT NOT NULL,
        status VARCHAR NOT NULL,
        run_id VARCHAR,
        updated_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (source_name, fingerprint))""",
    """CREATE TABLE runs (
        run_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ,
        status VARCHAR NOT NULL,
        stats JSON,
        model_versions JSON)""",
    """CREATE TABLE tags (
        feedback_id VARCHAR NOT NULL,
        task VARCHAR NOT NULL,
        label VARCHAR NOT NULL,
        score DOUBLE PRECISION,
        evidence JSON,
        model VARCHAR NOT NULL,
        model_version VARCHAR NOT NULL,
        run_id VARCHAR,
        tagged_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (feedback_id, task, label))""",
    """CREATE TABLE tag_state (
        feedback_id VARCHAR PRIMARY KEY,
        model VARCHAR NOT NULL,
        model_version VARCHAR NOT NULL,
        result JSON,
        tagged_at TIMESTAMPTZ NOT NULL,
        retag BOOLEAN NOT NULL DEFAULT FALSE)""",
    """CREATE TABLE daily_volume (
        day DATE, source VARCHAR, channel VARCHAR, language VARCHAR, items BIGINT, reposts BIGINT)""",
    # Kundenerlebnis / Kundenerfahrung (cxnlp.store.experience_sql)
    """CREATE TABLE experience (
        feedback_id VARCHAR PRIMARY KEY,
        erlebnis DOUBLE PRECISION, erlebnis_intensity DOUBLE PRECISION, erlebnis_confidence DOUBLE PRECISION,
        dominant_emotions JSON,
        erfahrung DOUBLE PRECISION, erfahrung_source VARCHAR, erfahrung_confidence DOUBLE PRECISION,
        sentiment VARCHAR, emotions JSON, recommends BOOLEAN, churn BOOLEAN, relevant BOOLEAN,
        computed_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE experience_agg (
        grain VARCHAR, period DATE, source VARCHAR, channel VARCHAR, facet VARCHAR, touchpoint VARCHAR,
        volume BIGINT, erlebnis_n BIGINT, erlebnis_sum DOUBLE PRECISION, erlebnis_sq DOUBLE PRECISION,
        erfahrung_n BIGINT, erfahrung_sum DOUBLE PRECISION, erfahrung_sq DOUBLE PRECISION, erfahrung_rated_n BIGINT,
        neg_n BIGINT, neu_n BIGINT, pos_n BIGINT, """ + ", ".join(f"{c} BIGINT" for c in EMOTION_COLUMNS) + """,
        recommends_n BIGINT, churn_n BIGINT, nps_n BIGINT, promoters BIGINT, detractors BIGINT,
        csat_n BIGINT, csat_top2 BIGINT, ces_n BIGINT, ces_sum DOUBLE PRECISION, stars_n BIGINT,
        stars_sum DOUBLE PRECISION,
        PRIMARY KEY (grain, period, source, channel, facet, touchpoint))""",
    # emerging topics (cxnlp.store.topics_sql)
    """CREATE TABLE topics (
        run_id VARCHAR, scope VARCHAR, topic_id VARCHAR, label VARCHAR, terms JSON, size INTEGER,
        neg_share DOUBLE PRECISION, status VARCHAR, growth DOUBLE PRECISION, first_week DATE, facet VARCHAR,
        touchpoint VARCHAR, covered BOOLEAN, weekly JSON, examples JSON, window_start DATE, window_end DATE,
        created_at TIMESTAMPTZ,
        PRIMARY KEY (run_id, scope, topic_id))""",
    "CREATE TABLE topic_members (run_id VARCHAR, scope VARCHAR, topic_id VARCHAR, feedback_id VARCHAR)",
    # backlash alerts (cxnlp.store.alerts_sql)
    """CREATE TABLE alerts (
        alert_id VARCHAR PRIMARY KEY,
        kind VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        start_at TIMESTAMPTZ NOT NULL,
        detected_at TIMESTAMPTZ,
        peak_at TIMESTAMPTZ,
        last_burst_at TIMESTAMPTZ,
        end_at TIMESTAMPTZ,
        title VARCHAR,
        summary VARCHAR,
        metrics JSON,
        drivers JSON,
        examples JSON,
        evolution JSON,
        first_run_id VARCHAR,
        last_run_id VARCHAR,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        checked_at TIMESTAMPTZ NOT NULL,
        updates INTEGER NOT NULL,
        notified_severity VARCHAR,
        notified_status VARCHAR,
        notified_at TIMESTAMPTZ,
        delivery JSON)""",
    # the review app (cxnlp.store.review_sql): append-only corrections and the derived review index
    "CREATE SEQUENCE corrections_id_seq START 1",
    """CREATE TABLE corrections (
        id BIGINT PRIMARY KEY DEFAULT nextval('corrections_id_seq'),
        feedback_id VARCHAR NOT NULL,
        task VARCHAR NOT NULL,
        old_value JSON,
        new_value JSON,
        note VARCHAR,
        analyst VARCHAR NOT NULL,
        created_at TIMESTAMPTZ NOT NULL)""",
    """CREATE TABLE review_index (
        feedback_id VARCHAR PRIMARY KEY,
        created_at TIMESTAMPTZ NOT NULL,
        source VARCHAR,
        channel VARCHAR,
        language VARCHAR,
        engagement BIGINT NOT NULL,
        sentiment VARCHAR,
        model_sentiment VARCHAR,
        confidence DOUBLE PRECISION NOT NULL,
        margin DOUBLE PRECISION NOT NULL,
        phase VARCHAR,
        facets VARCHAR[],
        touchpoints VARCHAR[],
        emotions VARCHAR[],
        relevant BOOLEAN,
        offensive BOOLEAN,
        rating_polarity DOUBLE PRECISION,
        disagreement BOOLEAN NOT NULL,
        priority DOUBLE PRECISION NOT NULL,
        reason VARCHAR,
        model VARCHAR,
        model_version VARCHAR,
        tagged_at TIMESTAMPTZ NOT NULL,
        reviewed BOOLEAN NOT NULL,
        corrected BOOLEAN NOT NULL,
        search VARCHAR)""",
]

INDEXES = [
    "CREATE INDEX feedback_near_key_idx ON feedback (near_key)",
    "CREATE INDEX feedback_source_created_idx ON feedback (source, created_at)",
    "CREATE INDEX feedback_created_idx ON feedback (created_at, id)",
    "CREATE INDEX duplicates_original_idx ON duplicates (original_id)",
    "CREATE INDEX quarantine_file_idx ON quarantine (source_name, file, row_number)",
    "CREATE INDEX tags_task_label_idx ON tags (task, label)",
    "CREATE INDEX topic_members_topic_idx ON topic_members (topic_id, run_id)",
    "CREATE INDEX topics_created_idx ON topics (created_at)",
    "CREATE INDEX corrections_feedback_idx ON corrections (feedback_id)",
]

# integer counts are cast before dividing: PostgreSQL divides integers as integers
KPI_VIEW = """CREATE VIEW experience_kpis AS
SELECT *,
  100 * erlebnis_sum / nullif(erlebnis_n, 0) AS erlebnis_index,
  100 * 1.96 * sqrt(greatest(erlebnis_sq / nullif(erlebnis_n, 0) - pow(erlebnis_sum / nullif(erlebnis_n, 0), 2), 0)
        / nullif(erlebnis_n, 0)) AS erlebnis_ci,
  100 * erfahrung_sum / nullif(erfahrung_n, 0) AS erfahrung_index,
  100 * 1.96 * sqrt(greatest(erfahrung_sq / nullif(erfahrung_n, 0) - pow(erfahrung_sum / nullif(erfahrung_n, 0), 2), 0)
        / nullif(erfahrung_n, 0)) AS erfahrung_ci,
  100 * erlebnis_sum / nullif(erlebnis_n, 0) - 100 * erfahrung_sum / nullif(erfahrung_n, 0) AS gap,
  CAST(neg_n AS DOUBLE PRECISION) / nullif(volume, 0) AS neg_share,
  CAST(pos_n AS DOUBLE PRECISION) / nullif(volume, 0) AS pos_share,
  100 * CAST(promoters - detractors AS DOUBLE PRECISION) / nullif(nps_n, 0) AS nps,
  100 * 1.96 * sqrt(greatest(CAST(promoters + detractors AS DOUBLE PRECISION) / nullif(nps_n, 0)
        - pow(CAST(promoters - detractors AS DOUBLE PRECISION) / nullif(nps_n, 0), 2), 0) / nullif(nps_n, 0)) AS nps_ci,
  100 * CAST(csat_top2 AS DOUBLE PRECISION) / nullif(csat_n, 0) AS csat,
  ces_sum / nullif(ces_n, 0) AS ces,
  stars_sum / nullif(stars_n, 0) AS mean_stars,
  100 * CAST(recommends_n AS DOUBLE PRECISION) / nullif(volume, 0) AS weiterempfehlungsrate,
  100 * CAST(churn_n AS DOUBLE PRECISION) / nullif(volume, 0) AS churn_rate
FROM experience_agg"""

DROP_ORDER = ["review_index", "corrections", "alerts", "topic_members", "topics", "experience_agg", "experience",
              "daily_volume", "tag_state", "tags", "runs", "files", "quarantine", "duplicates", "feedback", "meta"]


def upgrade() -> None:
    for stmt in TABLES + INDEXES + [KPI_VIEW]:
        op.execute(stmt)
    op.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS experience_kpis")
    for t in DROP_ORDER:
        op.execute(f"DROP TABLE IF EXISTS {t}")
    op.execute("DROP SEQUENCE IF EXISTS corrections_id_seq")

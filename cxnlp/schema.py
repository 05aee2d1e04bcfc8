"""Record types shared by every layer. The ground floor: imports nothing from cxnlp.

One schema for every source (reviews, social posts, tickets). Ingest produces
:class:`Feedback`, :class:`Duplicate` and :class:`QuarantineRow`; every input row
ends as exactly one of them.
"""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from datetime import datetime
from typing import Any

SOURCE_TYPES = ("review", "social", "ticket")

# Valid inclusive ranges of the rating fields.
RATING_RANGES: dict[str, tuple[int, int]] = {
    "rating_stars": (1, 5),
    "rating_nps": (0, 10),
    "rating_csat": (1, 5),
    "rating_ces": (1, 7),
}

# Fields a source mapping may fill from its columns (configs/sources.yaml).
MAPPABLE_FIELDS = (
    "id",
    "text",
    "title",
    "created_at",
    "channel",
    "author",
    "thread_id",
    "rating_stars",
    "rating_nps",
    "rating_csat",
    "rating_ces",
    "likes",
    "shares",
    "replies",
    "language",
)

# Reasons a row can be quarantined. Stable codes: reports and tests rely on them.
QUARANTINE_REASONS = {
    "malformed_row": "the row could not be parsed (broken quoting, wrong field count, invalid JSON)",
    "broken_encoding": "bytes that are not valid in the file's encoding",
    "empty_text": "no text after normalisation",
    "oversize_text": "text longer than the configured maximum",
    "missing_date": "no creation date",
    "unparseable_date": "creation date in no known format",
    "rating_out_of_range": "a rating outside its scale",
    "unparseable_rating": "a rating that is not a number",
    "missing_id": "the mapped id column is empty",
}


@dataclass(slots=True)
class Feedback:
    """One stored piece of customer feedback, normalised and redacted."""

    id: str
    source: str  # review | social | ticket
    source_name: str  # configured source key, e.g. "shop_reviews"
    created_at: datetime  # tz-aware, UTC
    text: str  # normalised, PII-redacted
    external_id: str | None = None
    channel: str | None = None  # platform / channel: webshop, app_store, twitter, email, chat, hotline ...
    title: str | None = None
    language: str = "und"
    language_score: float = 0.0
    rating_stars: int | None = None
    rating_nps: int | None = None
    rating_csat: int | None = None
    rating_ces: int | None = None
    author_hash: str | None = None
    thread_id: str | None = None
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None
    content_hash: str = ""
    near_key: str = ""
    pii: dict[str, int] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Duplicate:
    """An input row whose content was already stored under another id."""

    id: str  # the duplicate's own deterministic id
    original_id: str
    kind: str  # exact | near
    source_name: str
    created_at: datetime | None = None
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None
    author_hash: str | None = None  # the author's keyed hash, so an erasure request finds the repeated post


@dataclass(slots=True)
class QuarantineRow:
    """An input row that could not be stored, with the reason and the row, redacted."""

    key: str  # deterministic: same bad row in the same file -> same key
    source_name: str
    file: str  # file name (no directories: no machine paths in the store)
    row_number: int  # 1-based data row number within the file
    reason: str  # one of QUARANTINE_REASONS
    detail: str
    raw: str  # the row with nothing personal in it (cxnlp.ingest.mapping.RowMapper.quarantine_view), or ""
    raw_hash: str | None = None  # the original row's fingerprint (cxnlp.ingest.pipeline.raw_hash)


try:  # orjson ships with prefect: several times faster than json for per-row metadata and stored results
    import orjson

    json_value = orjson.loads  # JSON text (str or bytes) -> value; invalid text raises a ValueError

    def json_text(o: Any) -> str:
        """A value as JSON text (non-ASCII kept, numpy scalars as numbers, other unknown types as str)."""
        return orjson.dumps(o, default=str, option=orjson.OPT_SERIALIZE_NUMPY).decode("utf-8")
except ImportError:  # pragma: no cover
    import json

    json_value = json.loads

    def json_text(o: Any) -> str:
        """A value as JSON text (non-ASCII kept, unknown types as str)."""
        return json.dumps(o, ensure_ascii=False, default=str)


# The stored columns of a Feedback row, in the store's order (the store adds run_id and ingested_at).
FEEDBACK_FIELDS = (
    "id", "source", "source_name", "external_id", "channel", "created_at", "text", "title", "language",
    "language_score", "rating_stars", "rating_nps", "rating_csat", "rating_ces", "author_hash", "thread_id",
    "likes", "shares", "replies", "content_hash", "near_key", "pii", "meta",
)


def feedback_table(rows: list[Feedback]):
    """Feedback rows as one Arrow table (``FEEDBACK_FIELDS``; ``pii`` and ``meta`` as JSON text). Ingest workers
    build it where the rows are mapped, so only Arrow buffers travel to the store's writer."""
    import pyarrow as pa

    def col(name: str) -> list[Any]:
        return [getattr(r, name) for r in rows]

    small, count, text = pa.int8(), pa.int32(), pa.string()
    return pa.table({
        "id": pa.array(col("id"), text), "source": pa.array(col("source"), text),
        "source_name": pa.array(col("source_name"), text), "external_id": pa.array(col("external_id"), text),
        "channel": pa.array(col("channel"), text),
        "created_at": pa.array(col("created_at"), pa.timestamp("us", tz="UTC")),
        "text": pa.array(col("text"), text), "title": pa.array(col("title"), text),
        "language": pa.array(col("language"), text), "language_score": pa.array(col("language_score"), pa.float64()),
        "rating_stars": pa.array(col("rating_stars"), small), "rating_nps": pa.array(col("rating_nps"), small),
        "rating_csat": pa.array(col("rating_csat"), small), "rating_ces": pa.array(col("rating_ces"), small),
        "author_hash": pa.array(col("author_hash"), text), "thread_id": pa.array(col("thread_id"), text),
        "likes": pa.array(col("likes"), count), "shares": pa.array(col("shares"), count),
        "replies": pa.array(col("replies"), count),
        "content_hash": pa.array(col("content_hash"), text), "near_key": pa.array(col("near_key"), text),
        "pii": pa.array([json_text(r.pii) if r.pii else "{}" for r in rows], text),
        "meta": pa.array([json_text(r.meta) if r.meta else "{}" for r in rows], text),
    })

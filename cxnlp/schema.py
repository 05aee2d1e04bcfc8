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


@dataclass(slots=True)
class QuarantineRow:
    """An input row that could not be stored, with the reason and the raw row."""

    key: str  # deterministic: same bad row in the same file -> same key
    source_name: str
    file: str  # file name (no directories: no machine paths in the store)
    row_number: int  # 1-based data row number within the file
    reason: str  # one of QUARANTINE_REASONS
    detail: str
    raw: str

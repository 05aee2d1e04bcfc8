"""Turn one raw input row into a :class:`Feedback` (or a quarantine reason) following a source mapping."""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from cxnlp.config import SourceConfig
from cxnlp.ingest.dedup import content_hash, near_key
from cxnlp.ingest.language import LanguageDetector
from cxnlp.ingest.normalize import normalize_text
from cxnlp.ingest.redact import Redactor
from cxnlp.schema import RATING_RANGES, Feedback


class RowRejected(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


_DATE_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y %H:%M",
    "%d.%m.%y",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%a, %d %b %Y %H:%M:%S %z",
)
_STARS = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(?:/\s*([0-9]+)|von\s+([0-9]+)|sterne?|stars?|★)?\s*$", re.I)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def parse_datetime(value: Any, tz: str, fmt: str | None = None) -> datetime:
    """A tz-aware UTC datetime from ISO strings, German formats, epoch seconds/milliseconds or datetime
    objects. Naive values are read in ``tz``. Raises RowRejected."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowRejected("missing_date", "no creation date")
    dt: datetime | None = None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise RowRejected("unparseable_date", repr(value))
        secs = value / 1000.0 if value > 1e11 else float(value)
        try:
            return datetime.fromtimestamp(secs, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise RowRejected("unparseable_date", repr(value)) from None
    else:
        s = str(value).strip()
        if fmt:
            try:
                dt = datetime.strptime(s, fmt)
            except ValueError:
                dt = None
        if dt is None:
            try:
                dt = datetime.fromisoformat(s)
            except ValueError:
                dt = None
        if dt is None and s.isdigit() and len(s) in (10, 13):
            return parse_datetime(int(s), tz)
        if dt is None:
            for f in _DATE_FORMATS:
                try:
                    dt = datetime.strptime(s, f)
                    break
                except ValueError:
                    continue
        if dt is None:
            raise RowRejected("unparseable_date", s[:80])
    if dt.tzinfo is None:
        try:
            dt = dt.replace(tzinfo=_zone(tz))
        except Exception:
            raise RowRejected("unparseable_date", f"unknown timezone {tz}") from None
    if not (1990 <= dt.year <= 2100):
        raise RowRejected("unparseable_date", f"implausible year {dt.year}")
    return dt.astimezone(timezone.utc)


def parse_rating(value: Any, field: str) -> int | None:
    """An integer on the field's scale, or None when empty. "4", "4,0", "4/5", "4 Sterne", "★★★★☆"."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RowRejected("unparseable_rating", f"{field}={value!r}")
    lo, hi = RATING_RANGES[field]
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise RowRejected("unparseable_rating", f"{field}={value!r}")
        num = float(value)
    else:
        s = str(value).strip()
        if not s:
            return None
        if set(s) <= {"★", "☆", " "} and "★" in s:
            num = float(s.count("★"))
        else:
            m = _STARS.match(s)
            if not m:
                raise RowRejected("unparseable_rating", f"{field}={s[:40]!r}")
            num = float(m.group(1).replace(",", "."))
            scale = m.group(2) or m.group(3)
            if scale and int(scale) != hi:
                if int(scale) <= 0:
                    raise RowRejected("unparseable_rating", f"{field}={s[:40]!r}")
                num = lo + (num / int(scale)) * (hi - lo)
    if num != round(num):
        num = round(num)
    n = int(num)
    if not (lo <= n <= hi):
        raise RowRejected("rating_out_of_range", f"{field}={value!r} not in {lo}..{hi}")
    return n


def parse_count(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        n = int(float(str(value).replace(".", "").replace(",", "."))) if isinstance(value, str) else int(value)
    except (ValueError, OverflowError):
        return None
    return n if 0 <= n <= MAX_COUNT else None


MAX_COUNT = 2**31 - 1  # likes/shares/replies are 32-bit in the store; a bigger "count" is garbage, not a count
MAX_META_DEPTH = 32  # deeper metadata is kept as its JSON text (JSON encoders stop at a few hundred levels)


def _depth(v: Any) -> int:
    """Nesting depth of lists/dicts (iterative: never a RecursionError)."""
    deepest, stack = 0, [(v, 1)]
    while stack:
        x, d = stack.pop()
        if isinstance(x, (list, dict)):
            deepest = max(deepest, d)
            if d > MAX_META_DEPTH:
                break
            stack.extend((y, d + 1) for y in (x.values() if isinstance(x, dict) else x))
    return deepest


def record_id(source_name: str, external_id: str | None, created_at: datetime, text: str, author: str | None) -> str:
    """Deterministic id: from the source's own id when there is one, else from the content."""
    if external_id:
        key = f"{source_name}\x1fext\x1f{external_id}"
    else:
        key = f"{source_name}\x1fcontent\x1f{created_at.isoformat()}\x1f{author or ''}\x1f{text}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def author_key(salt: bytes, author: Any) -> str | None:
    """How an author is stored: a keyed hash (HMAC-SHA256) of the name, trimmed and in lower case; None for none."""
    if author is None:
        return None
    a = str(author).strip().lower()
    if not a:
        return None
    return hmac.new(salt, a.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


QUARANTINE_CHARS = 100_000  # of a rejected row's text (or of each of its values) the quarantine keeps


class RowMapper:
    """Maps raw rows of one source onto the schema. Stateless between rows; cheap to call."""

    def __init__(self, cfg: SourceConfig, *, redactor: Redactor, detector: LanguageDetector,
                 author_salt: str, max_text_chars: int = 20_000, default_timezone: str = "Europe/Berlin",
                 dedup_min_words: int = 6, redact_meta: bool = True, drop_columns: list[str] | None = None,
                 quarantine_raw: str = "redacted"):
        self.cfg = cfg
        self.redactor = redactor
        self.detector = detector
        self.salt = author_salt.encode("utf-8")
        self.max_chars = max_text_chars
        self.tz = cfg.timezone or default_timezone
        self.min_words = dedup_min_words
        self.redact_meta = redact_meta
        self.omit_quarantined = quarantine_raw == "omit"  # ingest.quarantine_raw: keep no text of a rejected row
        self.mapped_cols = set(cfg.columns.values())
        self.drop = set(drop_columns or ())
        self._skip_meta = self.mapped_cols | self.drop  # input columns that never go into meta
        self._columns = tuple(cfg.columns.items())  # (schema field, input column)
        self._ratings = tuple(f for f in RATING_RANGES if f in cfg.columns)

    def quarantine_view(self, fields: dict[str, Any] | None, raw: str,
                        cells: tuple[list[str], list[str], str] | None = None) -> str:
        """What the quarantine keeps of a rejected row, with nothing personal in it. A row that was parsed:
        its fields as a JSON object, the author column replaced by ``[AUTHOR]``, ``drop_columns`` left out and
        every other text value through the redactor (also a row refused for bad bytes whose fields could be
        split: the reader's ``partial``). A row that could not be parsed: the raw text through the redactor (an
        author name in it is only caught where a rule finds it: ``ingest.quarantine_raw: omit`` keeps no row
        text at all, and this returns ""). ``cells``: a CSV row with too many fields (see :meth:`aligned`)."""
        if self.omit_quarantined:
            return ""
        if fields is None and cells is not None:
            fields = self.aligned(*cells)
        if fields is None:
            return self._redacted(raw)
        try:
            return self._fields_view(fields)
        except (ValueError, TypeError, RecursionError):  # a value json cannot write: the raw text, redacted
            return self._redacted(raw)

    def aligned(self, header: list[str], cells: list[str], delim: str) -> dict[str, Any] | None:
        """A CSV row with more fields than its header, told apart where only the free-text columns (the mapped
        text and title) can have taken the extra delimiters: the columns before them from the left, those after
        them from the right, the rest joined back (under the names of the columns it spans, joined by "|").
        None when the source maps no text column, or the author column lies among the free-text ones."""
        free = [header.index(c) for c in (self.cfg.columns.get("text"), self.cfg.columns.get("title"))
                if c is not None and c in header]
        extra = len(cells) - len(header)
        if not free or extra <= 0 or self.cfg.columns.get("text") not in header:
            return None
        lo, hi = min(free), max(free)
        author = self.cfg.columns.get("author")
        if author in header[lo:hi + 1]:
            return None
        out = dict(zip(header[:lo], cells[:lo]))
        out["|".join(header[lo:hi + 1])] = delim.join(cells[lo:hi + extra + 1])
        out.update(zip(header[hi + 1:], cells[hi + extra + 1:]))
        return out

    def _redacted(self, value: str) -> str:
        """A text for the quarantine: at most QUARANTINE_CHARS (cut at a space, so no e-mail address or number is
        cut in half and missed), redacted."""
        if len(value) > QUARANTINE_CHARS:
            cut = value[:QUARANTINE_CHARS]
            value = cut[:cut.rfind(" ")] if " " in cut else ""
        return self.redactor.redact(value)[0]

    def _fields_view(self, fields: dict[str, Any]) -> str:
        author_col = self.cfg.columns.get("author")
        shown: dict[str, Any] = {}
        for k, v in fields.items():
            if k in self.drop:
                continue
            if k == author_col and v not in (None, ""):
                shown[k] = "[AUTHOR]"
            elif isinstance(v, str):
                shown[k] = self._redacted(v)
            elif isinstance(v, (dict, list)):
                shown[k] = self._redacted(json.dumps(v, ensure_ascii=False, default=str))
            elif isinstance(v, (int, float, bool)) or v is None:
                shown[k] = v
            else:  # datetime, Decimal ... from Parquet
                shown[k] = self._redacted(str(v))
        return json.dumps(shown, ensure_ascii=False)

    def author_hash(self, author: Any) -> str | None:
        return author_key(self.salt, author)

    def values(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The mapped input values by schema field (strings stripped, empty ones None); unmapped fields absent."""
        out: dict[str, Any] = {}
        get = fields.get
        for target, col in self._columns:
            v = get(col)
            if isinstance(v, str):
                v = v.strip() or None
            out[target] = v
        return out

    def map(self, fields: dict[str, Any]) -> Feedback:
        cfg = self.cfg
        val = self.values(fields)
        get = val.get
        raw_text = get("text")
        if raw_text is None:
            raise RowRejected("empty_text", "no text")
        if not isinstance(raw_text, str):
            raw_text = str(raw_text)
        if len(raw_text) > self.max_chars * 4:  # do not even normalise giant fields
            raise RowRejected("oversize_text", f"{len(raw_text)} characters > {self.max_chars}")
        text = normalize_text(raw_text)
        if not text:
            raise RowRejected("empty_text", "nothing left after removing markup and whitespace")
        if len(text) > self.max_chars:
            raise RowRejected("oversize_text", f"{len(text)} characters > {self.max_chars}")
        created_at = parse_datetime(get("created_at"), self.tz, cfg.date_format)
        ratings = {f: parse_rating(get(f), f) for f in self._ratings}
        ext = get("id")
        if "id" in cfg.columns and ext is None:
            raise RowRejected("missing_id", f"column {cfg.columns['id']!r} is empty")
        ext_id = None if ext is None else str(ext)
        author = get("author")
        author_h = self.author_hash(author)
        text, pii = self.redactor.redact(text)
        title = get("title")
        if title is not None:
            title = normalize_text(str(title)) or None
            if title:
                title, tpii = self.redactor.redact(title)
                for k, v in tpii.items():
                    pii[k] = pii.get(k, 0) + v
        rid = record_id(cfg.name, ext_id, created_at, text, author_h)
        lang, lscore = self.detector.detect(text)
        channel = get("channel")
        channel = str(channel).strip().lower() if channel is not None else cfg.channel
        thread = get("thread_id")
        meta: dict[str, Any] = {}
        skip = self._skip_meta
        for k, v in fields.items():
            if v is None or v == "" or k in skip:
                continue
            if isinstance(v, str):
                # a value of letters only holds no PII a rule could find (each needs a digit, '@', a space or
                # punctuation): "review", "android", "Berlin" skip the redactor
                if self.redact_meta and not v.isalpha():
                    v, _ = self.redactor.redact(v)
            elif isinstance(v, datetime):
                v = v.isoformat()
            elif not isinstance(v, (int, float, bool, str)):
                v = json.loads(json.dumps(v, default=str))
                if _depth(v) > MAX_META_DEPTH:
                    v = json.dumps(v, ensure_ascii=False)
            meta[k] = v
        declared = get("language")
        if declared:
            meta["declared_language"] = str(declared)
        return Feedback(
            id=rid,
            source=cfg.source,
            source_name=cfg.name,
            created_at=created_at,
            text=text,
            external_id=ext_id,
            channel=channel,
            title=title,
            language=lang,
            language_score=lscore,
            author_hash=author_h,
            thread_id=None if thread is None else str(thread),
            likes=parse_count(get("likes")),
            shares=parse_count(get("shares")),
            replies=parse_count(get("replies")),
            content_hash=content_hash(text),
            near_key=near_key(text, cfg.source, author_h, rid, self.min_words),
            pii=pii,
            meta=meta,
            **ratings,
        )

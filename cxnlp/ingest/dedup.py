"""De-duplication keys.

* ``content_hash`` — the normalised text itself: an exact repeat.
* ``near_key`` — a canonical form that ignores what reposts and copy-paste templates change: case,
  a leading "RT @handle:", @handles, URLs, redaction placeholders, punctuation, digits, whitespace.

Short texts ("Top!", "Alles super") are written independently by many customers, so they only count as
duplicates of each other when the author is the same; the key then includes the author hash (or the
record's own id when there is no author, which makes it unique). Keys are scoped per source type.
"""
from __future__ import annotations

import hashlib
import re

_RT = re.compile(r"^\s*(?:rt|repost|via)\s*(?:@\w+|\[handle\])\s*:?\s*", re.I)
_URL = re.compile(r"https?://\S+|www\.\S+", re.I)
_HANDLE = re.compile(r"@\w+")
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")


def _h(s: str) -> str:
    return hashlib.blake2b(s.encode("utf-8"), digest_size=16).hexdigest()


def content_hash(text: str) -> str:
    """The text itself, less a leading repost marker: a retweet is an exact repeat of its original."""
    return _h(_RT.sub("", text, count=1).strip())


_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|\[[A-Z_]+\]", re.I)


_LETTER_RUN = re.compile(r"[^\W\d_]+", re.U)  # letters only: punctuation, digits and '_' separate words


def canonical(text: str) -> str:
    """Lower-case letter runs joined by single spaces, without repost marker, URLs, handles and placeholders."""
    t = _RT.sub("", text, count=1)
    low = t.lower()
    if "@" in low or "[" in low or "http" in low or "www" in low:  # only then can _NOISE match
        low = _NOISE.sub(" ", t).lower()
    return " ".join(_LETTER_RUN.findall(low))


def near_key(text: str, source: str, author_hash: str | None, record_id: str, min_words: int = 6) -> str:
    canon = canonical(text)
    if canon and canon.count(" ") + 1 >= min_words:
        return _h(f"{source}\x1f{canon}")
    return _h(f"{source}\x1f{author_hash or 'id:' + record_id}\x1f{canon}")

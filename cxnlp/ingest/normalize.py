"""Text normalisation: Unicode NFC, markup stripped, entities decoded, whitespace tidied, emoji kept."""
from __future__ import annotations

import html
import re
import unicodedata

# A tag starts with a letter, '/' or '!' right after '<' — so "<3" (a heart) and "a < b" survive.
_TAG = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?|!--.*?--|![A-Za-z][^<>]*)>", re.S)
_BREAK_TAG = re.compile(r"<\s*(?:br|/p|p|/div|div|li|/li|tr|/tr|h[1-6]|/h[1-6])\b[^<>]*>", re.I)
_CTRL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u2028\u2029\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*(?:\n\s*)+")
# characters that need the full tidy-up: control characters (line breaks aside), tabs, odd spaces and marks.
# A text without them can only be untidy through runs of plain spaces, line breaks and its edges.
_ODD = re.compile("[\x00-\x09\x0b-\x1f\x7f\u00a0\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]")
_RUN = re.compile(" {2,}")


def normalize_text(text: str) -> str:
    """Return the cleaned text. Pure function; the empty string when nothing is left."""
    if not text:
        return ""
    if "<" in text:
        text = _BREAK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
        if "<" in text:  # markup that was entity-encoded (&lt;b&gt;)
            text = _TAG.sub(" ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if _ODD.search(text):
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = _CTRL.sub("", text)
        text = _SPACES.sub(" ", text)
    elif "  " in text:  # without odd characters only runs of plain spaces need collapsing (a third of the time)
        text = _RUN.sub(" ", text)
    if "\n" not in text:  # one line: nothing for the line steps to do but strip it
        return text.strip()
    text = _NEWLINES.sub("\n\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()

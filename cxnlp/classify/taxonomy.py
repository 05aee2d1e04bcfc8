"""The taxonomy (configs/taxonomy.yaml): label sets and cue patterns, compiled once."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxnlp.config import ConfigError, find_root

MULTI_LABEL_GROUPS = ("facets", "touchpoints", "emotions")
_CANDIDATE = re.compile(r"(?<!\w)\S|(?<=\w)[^\w\s]")
SINGLE_LABEL_GROUPS = ("phases",)


@dataclass(frozen=True, slots=True)
class CueHit:
    group: str  # facets | touchpoints | phases | emotions | sustainability | erlebnis | erfahrung | churn
    label: str
    start: int
    end: int
    text: str


@dataclass
class Taxonomy:
    facets: list[str]
    touchpoints: list[str]
    phases: list[str]
    emotions: list[str]
    touchpoint_class: dict[str, dict[str, Any]] = field(default_factory=dict)
    _cue_parts: list[tuple[str, str, list[str]]] = field(default_factory=list, repr=False)  # compiled cue texts
    _group_patterns: list[tuple] = field(default_factory=list, repr=False)

    def labels(self, group: str) -> list[str]:
        return list(getattr(self, group))

    def cues(self, text: str) -> list[CueHit]:
        """Every cue match. One regex pass per group: a group's labels are named alternatives of one pattern
        (where two labels of the same group match at one position, the first listed wins)."""
        hits: list[CueHit] = []
        # cues begin at a word start or at a symbol (emoji, '!', '#', '<'): trying only those positions is
        # many times faster than scanning every character with hundreds of alternatives
        starts = [m.start() for m in _CANDIDATE.finditer(text)]
        if not starts:
            return hits
        keys = [_dispatch_key(text[p]) for p in starts]
        for group, labels, full, by_char, any_start in self._group_patterns:
            end = -1
            for pos, key in zip(starts, keys):
                if pos < end:
                    continue
                # only the alternatives that can begin with this character: the same first match as the full
                # alternation (the others cannot match here), at a fraction of the cost
                pat = full if key is None else by_char.get(key, any_start)
                if pat is None:
                    continue
                m = pat.match(text, pos)
                if m and m.end() > pos:
                    hits.append(CueHit(group, labels[int(m.lastgroup[1:])], pos, m.end(), m.group(0)))
                    end = m.end()
        return hits

    def _build_group_patterns(self) -> None:
        by_group: dict[str, list[tuple[str, list[str]]]] = {}
        for g, label, parts in self._cue_parts:
            by_group.setdefault(g, []).append((label, parts))
        self._group_patterns = []
        for g, items in by_group.items():
            labels = [lbl for lbl, _ in items]

            def alternation(keep) -> re.Pattern | None:
                alts = [f"(?P<g{i}>{'|'.join(f'(?:{p})' for p in ps)})"
                        for i, (_, parts) in enumerate(items) if (ps := [p for p in parts if keep(p)])]
                return re.compile("|".join(alts), re.I | re.U) if alts else None

            first = {p: _first_char(p) for _, parts in items for p in parts}
            full = alternation(lambda p: True)
            chars = {c for c in first.values() if c is not None}
            by_char = {c: alternation(lambda p, c=c: first[p] in (c, None)) for c in chars}
            any_start = alternation(lambda p: first[p] is None)
            self._group_patterns.append((g, labels, full, by_char, any_start))

    @property
    def cue_keys(self) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for g, label, _ in self._cue_parts:
            seen[(g, label)] = None
        return list(seen)


def _compile(cues: list[str]) -> list[str]:
    """Each cue as a regex text: literal cues escaped, cues that begin with a word character anchored at a
    word start."""
    parts = []
    for c in cues:
        c = str(c)
        starts_word = c[:1].isalnum() or c.startswith("\\w") or c.startswith("\\[")
        parts.append((r"(?<!\w)" if starts_word else "") + (c if _is_regex(c) else re.escape(c)))
    return parts


# characters whose case-insensitive matches are exactly themselves and their lower/upper case: positions that
# start with any other character (ß, Kelvin sign, Turkish İ, ...) are tried against the full pattern
_SAFE = set("abcdefghijklmnopqrstuvwxyz0123456789äöü!#<[?@:;()-_+*/&%$")


def _dispatch_key(ch: str) -> str | None:
    c = ch.lower()
    if c in _SAFE:
        return c
    return ch if not ch.isalpha() and len(ch.encode("utf-8")) > 1 else None  # emoji: themselves


def _first_char(part: str) -> str | None:
    """The character every match of this cue regex begins with (lower case), or None when it can vary."""
    p = part[len("(?<!\\w)"):] if part.startswith("(?<!\\w)") else part
    if not p or re.search(r"(?<!\\)\|", p):  # empty, or a regex with alternatives of its own
        return None
    if p[0] == "\\":
        if len(p) < 2 or p[1].isalnum():  # \w, \b, \d ...: a class, not a literal
            return None
        ch, rest = p[1], p[2:]
    elif p[0] in "([.^$|?*+{":
        return None
    else:
        ch, rest = p[0], p[1:]
    if rest[:1] in ("?", "*", "|") or rest.startswith("{0"):
        return None
    key = _dispatch_key(ch)
    return key if key is not None and key == _dispatch_key(ch.upper()) else None


def _is_regex(c: str) -> bool:
    return any(x in c for x in ("\\w", "\\b", "\\.", "\\[", "{2,}", "\\?", "\\#"))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    p = Path(path) if path else find_root() / "configs" / "taxonomy.yaml"
    if not p.is_file():
        raise ConfigError(f"taxonomy file {p.name} not found; it lives in configs/taxonomy.yaml")
    d = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    tax = Taxonomy(facets=list(d.get("facets", {})), touchpoints=list(d.get("touchpoints", {})),
                   phases=list(d.get("phases", {})), emotions=list(d.get("emotions", {})))
    pats: list[tuple[str, str, list[str]]] = []
    for group in ("facets", "touchpoints", "phases", "emotions"):
        for label, spec in (d.get(group) or {}).items():
            spec = spec or {}
            if spec.get("cues"):
                pats.append((group, label, _compile(spec["cues"])))
            if group == "touchpoints":
                tax.touchpoint_class[label] = dict(spec.get("class") or {})
    if d.get("sustainability", {}).get("cues"):
        pats.append(("sustainability", "Nachhaltigkeit", _compile(d["sustainability"]["cues"])))
    for kind, cues in (d.get("experience_cues") or {}).items():
        pats.append((kind, kind, _compile(cues)))
    if d.get("churn_cues"):
        pats.append(("churn", "churn", _compile(d["churn_cues"])))
    tax._cue_parts = pats
    tax._build_group_patterns()
    return tax

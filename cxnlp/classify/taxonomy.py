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
    _dispatch: tuple = field(default_factory=tuple, repr=False)

    def labels(self, group: str) -> list[str]:
        return list(getattr(self, group))

    def cues(self, text: str) -> list[CueHit]:
        """Every cue match, group by group (in taxonomy order), then by position. A group's labels are named
        alternatives of one pattern (where two labels of the same group match at one position, the first listed
        wins); matches of one group do not overlap, matches of different groups may."""
        hits: list[CueHit] = []
        # cues begin at a word start or at a symbol (emoji, '!', '#', '<'): trying only those positions is
        # many times faster than scanning every character with hundreds of alternatives
        starts = [m.start() for m in _CANDIDATE.finditer(text)]
        if not starts:
            return hits
        n = len(text)
        keys = [_dispatch_key(text[p]) for p in starts]
        # the first two characters, where both dispatch safely: most word starts begin no cue of any group, and
        # one dictionary lookup per position rules them out (or names the few groups to try) without a regex
        pairs = [k + k2 if k is not None and p + 1 < n and (k2 := _dispatch_key(text[p + 1])) is not None else None
                 for p, k in zip(starts, keys)]
        by_pair, by_first, by_char, any_start, full = self._dispatch
        ends = [-1] * len(self._group_patterns)  # within a group, matches do not overlap
        found: list[tuple[int, int, CueHit]] = []
        for pos, key, pair in zip(starts, keys, pairs):
            # per group, only the alternatives that can begin with these characters: the same first match as the
            # group's full alternation (the others cannot match here), at a fraction of the cost
            if key is None:
                cands = full
            elif pair is not None:
                cands = by_pair.get(pair)
                if cands is None:
                    cands = by_first.get(key, any_start)
            else:
                cands = by_char.get(key, any_start)
            for gi, group, labels, pat in cands:
                if pos < ends[gi]:
                    continue
                m = pat.match(text, pos)
                if m and m.end() > pos:
                    found.append((gi, pos, CueHit(group, labels[int(m.lastgroup[1:])], pos, m.end(), m.group(0))))
                    ends[gi] = m.end()
        if found:
            found.sort(key=lambda x: (x[0], x[1]))  # group by group (taxonomy order), then by position
            hits = [h for _, _, h in found]
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
            two = {p: _first_two(p) for _, parts in items for p in parts}
            full = alternation(lambda p: True)
            chars = {c for c in first.values() if c is not None}
            by_char = {c: alternation(lambda p, c=c: first[p] in (c, None)) for c in chars}
            any_start = alternation(lambda p: first[p] is None)
            # a position whose first two characters are ``ab``: the cues that begin with ``ab``, those whose
            # second character can vary after ``a``, and those whose first can vary; ``pair_default[a]``: the
            # latter two, for pairs no cue begins with (None: nothing can match there)
            by_pair = {t: alternation(lambda p, t=t: two[p] == t or (two[p] is None and first[p] in (t[0], None)))
                       for t in {t for t in two.values() if t is not None}}
            pair_default = {c: alternation(lambda p, c=c: two[p] is None and first[p] in (c, None)) for c in chars}
            self._group_patterns.append((g, labels, full, by_char, any_start, by_pair, pair_default))
        self._build_dispatch()

    def _build_dispatch(self) -> None:
        """Per dispatch key, the (group index, group, labels, pattern) to try at a position, across groups:
        ``by_pair`` for a two-character key some cue begins with, ``by_first`` for other pairs (by their first
        character), ``by_char`` where only the first character dispatches, ``any_start`` for a first character
        no cue begins with, ``full`` where the first character does not dispatch safely."""
        gp = list(enumerate(self._group_patterns))

        def table(pick) -> list[tuple[int, str, list[str], re.Pattern]]:
            return [(gi, g, labels, pat) for gi, (g, labels, *rest) in gp if (pat := pick(*rest)) is not None]

        pairs = {t for *_, by_pair, _ in self._group_patterns for t in by_pair}
        chars = {c for *_, by_char, _, _, _ in self._group_patterns for c in by_char}
        self._dispatch = (
            {t: table(lambda full, by_char, any_start, by_pair, pair_default, t=t:
                      by_pair.get(t) or pair_default.get(t[0], any_start)) for t in pairs},
            {c: table(lambda full, by_char, any_start, by_pair, pair_default, c=c: pair_default.get(c, any_start))
             for c in chars},
            {c: table(lambda full, by_char, any_start, by_pair, pair_default, c=c: by_char.get(c, any_start))
             for c in chars},
            table(lambda full, by_char, any_start, by_pair, pair_default: any_start),
            table(lambda full, by_char, any_start, by_pair, pair_default: full))

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


def _first_two(part: str) -> str | None:
    """The two characters every match of this cue regex begins with (lower case, each dispatching as itself
    like :func:`_first_char`'s), or None when the second can vary."""
    first = _first_char(part)
    if first is None:
        return None
    p = part[len("(?<!\\w)"):] if part.startswith("(?<!\\w)") else part
    rest = p[2:] if p[0] == "\\" else p[1:]
    if not rest or rest[0] in "+{":  # the first character repeats: the second may be it again
        return None
    if rest[0] == "\\":
        if len(rest) < 2 or rest[1].isalnum():
            return None
        ch, after = rest[1], rest[2:]
    elif rest[0] in "([.^$|?*+{)":
        return None
    else:
        ch, after = rest[0], rest[1:]
    if after[:1] in ("?", "*", "|") or after.startswith("{0"):
        return None
    key = _dispatch_key(ch)
    return first + key if key is not None and key == _dispatch_key(ch.upper()) and len(key) == 1 else None


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

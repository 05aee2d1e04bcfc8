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
    _patterns: list[tuple[str, str, re.Pattern]] = field(default_factory=list, repr=False)
    _group_patterns: list[tuple[str, list[str], re.Pattern]] = field(default_factory=list, repr=False)

    def labels(self, group: str) -> list[str]:
        return list(getattr(self, group))

    def cues(self, text: str) -> list[CueHit]:
        """Every cue match. One regex pass per group: a group's labels are named alternatives of one pattern
        (where two labels of the same group match at one position, the first listed wins)."""
        hits: list[CueHit] = []
        # cues begin at a word start or at a symbol (emoji, '!', '#', '<'): trying only those positions is
        # many times faster than scanning every character with hundreds of alternatives
        starts = [m.start() for m in _CANDIDATE.finditer(text)]
        for group, labels, pat in self._group_patterns:
            end = -1
            for pos in starts:
                if pos < end:
                    continue
                m = pat.match(text, pos)
                if m and m.end() > pos:
                    hits.append(CueHit(group, labels[int(m.lastgroup[1:])], pos, m.end(), m.group(0)))
                    end = m.end()
        return hits

    def _build_group_patterns(self) -> None:
        by_group: dict[str, list[tuple[str, re.Pattern]]] = {}
        for g, label, pat in self._patterns:
            by_group.setdefault(g, []).append((label, pat))
        self._group_patterns = []
        for g, items in by_group.items():
            labels = [lbl for lbl, _ in items]
            big = "|".join(f"(?P<g{i}>{pat.pattern})" for i, (_, pat) in enumerate(items))
            self._group_patterns.append((g, labels, re.compile(big, re.I | re.U)))

    @property
    def cue_keys(self) -> list[tuple[str, str]]:
        seen: dict[tuple[str, str], None] = {}
        for g, label, _ in self._patterns:
            seen[(g, label)] = None
        return list(seen)


def _compile(cues: list[str]) -> re.Pattern:
    parts = []
    for c in cues:
        c = str(c)
        starts_word = c[:1].isalnum() or c.startswith("\\w") or c.startswith("\\[")
        parts.append((r"(?<!\w)" if starts_word else "") + (c if _is_regex(c) else re.escape(c)))
    return re.compile("|".join(f"(?:{p})" for p in parts), re.I | re.U)


def _is_regex(c: str) -> bool:
    return any(x in c for x in ("\\w", "\\b", "\\.", "\\[", "{2,}", "\\?", "\\#"))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    p = Path(path) if path else find_root() / "configs" / "taxonomy.yaml"
    if not p.is_file():
        raise ConfigError(f"taxonomy file {p.name} not found; it lives in configs/taxonomy.yaml")
    d = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    tax = Taxonomy(facets=list(d.get("facets", {})), touchpoints=list(d.get("touchpoints", {})),
                   phases=list(d.get("phases", {})), emotions=list(d.get("emotions", {})))
    pats: list[tuple[str, str, re.Pattern]] = []
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
    tax._patterns = pats
    tax._build_group_patterns()
    return tax

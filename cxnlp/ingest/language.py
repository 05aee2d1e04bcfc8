"""Offline language identification (py3langid: a naive Bayes model that ships inside its wheel).

German is the focus: other languages are kept and flagged, never dropped. Very short or low-confidence
texts get the configured default language with their (low) score, so analysts can filter on it.
"""
from __future__ import annotations

import re
from functools import lru_cache

_LETTERS = re.compile(r"[^\W\d_]", re.U)
# Frequent German function words: a text with several of them is German even when short. The second line
# holds words that are German only (no Dutch, Danish or English word of the same spelling: not "alles",
# "gerne", "viel", "werden"); with them about a third fewer German texts need the slower n-gram model.
_DE_WORDS = frozenset(
    "und der die das nicht ist ich ein eine mit auf für von zu den dem es sie wir war sehr auch "
    "aber noch nur schon mal bei nach wie kein keine mein meine bin habe hat wurde immer total echt "
    "leider super gut schlecht dass weil wenn oder man hier dann sind hatte haben wird kann im am vom zum "
    "sich mir mich dich dir uns euch ihm ihn ihre ihr nichts wieder jetzt heute gestern einen einem einer eines "
    "diese dieser dieses diesen geht gibt über danke bitte ganz wirklich etwas mehr warum wieso doch nein hab "
    "muss soll sollte konnte könnte würde wäre gekauft bestellt".split()
)


_WORD = re.compile(r"\w+")  # a function word counts where it is a whole \w-run (same as \b-anchored alternation)


def german_word_hits(low: str) -> int:
    """How many words of the lower-cased text are frequent German function words."""
    de = _DE_WORDS
    return sum(1 for w in _WORD.findall(low) if w in de)


@lru_cache(maxsize=4)
def _identifier(candidates: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(candidates))
    return ident


class LanguageDetector:
    def __init__(self, candidates: list[str] | tuple[str, ...] = ("de", "en", "fr", "it", "es", "nl", "tr", "pl"),
                 default: str = "de", min_confidence: float = 0.55, min_letters: int = 12):
        self.candidates = tuple(candidates)
        self.default = default
        self.min_confidence = min_confidence
        self.min_letters = min_letters

    def detect(self, text: str) -> tuple[str, float]:
        """(ISO 639-1 code, confidence 0..1); ("und", 0.0) when the text has no letters."""
        head = text[:600]
        if not _LETTERS.search(head):
            return "und", 0.0
        low = head.lower()
        de_hits = german_word_hits(low)
        ratio = de_hits / max(1, low.count(" ") + 1)
        if "de" in self.candidates and de_hits >= 4 and ratio >= 0.25:
            # unmistakably German (many function words): skip the n-gram model, the slowest part of ingest
            return "de", round(min(0.99, 0.7 + ratio / 2), 4)
        if "de" in self.candidates and self.default == "de" and de_hits >= 2 and ratio >= 0.2:
            # the model's answer could not change the outcome: below, such a text is German whatever it says
            return "de", round(min(0.99, 0.6 + ratio / 2), 4)
        lang, prob = _identifier(self.candidates).classify(head)
        prob = float(prob)
        if lang != "de" and self.default == "de" and de_hits >= 2 and ratio >= 0.2:
            return "de", max(round(prob, 4), 0.6)
        if prob < self.min_confidence or len(_LETTERS.findall(head[:80])) < self.min_letters:
            return self.default, round(min(prob, self.min_confidence), 4)
        return lang, round(prob, 4)

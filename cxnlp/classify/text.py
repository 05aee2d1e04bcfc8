"""German text analysis with spaCy: tokens, sentences and character offsets (works offline).

spaCy's trained German pipelines are not on PyPI (the `de-core-news-*` names there are placeholders), so the
default is ``spacy.blank("de")`` — spaCy's German tokenizer rules — plus a rule-based sentencizer that also
splits on line breaks and emoji runs common in reviews and posts. A user with a trained pipeline installed
can name it in configs/models.yaml (``spacy_model``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import spacy
from spacy.attrs import IDX, IS_PUNCT, LENGTH, ORTH
from spacy.language import Language


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    start: int  # character offsets into the document text
    end: int


_PUNCT_CHARS = [".", "!", "?", "…", "!!", "?!", "!?", "...", "。"]
_PUNCT_SET = "".join(sorted(set("".join(_PUNCT_CHARS))))
_INNER_PUNCT = re.compile("[" + re.escape(_PUNCT_SET) + "]")


@lru_cache(maxsize=4)
def nlp(model: str = "blank:de") -> Language:
    if model.startswith("blank:"):
        pipe = spacy.blank(model.split(":", 1)[1])
    else:
        pipe = spacy.load(model, exclude=["ner", "parser"])
    if "sentencizer" not in pipe.pipe_names and "senter" not in pipe.pipe_names:
        pipe.add_pipe("sentencizer", config={"punct_chars": _PUNCT_CHARS})
    return pipe


_LINEBREAK = re.compile(r"\n+")
_ALNUM = re.compile(r"[^\W_]")  # a letter or digit (str.isalnum)


def split_sentences(text: str, model: str = "blank:de") -> list[Sentence]:
    """Sentences with offsets. Line breaks always end a sentence (lists, signatures, chat lines)."""
    return split_sentences_batch([text], model)[0]


def split_sentences_batch(texts: list[str], model: str = "blank:de") -> list[list[Sentence]]:
    """``split_sentences`` for many texts at once (spaCy's ``pipe``: one call for all their lines)."""
    parts: list[tuple[int, int, str]] = []  # (text index, offset of the line, line)
    for ti, text in enumerate(texts):
        pos = 0
        for part in _LINEBREAK.split(text):
            start = text.find(part, pos) if part else pos
            pos = start + len(part)
            if part.strip():
                parts.append((ti, start, part))
    out: list[list[Sentence]] = [[] for _ in texts]
    # a line with no sentence punctuation before its end is one sentence: spaCy's sentencizer only cuts after
    # such a mark, so skipping it there gives the same sentences at a fraction of the cost
    parse = []
    for ti, start, part in parts:
        if _INNER_PUNCT.search(part.rstrip().rstrip(_PUNCT_SET)):
            parse.append((ti, start, part))
        else:
            out[ti].append(_stripped(part, start))
    pipe = nlp(model)
    lines = [p for _, _, p in parse]
    if pipe.pipe_names == ["sentencizer"]:  # the default: spaCy's tokenizer, then the sentencizer's rule on its arrays
        punct = _punct_hashes(pipe)
        for (ti, start, line), doc in zip(parse, pipe.tokenizer.pipe(lines, batch_size=512)):
            for a, b in _rule_spans(doc, punct):
                if line[a:b].strip():
                    out[ti].append(_stripped(line[a:b], start + a))
    else:  # a configured trained pipeline: its own sentence boundaries
        for (ti, start, _), doc in zip(parse, pipe.pipe(lines, batch_size=512)):
            for s in doc.sents:
                if s.text.strip():
                    out[ti].append(_stripped(s.text, start + s.start_char))
    return [_merge_fragments(sorted(ss, key=lambda x: x.start) if len(ss) > 1 else ss, t)
            for ss, t in zip(out, texts)]


def _punct_hashes(pipe: Language) -> frozenset:
    """The hashes of the sentencizer's sentence marks, as ``Doc.to_array(ORTH)`` gives token texts."""
    return frozenset(pipe.vocab.strings.add(c) for c in pipe.get_pipe("sentencizer").punct_chars)


def _rule_spans(doc, punct: frozenset) -> list[tuple[int, int]]:
    """The character spans spaCy's sentencizer makes of a tokenised line, without building Token objects.
    Its rule: after a sentence mark (one of ``punct_chars``), the next token that is neither punctuation nor
    a mark starts a sentence; the first token starts one too."""
    if not len(doc):
        return []
    rows = doc.to_array([IDX, LENGTH, IS_PUNCT, ORTH]).tolist()
    spans = []
    start = 0
    seen = False
    for i, (_, _, is_punct, orth) in enumerate(rows):
        if orth in punct:
            seen = True
        elif seen and not is_punct:
            spans.append((rows[start][0], rows[i - 1][0] + rows[i - 1][1]))
            start, seen = i, False
    spans.append((rows[start][0], rows[-1][0] + rows[-1][1]))
    return spans


def _stripped(piece: str, at: int) -> Sentence:
    """``piece`` (which begins at offset ``at`` of its text) without surrounding whitespace, as a Sentence."""
    st = piece.strip()
    off = at + len(piece) - len(piece.lstrip())
    return Sentence(st, off, off + len(st))


def _merge_fragments(sents: list[Sentence], text: str) -> list[Sentence]:
    """Glue emoji-only or punctuation-only fragments to the sentence before them."""
    merged: list[Sentence] = []
    for s in sents:
        if merged and not _ALNUM.search(s.text):
            prev = merged[-1]
            merged[-1] = Sentence(text[prev.start:s.end], prev.start, s.end)
        else:
            merged.append(s)
    return merged

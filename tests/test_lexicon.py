"""The teacher's word lexicon as dense features of the fast model: its eight figures per text, the words it keeps,
and its files in a model directory."""
import numpy as np
import pytest

from cxnlp.classify.lexicon import LEXICON_NAMES, WordLexicon, lexicon_vocabulary


def lex():
    # p(negative), p(positive) per word
    return WordLexicon(["streik", "zug", "pünktlich", "größte"], [[0.9, 0.05], [0.1, 0.2], [0.05, 0.8], [0.3, 0.6]])


def test_features_summarise_the_known_words_of_a_text():
    got = lex().features(["Streik! Der ZUG war nicht pünktlich, so ein Streik.", "Nichts davon hier.", "", None])
    assert got.shape == (4, len(LEXICON_NAMES)) and got.dtype == np.float32
    neg, pos = [0.9, 0.1, 0.05, 0.9], [0.05, 0.2, 0.8, 0.05]  # Streik, ZUG, pünktlich, Streik: each occurrence counts
    want = [np.mean(neg), np.mean(pos), 0.9, 0.8, 0.5, 0.25, 0.9, (0.8 + 0.2) / 2]
    assert np.allclose(got[0], want, atol=1e-3), dict(zip(LEXICON_NAMES, got[0]))
    assert not got[1:].any()  # no known word, an empty text and a missing one: zeros


def test_one_known_word_is_its_own_mean_max_and_top_two():
    got = lex().features(["die größte Freude"])[0]
    assert np.allclose(got, [0.3, 0.6, 0.3, 0.6, 0.0, 1.0, 0.3, 0.6], atol=1e-3)


def _summary(neg: list[float], pos: list[float]) -> list[float]:
    """One text's eight figures from its hits' values by a plain loop (the reference): mean, max, share above
    0.5, mean of the two largest, each for p(negative) then p(positive)."""
    out = []
    for stat in (lambda v: sum(v) / len(v), max, lambda v: sum(x > 0.5 for x in v) / len(v),
                 lambda v: sum(sorted(v)[-2:]) / min(2, len(v))):
        out += [stat(neg), stat(pos)]
    return out


def test_batch_summaries_equal_the_per_text_summary():
    from cxnlp.classify.lexicon import _summaries

    rng = np.random.default_rng(5)
    n = 300
    counts = rng.integers(0, 6, n)  # texts without a hit, with one, with ties and repeats
    rows = np.repeat(np.arange(n), counts)
    vals = rng.choice(np.linspace(0, 1, 21), size=(len(rows), 2)).astype(np.float16).astype(np.float64)
    got = _summaries(rows, vals, n)
    for r in range(n):
        v = vals[rows == r]
        want = _summary(v[:, 0].tolist(), v[:, 1].tolist()) if len(v) else [0.0] * len(LEXICON_NAMES)
        assert got[r].tolist() == want, r


def test_vocabulary_keeps_words_seen_often_enough_in_their_usual_spelling():
    texts = ["Der Streik nervt.", "Streik schon wieder!", "STREIK", "Zug fällt aus", "zug", "ab 7 Uhr"]
    words, spelled = lexicon_vocabulary(texts, min_count=2)
    assert words == ["streik", "zug"]  # "der", "nervt", "fällt" ... once; "ab" and "7" are no words (under 3 letters)
    assert spelled == ["Streik", "Zug"]  # the most frequent form (a tie keeps the first seen)
    assert lexicon_vocabulary(texts, min_count=3) == (["streik"], ["Streik"])


@pytest.mark.parametrize("words,values,match", [
    (["a", "b"], [[0.1, 0.2]], "shape"),
    (["a"], [[1.5, 0.0]], "probabilities"),
    (["a", "A"], [[0.1, 0.2], [0.3, 0.4]], "twice"),
])
def test_bad_lexicons_are_refused(words, values, match):
    with pytest.raises(ValueError, match=match):
        WordLexicon(words, np.asarray(values))


def test_save_and_load_round_trip(tmp_path):
    from cxnlp.classify.features import ModelFileError

    lex().save(tmp_path)
    back = WordLexicon.load(tmp_path, 4)
    assert back.words == lex().words and np.allclose(back.values, lex().values, atol=1e-3)  # float16 on disk
    with pytest.raises(ModelFileError, match="lexicon_words.txt: 4 words, featurizer.json says 5"):
        WordLexicon.load(tmp_path, 5)
    WordLexicon([], np.zeros((0, 2))).save(tmp_path)
    assert len(WordLexicon.load(tmp_path, 0)) == 0


def test_a_bad_lexicon_file_is_named(tmp_path):
    from cxnlp.classify.features import ModelFileError

    lex().save(tmp_path)
    (tmp_path / "lexicon_words.txt").write_text("streik\nzug\nStreik\ngrößte", encoding="utf-8")
    with pytest.raises(ModelFileError, match="lexicon_words.txt: the lexicon lists a word twice"):
        WordLexicon.load(tmp_path, 4)
    lex().save(tmp_path)
    np.save(tmp_path / "lexicon.npy", np.full((4, 2), 1.5, np.float16))
    with pytest.raises(ModelFileError, match="lexicon.npy: lexicon values must be probabilities"):
        WordLexicon.load(tmp_path, 4)
    np.save(tmp_path / "lexicon.npy", np.zeros((4, 2), np.int8))
    with pytest.raises(ModelFileError, match="lexicon.npy: int8 values, want floats"):
        WordLexicon.load(tmp_path, 4)

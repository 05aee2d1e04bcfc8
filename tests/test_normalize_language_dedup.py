import unicodedata

from cxnlp.ingest.dedup import canonical, content_hash, near_key
from cxnlp.ingest.language import LanguageDetector
from cxnlp.ingest.normalize import normalize_text


def test_markup_entities_and_whitespace():
    raw = "<p>Super&nbsp;Shirt!<br>Passt &amp; sitzt.</p>\n\n\n\n<b>Gerne   wieder</b>"
    assert normalize_text(raw) == "Super Shirt!\nPasst & sitzt.\n\nGerne wieder"


def test_heart_and_comparisons_survive_tag_stripping():
    assert normalize_text("Ich liebe euch <3 und Preis < 20 €") == "Ich liebe euch <3 und Preis < 20 €"


def test_encoded_markup_is_removed_and_emoji_kept():
    assert normalize_text("&lt;script&gt;alert(1)&lt;/script&gt; Tolle App 😍🔥") == "alert(1) Tolle App 😍🔥"


def test_nfc_and_control_characters():
    decomposed = unicodedata.normalize("NFD", "Müller Straße")
    out = normalize_text(decomposed + "\x00\u200b")
    assert out == "Müller Straße" and unicodedata.is_normalized("NFC", out)


def test_only_markup_is_empty():
    assert normalize_text("  <br> <p></p>  ") == ""


def test_language_german_english_french_and_short_default():
    d = LanguageDetector(candidates=["de", "en", "fr", "it", "es", "nl", "tr"], default="de")
    assert d.detect("Die Lieferung kam viel zu spät und der Support war unfreundlich.")[0] == "de"
    assert d.detect("Great product, fast shipping, would buy again!")[0] == "en"
    assert d.detect("Le produit est arrivé cassé et personne ne répond.")[0] == "fr"
    lang, score = d.detect("Top!")
    assert lang == "de" and score <= 0.55  # too short to tell: the default, with a low score
    assert d.detect("Der Checkout ist echt broken, total nervig")[0] == "de"
    assert d.detect("12345 !!! 😡😡") == ("und", 0.0)


def test_german_word_count_is_the_whole_word_count():
    """The function-word count (one \\w+ scan and set lookups) equals the count of whole-word matches of the
    word list, however the words are glued to punctuation, digits or other words."""
    import re

    from cxnlp.ingest.language import _DE_WORDS, german_word_hits

    whole = re.compile(r"(?<!\w)(?:" + "|".join(sorted(_DE_WORDS, key=len, reverse=True)) + r")(?!\w)")
    texts = ["und/oder, nicht-mal; ist's dass... weil!wenn?oder", "undicht Undank diese dieser, die? DIE",
             "ich_bin habe2 hat3 im am vom zum mal", "échtt echt éin ein über für für-euch", "", "1234 !!! 😡",
             "Der Checkout ist echt broken, total nervig", "so ein   MIST   und   so   weiter"]
    for t in texts:
        low = t.lower()
        assert german_word_hits(low) == len(whole.findall(low)), t


def test_short_german_with_two_function_words_skips_the_model(monkeypatch):
    from cxnlp.ingest import language

    def boom(_):
        raise AssertionError("the n-gram model should not be asked")

    monkeypatch.setattr(language, "_identifier", boom)
    d = LanguageDetector(candidates=["de", "en"], default="de")
    lang, score = d.detect("Paket kam nicht, echt ärgerlich")
    assert lang == "de" and 0.6 <= score <= 0.99


def test_function_word_list_is_german_only(monkeypatch):
    """The fast path's words: Dutch and Danish sentences built from look-alikes ("alles", "viel", "werden",
    "gerne") count none of them and go to the n-gram model, which names them; German ones with the list's
    pronouns and particles never need the model."""
    from cxnlp.ingest import language
    from cxnlp.ingest.language import german_word_hits

    d = LanguageDetector(candidates=["de", "en", "nl", "da"], default="de")
    nl = "Het pakket werd te laat bezorgd en alles viel uit elkaar, we zijn er niet tevreden over."
    da = "Jeg vil gerne have pakken hurtigt, men alt var for sent og ingen svarede."
    assert german_word_hits(nl.lower()) == german_word_hits(da.lower()) == 0
    assert d.detect(nl)[0] == "nl" and d.detect(da)[0] == "da"

    def boom(_):
        raise AssertionError("the n-gram model should not be asked")

    monkeypatch.setattr(language, "_identifier", boom)
    for de in ("Ich hab mich wirklich über die schnelle Lieferung gefreut, danke euch!",
               "Warum gibt es jetzt schon wieder nichts im Angebot? Bitte ändert das."):
        assert d.detect(de)[0] == "de"


def test_retweets_and_templates_share_a_near_key():
    orig = "Die neue Kampagne von Lumora ist einfach nur geschmacklos, schämt euch!"
    rt = "RT @kritiker_99: Die neue Kampagne von Lumora ist einfach nur geschmacklos – schämt euch!!"
    assert canonical(orig) == canonical(rt)
    assert near_key(orig, "social", "a1", "id1") == near_key(rt, "social", "a2", "id2")
    assert content_hash(orig) != content_hash(rt)


def test_short_texts_from_different_authors_are_not_duplicates():
    assert near_key("Alles super!", "review", "a1", "r1") != near_key("Alles super!", "review", "a2", "r2")
    assert near_key("Alles super!", "review", "a1", "r1") == near_key("alles super", "review", "a1", "r9")
    assert near_key("Top", "review", None, "r1") != near_key("Top", "review", None, "r2")


def test_near_keys_are_scoped_per_source_type():
    t = "Ich warte seit drei Wochen auf meine Bestellung, niemand antwortet mir."
    assert near_key(t, "social", "a", "1") != near_key(t, "ticket", "a", "1")


def _canonical_by_definition(text: str) -> str:
    """The near-duplicate form spelled out step by step: repost marker, noise, non-letters, spaces."""
    import re

    from cxnlp.ingest.dedup import _NOISE, _RT

    t = _NOISE.sub(" ", _RT.sub("", text, count=1))
    return " ".join(re.sub(r"[\W\d_]+", " ", t.lower()).split())


_TRICKY = ["RT @kunde_1: Lieferung kam NIE an!!! https://t.co/x1 [EMAIL]", "WWW.Shop.de hat 3x versagt",
           "İstanbul Straße ÆØÅ ǅ ﬁ", "a_b_c d1e2f", "@x[y]http", "   ", "", "Über 50 % – echt? 😡😡", "[PHONE][EMAIL]x",
           "Mail an X@Y.DE oder HTTP://A.B", "siehe HTTPS://Shop.DE/x?y=1 danke"]


def test_canonical_matches_its_definition():
    from hypothesis import given, settings, strategies as st

    for t in _TRICKY:
        assert canonical(t) == _canonical_by_definition(t), t

    alphabet = st.sampled_from(list("aÄßİ_1 .,@[]:/wWhtpRT\n\t😡-") + ["http://", "www.", "[EMAIL]", "rt @a:"])

    @settings(max_examples=400, deadline=None)
    @given(st.lists(alphabet, max_size=40).map("".join))
    def check(t):
        assert canonical(t) == _canonical_by_definition(t)

    check()


def _tidy_by_definition(text: str) -> str:
    """normalize_text's whitespace steps, each applied to every text (the function skips those that cannot change
    the text at hand)."""
    import re

    ctrl = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u2028\u2029\ufeff]")
    spaces = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
    newlines = re.compile(r"\s*\n\s*(?:\n\s*)+")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = newlines.sub("\n\n", spaces.sub(" ", ctrl.sub("", text)))
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def test_whitespace_shortcuts_match_the_full_tidy_up():
    from hypothesis import given, settings, strategies as st

    cases = ["Die Jeans:  Hab sie  jetzt", " Top ", "Hallo,\n\n\n  danke  \n", "a\r\nb", "x\tY", "\u00a0a", "a\x85",
             "\x85a\x85 b", "a\u1680\u1680b", "Zeile 1\nZeile 2", "  ", "\n", "ok"]
    for t in cases:
        assert normalize_text(t) == _tidy_by_definition(t), repr(t)
    alphabet = st.sampled_from(list("ab Ü😡.\n\r\t\x00\x0b\x1c\x85\u00a0\u1680\u2003\u200b\u2028\u3000\ufeff"))

    @settings(max_examples=600, deadline=None)
    @given(st.lists(alphabet, max_size=30).map("".join))
    def check(t):
        assert normalize_text(t) == _tidy_by_definition(t)

    check()

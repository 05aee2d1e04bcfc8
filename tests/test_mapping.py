from datetime import datetime, timezone

import pytest

from cxnlp.ingest.mapping import RowRejected, parse_count, parse_datetime, parse_rating


def utc(*a):
    return datetime(*a, tzinfo=timezone.utc)


@pytest.mark.parametrize("value,expected", [
    ("24.11.2026 14:03", utc(2026, 11, 24, 13, 3)),          # CET, +01:00
    ("03.07.2026 14:03", utc(2026, 7, 3, 12, 3)),            # CEST, +02:00
    ("2026-10-27T10:15:00+01:00", utc(2026, 10, 27, 9, 15)),
    ("2026-10-27T09:15:00Z", utc(2026, 10, 27, 9, 15)),
    ("2026-10-03T14:22:05", utc(2026, 10, 3, 12, 22, 5)),    # naive ISO, read in Berlin time
    ("24.11.2026", utc(2026, 11, 23, 23, 0)),
    (1793000000, datetime.fromtimestamp(1793000000, tz=timezone.utc)),
    (1793000000123, datetime.fromtimestamp(1793000000.123, tz=timezone.utc)),
    ("1793000000", datetime.fromtimestamp(1793000000, tz=timezone.utc)),
])
def test_dates_become_utc(value, expected):
    assert parse_datetime(value, "Europe/Berlin") == expected


@pytest.mark.parametrize("value,reason", [
    (None, "missing_date"), ("  ", "missing_date"), ("31.02.2026", "unparseable_date"),
    ("gestern", "unparseable_date"), ("01.01.1850", "unparseable_date"), (float("nan"), "unparseable_date"),
])
def test_bad_dates_are_rejected_with_reason(value, reason):
    with pytest.raises(RowRejected) as e:
        parse_datetime(value, "Europe/Berlin")
    assert e.value.reason == reason


def test_explicit_date_format_wins():
    assert parse_datetime("11/24/2026 14:03", "Europe/Berlin", "%m/%d/%Y %H:%M") == utc(2026, 11, 24, 13, 3)


@pytest.mark.parametrize("value,field,expected", [
    ("4", "rating_stars", 4), ("4,0", "rating_stars", 4), (5.0, "rating_stars", 5), ("4/5", "rating_stars", 4),
    ("8/10", "rating_stars", 4), ("3 Sterne", "rating_stars", 3), ("★★★★☆", "rating_stars", 4),
    ("", "rating_stars", None), (None, "rating_nps", None), ("0", "rating_nps", 0), (10, "rating_nps", 10),
    ("7", "rating_ces", 7), ("1", "rating_csat", 1),
])
def test_ratings_parse(value, field, expected):
    assert parse_rating(value, field) == expected


@pytest.mark.parametrize("value,field,reason", [
    ("7", "rating_stars", "rating_out_of_range"), ("0", "rating_stars", "rating_out_of_range"),
    (11, "rating_nps", "rating_out_of_range"), ("-1", "rating_nps", "unparseable_rating"),
    ("abc", "rating_stars", "unparseable_rating"), (True, "rating_stars", "unparseable_rating"),
    ("8", "rating_ces", "rating_out_of_range"),
])
def test_bad_ratings_are_rejected(value, field, reason):
    with pytest.raises(RowRejected) as e:
        parse_rating(value, field)
    assert e.value.reason == reason


def test_counts():
    assert parse_count("1.234") == 1234
    assert parse_count(17) == 17
    assert parse_count("viele") is None
    assert parse_count(-3) is None


def test_quarantine_view_drops_the_author_and_dropped_columns_and_cuts_long_values_at_a_space():
    import json
    from pathlib import Path

    from cxnlp.config import SourceConfig
    from cxnlp.ingest.language import LanguageDetector
    from cxnlp.ingest.mapping import QUARANTINE_CHARS, RowMapper
    from cxnlp.ingest.redact import Redactor

    cfg = SourceConfig(name="t", path=Path("x.csv"), source="review",
                       columns={"text": "Text", "created_at": "Datum", "author": "Kunde"})
    m = RowMapper(cfg, redactor=Redactor(), detector=LanguageDetector(), author_salt="s",
                  drop_columns=["Kundenmail"])
    # an e-mail address across the cut: a plain cut would keep "max.muste", which no rule recognises
    pad = "wort " * ((QUARANTINE_CHARS - 10) // 5)
    long_text = pad + "max.mustermann@example.de " + "ende " * 10
    assert len(pad) < QUARANTINE_CHARS < len(pad) + 25
    view = json.loads(m.quarantine_view({"Text": long_text, "Datum": "gestern", "Kunde": "Eva Beispiel",
                                         "Kundenmail": "eva@example.de", "Sterne": 4, "Extra": {"tel": "0171 2345678"}},
                                        raw="unused"))
    assert set(view) == {"Text", "Datum", "Kunde", "Sterne", "Extra"}
    assert view["Kunde"] == "[AUTHOR]" and view["Sterne"] == 4 and view["Datum"] == "gestern"
    assert "max" not in view["Text"][-40:] and view["Text"].startswith("wort ") and len(view["Text"]) < QUARANTINE_CHARS
    assert "[PHONE]" in view["Extra"] and "2345678" not in view["Extra"]
    # an unparsed row: its text, redacted
    assert m.quarantine_view(None, 'broken;"Eva;eva@example.de') == 'broken;"Eva;[EMAIL]'


def test_a_csv_row_with_too_many_fields_is_told_apart_around_its_free_text_columns():
    from pathlib import Path

    from cxnlp.config import SourceConfig
    from cxnlp.ingest.language import LanguageDetector
    from cxnlp.ingest.mapping import RowMapper
    from cxnlp.ingest.redact import Redactor

    def mapper(columns):
        cfg = SourceConfig(name="t", path=Path("x.csv"), source="review", columns=columns)
        return RowMapper(cfg, redactor=Redactor(), detector=LanguageDetector(), author_salt="s")

    header = ["ID", "Titel", "Text", "Name", "Produkt"]
    cells = ["7", "Leider nein", "Gute Qualität", " aber", " Lieferung zu spät", "Eva Beispiel", "Jacke"]
    m = mapper({"id": "ID", "title": "Titel", "text": "Text", "author": "Name"})
    assert m.aligned(header, cells, ";") == {"ID": "7", "Titel|Text": "Leider nein;Gute Qualität; aber; Lieferung zu spät",
                                             "Name": "Eva Beispiel", "Produkt": "Jacke"}
    assert '"Name": "[AUTHOR]"' in m.quarantine_view(None, ";".join(cells), (header, cells, ";"))
    only_text = mapper({"id": "ID", "text": "Text", "author": "Name"}).aligned(header, cells, ";")
    assert only_text["Titel"] == "Leider nein" and only_text["Text"] == "Gute Qualität; aber; Lieferung zu spät"
    # the author among the free-text columns: its place cannot be known, so no view of the fields
    assert mapper({"text": "Titel", "title": "Name", "author": "Text"}).aligned(header, cells, ";") is None
    assert mapper({"text": "Text", "author": "Name"}).aligned(header, cells[:5], ";") is None  # not too many

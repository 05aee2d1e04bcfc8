"""Support tickets: e-mail paragraphs, chat lines and hotline agent notes by topic; greetings, PII lines."""
from __future__ import annotations

# topic -> (polarity, subjects, e-mail paragraphs, chat customer lines, hotline notes)
TOPICS: dict[str, dict] = {
    "lieferung": {
        "pol": "neg",
        "subjects": ("Wo bleibt meine Bestellung?", "Lieferung nicht erhalten", "Paket seit Tagen unterwegs",
                     "Sendungsverfolgung funktioniert nicht", "Bestellung {bestellnr}"),
        "email": (
            "ich habe am {datum} bestellt und bis heute nichts erhalten. Die Sendungsverfolgung von LumoExpress "
            "zeigt seit {tage} Tagen \"in Zustellung\".",
            "laut LumoExpress wurde mein Paket zugestellt, ich habe aber nichts bekommen. Bei den Nachbarn ist es "
            "auch nicht.",
            "die Lieferung war für Dienstag angekündigt, jetzt ist Freitag. Ich brauche die Sachen dringend.",
        ),
        "chat": ("hallo, mein paket ist immer noch nicht da", "wo ist meine bestellung??",
                 "Tracking sagt seit {tage} Tagen nichts neues", "angeblich zugestellt aber nix da"),
        "hotline": ("Kd. ruft an wg. fehlender Lieferung, Tracking hängt seit {tage} Tagen. Nachforschungsauftrag "
                    "bei LumoExpress gestellt.",
                    "Kd. ruft an wg. Lieferverzug, sehr verärgert. Versand laut System erfolgt, Kd. vertröstet.",
                    "Paket als zugestellt markiert, Kd. hat nichts erhalten. Ersatzlieferung zugesagt."),
    },
    "retoure": {
        "pol": "neg",
        "subjects": ("Rückerstattung fehlt", "Retoure noch nicht gutgeschrieben", "Rücksendung {bestellnr}",
                     "Rücksendeetikett funktioniert nicht"),
        "email": (
            "ich habe meine Rücksendung vor {wochen} Wochen abgeschickt und noch keine Erstattung erhalten. Den "
            "Einlieferungsbeleg habe ich angehängt.",
            "das Rücksendeetikett aus der App lässt sich nicht drucken, der QR-Code wird im Paketshop nicht erkannt.",
            "Sie haben meine Retoure nur teilweise erstattet, es fehlen {betrag}.",
        ),
        "chat": ("wann bekomme ich mein geld von der retoure zurück?", "retourenlabel geht nicht",
                 "ich hab was zurückgeschickt und keine bestätigung bekommen"),
        "hotline": ("Kd. ruft an wg. ausstehender Erstattung ({betrag}). Retoure im Lager eingegangen, "
                    "Erstattung manuell angestoßen.",
                    "Kd. fragt nach Rücksendeetikett, neues Label per Mail geschickt."),
    },
    "rechnung": {
        "pol": "neg",
        "subjects": ("Falsche Rechnung", "Mahnung trotz Zahlung", "Frage zur Rechnung", "Rechnung {bestellnr}"),
        "email": (
            "ich habe eine Mahnung über {betrag} erhalten, obwohl ich die Rechnung fristgerecht bezahlt habe.",
            "auf meiner Rechnung wurde der LumoPlus-Rabatt nicht abgezogen. Bitte korrigieren Sie das.",
            "ich benötige eine Rechnung mit ausgewiesener Mehrwertsteuer für meine Firma.",
        ),
        "chat": ("ich hab eine mahnung bekommen obwohl ich bezahlt hab", "rechnung stimmt nicht, rabatt fehlt"),
        "hotline": ("Kd. ruft an wg. Mahnung, Zahlungseingang vorhanden, Mahnstopp gesetzt.",
                    "Kd. ruft an wg. Rechnungskorrektur, Rabatt fehlte, Gutschrift erstellt."),
    },
    "zahlung": {
        "pol": "neg",
        "subjects": ("Doppelte Abbuchung", "Ratenkauf abgelehnt", "PayPal-Zahlung fehlgeschlagen",
                     "Lastschrift zurückgebucht"),
        "email": (
            "der Betrag von {betrag} wurde zweimal per Lastschrift abgebucht. Ich bitte um umgehende Rückzahlung.",
            "mein Antrag auf Ratenkauf wurde abgelehnt, ohne Begründung. Ich bin seit Jahren Kundin.",
            "die Zahlung mit PayPal ist fehlgeschlagen, trotzdem wurde mein Konto belastet.",
        ),
        "chat": ("mir wurde doppelt abgebucht", "warum wurde mein ratenkauf abgelehnt?",
                 "paypal sagt bezahlt, ihr sagt offen?"),
        "hotline": ("Kd. ruft an wg. Doppelabbuchung Lastschrift, Rückbuchung veranlasst.",
                    "Kd. fragt nach Ablehnung Ratenkauf, auf Bonitätsprüfung des Partners verwiesen."),
    },
    "defekt": {
        "pol": "neg",
        "subjects": ("Artikel defekt", "Reklamation", "Ware beschädigt angekommen", "Mangel an {name}"),
        "email": (
            "{produkt} ist nach {wochen} Wochen kaputt gegangen. Ich möchte das reklamieren.",
            "{produkt} kam beschädigt an, die Verpackung war aber heil.",
            "leider funktioniert {produkt} nicht, es lädt überhaupt nicht.",
        ),
        "chat": ("mein artikel ist kaputt, was jetzt?", "{name} ist defekt angekommen",
                 "naht ist gerissen nach 1x tragen"),
        "hotline": ("Kd. ruft an wg. defektem Artikel ({name}), Umtausch angeboten.",
                    "Reklamation {name}, Kd. möchte Geld zurück, Retourenlabel versendet."),
    },
    "lumoplus": {
        "pol": "neg",
        "subjects": ("LumoPlus-Punkte fehlen", "Kündigung LumoPlus", "Frage zu LumoPlus"),
        "email": (
            "für meine letzten beiden Einkäufe wurden keine LumoPlus-Punkte gutgeschrieben.",
            "hiermit kündige ich meine LumoPlus-Mitgliedschaft zum nächstmöglichen Zeitpunkt.",
            "mein LumoPlus-Gutschein über {betrag} wird an der Kasse nicht akzeptiert.",
        ),
        "chat": ("meine punkte fehlen", "wie kündige ich lumoplus?", "gutschein geht nicht"),
        "hotline": ("Kd. ruft an wg. fehlender LumoPlus-Punkte, {punkte} Punkte manuell nachgebucht.",
                    "Kd. möchte LumoPlus kündigen, Kündigung aufgenommen."),
    },
    "konto": {
        "pol": "neu",
        "subjects": ("Passwort vergessen", "Login nicht möglich", "App-Problem", "Konto löschen"),
        "email": (
            "ich kann mich seit dem App-Update nicht mehr einloggen, das Passwort-Zurücksetzen kommt nie an.",
            "bitte löschen Sie mein Kundenkonto und alle meine Daten.",
            "die App zeigt mir bei jeder Bestellung einen Fehler an (Version {version}).",
        ),
        "chat": ("login geht nicht", "passwort reset mail kommt nicht", "app zeigt fehler 500"),
        "hotline": ("Kd. ruft an wg. Login-Problem in der App, Passwort zurückgesetzt.",
                    "Kd. wünscht Kontolöschung, Anfrage an Datenschutz weitergeleitet."),
    },
    "adresse": {
        "pol": "neu",
        "subjects": ("Adressänderung", "Lieferadresse ändern", "Falsche Adresse"),
        "email": (
            "ich bin umgezogen. Meine neue Adresse lautet: {adresse}.",
            "bei meiner Bestellung ist mir ein Fehler in der Lieferadresse passiert. Richtig ist: {adresse}.",
        ),
        "chat": ("kann ich die lieferadresse noch ändern?", "neue adresse: {adresse}"),
        "hotline": ("Kd. ruft an wg. Adressänderung, neue Adresse {adresse} im System hinterlegt.",),
    },
    "filiale": {
        "pol": "neg",
        "subjects": ("Beschwerde Filiale {stadt}", "Erlebnis in Ihrer Filiale", "Click & Collect"),
        "email": (
            "in Ihrer Filiale in {stadt} wurde ich von einem Mitarbeiter sehr unfreundlich behandelt.",
            "meine Click & Collect Bestellung war in der Filiale {stadt} nicht auffindbar, ich bin umsonst gefahren.",
        ),
        "chat": ("click and collect paket ist nicht in der filiale", "filiale {stadt} hat mich abgewiesen"),
        "hotline": ("Kd. ruft an wg. Beschwerde Filiale {stadt}, Rückmeldung durch Filialleitung zugesagt.",),
    },
    "lob": {
        "pol": "pos",
        "subjects": ("Danke!", "Lob an Ihr Team", "Tolle Beratung"),
        "email": (
            "ich möchte mich einmal ausdrücklich bei Ihrem Team in der Filiale {stadt} bedanken. Die Beratung war "
            "hervorragend.",
            "vielen Dank für die schnelle Abwicklung meiner Reklamation, das war vorbildlich.",
        ),
        "chat": ("wollte nur danke sagen, hat alles super geklappt :)", "danke für die schnelle hilfe!"),
        "hotline": ("Kd. ruft an, um sich für schnelle Erstattung zu bedanken.",),
    },
    "frage": {
        "pol": "neu",
        "subjects": ("Frage zu {name}", "Produktanfrage", "Verfügbarkeit"),
        "email": (
            "ist {produkt} auch in einer anderen Größe oder Farbe erhältlich?",
            "ist {produkt} aus der Lumora Grün Linie? Wo wird er produziert?",
            "wann ist {produkt} wieder lieferbar?",
        ),
        "chat": ("gibt es {name} auch in M?", "wann kommt {name} wieder rein?", "ist das teil nachhaltig produziert?"),
        "hotline": ("Kd. fragt nach Verfügbarkeit {name}, auf Benachrichtigung per Mail verwiesen.",),
    },
}
TOPIC_WEIGHTS = {"lieferung": 20, "retoure": 14, "rechnung": 9, "zahlung": 9, "defekt": 14, "lumoplus": 7,
                 "konto": 8, "adresse": 5, "filiale": 5, "lob": 4, "frage": 7}

GREETINGS = ("Sehr geehrte Damen und Herren,", "Hallo Lumora-Team,", "Hallo,", "Guten Tag,", "Hi,",
             "Liebes Lumora Team,", "Sehr geehrte Damen u. Herren,", "")
EMOTION = {
    "neg": ("Ich bin wirklich verärgert.", "Das ist jetzt schon das zweite Mal!", "So geht man nicht mit Kunden um.",
            "Ich erwarte eine schnelle Lösung.", "Langsam reicht es mir.", "Ich bin echt enttäuscht von Ihnen.",
            "Falls das nicht geklärt wird, widerrufe ich die Lastschrift.", ""),
    "neu": ("Vielen Dank für Ihre Hilfe.", "Ich freue mich auf Ihre Rückmeldung.", ""),
    "pos": ("Weiter so!", "Ich bestelle gerne wieder.", ""),
}
CLOSINGS = ("Mit freundlichen Grüßen", "Viele Grüße", "MfG", "LG", "Gruß", "Beste Grüße",
            "Danke im Voraus und viele Grüße", "Freundliche Grüße")
PII_LINES = (
    "Meine Kundennummer {kundennr}.",
    "Kundennummer {kundennr}",
    "Bestellnummer {bestellnr}",
    "Sie erreichen mich tagsüber unter {telefon}.",
    "Bitte rufen Sie mich zurück: {telefon}",
    "Bitte überweisen Sie das Geld auf mein Konto: IBAN {iban}",
    "Meine Bankverbindung: {iban}",
    "Meine Adresse: {adresse}",
    "Antwort bitte an meine private Adresse {email2}",
)
CHAT_AGENT = (
    "Agent: Hallo und willkommen beim Lumora Chat! Wie kann ich helfen?",
    "Agent: Das tut mir leid. Können Sie mir Ihre Bestellnummer nennen?",
    "Agent: Ich schaue sofort nach, einen Moment bitte.",
    "Agent: Ich habe das an die zuständige Abteilung weitergegeben.",
    "Agent: Vielen Dank für Ihre Geduld!",
)
CHAT_CUSTOMER_EXTRA = ("ok danke", "wie lange dauert das noch?", "bestellnr ist {bestellnr}", "super, danke!!",
                       "das hab ich schon 3x gehört", "meine nummer: {telefon}", "kundennummer {kundennr}", "??")
HOTLINE_EXTRA = ("Kd. sehr aufgebracht.", "Kd. freundlich.", "Rückruf vereinbart unter {telefon}.",
                 "Kundennummer {kundennr} verifiziert.", "Ticket an 2nd Level.", "Kd. droht mit Anwalt.",
                 "Gespräch 14 Min.", "")
HOTLINE_EXTRA = HOTLINE_EXTRA + (
    "Kd. wartet seit {tage} Tagen.", "Artikel: {name}.", "Kd. hatte bereits zweimal angerufen.",
    "Rückruf am Nachmittag gewünscht.", "Filiale {stadt} informiert.", "Kd. nutzt App-Version {version}.",
    "Gutschein {betrag} angeboten, Kd. lehnt ab.", "Kd. akzeptiert Gutschrift.", "Kd. will schriftliche Bestätigung.",
    "Vorgang dokumentiert.", "Kd. hat Fotos per Mail geschickt.", "Kd. kündigt Beschwerde bei Verbraucherzentrale an.",
    "Bestellung vom {datum}.", "Kd. bittet um Rückmeldung per E-Mail.", "Eskalation an Teamleitung.",
)

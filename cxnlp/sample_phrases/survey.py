"""NPS survey comments ("Was ist der wichtigste Grund für Ihre Bewertung?") by touchpoint and polarity."""
from __future__ import annotations

TOUCHPOINTS = ("Website", "App", "Filiale", "Hotline", "E-Mail", "Chat", "Lieferung", "Rechnung")
TOUCHPOINT_WEIGHTS = (24, 18, 16, 8, 7, 7, 14, 6)

COMMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "Website": {
        "pos": ("Übersichtlicher Shop, schnell gefunden was ich wollte.", "Bestellung ging fix.",
                "Gute Filter und schöne Bilder."),
        "neg": ("Checkout bricht ständig ab.", "Suche ist unbrauchbar.", "Gutschein ging nicht."),
        "neu": ("Website ok.", "Nichts Besonderes.", "Ganz normal bestellt."),
    },
    "App": {
        "pos": ("App ist super praktisch, vor allem LumoPlus.", "Retoure in der App ist genial."),
        "neg": ("App stürzt dauernd ab.", "Zu viele Push-Nachrichten.", "Login-Probleme seit Wochen."),
        "neu": ("App funktioniert meistens.", "Geht so."),
    },
    "Filiale": {
        "pos": ("Sehr freundliche Beratung in der Filiale.", "Click & Collect klappt super.", "Schöner Laden."),
        "neg": ("Nur eine Kasse offen, lange Schlange.", "Personal unfreundlich.", "Größe nie vorrätig."),
        "neu": ("Filiale ok.", "War kurz drin, passt."),
    },
    "Hotline": {
        "pos": ("Schnell durchgekommen und direkt geholfen.", "Sehr kompetente Mitarbeiterin."),
        "neg": ("Ewig in der Warteschleife.", "Wurde dreimal weiterverbunden.", "Niemand konnte helfen."),
        "neu": ("Hat gedauert, aber am Ende ok.",),
    },
    "E-Mail": {
        "pos": ("Antwort kam am selben Tag.",),
        "neg": ("Nur Textbausteine als Antwort.", "Nach einer Woche immer noch keine Antwort."),
        "neu": ("Antwort kam nach ein paar Tagen.",),
    },
    "Chat": {
        "pos": ("Chat war schnell und freundlich.", "Problem im Chat sofort gelöst."),
        "neg": ("Der Chatbot ist nutzlos.", "Chat bricht ständig ab."),
        "neu": ("Chat ok.",),
    },
    "Lieferung": {
        "pos": ("Superschnelle Lieferung.", "LumoExpress war pünktlich.", "Alles heil angekommen."),
        "neg": ("Paket kam viel zu spät.", "Paket beim falschen Nachbarn abgegeben.", "Karton kaputt."),
        "neu": ("Lieferung normal.", "Kam in zwei Teilen."),
    },
    "Rechnung": {
        "pos": ("Kauf auf Rechnung ist bequem.",),
        "neg": ("Mahnung trotz Zahlung bekommen!", "Doppelt abgebucht."),
        "neu": ("Rechnung kam per Mail.",),
    },
}
GENERAL = {
    "pos": ("Gute Qualität zu fairen Preisen.", "Bin Stammkundin, immer zufrieden.", "Würde ich weiterempfehlen.",
            "Tolle Auswahl, gerade bei Wohnaccessoires.", "Die Lumora Grün Sachen finde ich super."),
    "neg": ("Qualität hat nachgelassen.", "Zu teuer geworden.", "Nie wieder.", "Service katastrophal."),
    "neu": ("Passt schon.", "Keine Angabe.", "Normaler Shop halt.", "-", "weiß nicht"),
}

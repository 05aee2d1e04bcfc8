"""App-store review sentences for the "Lumora App" (iOS/Android), by polarity."""
from __future__ import annotations

APP = {
    "pos": (
        "Die App läuft flüssig und ist übersichtlich.",
        "Bestellen über die App geht viel schneller als am Rechner.",
        "Super, dass die LumoPlus-Karte jetzt direkt in der App ist.",
        "Push-Nachricht kam genau, als mein Paket vor der Tür stand, praktisch.",
        "Mit dem Barcode-Scanner in der Filiale den Preis checken, genial.",
        "Das neue Design gefällt mir richtig gut.",
        "Retoure direkt in der App anmelden, so einfach.",
        "Dark Mode endlich da, danke!",
        "Suche und Filter funktionieren seit dem Update viel besser.",
        "Gutscheine werden automatisch angezeigt, sehr cool.",
        "Bezahlen mit Apple Pay klappt reibungslos.",
        "Wunschliste synchronisiert mit der Website, top.",
    ),
    "neg": (
        "Seit dem Update auf {version} stürzt die App beim Start ab.",
        "Login geht nicht, ich werde ständig ausgeloggt.",
        "Warenkorb leert sich von selbst, wenn man die App schließt.",
        "Beim Bezahlen hängt sich alles auf, bestellt ist dann doch zweimal.",
        "Viel zu viele Push-Nachrichten mit Werbung, nervt.",
        "Die App frisst Akku ohne Ende.",
        "LumoPlus-Karte lädt nicht an der Kasse, peinlich mit Schlange hinter mir.",
        "Nach dem Update sind alle meine Favoriten weg.",
        "Suche zeigt nur Mist an, ich finde nichts.",
        "Sendungsverfolgung in der App zeigt seit Tagen dasselbe.",
        "Bilder laden ewig, auch im WLAN.",
        "Die App will ständig meinen Standort, wozu?",
        "Gutschein wird in der App nicht angenommen, im Browser schon.",
        "Schrift viel zu klein, für Ältere kaum zu bedienen.",
    ),
    "neu": (
        "App ist okay, aber die Website kann mehr.",
        "Funktioniert soweit, ein paar Kleinigkeiten nerven.",
        "Update {version} installiert, bisher keine Änderung gemerkt.",
        "Ganz brauchbar zum Stöbern, bestellen tue ich lieber am Laptop.",
        "Wäre schön, wenn man Bestellungen filtern könnte.",
        "Bitte eine Merkliste für mehrere Listen einbauen.",
    ),
}

# Short stand-alone app reviews (very short texts are common in app stores).
APP_SHORT = {
    "pos": ("Top App", "Alles gut 👍", "Läuft", "Super!!", "Gefällt mir", "5 Sterne", "Sehr gut", "nice"),
    "neg": ("Stürzt ab", "Müll", "Geht nicht", "Nur Fehler", "Unbrauchbar!!", "Nervig", "Zu viel Werbung"),
    "neu": ("Ok", "Geht so", "Naja", "Ganz ok", "Mittel"),
}

APP_VERSIONS_IOS = ("5.12.0", "5.12.1", "5.13.0", "5.14.0", "5.14.2", "5.15.0", "5.16.0", "5.16.1")
APP_VERSIONS_ANDROID = ("5.12.0", "5.12.3", "5.13.1", "5.14.0", "5.14.4", "5.15.0", "5.16.0", "5.16.2")

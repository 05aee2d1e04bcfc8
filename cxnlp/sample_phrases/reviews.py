"""Review sentences by experience facet and polarity ("pos", "neg", "neu"), plus emotion/judgement parts.

Facet keys: produkt (quality/defects), haltbarkeit (consumption over time), preis, nachhaltigkeit,
lieferung, service, retoure, webshop (browsing/checkout), filiale, zahlung, loyalty, journey.
"""
from __future__ import annotations

FACETS: dict[str, dict[str, tuple[str, ...]]] = {
    "produkt": {
        "pos": (
            "{Produkt} ist wirklich top verarbeitet, die Nähte sind sauber.",
            "Die Qualität ist für den Preis echt super.",
            "Farbe genau wie auf den Fotos, sitzt perfekt.",
            "Material fühlt sich hochwertig an, nix kratzt.",
            "Hab {produkt_akk} jetzt ein paar Mal benutzt und bin begeistert.",
            "Größe passt wie angegeben, ich hab meine normale Größe genommen.",
            "Das Teil sieht in echt sogar besser aus als im Shop.",
            "Funktioniert einwandfrei, sofort mit dem Handy verbunden.",
            "Sehr schöner Stoff, fällt locker und knittert kaum.",
            "Endlich mal ein Artikel, der hält, was die Beschreibung verspricht.",
            "Riecht nicht chemisch, wie man es von anderen Billigsachen kennt.",
            "Der Akku hält locker zwei Tage, bin positiv überrascht.",
        ),
        "neg": (
            "{Produkt} kam mit einem Loch an der Naht an.",
            "Nach dem ersten Waschen ist {er} zwei Nummern kleiner.",
            "Die Farbe ist in echt ganz anders als auf dem Foto, eher grau als grün.",
            "Reißverschluss klemmt schon beim Auspacken.",
            "Das Kabel lädt nur, wenn man es schräg hält.",
            "Billiges Plastik, knarzt bei jeder Bewegung.",
            "Die Größenangaben stimmen hinten und vorne nicht.",
            "Stinkt total nach Chemie, musste {ihn} erstmal drei Tage lüften.",
            "Die Hülle passt nicht richtig, die Kamera wird halb verdeckt.",
            "Teil ist verfärbt angekommen, sah aus wie ein Rückläufer.",
            "Der Lautsprecher rauscht, sobald man lauter als die Hälfte dreht.",
            "Knöpfe fallen schon beim Anprobieren ab.",
        ),
        "neu": (
            "{Produkt} ist okay, nichts Besonderes.",
            "Fällt etwas größer aus, lieber eine Nummer kleiner nehmen.",
            "Die Farbe ist etwas dunkler als erwartet, stört mich aber nicht.",
            "Für den Alltag reicht es, für Sport würde ich {ihn} nicht nehmen.",
            "Qualität ist so mittel, aber war ja auch im Angebot.",
            "Macht was es soll.",
            "Ganz nett, aber ein bisschen dünn.",
        ),
    },
    "haltbarkeit": {
        "pos": (
            "Hab {ihn} jetzt seit einem Jahr und {er} sieht immer noch aus wie neu.",
            "Auch nach zwanzig Wäschen keine Pillingbildung.",
            "Trage {ihn} fast jeden Tag seit Monaten, hält bombig.",
            "Nach einem halben Jahr täglicher Nutzung funktioniert alles noch wie am ersten Tag.",
            "Das ist schon mein dritter Winter mit {produkt_akk}, absolut robust.",
        ),
        "neg": (
            "Nach drei Wochen löst sich die Sohle.",
            "Nach zwei Monaten ist das Kabel am Stecker gebrochen.",
            "Hat genau einen Winter gehalten, dann war die Naht am Ärmel offen.",
            "Die Beschichtung blättert nach ein paar Wochen ab.",
            "Akku ist nach einem halben Jahr nur noch halb so stark.",
            "Schon nach der dritten Wäsche voller Knötchen.",
            "Hält nicht lange, nach {wochen} Wochen war {er} durch.",
        ),
        "neu": (
            "Mal sehen, wie lange {er} hält, bisher ist alles gut.",
            "Nach ein paar Wochen leichte Gebrauchsspuren, aber im Rahmen.",
            "Langzeiterfahrung kann ich noch nicht sagen, Update folgt.",
        ),
    },
    "preis": {
        "pos": (
            "Preis-Leistung stimmt.",
            "Für {betrag} kann man echt nicht meckern.",
            "Im Sale gekauft, absolutes Schnäppchen.",
            "Günstiger als bei der Konkurrenz und trotzdem gute Qualität.",
            "Mit dem LumoPlus-Rabatt war es richtig günstig.",
        ),
        "neg": (
            "Für {betrag} erwarte ich deutlich mehr.",
            "Viel zu teuer für das, was man bekommt.",
            "Zwei Tage nach dem Kauf war es 30 % reduziert, super ärgerlich.",
            "Preis-Leistung stimmt hier überhaupt nicht.",
            "Versandkosten von 4,95 € bei so einem Kleinteil sind frech.",
        ),
        "neu": (
            "Preislich im Mittelfeld.",
            "Ist halt kein Discounterpreis, aber auch nicht überteuert.",
            "Für {betrag} in Ordnung.",
        ),
    },
    "nachhaltigkeit": {
        "pos": (
            "Toll, dass es aus der Lumora Grün Linie ist, Bio-Baumwolle und fair produziert.",
            "Gut, dass Lumora Reparaturservice anbietet statt Wegwerfen.",
            "Die Verpackung war komplett plastikfrei, find ich klasse.",
            "Endlich recycelte Materialien, ohne dass es aussieht wie ein Kartoffelsack.",
        ),
        "neg": (
            "Von wegen nachhaltig: jedes Teil einzeln in Plastik eingeschweißt.",
            "Lumora Grün ist reines Greenwashing, steht nirgends, wo genau produziert wird.",
            "Ein riesiger Karton für ein Ladekabel, das ist doch nicht nachhaltig.",
            "Drei Pakete für eine Bestellung, ernsthaft? Umwelt ist euch wohl egal.",
        ),
        "neu": (
            "Angeblich nachhaltig produziert, kann ich nicht beurteilen.",
            "Ob das Siegel was taugt, weiß ich nicht.",
        ),
    },
    "lieferung": {
        "pos": (
            "Lieferung kam schon nach {tage} Tagen, super schnell.",
            "LumoExpress war pünktlich und der Fahrer sehr freundlich.",
            "Am nächsten Tag da, obwohl ich abends bestellt habe.",
            "Sendungsverfolgung hat gut funktioniert, wusste immer, wo das Paket ist.",
            "Gut verpackt und schnell geliefert.",
        ),
        "neg": (
            "Paket war {tage} Tage unterwegs, Sendungsverfolgung zeigt seit Tagen nichts an.",
            "LumoExpress hat das Paket einfach vor die Tür gelegt, im Regen.",
            "Angeblich zugestellt, aber hier kam nie was an.",
            "Der Bote hat nicht mal geklingelt, nur ein Zettel im Briefkasten.",
            "Lieferung dauerte fast zwei Wochen statt 2-3 Werktage.",
            "Karton war völlig zerdrückt, Inhalt zum Glück heil.",
            "Paketshop ist 5 km weg, obwohl ich zuhause war.",
        ),
        "neu": (
            "Lieferung hat {tage} Tage gedauert, ging so.",
            "Versand war normal, nichts Besonderes.",
            "Kam in zwei Paketen an.",
        ),
    },
    "service": {
        "pos": (
            "Der Kundenservice hat sich sofort gekümmert und Ersatz geschickt.",
            "Im Chat wurde mir in fünf Minuten geholfen, sehr nett.",
            "Hotline war kurz und kompetent, Problem direkt gelöst.",
            "Die Mitarbeiterin hat sich wirklich Zeit genommen, danke!",
            "Super Kulanz, Umtausch ohne Diskussion.",
        ),
        "neg": (
            "Hotline eine halbe Stunde in der Warteschleife und dann aufgelegt.",
            "Auf meine E-Mail kam nach {tage} Tagen nur eine Standardantwort.",
            "Der Chatbot versteht einfach gar nichts.",
            "Kundenservice ist eine Katastrophe, jeder erzählt was anderes.",
            "Dreimal angerufen, dreimal vertröstet.",
            "Keiner fühlt sich zuständig, ich werde nur weitergeleitet.",
        ),
        "neu": (
            "Kundenservice hat geantwortet, Lösung steht noch aus.",
            "Am Telefon freundlich, aber helfen konnten sie nicht direkt.",
        ),
    },
    "retoure": {
        "pos": (
            "Rücksendung war total easy, Etikett direkt in der App.",
            "Geld war zwei Tage nach der Retoure wieder auf dem Konto.",
            "Umtausch in der Filiale ging ohne Probleme.",
        ),
        "neg": (
            "Retoure vor {wochen} Wochen geschickt und immer noch kein Geld zurück.",
            "Rücksendeetikett funktioniert nicht, QR-Code wird nicht erkannt.",
            "Für die Rücksendung wollen die jetzt Geld, das war früher kostenlos.",
            "Retoure angeblich nicht angekommen, obwohl ich den Beleg habe.",
        ),
        "neu": (
            "Musste eine Größe zurückschicken, lief normal.",
            "Rückerstattung hat etwa eine Woche gedauert.",
        ),
    },
    "webshop": {
        "pos": (
            "Die Seite ist übersichtlich, Filter funktionieren gut.",
            "Bestellung auf lumora.de ging schnell und unkompliziert.",
            "Größenberater auf der Website hat echt geholfen.",
            "Checkout mit PayPal in unter einer Minute erledigt.",
        ),
        "neg": (
            "Beim Bezahlen auf lumora.de kam dreimal ein Fehler, Warenkorb war danach leer.",
            "Die Suche findet nichts, wenn man sich einmal vertippt.",
            "Gutscheincode wird im Checkout nicht angenommen.",
            "Artikel war als verfügbar angezeigt, dann doch ausverkauft.",
            "Filter nach Größe zeigt trotzdem alles an, total nervig.",
        ),
        "neu": (
            "Website ist okay, könnte etwas schneller laden.",
            "Bestellung lief, aber die Versandoptionen sind etwas versteckt.",
        ),
    },
    "filiale": {
        "pos": (
            "In der Filiale in {stadt} super beraten worden, {mitarbeiter} war sehr hilfsbereit.",
            "Click & Collect hat super geklappt, lag schon am nächsten Tag in der Filiale.",
            "Schöner heller Laden, man findet sich gut zurecht.",
        ),
        "neg": (
            "In der Filiale in {stadt} war niemand zu finden, der helfen wollte.",
            "An der Kasse 20 Minuten angestanden, nur eine Kasse offen.",
            "{Mitarbeiter} war total unfreundlich, als ich nach einer anderen Größe gefragt habe.",
            "Click & Collect: Paket war in der Filiale nicht auffindbar.",
        ),
        "neu": (
            "Filiale in {stadt} ist okay, etwas eng.",
            "Im Laden gab es meine Größe nicht, also online bestellt.",
        ),
    },
    "zahlung": {
        "pos": (
            "Kauf auf Rechnung ist super praktisch.",
            "Ratenkauf war schnell beantragt und genehmigt.",
            "Zahlung per PayPal lief problemlos.",
        ),
        "neg": (
            "Ich habe eine Mahnung bekommen, obwohl ich längst bezahlt habe.",
            "Lastschrift wurde doppelt abgebucht.",
            "Ratenkauf wurde ohne Begründung abgelehnt, obwohl ich Stammkundin bin.",
            "Die Rechnung war falsch, Rabatt nicht abgezogen.",
            "Rückerstattung auf PayPal dauert ewig.",
        ),
        "neu": (
            "Habe auf Rechnung bezahlt.",
            "Zahlungsarten sind die üblichen.",
        ),
    },
    "loyalty": {
        "pos": (
            "Mit LumoPlus bekomme ich immer wieder gute Gutscheine.",
            "Bin seit Jahren Stammkunde und werde es bleiben.",
            "Die {punkte} LumoPlus-Punkte wurden direkt gutgeschrieben.",
        ),
        "neg": (
            "LumoPlus-Punkte wurden nicht gutgeschrieben, schon wieder.",
            "Als langjährige Kundin fühle ich mich echt veräppelt.",
            "Die neuen LumoPlus-Bedingungen sind ein Witz, die Punkte sind kaum noch was wert.",
        ),
        "neu": (
            "LumoPlus nutze ich, bringt aber nicht so viel.",
        ),
    },
    "journey": {
        "pos": (
            "Hab die Werbung auf Instagram gesehen und direkt zugeschlagen.",
            "Hab vorher mit drei anderen Shops verglichen, Lumora war am besten.",
            "Meine Schwester hat mir Lumora empfohlen und sie hatte recht.",
            "Hab's schon meinen Kolleginnen weiterempfohlen.",
            "Kaufe jetzt fast alles für die Wohnung bei Lumora.",
        ),
        "neg": (
            "In der Werbung sah das ganz anders aus.",
            "Hätte ich mal vorher die Bewertungen gelesen.",
            "Hab meiner Freundin auch schon abgeraten.",
            "Wer vergleicht, findet das woanders besser und billiger.",
        ),
        "neu": (
            "Bin über die Werbung im Fernsehen auf den Shop gekommen.",
            "Hab erst im Laden geschaut und dann online bestellt.",
            "Erste Bestellung bei Lumora.",
        ),
    },
}

# Spontaneous emotion (Erlebnis): short outbursts, usually at the start or end.
ERLEBNIS = {
    "pos": ("Wie geil!!", "Ich liebe es!", "Mega!!!", "Hammer!", "Voll verliebt.", "Yessss!", "Oh wie schön!",
            "Ich freu mich so!", "Einfach nur wow.", "Bin hin und weg!", "Geil geil geil.", "Herrlich!"),
    "neg": ("Ich könnte ausrasten!!", "Boah bin ich sauer!", "Unfassbar!!!", "Was soll der Mist?!",
            "Ich fass es nicht.", "So ein Ärger!", "Echt jetzt?!", "Ich bin so wütend.", "Frechheit!!",
            "Mir platzt gleich der Kragen.", "Unglaublich, wirklich.", "Bin total enttäuscht."),
    "neu": ("Hm.", "Naja.", "Tja.", "Also...", "Gemischte Gefühle."),
}

# Reflected judgement (Erfahrung): conclusions, often at the end.
ERFAHRUNG = {
    "pos": ("Insgesamt zufrieden.", "Würde ich weiterempfehlen.", "Klare Kaufempfehlung.",
            "Ich bestelle hier gerne wieder.", "Alles in allem eine gute Erfahrung.", "Gerne wieder.",
            "Kann man nicht meckern.", "Nicht schlecht, wirklich nicht schlecht.", "Bin rundum zufrieden.",
            "Top, weiter so!", "Volle Punktzahl von mir."),
    "neg": ("Nie wieder.", "Nicht zu empfehlen.", "Finger weg!", "Ich bestelle hier nicht mehr.",
            "Das war meine letzte Bestellung.", "Leider nicht empfehlenswert.", "Einmal und nie wieder.",
            "Schade, eigentlich mochte ich Lumora.", "Von mir gibt's keine Empfehlung.",
            "Nicht wirklich gut."),
    "neu": ("Insgesamt okay.", "Kann man machen.", "Geht so.", "Nicht schlecht, aber auch nicht super.",
            "Mittelmaß.", "Für einmal ok.", "Mal sehen, ob ich nochmal bestelle."),
}

# Ironic praise: surface positive, meant negative.
IRONIE = (
    "Super Service 🙄", "Na toll, ganz großes Kino.", "Danke für nichts.", "Wirklich klasse, wie man als Kunde "
    "behandelt wird...", "Bravo Lumora, echt ganz toll gemacht.", "Herzlichen Glückwunsch zu diesem Kundenservice.",
    "Perfekt, genau so stellt man sich das vor. Nicht.", "Läuft bei euch. 👏",
)

TITLES = {
    "pos": ("Super!", "Top Qualität", "Sehr zufrieden", "Klare Empfehlung", "Gerne wieder", "Passt perfekt",
            "Toller Shop", "Schnelle Lieferung", "Liebe es", "5 Sterne verdient", "Alles bestens"),
    "neg": ("Enttäuscht", "Finger weg", "Mangelhaft", "Nie wieder", "Kaputt angekommen", "Schlechter Service",
            "Ärgerlich", "Nicht empfehlenswert", "Leider nein", "Katastrophe"),
    "neu": ("Okay", "Geht so", "Naja", "Ganz ok", "Mittelmaß", "Durchwachsen", "Für den Preis ok"),
}

# Bits of dialect, colloquial German and English that get mixed into reviews.
EINSPRENGSEL = (
    "Des passt scho.", "Is halt so.", "Voll nice.", "Nich so dolle.", "Joa.", "Gell?", "Läuft.",
    "Basst scho.", "Dat is nix.", "Echt kein Bock mehr.", "Totally worth it.", "Big fail.", "Lowkey enttäuscht.",
    "Hab mich gefreut wie Bolle.", "Dit war nüscht.", "Oida.", "Mega nice ngl.", "What the hell.",
)

# Facet mix per source: which facets appear how often (relative weights).
SHOP_FACET_WEIGHTS = {
    "produkt": 30, "haltbarkeit": 6, "preis": 9, "nachhaltigkeit": 4, "lieferung": 14, "service": 7,
    "retoure": 5, "webshop": 6, "filiale": 5, "zahlung": 4, "loyalty": 3, "journey": 7,
}

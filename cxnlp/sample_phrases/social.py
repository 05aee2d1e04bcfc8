"""Social-media posts about Lumora (baseline traffic), official replies, off-topic noise, other languages."""
from __future__ import annotations

OFFICIAL_HANDLE = "@LumoraDE"
OFFICIAL_SERVICE_HANDLE = "@LumoraHilft"

# Posts are assembled from a lead-in, a core statement and a tail (hashtags, emoji); cores carry the polarity.
LEADINS = (
    "", "", "", "", "Kurzes Update:", "Ehrlich jetzt,", "Leute,", "@LumoraDE", "@LumoraHilft", "Also",
    "Heute so:", "Mal ne Frage:", "PSA:", "Muss ich loswerden:", "Ok,", "Wieder mal", "Lol,",
)
CORES = {
    "pos": (
        "die neue Herbstkollektion bei Lumora ist richtig schön geworden",
        "Paket von LumoExpress kam heute schon, einen Tag früher als angekündigt",
        "in der Lumora Filiale in {stadt} total nett beraten worden",
        "{produkt} von Lumora ist mein neues Lieblingsteil",
        "mit LumoPlus gerade 20 € gespart, nice",
        "Lumora Grün Hoodie gekauft und der ist echt kuschelig",
        "der Chat-Support von Lumora hat mein Problem in 5 Minuten gelöst, respekt",
        "Haul time! Hab bei Lumora zugeschlagen",
        "Rücksendung bei Lumora war so easy, Etikett in der App, fertig",
        "die Lumora App ist seit dem Update echt schnell",
        "Lumora Sale ist eröffnet und ich bin pleite",
        "Preis-Leistung bei Lumora stimmt einfach",
    ),
    "neg": (
        "seit {tage} Tagen wartet man auf sein Paket von LumoExpress",
        "Lumora Hotline ist einfach nicht erreichbar, 40 Minuten Warteschleife",
        "die Lumora App stürzt bei jedem Bezahlversuch ab",
        "{produkt} von Lumora nach zwei Wochen kaputt, toll",
        "Lumora hat mir doppelt abgebucht und keiner antwortet",
        "LumoExpress hat mein Paket beim Nachbarn drei Straßen weiter abgegeben",
        "Retoure bei Lumora vor drei Wochen weggeschickt, Geld immer noch nicht da",
        "wer bei Lumora auf Rechnung bestellt, bekommt Mahnungen für bezahlte Rechnungen",
        "die Schlange an der Kasse bei Lumora in {stadt} geht bis zur Tür",
        "LumoPlus Punkte einfach weg, Support sagt 'technischer Fehler'",
        "Lumora Grün ist doch nur Greenwashing mit Hashtag",
        "der Lumora Chatbot versteht kein einziges Wort",
    ),
    "neu": (
        "hat jemand Erfahrungen mit dem Lumora Ratenkauf?",
        "weiß jemand, wann der nächste Lumora Sale startet?",
        "kann man bei Lumora in der Filiale Online-Bestellungen zurückgeben?",
        "Lumora oder lieber woanders für Bettwäsche, was meint ihr?",
        "die neue Lumora Filiale in {stadt} macht nächste Woche auf",
        "bei Lumora gibts gerade {produkt_akk} im Angebot",
        "mal gucken, ob LumoExpress das heute noch schafft",
        "überlege, LumoPlus abzuschließen, lohnt sich das?",
    ),
}
TAILS = {
    "pos": ("", "", "😍", "💚", "✨✨", "#haul", "#lumora", "👍", "#shoppingqueen", "🙌 #lumora", "❤️", "<3"),
    "neg": ("", "", "😡", "🙄", "#fail", "#lumora #kundenservice", "👎", "🤬🤬", "Danke für nichts.", "#LumoExpress 😤"),
    "neu": ("", "", "🤔", "#lumora", "?", "Tipps?", "😅"),
}
# Ironic posts (surface praise, meant negative).
IRONY = (
    "Super Service @LumoraHilft 🙄 Seit 10 Tagen keine Antwort.",
    "Danke LumoExpress, dass ihr mein Paket so liebevoll in die Mülltonne gelegt habt 👏",
    "Wow, Lumora App wieder offline. Wer braucht schon Shopping am Sonntag 🙃",
    "Toll, 5 Mails und 5 verschiedene Antworten. Läuft bei Lumora.",
)
# Service replies from the official account (in_reply_to set).
OFFICIAL_REPLIES = (  # "{vorname}" is the customer's first name
    "Hallo {vorname}, das tut uns sehr leid! Schreib uns bitte per DM deine Bestellnummer, wir kümmern uns. ^Lea",
    "Oh nein {vorname}, das sollte so nicht sein. Magst du uns per DM kontaktieren? Dann schauen wir sofort nach. ^Tim",
    "Danke für dein Feedback, {vorname}! Wir geben das an das Team weiter. ^Sina",
    "Wie schön, dass es dir gefällt, {vorname}! 💚 Viel Freude damit. ^Lea",
    "Hi {vorname}! Die Rückgabe in der Filiale ist möglich, bring einfach den Rücksendeschein mit. ^Jonas",
    "Wir verstehen deinen Ärger, {vorname}. Bitte melde dich per DM, wir finden eine Lösung. ^Mara",
)
# Posts that match the keyword "Lumora" but are not about the retailer.
NOISE = (
    "Gerade 'Die Chroniken von Lumora' zu Ende gelesen, was für ein Ende! 📚",
    "Lumora ist übrigens auch der Name meiner Katze 🐈",
    "🚀 LUMORA Token jetzt auf der Presale-Liste!!! 100x incoming, DM for info 💰💰",
    "Spielt noch jemand das Indie-Game Lumora? Level 7 ist unmöglich",
    "Heute Abend Konzert von Lumora & The Nightbirds im Club, wer kommt mit?",
    "Gewinnspiel! Folgen, liken, teilen und mit etwas Glück ein iPhone gewinnen!!! #gewinnspiel #follow",
    "Montag. Regen. Kaffee leer. Mehr muss man nicht sagen.",
    "Wer hat Bock auf Grillen am Wochenende? Wetter soll gut werden ☀️",
    "Lumora Beach Resort auf Bali, kann ich nur empfehlen 🌴",
    "Check out my new video, link in bio!!! #fyp #viral",
    "Fußball heute war ja wohl ein Witz, Schiri hat alles verpfiffen.",
    "Neues Rezept ausprobiert: Kürbissuppe mit Ingwer. Ein Traum 🎃",
)
MIXED = (
    "Lumora Sale ist insane, hab viel zu viel gekauft lol #noregrets",
    "Honestly die Lumora App ist so buggy, fix it please",
    "Paket von LumoExpress finally da, nur 5 Tage late 🙄",
    "Der Lumora Store in {stadt} hat so good vibes, love it",
    "Customer service bei Lumora? Never again, seriously.",
    "Mein outfit today komplett von Lumora ✨ #ootd",
)
HASHTAGS_GENERAL = ("#lumora", "#shopping", "#mode", "#haul", "#ootd", "#wohnen", "#deko", "#nachhaltig", "#sale")

# Posts of the brand's own account (baseline).
BRAND_POSTS = (
    "Der Herbst-Sale ist da! 🍂 Bis zu 30 % auf ausgewählte Mode – online, in der App und in euren Filialen.",
    "Neu in Lumora Grün: Bettwäsche aus Bio-Leinen, fair produziert. 💚",
    "LumoPlus-Mitglieder aufgepasst: Diese Woche doppelte Punkte auf alles! ✨",
    "Unsere neue Filiale in {stadt} öffnet am Samstag – kommt vorbei, es gibt Kaffee & Kuchen! ☕",
    "Ab sofort liefern wir in unserer neuen Verpackung aus Graspapier – weniger Plastik, mehr Natur. 🌱",
    "Welche Farbe ist euer Favorit für den Winter? Schreibt's in die Kommentare 👇",
)

# Word-level variation for stand-alone posts (noise, irony, packaging, defenders).
VARIATION_LEADS = ("Leute,", "Ehrlich,", "Also", "Hmm,", "Sagt mal,", "Kurz:", "Fun fact:", "Heute:", "Gestern:",
                   "Update:", "Tja,", "Boah,", "Na ja,", "Frage:", "Story time:", "Ganz ehrlich:")
VARIATION_TAILS = ("#montag", "#wochenende", "#real", "#fail", "#lol", "#mood", "#sonntag", "#feierabend",
                   "#berlin", "#hamburg", "#köln", "#münchen", "#frage", "#tipp", "#wtf", "#story")
# English posts, assembled from parts.
EN_OPEN = ("", "Honestly,", "Ugh.", "Just saying:", "PSA:", "Lol,", "Okay so", "Quick review:", "Not gonna lie,")
EN_CORE = (
    "ordered from Lumora for the first time and delivery was surprisingly fast",
    "Lumora customer service is a joke, still waiting for my refund",
    "the Lumora app keeps crashing on my phone",
    "my new Lumora hoodie is super soft and actually sustainable",
    "the Lumora store in {stadt} has really nice staff",
    "Lumora shipped my order in three separate boxes, why",
    "the quality of the {name} from Lumora is better than expected",
    "LumoExpress left my parcel in the rain again",
)
EN_CLOSE = ("", "👍", "🙄", "#lumora", "10/10", "never again", "would recommend", "anyone else?", "#germany")
FR_POSTS = (
    "J'ai commandé chez Lumora, la livraison en Allemagne était rapide mais le pull est trop petit.",
    "Le service client de Lumora ne répond jamais, c'est pénible.",
    "Très contente de ma couverture Lumora, douce et pas chère.",
    "Quelqu'un connaît le magasin Lumora à {stadt} ? Ça vaut le coup ?",
)
TR_POSTS = (
    "Lumora'dan aldığım mont çok güzel, kargo da hızlıydı 👍",
    "Lumora'nın müşteri hizmetlerine ulaşmak imkansız, çok kötü.",
    "Lumora {stadt} mağazasında çalışanlar çok yardımsever.",
    "Lumora uygulaması sürekli çöküyor, ne zaman düzelecek?",
)

"""The two planted episodes.

1. Backlash: the campaign "#LumoraLiebe" (an ad read as mocking care workers) launched 2026-10-27 ~10:00 Berlin.
2. Emerging topic: the new "Graspapier" (grass-paper) packaging, complaints growing from 2026-10-05.
"""
from __future__ import annotations

CAMPAIGN_HASHTAG = "#LumoraLiebe"
BOYCOTT_HASHTAG = "#LumoraBoykott"

# The official launch post and the apology a day later.
LAUNCH_POST = ("Liebe ist, wenn jemand für dich da ist. 💛 Unsere neue Kampagne #LumoraLiebe ist da – "
               "jetzt im TV, online und in allen Filialen. Schaut mal rein!")
APOLOGY_POST = ("Wir haben eure Kritik an unserem #LumoraLiebe Spot gelesen. Es war nie unsere Absicht, "
                "Pflegekräfte herabzusetzen. Wir nehmen den Spot ab sofort aus dem Programm und entschuldigen "
                "uns. Wir melden uns mit mehr Infos.")

BACKLASH_OPENERS = (
    "Habt ihr den neuen Lumora-Spot gesehen?", "Wie geschmacklos ist bitte die neue #LumoraLiebe Werbung?",
    "Ich bin Pflegerin und könnte gerade nur heulen.", "Lumora, ernsthaft?!", "Was hat sich @LumoraDE dabei gedacht?",
    "Der neue Lumora Werbespot ist das Letzte.", "Ich arbeite seit 15 Jahren auf der Intensivstation.",
    "Gerade die #LumoraLiebe Werbung im TV gesehen.", "Schämt euch, Lumora!", "Unfassbar, diese Kampagne.",
    "Mir fehlen die Worte.", "Und sowas läuft zur besten Sendezeit.",
    "Hab den Spot dreimal geschaut, wird nicht besser.",
)
BACKLASH_CORES = (
    "Pflegekräfte als überforderte Witzfiguren darzustellen ist einfach nur geschmacklos.",
    "Wir Pflegekräfte reißen uns den Arsch auf und ihr macht euch darüber lustig.",
    "Nach Corona klatschen und jetzt Pflegerinnen in der Werbung verarschen, toll.",
    "Die Szene mit der Krankenschwester, die für einen Gutschein 'Liebe schenkt', ist respektlos.",
    "Wer Pflegekräfte verhöhnt, bekommt von mir keinen Cent mehr.",
    "Das ist keine Liebe, das ist Verachtung für einen ganzen Berufsstand.",
    "Meine Mutter ist Altenpflegerin, ich schäme mich für euch.",
    "Kein Mensch in der Agentur oder bei Lumora hat das vorher hinterfragt?",
    "Ihr verkauft Pullis mit dem Leid von Menschen, die nachts Doppelschichten schieben.",
    "Für so eine Marke gebe ich kein Geld aus.",
    "Meine LumoPlus-Karte ist gerade im Müll gelandet.",
    "Ich kündige mein LumoPlus-Konto, das war's.",
    "Die ganze Station ist sauer, wir bestellen da nichts mehr.",
)
BACKLASH_CLOSERS = (
    "#LumoraBoykott", "#LumoraLiebe #LumoraBoykott", "Boykott!", "Schämt euch. #LumoraBoykott",
    "#PflegeVerdientRespekt #LumoraBoykott", "Nie wieder Lumora.", "Entschuldigt euch!", "Spot sofort löschen!",
    "#LumoraLiebe? Eher #LumoraHass.", "RT wenn ihr auch boykottiert.", "😡😡😡", "🤬 #LumoraBoykott",
)
# Copy-paste template posts (same text, many users).
BACKLASH_TEMPLATES = (
    "Wer Pflegekräfte verhöhnt, verliert uns als Kunden. #LumoraBoykott #PflegeVerdientRespekt",
    "Ich kaufe nicht mehr bei @LumoraDE, bis sie sich bei allen Pflegekräften entschuldigen. #LumoraBoykott",
    "Pflege ist kein Witz. #LumoraLiebe ist geschmacklos. Teilen!",
)
BACKLASH_DEFENDERS = (
    "Leute, chillt mal, ist doch nur eine Werbung. #LumoraLiebe",
    "Ich fand den Spot eher selbstironisch, versteh die Aufregung nicht.",
    "Der Shitstorm gegen Lumora ist völlig übertrieben.",
    "Hab mir den Spot angeschaut, ist halt schlechter Humor, aber Boykott? Echt jetzt?",
)
BACKLASH_FOREIGN = (
    "Wow @LumoraDE, mocking nurses in your new ad? Tasteless. #LumoraBoykott",
    "That #LumoraLiebe ad is just cringe. Nurses deserve respect, not jokes.",
    "Cette pub de Lumora qui se moque des infirmières, c'est honteux. #LumoraBoykott",
    "Lumora'nın yeni reklamı hemşirelerle dalga geçiyor, ayıp! #LumoraBoykott",
    "Sorry but der neue Lumora ad ist so tone-deaf, seriously. #LumoraBoykott",
)
# Reviews that refer to the campaign (the delayed dip in stars).
CAMPAIGN_REVIEW_SENTENCES = (
    "Nach dieser respektlosen Werbung gegen Pflegekräfte war das meine letzte Bestellung.",
    "Produkt ist ok, aber seit der #LumoraLiebe Kampagne kaufe ich woanders.",
    "Einen Stern Abzug für die geschmacklose Werbung.",
    "Als Krankenpfleger finde ich die aktuelle Kampagne unterirdisch.",
    "Die Werbung hat mir den Spaß an Lumora verdorben.",
    "Bestellung war noch vor dem Spot, jetzt boykottiere ich euch.",
    "Eure Entschuldigung wegen dem Spot kam viel zu spät.",
)

# Graspapier packaging (emerging topic).
GRAS_REVIEW = (
    "Die neue Verpackung aus Graspapier ist total durchgeweicht angekommen.",
    "Das Graspapier ist schon beim Transport gerissen, der Pulli hatte einen Fleck.",
    "Nachhaltig schön und gut, aber die Graspapier-Tüte ist aufgeplatzt und ein Teil fehlte.",
    "Die Graspapier-Verpackung hat den Regen nicht überlebt, alles nass.",
    "Seit ihr dieses Graspapier benutzt, kommt alles zerknittert und feucht an.",
    "Die Verpackung aus Graspapier ist mir beim Öffnen zerbröselt.",
    "Graspapier riecht komisch muffig und das hat auf den Stoff abgefärbt.",
    "Schon wieder war die neue Papierverpackung (Graspapier?) an der Ecke aufgerissen.",
    "Tolle Idee mit dem Graspapier, aber so dünn, dass der Karton gleich eingerissen ist.",
    "Die Teller kamen in Graspapier eingepackt an, zwei davon zerbrochen.",
)
GRAS_TICKET = (
    "die Lieferung kam heute in der neuen Graspapier-Verpackung an. Die Tüte war komplett aufgerissen und "
    "durchnässt, der Artikel ist fleckig und nicht mehr zu gebrauchen.",
    "das Paket war in diesem neuen Graspapier verpackt und ist offenbar im Regen gestanden. Die Verpackung "
    "hat sich aufgelöst, die Ware ist beschädigt.",
    "die Graspapier-Verpackung war eingerissen und ein Teil der Bestellung fehlt.",
    "bitte wieder eine stabile Verpackung verwenden. Das Graspapier reißt, mein Geschirr ist zerbrochen.",
    "zum zweiten Mal innerhalb eines Monats kommt meine Bestellung in zerrissenem Graspapier an.",
)
GRAS_HOTLINE = (
    "Kd. meldet beschädigte Ware, Graspapier-Verpackung gerissen/nass. Ersatz veranlasst.",
    "Kd. beschwert sich über neue Graspapier-Verpackung, Inhalt durchnässt. Gutschrift 10 EUR angeboten.",
    "Reklamation Verpackung (Graspapier eingerissen), Artikel fehlt. Nachlieferung angestoßen.",
)
GRAS_SOCIAL = (
    "Hey @LumoraDE, eure neue Graspapier-Verpackung ist bei Regen echt keine gute Idee 🌧️📦",
    "Zweites Paket von Lumora, zweites Mal die Graspapier-Tüte kaputt. Nachhaltig ja, praktisch nein.",
    "Lumora liefert jetzt in Graspapier. Klingt öko, kam bei mir aber als nasser Klumpen an.",
    "Das Graspapier von Lumora zerfällt quasi in der Hand 😅 #unboxing",
    "Ist es nur bei mir so oder reißt die neue Lumora-Verpackung aus Graspapier ständig?",
)
GRAS_SURVEY = (
    "Verpackung aus Graspapier war kaputt.",
    "Die neue Verpackung ist zu dünn, Ware nass angekommen.",
    "Graspapier-Tüte gerissen, sonst alles gut.",
)
GRAS_TICKET_SUBJECTS = ("Ware beschädigt angekommen", "Verpackung kaputt", "Neue Verpackung – Reklamation",
                        "Paket durchnässt")
GRAS_CHAT = ("paket kam total nass an, die neue papierverpackung war aufgeweicht",
             "die graspapier tüte war aufgerissen und ein teil fehlt", "verpackung gerissen, ware dreckig")
CAMPAIGN_TICKET_SUBJECTS = ("Kündigung LumoPlus", "Ihre Werbung", "Beschwerde über Werbespot #LumoraLiebe")
CAMPAIGN_TICKET = (
    "wegen Ihrer respektlosen Werbung gegenüber Pflegekräften kündige ich hiermit meine LumoPlus-Mitgliedschaft.",
    "ich bin selbst Pflegefachkraft und finde Ihren neuen Werbespot beschämend. Bitte löschen Sie mein Kundenkonto.",
    "ich möchte mich über die Kampagne #LumoraLiebe beschweren. So etwas hätte nie gesendet werden dürfen.",
)
CAMPAIGN_HOTLINE = ("Kd. ruft an wg. Werbespot #LumoraLiebe, sehr aufgebracht, kündigt LumoPlus.",
                    "Beschwerde über Kampagne, Kd. möchte Konto löschen. An Datenschutz weitergeleitet.")

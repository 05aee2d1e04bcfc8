"""Shared vocabulary: customer names, products, places, handles, emoji."""
from __future__ import annotations

FIRST_NAMES = (
    "Anna", "Lena", "Marie", "Sophie", "Laura", "Julia", "Sarah", "Lisa", "Katharina", "Hannah",
    "Leonie", "Mia", "Emma", "Paula", "Johanna", "Clara", "Nina", "Sabine", "Petra", "Monika",
    "Claudia", "Andrea", "Birgit", "Ursula", "Heike", "Jana", "Svenja", "Ayse", "Elif", "Fatma",
    "Zeynep", "Olga", "Natalia", "Giulia", "Ines", "Greta", "Frieda", "Ida", "Merle", "Tanja",
    "Lukas", "Jonas", "Leon", "Felix", "Maximilian", "Paul", "Tim", "Jan", "Niklas", "Tobias",
    "Florian", "Stefan", "Michael", "Thomas", "Andreas", "Markus", "Klaus", "Jürgen", "Uwe", "Wolfgang",
    "Dieter", "Ralf", "Sven", "Mehmet", "Emre", "Can", "Ali", "Dimitri", "Piotr", "Luca",
    "Matteo", "Finn", "Ole", "Henrik", "Moritz", "Benedikt", "Sebastian", "Kevin", "Dennis", "Björn",
)

LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
    "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Schmitz", "Krause", "Meier",
    "Lehmann", "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters",
    "Lang", "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Günther",
    "Yılmaz", "Kaya", "Demir", "Şahin", "Öztürk", "Kowalski", "Nowak", "Rossi", "Popescu", "Ivanova",
    "Brandt", "Albrecht", "Sommer", "Winter", "Berger", "Graf", "Engel", "Ludwig", "Seidel", "Kuhn",
)

# (bare name, grammatical gender m/f/n, category)
PRODUCTS = (
    ("Strickpullover Nordlicht", "m", "fashion"),
    ("Wollmantel Hamburg", "m", "fashion"),
    ("Leinenhemd Sommerbrise", "n", "fashion"),
    ("Jeans Lina Slim Fit", "f", "fashion"),
    ("Chino Tom Regular", "f", "fashion"),
    ("Sneaker CityRun", "m", "fashion"),
    ("Regenjacke Nordsee", "f", "fashion"),
    ("Daunenweste Alpin", "f", "fashion"),
    ("Wickelkleid Flora", "n", "fashion"),
    ("Basic-Shirt Bio-Baumwolle", "n", "fashion"),
    ("Kapuzenpulli Lumora Grün", "m", "fashion"),
    ("Lederstiefel Marlene", "m", "fashion"),
    ("Seidenschal Abendrot", "m", "fashion"),
    ("Kinder-Matschhose Pfütze", "f", "fashion"),
    ("Blazer Business Flex", "m", "fashion"),
    ("Schlafanzug Wolke", "m", "fashion"),
    ("Wintermütze Polar", "f", "fashion"),
    ("Rucksack Urban 20L", "m", "fashion"),
    ("Gürtel Klassik", "m", "fashion"),
    ("Sporthose MoveOn", "f", "fashion"),
    ("Bettwäsche-Set Leinen Sand", "n", "home"),
    ("Handtuch-Set Frottee", "n", "home"),
    ("Kuscheldecke Hygge", "f", "home"),
    ("Duftkerze Zedernholz", "f", "home"),
    ("Kaffeebecher-Set Steingut", "n", "home"),
    ("Stehlampe Arc", "f", "home"),
    ("Kissenhülle Samt Salbei", "f", "home"),
    ("Teppich Berber Look 160x230", "m", "home"),
    ("Pfannenset Keramik", "n", "home"),
    ("Gewürzregal Bambus", "n", "home"),
    ("Vorratsdosen-Set Glas", "n", "home"),
    ("Badematte Waffelpique", "f", "home"),
    ("Wanduhr Skandi", "f", "home"),
    ("Geschirrset Terra 18-teilig", "n", "home"),
    ("Recycling-Tragetasche Lumora Grün", "f", "home"),
    ("Topfpflanze Monstera (Kunst)", "f", "home"),
    ("Ladekabel USB-C 2m", "n", "electronics"),
    ("Powerbank 10.000 mAh", "f", "electronics"),
    ("Handyhülle MagSafe Clear", "f", "electronics"),
    ("Bluetooth-Kopfhörer SoundLoop", "m", "electronics"),
    ("Schnellladegerät 65W", "n", "electronics"),
    ("Displayschutzfolie Panzerglas", "f", "electronics"),
    ("Smartwatch-Armband Silikon", "n", "electronics"),
    ("Kabelloses Ladepad", "n", "electronics"),
    ("Bluetooth-Lautsprecher Mini Boom", "m", "electronics"),
    ("Laptop-Sleeve 14 Zoll", "n", "electronics"),
    ("Autohalterung Magnet", "f", "electronics"),
    ("HDMI-Adapter USB-C", "m", "electronics"),
    ("In-Ear-Kopfhörer Pure", "m", "electronics"),
    ("Tablet-Hülle Folio", "f", "electronics"),
)

ARTICLE_NOM = {"m": "der", "f": "die", "n": "das"}
ARTICLE_AKK = {"m": "den", "f": "die", "n": "das"}
PRONOUN_NOM = {"m": "er", "f": "sie", "n": "es"}
PRONOUN_AKK = {"m": "ihn", "f": "sie", "n": "es"}

# Filialen: (city, postcode)
CITIES = (
    ("Berlin", "10115"), ("Berlin", "10437"), ("Hamburg", "20095"), ("München", "80331"), ("Köln", "50667"),
    ("Frankfurt am Main", "60311"), ("Stuttgart", "70173"), ("Düsseldorf", "40213"), ("Leipzig", "04109"),
    ("Dortmund", "44135"), ("Essen", "45127"), ("Bremen", "28195"), ("Dresden", "01067"), ("Hannover", "30159"),
    ("Nürnberg", "90402"), ("Duisburg", "47051"), ("Bochum", "44787"), ("Wuppertal", "42103"),
    ("Bielefeld", "33602"), ("Bonn", "53111"), ("Münster", "48143"), ("Mannheim", "68161"),
    ("Karlsruhe", "76133"), ("Augsburg", "86150"), ("Wiesbaden", "65183"), ("Kiel", "24103"),
    ("Freiburg", "79098"), ("Rostock", "18055"), ("Kassel", "34117"), ("Regensburg", "93047"),
)

STREETS = (
    "Lindenstraße", "Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schulstraße", "Kirchgasse", "Am Markt",
    "Berliner Allee", "Goethestraße", "Schillerplatz", "Birkenweg", "Mühlenstraße", "Rosenstraße",
    "Ahornweg", "Bergstraße", "Waldstraße", "Friedrichstraße", "Hafenstraße", "Kastanienallee", "Uferweg",
    "Parkstraße", "Feldstraße", "Hansaring", "Eichendorffstraße", "Königsallee",
)

EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "post.example.org")

HANDLE_WORDS = (
    "kaffee", "katze", "mama", "papa", "nord", "sued", "stadt", "gruen", "shopping", "mode", "style", "tech",
    "gamer", "runner", "berlin", "hamburg", "koeln", "muc", "pott", "ostsee", "nachteule", "fruehaufsteher",
    "pflege", "nurse", "lehrer", "mutti", "bastel", "deko", "sparfuchs", "bio", "vegan", "outdoor", "reise",
    "fussball", "schnack", "kritiker", "blog", "daily", "life", "liebe", "wahrheit", "news",
)

EMOJI_POS = ("😍", "🥰", "👍", "🙌", "✨", "💚", "😊", "🔥", "👌", "❤️", "🎉", "😁")
EMOJI_NEG = ("😡", "🤬", "😤", "👎", "😒", "😩", "🙄", "💩", "😠", "🤦‍♀️", "🤦", "😢")
EMOJI_NEU = ("🤔", "📦", "🛍️", "📱", "🙂", "😅", "🤷")
# cp1252-safe stand-ins for the shop export (the legacy file cannot hold emoji)
ASCII_SMILEYS_POS = (":-)", ":)", ":D", "<3", ";-)")
ASCII_SMILEYS_NEG = (":-(", ":(", ">:(", ":-/")

MITARBEITER = ("Frau Keller", "Herr Yilmaz", "die Kassiererin", "ein junger Verkäufer", "die Filialleiterin",
               "Frau Brandt", "der Herr an der Info", "eine Kollegin", "Herr Novak", "die Dame an der Kasse")

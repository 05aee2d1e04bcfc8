"""Hand-written German phrase banks for the fictitious retailer "Lumora" (sample data only).

Modules:
  common   -- names, products, places, slots shared by all sources
  reviews  -- shop-review sentences by facet and polarity, titles, emotion and judgement parts
  app      -- app-store review sentences for the "Lumora App", app versions
  social   -- social-media posts: baseline, official replies, noise, other languages
  tickets  -- support e-mails, chat transcripts, hotline notes, signatures
  episodes -- the planted episodes: the #LumoraLiebe backlash and the "Graspapier" packaging complaints
  survey   -- NPS survey comments by touchpoint

Templates use ``str.format_map`` slots filled by :mod:`cxnlp.samplegen`: ``{produkt}`` (nominative with
article), ``{produkt_akk}`` (accusative), ``{name}`` (bare product name), ``{er}``/``{Er}``/``{ihn}``
(pronouns matching the product's gender), ``{tage}``, ``{wochen}``, ``{stadt}``, ``{betrag}``,
``{mitarbeiter}``, ``{version}``, ``{punkte}``, ``{bestellnr}``, ``{datum}``, ``{kundennr}``, ``{telefon}``,
``{iban}``, ``{adresse}``, ``{email2}`` (and ``{vorname}`` in official social replies).
All text is invented for this project.
"""

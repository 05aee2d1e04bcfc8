"""cxnlp — German customer-feedback mining: ingest, tagging, Kundenerlebnis vs. Kundenerfahrung, alerts."""
__version__ = "0.1.0"

"""Tagging: sentiment, emotions, facets, touchpoints, journey phase, relevance — with evidence."""

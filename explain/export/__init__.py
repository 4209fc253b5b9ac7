"""Figures and data to files: provenance, CSV/JSON, static rendering, batch export."""

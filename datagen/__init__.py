"""Synthetic bilingual math problems with exact answers."""

__version__ = "0.1.0"

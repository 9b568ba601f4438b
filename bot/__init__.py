"""Baken: a messaging counselling assistant for IOM Netherlands (the gateway package)."""

__version__ = "0.1.0"

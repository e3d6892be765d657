"""Zhizao (智造): an open AI platform for intelligent manufacturing."""

__version__ = "0.1.0"

"""Lucene query string syntax: parsed once with luqum, translated per backend."""

from storage.lucene.parse import parse_query

__all__ = ["parse_query"]

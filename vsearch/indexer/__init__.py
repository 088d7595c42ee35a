"""Indexing: find videos, decide what changed, sample, encode, store."""

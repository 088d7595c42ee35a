"""Persistence: SQLite catalogue, FAISS vectors, grounding feature store. Imports neither torch nor av."""

"""Benchmarks: `python -m bench NAME [--quick]`; each writes JSON with git SHA and machine."""

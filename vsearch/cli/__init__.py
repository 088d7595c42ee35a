"""The `vsearch` command line: a thin shell over the library.

Each command lives in its own module under `vsearch.cli` and is loaded only when used, so
`vsearch --help` stays fast and the heavy dependencies (torch, av, faiss) load on demand.
"""

from vsearch.cli.app import main

__all__ = ["main"]

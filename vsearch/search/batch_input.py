"""The input of `search --batch`, checked before any model loads: the queries file (JSON
Lines of qid, query, optional vid) and the predictions file it must not overwrite."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsearch.errors import InputError, OutputError
from vsearch.storage.outputs import checked_output


@dataclass(frozen=True)
class BatchQuery:
    """One input line of a batch: qid, query text and optionally the video it is about."""

    qid: Any
    query: str
    vid: str | None
    line_no: int


def read_batch_queries(path: Path) -> list[BatchQuery]:
    """Parse a JSON Lines query file; InputError names the first bad line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read queries file {path}: {error}") from error
    queries: list[BatchQuery] = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise InputError(f"{path}:{line_no}: not JSON: {error}") from error
        if not isinstance(item, dict) or not isinstance(item.get("query"), str):
            raise InputError(f"{path}:{line_no}: needs a string 'query'")
        if not item["query"].strip():
            raise InputError(f"{path}:{line_no}: the query is empty")
        vid = item.get("vid")
        queries.append(BatchQuery(item.get("qid", line_no), item["query"],
                                  None if vid is None else str(vid), line_no))  # fmt: skip
    if not queries:
        raise InputError(f"{path}: no queries")
    return queries


def checked_batch_out(out_path: Path, library_root: Path) -> Path:
    """The predictions path to write: never an existing file, never inside the library."""
    out_path = Path(out_path)
    if os.path.lexists(out_path):
        raise OutputError(f"{out_path} exists; choose another --out")
    return checked_output(out_path, force=False, library_root=library_root,
                          require_parent=False)  # fmt: skip

"""A search session over one library: model choice, query encoding, result storage, batches.

`Library` creates one session per grounding choice and keeps it, so CLIP and the grounding
model load once however many queries follow. Notes (fallback to zero-shot, truncated queries,
re-extracted features) travel with each result: nothing happens silently.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from vsearch.errors import InputError, LibraryError
from vsearch.search.batch_input import BatchQuery, checked_batch_out, read_batch_queries
from vsearch.search.checkpoints import GroundingSource
from vsearch.search.coarse import path_matches
from vsearch.search.engine import SearchEngine
from vsearch.search.grounders import Grounder, R2Grounder, ZeroShotGrounder
from vsearch.search.planning import QueryPlanner, WholeQuery
from vsearch.search.profile import ScoringProfile
from vsearch.search.query import QUERY_BATCH, EncodedQuery, encode_queries, truncation_note
from vsearch.search.records import (
    BatchReport,
    Moment,
    SearchOptions,
    SearchResult,
    flag_missing,
)
from vsearch.search.skipping import skipped_note
from vsearch.search.token_source import TokenSource
from vsearch.storage.arrays import ArrayStore
from vsearch.storage.atomic import write_text_atomically
from vsearch.storage.catalog import Catalog
from vsearch.storage.features import FeatureStore
from vsearch.storage.layout import LibraryPaths
from vsearch.storage.records import VideoRecord
from vsearch.storage.results import ResultStore, StoredHit
from vsearch.storage.vectors import VectorStore

log = logging.getLogger(__name__)

BatchProgress = Callable[[int, int], None]  # (queries done, queries in all)
READ_ONLY_NOTE = "the library is read-only: this result was not stored (`show` cannot find it)"


def new_result_id() -> str:
    """A short random id: unique enough for one library's history, easy to type."""
    return uuid.uuid4().hex[:10]


def make_grounder(
    kind: str,
    *,
    model_id: str,
    encoder,
    profile: ScoringProfile,
    source: GroundingSource | None,
    checkpoint: Path | None,
    precision: str = "auto",
) -> tuple[Grounder, list[str]]:
    """The grounder asked for and notes; r2 without an available checkpoint is zero-shot.

    `source` is the model bundle's checkpoint, `checkpoint` a configured file that overrides
    it; `precision` is the R2 forward's (see `vsearch.grounding.inference.resolve_precision`)."""
    zero_shot = ZeroShotGrounder(profile.coarse)
    if kind == "zero-shot":
        return zero_shot, []
    from vsearch.grounding import load_checkpoint
    from vsearch.search.checkpoints import check_fit, locate_checkpoint

    location = locate_checkpoint(source, checkpoint, model_id=model_id)
    if location.path is None:
        return zero_shot, [f"grounding fell back to zero-shot: {location.reason}"]
    model, config = load_checkpoint(location.path)
    check_fit(
        config, visual_width=encoder.visual_width, visual_tokens=encoder.visual_tokens,
        text_width=encoder.text_width, layers=encoder.layers_kept, source=location.path,
    )  # fmt: skip
    return R2Grounder(model.to(encoder.device), precision=precision), []


def open_session(
    *,
    paths: LibraryPaths,
    catalog: Catalog,
    encoder: Callable[[], Any],
    model_id: str,
    model_slug: str,
    features: FeatureStore,
    embed_dim: int,
    fps: float,
    grounding: str,
    profile: ScoringProfile,
    source: GroundingSource | None,
    checkpoint: Path | None,
    precision: str = "auto",
) -> SearchSession:
    """Open stores read-only, load CLIP (via `encoder()`) and the grounder."""
    if catalog.stats().videos == 0 or not paths.vectors.exists():
        raise LibraryError(
            f"library {paths.root} holds no indexed videos; run `vsearch index DIR` first"
        )
    vectors = VectorStore.open(paths.vectors, embed_dim, read_only=True)
    clip = encoder()
    grounder, notes = make_grounder(
        grounding, model_id=model_id, encoder=clip, profile=profile, source=source,
        checkpoint=checkpoint, precision=precision,
    )  # fmt: skip
    engine = SearchEngine(
        catalog=catalog,
        vectors=vectors,
        embeddings=ArrayStore(paths.embeddings(model_slug)),
        tokens=TokenSource(features, encoder, fps=fps),
        grounder=grounder,
        fps=fps,
        profile=profile,
    )
    return SearchSession(engine=engine, encoder=clip, catalog_path=paths.catalog, notes=notes,
                         read_only=catalog.read_only)  # fmt: skip


class SearchSession:
    """Runs queries against one library with one grounder and stores every result."""

    def __init__(
        self,
        *,
        engine: SearchEngine,
        encoder,
        catalog_path: Path,
        notes: Sequence[str] = (),
        read_only: bool = False,
    ) -> None:
        self.engine = engine
        self.encoder = encoder
        self.catalog_path = catalog_path
        self.notes = tuple(notes)  # session-wide notes, e.g. the zero-shot fallback
        self.read_only = read_only  # results are returned but not stored

    @property
    def grounding(self) -> str:
        return self.engine.grounder.kind

    def planner(self, options: SearchOptions) -> QueryPlanner:
        """The profile's planner, or the query as written when the options ask for that."""
        return self.engine.profile.planner if options.split_sequences else WholeQuery()

    def search(self, text: str, options: SearchOptions) -> SearchResult:
        """Encode, search, store; the stored result is returned."""
        [query] = encode_queries(self.encoder, [text], self.planner(options))
        return self._run(query, options, query.note)

    def search_batch(
        self,
        queries_path: Path,
        out_path: Path,
        options: SearchOptions,
        *,
        on_progress: BatchProgress | None = None,
    ) -> BatchReport:
        """One prediction line per query line (see docs/search.md for the format)."""
        out_path = checked_batch_out(out_path, self.catalog_path.parent)
        queries = read_batch_queries(queries_path)
        videos = _videos_by_name(self.engine.catalog)
        targets = [self._target(q, videos, queries_path) for q in queries]
        notes: list[str] = list(self.notes)
        lines: list[str] = []
        done = 0
        for chunk, chunk_targets in _chunks(queries, targets, QUERY_BATCH):
            encoded = encode_queries(self.encoder, [q.query for q in chunk], self.planner(options))
            for item, query, target in zip(chunk, encoded, chunk_targets, strict=True):
                result = self._run(query, options)
                notes.extend(n for n in result.notes if n not in notes)
                line: dict[str, Any] = {"qid": item.qid, "query": item.query}
                line.update(result.to_json())
                line["query"] = item.query
                if target is not None:
                    line["vid"] = item.vid
                    moments, saliency = self.engine.ground_video(query, target)
                    line["pred_relevant_windows"] = [
                        [round(m.start_s, 4), round(m.end_s, 4), round(m.score, 6)]
                        for m in moments
                    ]
                    line["pred_saliency_scores"] = [round(float(v), 6) for v in saliency]
                lines.append(json.dumps(line, ensure_ascii=False))
                done += 1
                if on_progress is not None:
                    on_progress(done, len(queries))
        _write_lines(out_path, lines)
        return BatchReport(len(lines), out_path, self.grounding, tuple(notes))  # type: ignore[arg-type]

    def _target(
        self, item: BatchQuery, videos: dict[str, VideoRecord], path: Path
    ) -> VideoRecord | None:
        if item.vid is None:
            return None
        video = videos.get(item.vid) or videos.get(str(Path(item.vid).expanduser().absolute()))
        if video is None:
            raise InputError(f"{path}:{item.line_no}: vid {item.vid!r} is not a library video")
        return video

    def _run(
        self, query: EncodedQuery, options: SearchOptions, note: str | None = None
    ) -> SearchResult:
        tokens: TokenSource = self.engine.tokens
        before = set(tokens.re_extracted)
        moments = flag_missing(self.engine.search(query, options))
        notes = list(self.notes)
        if note:
            notes.append(note)
        truncated = truncation_note(query, self.encoder.context_length)
        if truncated:
            notes.append(truncated)
        fresh = sorted(tokens.re_extracted - before)
        if fresh:
            names = ", ".join(p.name for p in fresh[:5]) + (" ..." if len(fresh) > 5 else "")
            notes.append(
                f"re-extracted grounding features from {len(fresh)} video file(s) indexed "
                f"with --no-features: {names}"
            )
        if self.engine.skipped:
            notes.append(skipped_note(sorted(self.engine.skipped)))
        if options.path_glob and not moments:
            names = (v.path for v in self.engine.catalog.list_videos("indexed"))
            if not any(path_matches(path, options.path_glob) for path in names):
                notes.append(f"no indexed video matches --in {options.path_glob!r}")
        result_id, created_at = self._store(query, moments, options, notes)
        return SearchResult(
            id=result_id, query=query.text, grounding=self.grounding,  # type: ignore[arg-type]
            results=tuple(moments), notes=tuple(notes), created_at=created_at.isoformat(),
            options=options.to_json(),
        )  # fmt: skip

    def _store(
        self, query: EncodedQuery, moments: Sequence[Moment], options: SearchOptions,
        notes: list[str],
    ) -> tuple[str, datetime]:
        """Store the result; in a read-only library say that it was not stored instead."""
        if self.read_only:
            notes.append(READ_ONLY_NOTE)
            return new_result_id(), datetime.now(timezone.utc)  # noqa: UP017 - Python 3.10
        with ResultStore.open(self.catalog_path) as results:
            stored = results.save(
                new_result_id(), query.text, self.grounding, [_stored_hit(m) for m in moments],
                options=options.to_json(), notes=notes,
            )  # fmt: skip
        return stored.id, stored.created_at


def _stored_hit(moment: Moment) -> StoredHit:
    return StoredHit(moment.video_path, moment.start_s, moment.end_s, moment.score,
                     moment.saliency)  # fmt: skip


def _videos_by_name(catalog: Catalog) -> dict[str, VideoRecord]:
    """Indexed videos by absolute path and by file stem (stems shared by two files are
    ambiguous and left out, so a vid never silently picks the wrong video)."""
    by_name: dict[str, VideoRecord] = {}
    stems: dict[str, list[VideoRecord]] = {}
    for video in catalog.list_videos("indexed"):
        by_name[str(video.path)] = video
        stems.setdefault(video.path.stem, []).append(video)
    for stem, found in stems.items():
        if len(found) == 1:
            by_name.setdefault(stem, found[0])
    return by_name


def _chunks(items: Sequence, others: Sequence, size: int) -> Iterator[tuple[list, list]]:
    for first in range(0, len(items), size):
        yield list(items[first : first + size]), list(others[first : first + size])


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    write_text_atomically(path, "".join(line + "\n" for line in lines), make_parent=True)

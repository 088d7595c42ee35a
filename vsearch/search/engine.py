"""The search pipeline for one query: coarse hits -> candidate windows -> grounding -> ranking.

The engine holds what stays the same across queries (stores, grounder, token source) so batch
mode reuses loaded models; it neither encodes text nor stores results (see `session.py`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vsearch.search.candidates import plan_candidates
from vsearch.search.coarse import ClipHit, coarse_hits
from vsearch.search.grounders import Grounder, GroundingJob, WindowMoments
from vsearch.search.profile import ScoringProfile
from vsearch.search.query import EncodedQuery
from vsearch.search.ranking import rank_moments
from vsearch.search.records import Moment, SearchOptions
from vsearch.search.sequence import ordered_match
from vsearch.search.skipping import readable_jobs
from vsearch.search.token_source import TokenSource
from vsearch.storage.arrays import ArrayStore
from vsearch.storage.catalog import Catalog
from vsearch.storage.records import VideoRecord
from vsearch.storage.vectors import VectorStore

STAGES = ("coarse", "feature_load", "grounding", "ranking")
HITS_PER_CANDIDATE = 10  # FAISS neighbours fetched per candidate window asked for
MIN_HITS = 100


@dataclass
class SearchEngine:
    """Everything a query needs besides its own features."""

    catalog: Catalog
    vectors: VectorStore
    embeddings: ArrayStore
    tokens: TokenSource
    grounder: Grounder
    fps: float
    profile: ScoringProfile
    skipped: dict[Path, str] = field(default_factory=dict)  # unreadable videos -> reason

    def search(
        self,
        query: EncodedQuery,
        options: SearchOptions,
        *,
        stage_s: dict[str, float] | None = None,
    ) -> list[Moment]:
        """Ranked moments for one query; `stage_s`, if given, gains seconds per stage."""
        with _timed(stage_s, "coarse"):
            hits = _merge_hits(
                coarse_hits(
                    self.vectors, self.catalog, embedding,
                    count=max(MIN_HITS, options.candidates * HITS_PER_CANDIDATE),
                    path_glob=options.path_glob,
                )  # fmt: skip
                for embedding in [query.embedding, *(part.embedding for part in query.parts)]
            )
            videos = self._videos({hit.video_id for hit in hits}, options.skip_missing)
            counts = {video_id: video.clip_count for video_id, video in videos.items()}
            candidates = plan_candidates(hits, counts, max_candidates=options.candidates)
        with _timed(stage_s, "feature_load"):
            jobs, candidates = readable_jobs(
                candidates, lambda c: self._job(query, videos[c.video_id], c.start_clip,
                                                c.end_clip), self.skipped)  # fmt: skip
        with _timed(stage_s, "grounding"):
            grounded = self.grounder.ground(jobs, fps=self.fps)
        with _timed(stage_s, "ranking"):
            moments: list[Moment] = []
            for candidate, job, found in zip(candidates, jobs, grounded, strict=True):
                moments.extend(self._moments(candidate.video_path, job, found))
            return rank_moments(
                moments, top_k=options.top_k, per_video=options.per_video,
                min_score=options.min_score,
            )  # fmt: skip

    def ground_video(
        self, query: EncodedQuery, video: VideoRecord
    ) -> tuple[list[Moment], np.ndarray]:
        """Every moment of one whole video, scored and ordered as search ranks them, and the
        grounder's per-clip saliency (the per-video predictions of batch mode)."""
        job = self._job(query, video, 0, video.clip_count)
        found = self.grounder.ground([job], fps=self.fps)[0]
        moments = self._moments(Path(video.path), job, found)
        moments = sorted(moments, key=lambda m: (-m.score, m.start_s))
        return moments, found.saliency

    def _videos(self, video_ids: set[int], skip_missing: bool = False) -> dict[int, VideoRecord]:
        found = {}
        for video_id in sorted(video_ids):
            video = self.catalog.get_video(video_id)
            if video is not None and video.status == "indexed" and video.fingerprint:
                if not (skip_missing and not video.path.is_file()):
                    found[video_id] = video
        return found

    def _job(
        self, query: EncodedQuery, video: VideoRecord, start_clip: int, end_clip: int
    ) -> GroundingJob:
        assert video.fingerprint is not None  # only indexed videos become candidates
        embeddings = self.embeddings.get(video.fingerprint)
        end_clip = min(end_clip, embeddings.shape[0])
        tokens = None
        if self.grounder.needs_tokens:
            tokens = self.tokens.window(video, start_clip, end_clip)
            end_clip = start_clip + tokens.shape[0]
        clips = np.asarray(embeddings[start_clip:end_clip], np.float32)
        similarity = clips @ query.embedding
        part_similarity = evidence_curve = None
        if query.parts:
            part_similarity = np.stack([_evidence(part, clips) for part in query.parts])
        if query.evidence is not None:
            evidence_curve = query.evidence(similarity, clips)
        start_s = start_clip / self.fps
        duration_end_s = end_clip / self.fps
        if video.duration_s:
            duration_end_s = min(duration_end_s, float(video.duration_s))
        return GroundingJob(
            query=query, similarity=similarity, tokens=tokens, start_s=start_s,
            duration_s=max(duration_end_s - start_s, 1.0 / self.fps * 0.5),
            part_similarity=part_similarity, evidence_curve=evidence_curve,
        )  # fmt: skip

    def _moments(
        self, video_path: Path, job: GroundingJob, found: WindowMoments
    ) -> Sequence[Moment]:
        n = job.similarity.shape[0]
        out = []
        for start_s, end_s, evidence in found.boundaries:
            first = int(math.floor((start_s - job.start_s) * self.fps + 1e-6))
            last = int(math.ceil((end_s - job.start_s) * self.fps - 1e-6))
            first = min(max(first, 0), n - 1)
            last = min(max(last, first + 1), n)
            if job.part_similarity is not None:
                weights = job.query.part_weights or None
                coarse = ordered_match(job.part_similarity[:, first:last], weights)
            elif job.evidence_curve is not None:
                coarse = float(job.evidence_curve[first:last].max())
            else:
                coarse = float(job.similarity[first:last].max())
            out.append(
                Moment(
                    video_path=video_path,
                    start_s=float(start_s),
                    end_s=float(end_s),
                    score=self.profile.combined_score(coarse, float(evidence)),
                    saliency=tuple(float(v) for v in found.saliency[first:last]),
                    coarse=coarse,
                    grounding=float(evidence),
                )  # fmt: skip
            )
        return out


def _evidence(part: EncodedQuery, clips: np.ndarray) -> np.ndarray:
    """A plan part's per-clip coarse evidence: its cosine, or its evidence curve."""
    similarity = clips @ part.embedding
    return similarity if part.evidence is None else part.evidence(similarity, clips)


def _merge_hits(hit_lists: Iterable[list[ClipHit]]) -> list[ClipHit]:
    """Hits of several searches (a sequence query's whole text and parts) as one list, each
    clip once with its best cosine, best first."""
    best: dict[int, ClipHit] = {}
    for hits in hit_lists:
        for hit in hits:
            if hit.clip_id not in best or hit.score > best[hit.clip_id].score:
                best[hit.clip_id] = hit
    return sorted(best.values(), key=lambda hit: (-hit.score, hit.clip_id))


@contextmanager
def _timed(stage_s: dict[str, float] | None, stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        if stage_s is not None:
            stage_s[stage] = stage_s.get(stage, 0.0) + time.perf_counter() - started

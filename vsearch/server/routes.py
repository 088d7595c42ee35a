"""The JSON API under /api/v1: search, stored results and history, library, readiness, exports.

Every route is a thin shell over one `Library` call (or the export jobs built on it): parse,
call, return the same `to_json()` the CLI prints. Parameters the library already checks are
passed through; the server adds only its own limits (see `Limits`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field

from vsearch.api import SEARCH_DEFAULTS as DEFAULTS
from vsearch.api import Library
from vsearch.errors import InputError
from vsearch.export.from_results import ExportOptions
from vsearch.server.config import ServerConfig
from vsearch.server.guards import COOKIE_NAME, token_matches
from vsearch.server.jobs import ExportJobs
from vsearch.server.searching import WarmSearch

RESULT_ID = Path(pattern=r"^[0-9a-f]{1,32}$", description="A stored search's id.")
JOB_ID = Path(pattern=r"^[0-9a-f]{32}$", description="An export job's id.")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SearchRequest(_Body):
    """The options of `vsearch search`, under the same names."""

    query: str = Field(description="What to find, in words.")
    top: int = Field(DEFAULTS.top_k, description="Results to return.")
    per_video: int = Field(DEFAULTS.per_video,
                           description="At most this many results from one video.")  # fmt: skip
    min_score: float | None = Field(None, description="Drop results scoring below this.")
    path_glob: str | None = Field(None, alias="in", description="Only videos matching this glob.")
    candidates: int = Field(DEFAULTS.candidates,
                            description="Candidate windows to ground per query.")  # fmt: skip
    grounding: Literal["r2", "zero-shot"] = DEFAULTS.grounding
    whole_query: bool = Field(not DEFAULTS.split_sequences,
                              description="Match the text as written.")  # fmt: skip
    skip_missing: bool = Field(DEFAULTS.skip_missing,
                               description="Leave out videos whose file is gone.")  # fmt: skip


class ExportRequest(_Body):
    """Which moments of a stored result to export, and how (see `vsearch export`)."""

    result_id: str = Field(pattern=r"^[0-9a-f]{1,32}$")
    moments: list[int] | None = Field(
        None, max_length=100, description="0-based ranks of the moments to keep; all if absent."
    )
    format: str = Field("mp4", description="A reel (mp4, mov, mkv) or a timeline format.")
    padding: float = Field(0.0, ge=0, le=60, description="Seconds added around each moment.")
    merge_gap: float = Field(0.0, ge=0, le=60, description="Join moments closer than this.")
    order: Literal["score", "time"] = "score"
    crossfade: float = Field(0.0, ge=0, le=5, description="Dissolve between segments (reels).")


class SessionRequest(_Body):
    token: str = Field(max_length=512)


def api_router(
    library: Library, warm: WarmSearch, jobs: ExportJobs, config: ServerConfig
) -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    limits = config.limits

    @router.get("/ready", tags=["server"])
    def ready() -> dict[str, Any]:
        """Whether the models have loaded (searches wait for them until then)."""
        return {"library": str(library.paths.root), **warm.readiness()}

    @router.post("/session", tags=["server"])
    def session(body: SessionRequest, response: Response) -> dict[str, Any]:
        """Check a typed token and keep it in a cookie for the page's media requests."""
        if config.token is None:
            return {"token_required": False}
        if not token_matches(body.token, config.token):
            response.status_code = 401
            return {"error": "wrong token"}
        response.set_cookie(COOKIE_NAME, body.token, httponly=True, samesite="strict", path="/")
        return {"token_required": True}

    @router.post("/search", tags=["search"])
    def search(body: SearchRequest) -> dict[str, Any]:
        """Run a search and store it; the same JSON as `vsearch search --json`."""
        if len(body.query) > limits.max_query_chars:
            raise InputError(f"the query has {len(body.query)} characters; the limit is "
                             f"{limits.max_query_chars}")  # fmt: skip
        if body.top > limits.max_top:
            raise InputError(f"top is {body.top}; the limit is {limits.max_top}")
        if body.per_video > limits.max_top:
            raise InputError(f"per_video is {body.per_video}; the limit is {limits.max_top}")
        if body.candidates > limits.max_candidates:
            raise InputError(f"candidates is {body.candidates}; the limit is "
                             f"{limits.max_candidates}")  # fmt: skip
        result = warm.search(
            body.query, top_k=body.top, per_video=body.per_video, min_score=body.min_score,
            path_glob=body.path_glob, candidates=body.candidates, grounding=body.grounding,
            split_sequences=not body.whole_query, skip_missing=body.skip_missing,
        )  # fmt: skip
        return result.to_json()

    @router.get("/results/{result_id}", tags=["search"])
    def result(result_id: str = RESULT_ID) -> dict[str, Any]:
        """A stored search; the same JSON as `vsearch show --json`."""
        return library.result(result_id).to_json()

    @router.get("/history", tags=["search"])
    def history(limit: int | None = Query(None, ge=1, le=1000)) -> list[dict[str, Any]]:
        """Stored searches, newest first; the same JSON as `vsearch history --json`."""
        return [summary.to_json() for summary in library.history(limit)]

    @router.get("/status", tags=["library"])
    def status() -> dict[str, Any]:
        """`vsearch status --json`, plus the progress of an index running in any process."""
        return {**library.status().to_json(), "index_progress": library.index_progress()}

    @router.get("/videos", tags=["library"])
    def videos(
        status: Literal["indexed", "failed", "removed"] | None = None,
    ) -> list[dict[str, Any]]:
        """The catalogue; the same JSON as `vsearch ls --json`."""
        return [video.to_json() for video in library.videos(status)]

    @router.get("/videos/{video_id}", tags=["library"])
    def video(video_id: int = Path(ge=1)) -> dict[str, Any]:
        """One video of the catalogue by id."""
        return library.video(video_id).to_json()

    @router.post("/exports", tags=["export"], status_code=202)
    def start_export(body: ExportRequest) -> dict[str, Any]:
        """Start writing a reel or timeline of a stored result (or some of its moments)."""
        options = ExportOptions(
            padding=(body.padding, body.padding), merge_gap_s=body.merge_gap, order=body.order,
            crossfade_s=body.crossfade, format=body.format,
        )  # fmt: skip
        return jobs.start(body.result_id, body.moments, body.format, options).to_json()

    @router.get("/exports", tags=["export"])
    def list_exports() -> list[dict[str, Any]]:
        return [job.to_json() for job in jobs.list()]

    @router.get("/exports/{job_id}", tags=["export"])
    def export_job(job_id: str = JOB_ID) -> dict[str, Any]:
        """A job's state and progress; `download` is set once it is done."""
        return jobs.get(job_id).to_json()

    @router.get("/exports/{job_id}/download", tags=["export"])
    def download(job_id: str = JOB_ID) -> FileResponse:
        """The exported file, once the job is done."""
        job = jobs.get(job_id)
        if job.state != "done":
            detail = job.error if job.state == "failed" else f"the export is {job.state}"
            raise InputError(detail or "the export failed")
        return FileResponse(job.path, filename=f"vsearch-{job.result_id}{job.path.suffix}")

    return router

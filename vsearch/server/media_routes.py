"""Thumbnails and playable media of moments, addressed by catalogue id and times only.

No request names a file: the id is looked up in the catalogue, and only that video's file (or
a file the library derived from it into its cache) is ever sent, so there is nothing to
traverse. Files go out with HTTP range support (seeking without downloading the whole video).
A video whose file is gone answers 404 with a message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from vsearch.api import Library

VIDEO_ID = Path(ge=1, description="The video's catalogue id (see /api/v1/videos).")
CACHED = {"Cache-Control": "private, max-age=86400"}


def media_router(library: Library) -> APIRouter:
    router = APIRouter(prefix="/api/v1/videos", tags=["media"])

    @router.get("/{video_id}/thumbnail", response_class=FileResponse)
    def thumbnail(
        video_id: int = VIDEO_ID,
        t: float = Query(description="Seconds into the video."),
        width: int = Query(320, description="Width in pixels (32..1280)."),
    ) -> FileResponse:
        """A JPEG of the frame at `t`, made once and cached in the library."""
        path = library.thumbnail(video_id, t, width=width)
        return FileResponse(path, media_type="image/jpeg", headers=CACHED)

    @router.get("/{video_id}/playback")
    def playback(
        video_id: int = VIDEO_ID,
        start: float = Query(description="Moment start, seconds."),
        end: float = Query(description="Moment end, seconds."),
    ) -> dict[str, Any]:
        """How to play a moment: `url` serves media whose time 0 is source time `offset_s`."""
        found = library.playback(video_id, start, end)
        query = urlencode({"start": start, "end": end})
        return {**found.to_json(), "url": f"/api/v1/videos/{video_id}/media?{query}"}

    @router.get("/{video_id}/media", response_class=FileResponse)
    def media(
        video_id: int = VIDEO_ID,
        start: float = Query(description="Moment start, seconds."),
        end: float = Query(description="Moment end, seconds."),
    ) -> FileResponse:
        """The source when a browser plays it, else the moment transcoded to H.264/AAC MP4."""
        found = library.playback(video_id, start, end)
        headers = CACHED if found.transcoded else {}
        return FileResponse(found.path, media_type=found.mime, headers=headers,
                            content_disposition_type="inline")  # fmt: skip

    return router

"""The web application: the JSON API, the media routes, the page, and the guards in front.

FastAPI on uvicorn: request bodies and query parameters are declared once as types, which
gives validation with clear errors and the OpenAPI page (/api/v1/docs) for free, and sync
routes run on a thread pool, so the blocking library calls (SQLite, PyAV, torch) never stall
the event loop. The page is plain HTML, CSS and JavaScript from `static/`, with no build step.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from vsearch.api import Library
from vsearch.server.config import ServerConfig
from vsearch.server.guards import Guards
from vsearch.server.jobs import ExportJobs
from vsearch.server.media_routes import media_router
from vsearch.server.problems import install_error_handlers
from vsearch.server.routes import api_router
from vsearch.server.searching import WarmSearch

STATIC_DIR = Path(__file__).parent / "static"


def _version() -> str:
    try:
        return version("vsearch")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "0"


def create_app(
    library: Library,
    config: ServerConfig,
    *,
    grounding: str = "r2",
    on_started: Callable[[], None] | None = None,
) -> FastAPI:
    """The app serving `library`; its models start loading when the app starts."""
    warm = WarmSearch(library, grounding)
    jobs = ExportJobs(library, library.paths.exports, max_active=config.limits.max_export_jobs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warm.start()
        if on_started is not None:
            on_started()
        yield
        jobs.shutdown()

    app = FastAPI(
        title="vsearch", version=_version(), lifespan=lifespan,
        description="Search a video library in words; watch and export the moments found.",
        docs_url="/api/v1/docs", openapi_url="/api/v1/openapi.json", redoc_url=None,
    )  # fmt: skip
    app.state.warm = warm
    app.state.jobs = jobs
    install_error_handlers(app)
    app.include_router(api_router(library, warm, jobs, config))
    app.include_router(media_router(library))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.add_middleware(Guards, config=config)
    return app

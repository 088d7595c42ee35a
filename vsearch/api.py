"""The `Library`: one object that wires storage, encoder and indexer together; the CLI calls it."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import TracebackType

from vsearch.errors import InputError, LibraryError, NotFoundError
from vsearch.indexer.cluster import RayOptions
from vsearch.indexer.encoding import LocalEncoding, VideoEncoding
from vsearch.indexer.progress_file import progress_file, read_progress
from vsearch.indexer.reports import IndexReport
from vsearch.indexer.run import IndexOptions, IndexProgressCallback, IndexRun, IndexTarget
from vsearch.media.timing import DEFAULT_CLIP_FPS
from vsearch.search.records import SearchOptions
from vsearch.settings import Settings, load_settings
from vsearch.storage.arrays import ArrayStore
from vsearch.storage.catalog import Catalog, VideoRecord
from vsearch.storage.compaction import CompactProgress, CompactReport, compact_features
from vsearch.storage.features import (
    DEFAULT_CODEC,
    FEATURE_STORE_KEY,
    FeatureStore,
    new_format,
    read_format,
    remove_stale_stores,
)
from vsearch.storage.layout import LibraryPaths, check_creatable, library_root
from vsearch.storage.lock import WriterLock, holder_pid
from vsearch.storage.reconcile import reconcile_vectors
from vsearch.storage.vectors import VectorStore

log = logging.getLogger(__name__)

MODEL_KEY = "model_id"
FPS_KEY = "clip_fps"
DIM_KEY = "embed_dim"
SPEC_KEY = "clip_spec"
SEARCH_DEFAULTS = SearchOptions()  # the one source of the search options' defaults
SAMPLING_KEY = "frame_sampling"  # exact, fast, or mixed: how the indexed frames were sampled


@dataclass(frozen=True)
class LibraryStatus:
    """What `vsearch status` shows."""

    library: str
    model: str | None
    fps: float | None
    videos: int
    clips: int
    vectors: int
    failed: int
    removed: int
    hours: float
    disk_bytes: int
    feature_bytes: int
    feature_bytes_per_hour: float | None
    feature_codec: str | None
    frame_sampling: str | None
    indexing: bool

    def to_json(self) -> dict:
        return dict(self.__dict__)


def model_slug(model_id: str) -> str:
    """A directory name for a model id ("ViT-B-32/openai" -> "ViT-B-32_openai")."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_") or "model"


def resolve_clip_spec(settings: Settings, stored_json: str | None):
    """The CLIP the user named, else the one the library was indexed with, else the default.

    A name that is a model bundle's (vsearch.bundles) without weights of its own means that
    bundle's CLIP, also when read back from a library: the bundle knows where its files are now.
    """
    from vsearch.bundles import bundle_named
    from vsearch.encoder.spec import spec_from_json, spec_from_options

    s = settings
    options = (s.clip_model, s.clip_pretrained, s.clip_weights, s.clip_config)
    if stored_json is not None and all(option is None for option in options):
        stored = spec_from_json(json.loads(stored_json))
        bundle = bundle_named(stored.name)
        return bundle.clip if bundle is not None else stored
    bundle = bundle_named(s.clip_model)
    if bundle is not None and s.clip_weights is None and s.clip_config is None:
        return bundle.clip
    return spec_from_options(*options)


def _warn_about_footage(bundle, paths: Sequence[Path]) -> None:
    """Log the bundle's warning for each indexed path its models were not made for."""
    if bundle is None or bundle.footage_warning is None:
        return
    for path in paths:
        warning = bundle.footage_warning(Path(path).expanduser().resolve())
        if warning:
            log.warning("%s: %s", path, warning)


def _load_encoder(spec, settings: Settings):
    from vsearch.encoder import ClipEncoder

    return ClipEncoder.load(
        spec, device=settings.device, precision=settings.precision,
        batch_size=settings.batch_size,
    )  # fmt: skip


def _directory_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


class Library:
    """A video library on disk. Use as a context manager: `with Library.open(path) as lib:`."""

    def __init__(self, paths: LibraryPaths, settings: Settings, catalog: Catalog) -> None:
        self.paths = paths
        self.settings = settings
        self._catalog = catalog
        self._encoder = None
        self._spec = None  # the library's CLIP spec, resolved once (its id may hash a file)
        self._search_sessions: dict[str, object] = {}  # grounding kind -> SearchSession
        # what each session opened: the vectors' generation and the feature store
        self._session_generations: dict[str, tuple[int | None, str | None]] = {}
        self._previews = None  # MomentPreviews, made on first use

    @classmethod
    def open(
        cls, path: Path | None = None, settings: Settings | None = None, *, create: bool = False
    ) -> Library:
        """Open the library at `path` (default: settings.library).

        With `create`, a missing library is made, but only after its CLIP model has loaded, so
        a missing model (ModelError) leaves nothing half-written behind.
        """
        settings = settings or load_settings()
        root = library_root(Path(path or settings.library))
        paths = LibraryPaths(root)
        if os.path.lexists(paths.catalog):
            return cls(paths, settings, Catalog.open(paths.catalog, create=False))
        if not create:
            raise LibraryError(f"no library at {root} (run `vsearch index DIR` first)")
        check_creatable(root)
        encoder = _load_encoder(resolve_clip_spec(settings, None), settings)
        library = cls(paths, settings, Catalog.open(paths.catalog, create=True))
        library._encoder = encoder
        return library

    @classmethod
    def doctor(
        cls, path: Path | None = None, settings: Settings | None = None, *, repair: bool = False
    ):
        """Check the library at `path` (default: settings.library) and, with `repair`, fix
        what can be fixed without the source videos; returns a `DoctorReport`.

        Works on a library too damaged to open (that is one of its findings).
        """
        from vsearch.storage.doctor import Stores, examine_library

        settings = settings or load_settings()
        paths = LibraryPaths(library_root(Path(path or settings.library)))

        def stores_of(catalog: Catalog) -> Stores | None:
            model, dim = catalog.get_meta(MODEL_KEY), catalog.get_meta(DIM_KEY)
            if model is None or dim is None:
                return None
            slug = model_slug(model)
            features = FeatureStore(paths.features_root, read_format(catalog, slug))
            return Stores(ArrayStore(paths.embeddings(slug)), features.arrays, int(dim))

        return examine_library(paths, stores_of, repair=repair)

    def __enter__(self) -> Library:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._catalog.close()

    @property
    def read_only(self) -> bool:
        """Whether the library is opened without write access (searches are not stored)."""
        return self._catalog.read_only

    # -- model -------------------------------------------------------------------------------
    def _clip_spec(self):
        if self._spec is None:
            self._spec = resolve_clip_spec(self.settings, self._catalog.get_meta(SPEC_KEY))
        return self._spec

    def bundle(self):
        """The model bundle of this library's CLIP (`vsearch.bundles.ModelBundle`), or None
        when no bundle names it (local weights, another open_clip model)."""
        from vsearch.bundles import bundle_for_clip

        return bundle_for_clip(self._clip_spec())

    def encoder(self):
        """The CLIP encoder, loaded on first use and owned by this library object."""
        if self._encoder is None:
            self._encoder = _load_encoder(self._clip_spec(), self.settings)
        return self._encoder

    def _check_identity(self, model_id: str) -> None:
        """A library holds one model's vectors at one clip rate; refuse to mix."""
        stored_model = self._catalog.get_meta(MODEL_KEY)
        if stored_model is not None and stored_model != model_id:
            raise LibraryError(
                f"library {self.paths.root} is indexed with CLIP model {stored_model}, "
                f"not {model_id}; use the same model or another --library"
            )
        stored_fps = self._catalog.get_meta(FPS_KEY)
        asked = self.settings.fps
        if stored_fps is not None and asked is not None and float(stored_fps) != asked:
            raise LibraryError(
                f"library {self.paths.root} samples {stored_fps} clips/s, not "
                f"{asked}; use --fps {stored_fps} or another --library"
            )
        codec = self.settings.feature_codec
        if stored_model is not None and codec is not None:
            stored_codec = read_format(self._catalog, model_slug(stored_model)).codec
            if stored_codec != codec:
                raise LibraryError(
                    f"library {self.paths.root} stores {stored_codec} features, not {codec}; "
                    f"convert it with `vsearch compact --codec {codec}` or use another --library"
                )

    @property
    def fps(self) -> float:
        """Clips per second: as asked, else as the library was indexed, else the default."""
        if self.settings.fps is not None:
            return self.settings.fps
        stored = self._catalog.get_meta(FPS_KEY)
        return float(stored) if stored is not None else DEFAULT_CLIP_FPS

    def _remember_identity(self, spec, encoder) -> None:
        """Record the model of a new library, so later runs and searches reuse it."""
        if self._catalog.get_meta(MODEL_KEY) is not None:
            return
        from vsearch.encoder.spec import spec_to_json

        self._catalog.set_meta(SPEC_KEY, json.dumps(spec_to_json(spec)))
        self._catalog.set_meta(FPS_KEY, repr(self.fps))
        self._catalog.set_meta(DIM_KEY, str(encoder.embed_dim))
        codec = self.settings.feature_codec or DEFAULT_CODEC
        fmt = new_format(model_slug(encoder.model_id), codec)
        self._catalog.set_meta(FEATURE_STORE_KEY, fmt.to_json())
        self._catalog.set_meta(MODEL_KEY, encoder.model_id)

    def _feature_store(self, slug: str) -> FeatureStore:
        """The store the catalogue names for this model's grounding tokens."""
        return FeatureStore(self.paths.features_root, read_format(self._catalog, slug))

    # -- indexing ----------------------------------------------------------------------------
    def index(
        self,
        paths: Sequence[Path],
        *,
        retry_failed: bool = False,
        on_progress: IndexProgressCallback | None = None,
        ray: str | RayOptions | None = None,
    ) -> IndexReport:
        """Index new and changed videos under `paths`, drop vanished ones.

        Progress also goes to the library's progress file, for readers in other processes.
        With `ray` ("local", "auto", a cluster address, or `RayOptions`), decoding and encoding
        run on a Ray cluster while this process stays the library's only writer.
        """
        if self.read_only:
            raise LibraryError(f"library {self.paths.root} is read-only: indexing needs write "
                               "access to it")  # fmt: skip
        with WriterLock(self.paths.lock), progress_file(self.paths.index_progress) as recorder:
            spec = self._clip_spec()
            self._check_identity(spec.model_id)  # before loading weights: fail fast
            _warn_about_footage(self.bundle(), paths)
            stored_dim = self._catalog.get_meta(DIM_KEY)
            if stored_dim is None:
                self._remember_identity(spec, self.encoder())
                stored_dim = str(self.encoder().embed_dim)
            vectors = VectorStore.open(self.paths.vectors, int(stored_dim))
            slug = model_slug(spec.model_id)
            embeddings = ArrayStore(self.paths.embeddings(slug))
            repaired = reconcile_vectors(self._catalog, vectors, embeddings)
            for video_id in repaired.unrecoverable_video_ids:
                # embeddings lost: forget the video so this run indexes it again
                vectors.remove(self._catalog.mark_removed(video_id))
            if repaired.changed or repaired.unrecoverable_video_ids:
                log.info("repaired vector index: %s", repaired)
                vectors.save()
            had_videos = self._catalog.stats().videos > 0
            features = self._feature_store(slug)
            remove_stale_stores(self.paths.features_root, slug, features.format)
            target = IndexTarget(
                catalog=self._catalog,
                vectors=vectors,
                features=features,
                embeddings=embeddings,
                model_id=spec.model_id,
            )
            s = self.settings
            options = IndexOptions(
                fps=self.fps,
                store_features=s.store_features,
                save_interval_s=s.save_interval_s,
                retry_failed=retry_failed,
            )
            encoding = self._video_encoding(spec, ray)
            report = IndexRun(target, encoding, options, recorder.relay(on_progress)).run(paths)
            if report.indexed:
                self._remember_sampling(had_videos)
            return report

    def _remember_sampling(self, had_videos: bool) -> None:
        """Record whether the library's frames were sampled exactly, fast, or both (mixed);
        a library indexed before this was recorded was sampled exactly."""
        used = "fast" if self.settings.decode_strategy == "fast" else "exact"
        stored = self._catalog.get_meta(SAMPLING_KEY) or ("exact" if had_videos else used)
        self._catalog.set_meta(SAMPLING_KEY, stored if stored == used else "mixed")

    def _video_encoding(self, spec, ray: str | RayOptions | None) -> VideoEncoding:
        """Per-video work in this process, or on the Ray cluster `ray` names."""
        s = self.settings
        if ray is None:
            return LocalEncoding(self.encoder, self.fps, s.decode_strategy, s.batch_size)
        from vsearch.indexer.distributed import RayEncoding

        options = ray if isinstance(ray, RayOptions) else RayOptions(address=ray)
        return RayEncoding(
            options, partial(_load_encoder, spec, s), lambda: self.encoder().image_size,
            fps=self.fps, strategy=s.decode_strategy, batch_size=s.batch_size,
            keep_tokens=s.store_features,
        )  # fmt: skip

    # -- inspection --------------------------------------------------------------------------
    def videos(self, status: str | None = None) -> list[VideoRecord]:
        """Catalogue records, optionally only those with `status`."""
        return self._catalog.list_videos(status)

    def video(self, video_id: int) -> VideoRecord:
        """The catalogue record with id `video_id` (NotFoundError when there is none)."""
        record = self._catalog.get_video(video_id)
        if record is None:
            raise NotFoundError(f"no video with id {video_id} in the library")
        return record

    def index_progress(self) -> dict | None:
        """The last progress event of an index running now in any process, else None."""
        if holder_pid(self.paths.lock) is None:
            return None
        return read_progress(self.paths.index_progress)

    def status(self) -> LibraryStatus:
        """Counts and sizes; works while another process is indexing."""
        stats = self._catalog.stats()
        model = self._catalog.get_meta(MODEL_KEY)
        fps = self._catalog.get_meta(FPS_KEY)
        dim = self._catalog.get_meta(DIM_KEY)
        vectors = VectorStore.committed_count(self.paths.vectors) if dim else 0
        feature_bytes, codec = 0, None
        if model is not None:
            store = self._feature_store(model_slug(model))
            feature_bytes, codec = store.bytes_used(), store.format.codec
        return LibraryStatus(
            library=str(self.paths.root),
            model=model,
            fps=float(fps) if fps is not None else None,
            videos=stats.videos,
            clips=stats.clips,
            vectors=vectors,
            failed=stats.failed,
            removed=stats.removed,
            hours=round(stats.hours, 4),
            disk_bytes=_directory_bytes(self.paths.root),
            feature_bytes=feature_bytes,
            feature_bytes_per_hour=(feature_bytes / stats.hours) if stats.hours else None,
            feature_codec=codec,
            frame_sampling=self._catalog.get_meta(SAMPLING_KEY) or (
                "exact" if stats.videos else None
            ),
            indexing=holder_pid(self.paths.lock) is not None,
        )

    # -- maintenance -------------------------------------------------------------------------
    def compact(
        self, codec: str, *, on_progress: CompactProgress | None = None
    ) -> CompactReport:
        """Convert the stored grounding features to `codec` in place, crash-safe: an
        interrupted run leaves the old store in use (see `vsearch.storage.compaction`)."""
        with WriterLock(self.paths.lock):
            model = self._catalog.get_meta(MODEL_KEY)
            if model is None:
                raise LibraryError(f"library {self.paths.root} holds no indexed videos yet")
            return compact_features(self._catalog, self.paths.features_root, model_slug(model),
                                    codec, on_progress=on_progress)  # fmt: skip

    # -- search ------------------------------------------------------------------------------
    def _scoring_profile(self, bundle):
        """The bundle's scoring profile, or the one the `scoring_profile` setting names."""
        from vsearch.bundles import bundle_named, profile_for

        asked = self.settings.scoring_profile
        if asked is None:
            return profile_for(bundle)
        named = bundle_named(asked)
        if named is None:
            raise InputError(f"scoring profile {asked!r} names no model bundle")
        return named.profile

    def prepare_search(self, grounding: str = "r2") -> tuple[str, ...]:
        """Load CLIP and the grounding model now (not at the first query); returns the notes
        every search will carry, such as a fallback to zero-shot grounding."""
        return tuple(self._search_session(grounding).notes)  # type: ignore[attr-defined]

    def _search_session(self, grounding: str):
        """The search session for `grounding`, opened once and reused by later queries until
        an index run (in any process) saves new vectors, or `compact` switches the feature
        store: then it is opened again to see them."""
        sessions = self._search_sessions
        generation = (VectorStore.committed_generation(self.paths.vectors),
                      self._catalog.get_meta(FEATURE_STORE_KEY))  # fmt: skip
        if self._session_generations.get(grounding, generation) != generation:
            sessions.pop(grounding, None)
        if grounding not in sessions:
            self._session_generations[grounding] = generation
            from vsearch.search.session import open_session

            spec = self._clip_spec()
            self._check_identity(spec.model_id)
            bundle = self.bundle()
            sessions[grounding] = open_session(
                paths=self.paths, catalog=self._catalog, encoder=self.encoder,
                model_id=spec.model_id, model_slug=model_slug(spec.model_id),
                features=self._feature_store(model_slug(spec.model_id)),
                embed_dim=int(self._catalog.get_meta(DIM_KEY) or 0), fps=self.fps,
                grounding=grounding, profile=self._scoring_profile(bundle),
                source=None if bundle is None else bundle.grounding,
                checkpoint=self.settings.grounding_checkpoint,
                precision=self.settings.grounding_precision,
            )  # fmt: skip
        return sessions[grounding]

    def search(self, query: str, *, top_k: int = SEARCH_DEFAULTS.top_k,
               per_video: int = SEARCH_DEFAULTS.per_video, min_score: float | None = None,
               path_glob: str | None = None, candidates: int = SEARCH_DEFAULTS.candidates,
               grounding: str = SEARCH_DEFAULTS.grounding,
               split_sequences: bool = SEARCH_DEFAULTS.split_sequences,
               skip_missing: bool = SEARCH_DEFAULTS.skip_missing):  # fmt: skip
        """Ranked moments for `query` across the library, stored under the result's id."""
        from vsearch.search.query import check_query

        options = SearchOptions(top_k, per_video, min_score, path_glob, candidates, grounding,
                                split_sequences, skip_missing)  # fmt: skip
        query = check_query(query)
        return self._search_session(grounding).search(query, options)

    def search_batch(self, queries_path: Path, out_path: Path, *,
                     top_k: int = SEARCH_DEFAULTS.top_k,
                     per_video: int = SEARCH_DEFAULTS.per_video, min_score: float | None = None,
                     path_glob: str | None = None, candidates: int = SEARCH_DEFAULTS.candidates,
                     grounding: str = SEARCH_DEFAULTS.grounding,
                     split_sequences: bool = SEARCH_DEFAULTS.split_sequences,
                     skip_missing: bool = SEARCH_DEFAULTS.skip_missing,
                     on_progress=None):  # fmt: skip
        """One prediction line per query line of `queries_path`, written to `out_path`."""
        from vsearch.search.batch_input import checked_batch_out, read_batch_queries

        options = SearchOptions(top_k, per_video, min_score, path_glob, candidates, grounding,
                                split_sequences, skip_missing)  # fmt: skip
        read_batch_queries(queries_path)  # bad input fails before the models load
        checked_batch_out(out_path, self.paths.root)
        session = self._search_session(grounding)
        return session.search_batch(queries_path, out_path, options, on_progress=on_progress)

    def history(self, limit: int | None = None):
        """Stored searches, newest first."""
        from vsearch.search.history import search_history

        return search_history(self.paths.catalog, limit)

    def result(self, result_id: str):
        """The stored search `result_id` (LibraryError when unknown)."""
        from vsearch.search.history import stored_result

        return stored_result(self.paths.catalog, result_id)

    # -- export ------------------------------------------------------------------------------
    def export(self, result, out_path: Path, *, options=None, on_progress=None):
        """Write a search result (or stored result id) as a reel or timeline at `out_path`.

        `options` is a `vsearch.export.from_results.ExportOptions`; returns a `ResultExport`.
        `on_progress(fraction)` follows the writing.
        """
        from vsearch.export.from_results import ExportOptions, export_result

        found = self.result(result) if isinstance(result, str) else result
        return export_result(found, Path(out_path), self._catalog, options or ExportOptions(),
                             on_progress)  # fmt: skip

    # -- previews ----------------------------------------------------------------------------
    def _moment_previews(self):
        if self._previews is None:
            from vsearch.preview import MomentPreviews

            self._previews = MomentPreviews(self.paths.thumbnails, self.paths.clips)
        return self._previews

    def thumbnail(self, video_id: int, time_s: float, *, width: int = 320) -> Path:
        """A cached JPEG of video `video_id` at `time_s`, `width` pixels wide."""
        return self._moment_previews().thumbnail(self.video(video_id), time_s, width=width)

    def playback(self, video_id: int, start_s: float, end_s: float):
        """How a browser plays [start_s, end_s] of video `video_id` (a `Playback`): the source
        itself when the browser can play it, else a cached H.264/AAC clip of the moment."""
        return self._moment_previews().playback(self.video(video_id), start_s, end_s)

    def highlights(self, video: Path, out_path: Path, *, query: str | None = None,
                   duration_s: float = 30.0, force: bool = False):  # fmt: skip
        """A reel of the clips of one indexed video most like `query` (else a generic prompt)."""
        from vsearch.export.from_results import highlight_reel

        spec = self._clip_spec()
        self._check_identity(spec.model_id)
        return highlight_reel(
            Path(video), Path(out_path), catalog=self._catalog,
            embeddings=ArrayStore(self.paths.embeddings(model_slug(spec.model_id))),
            encode_text=lambda text: self.encoder().encode_texts([text])[0].embedding,
            clip_s=1.0 / self.fps, query=query, target_duration_s=duration_s, force=force,
        )  # fmt: skip

    def thumbs(self, result, out_png: Path, *, columns: int = 4, thumb_width: int = 320,
               force: bool = False):  # fmt: skip
        """A contact sheet (PNG) of a search result's (or stored result id's) moments."""
        from vsearch.export.from_results import result_sheet

        found = self.result(result) if isinstance(result, str) else result
        return result_sheet(found, Path(out_png), columns=columns, thumb_width=thumb_width,
                            force=force, library_root=self.paths.root)  # fmt: skip

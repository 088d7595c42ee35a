"""FAISS vectors of a library's clips, keyed by the catalogue's stable int64 clip ids.

Vectors are L2-normalised on the way in (and queries on the way to search), so inner product
is cosine similarity. The index type follows ``choose_index``; its factory string, dim, metric,
count and search knobs live in ``index.json`` beside it, which is also the commit point of a
save (see ``layout.py``). Large indexes opened read-only are memory-mapped, so a search
process starts fast and shares pages with other processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from vsearch.errors import InputError, LibraryError
from vsearch.storage.atomic import fsync_directory, is_temporary, replace_atomically
from vsearch.storage.index_choice import (
    MIN_POINTS_PER_LIST,
    IndexChoice,
    choose_index,
    rebuild_due,
)
from vsearch.storage.recall import normalize_rows, perturbed_queries, recall_at_k

logger = logging.getLogger(__name__)

SIDECAR_NAME = "index.json"
SIDECAR_FORMAT = 1
METRIC = "inner_product"
MMAP_MIN_BYTES = 256 << 20  # below this, reading into RAM is as fast as mapping
TARGET_RECALL = 0.95
# Calibration aims this much higher, so that the target still holds on queries other than the
# calibration sample.
CALIBRATION_MARGIN = 0.01
CALIBRATION_QUERIES = 256
CALIBRATION_K = 100  # coarse search feeds re-ranking, so the top 100 must be right
CALIBRATION_NOISE = 1.0  # query-to-source cosine ~0.7: nearer queries would flatter IVF
TRAIN_POINTS_PER_LIST = 40  # k-means sample per list, just above faiss's minimum of 39
KMEANS_ITERATIONS = 10


def _index_file_name(generation: int) -> str:
    return f"index-{generation:06d}.faiss"


class VectorStore:
    """A FAISS index plus its identity. Create or load with ``VectorStore.open``."""

    def __init__(
        self,
        directory: Path,
        index: faiss.Index,
        choice: IndexChoice,
        *,
        trained_count: int,
        generation: int,
        read_only: bool,
        measured_recall: float | None = None,
    ) -> None:
        self.directory = directory
        self._index = index
        self._choice = choice
        self._trained_count = trained_count
        self._generation = generation
        self._read_only = read_only
        self._measured_recall = measured_recall
        self._ids_cache: np.ndarray | None = None
        self._apply_search_knobs()

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        directory: Path,
        dim: int,
        *,
        read_only: bool = False,
        mmap_min_bytes: int = MMAP_MIN_BYTES,
    ) -> VectorStore:
        """Load the committed index in ``directory``, or start an empty exact one.

        With ``read_only``, index files of at least ``mmap_min_bytes`` are memory-mapped.
        Raises LibraryError when the stored dim differs from ``dim`` or files are unreadable.
        """
        directory = Path(directory)
        sidecar_path = directory / SIDECAR_NAME
        if not sidecar_path.exists():
            choice = choose_index(0, dim)
            index = faiss.index_factory(dim, choice.factory, faiss.METRIC_INNER_PRODUCT)
            return cls(directory, index, choice, trained_count=0, generation=0,
                       read_only=read_only)
        try:
            sidecar = json.loads(sidecar_path.read_text(encoding="utf-8"))
            if sidecar["format"] != SIDECAR_FORMAT or sidecar["metric"] != METRIC:
                raise LibraryError(f"unsupported vector index format in {sidecar_path}")
            index_path = directory / sidecar["index_file"]
            stored_dim = int(sidecar["dim"])
            choice = IndexChoice(
                factory=sidecar["factory"],
                nprobe=sidecar["nprobe"],
                ef_search=sidecar["ef_search"],
                needs_training=bool(sidecar["needs_training"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LibraryError(
                f"unreadable vector sidecar {sidecar_path}: {exc}; "
                "`vsearch doctor --repair` rebuilds it"
            ) from exc
        if stored_dim != dim:
            raise LibraryError(
                f"the library's vectors have dim {stored_dim} but the model produces {dim}; "
                "re-index with the library's model"
            )
        flags = 0
        if read_only and index_path.exists() and index_path.stat().st_size >= mmap_min_bytes:
            # Flat codes are mapped by the MMAP_IFC flag; IVF inverted lists by plain MMAP
            # (MMAP_IFC on IVF files is not reliable in faiss 1.15).
            mmap_flag = faiss.IO_FLAG_MMAP_IFC if choice.is_exact else faiss.IO_FLAG_MMAP
            flags = mmap_flag | faiss.IO_FLAG_READ_ONLY
        try:
            index = faiss.read_index(str(index_path), flags)
        except RuntimeError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unreadable"
            raise LibraryError(
                f"cannot read vector index {index_path} ({reason}); "
                "`vsearch doctor --repair` rebuilds it from the stored embeddings"
            ) from exc
        if index.d != dim or index.ntotal != int(sidecar["count"]):
            raise LibraryError(
                f"vector index {index_path} does not match its sidecar "
                f"(dim {index.d}, count {index.ntotal}); `vsearch doctor --repair` rebuilds it"
            )
        return cls(
            directory,
            index,
            choice,
            trained_count=int(sidecar["trained_count"]),
            generation=int(sidecar["generation"]),
            read_only=read_only,
            measured_recall=sidecar.get("measured_recall"),
        )

    @classmethod
    def fresh(cls, directory: Path, dim: int) -> VectorStore:
        """An empty, writable index for ``directory`` that ignores what is stored there (to
        replace an unreadable index); it saves as a generation after every file present."""
        directory = Path(directory)
        generations = [
            int(path.name[len("index-") : -len(".faiss")])
            for path in (directory.glob("index-*.faiss") if directory.is_dir() else ())
            if path.name[len("index-") : -len(".faiss")].isdigit()
        ]
        choice = choose_index(0, dim)
        index = faiss.index_factory(dim, choice.factory, faiss.METRIC_INNER_PRODUCT)
        return cls(directory, index, choice, trained_count=0,
                   generation=max(generations, default=0), read_only=False)  # fmt: skip

    @staticmethod
    def committed_count(directory: Path) -> int:
        """Vectors in the last saved generation, read from the sidecar without loading FAISS."""
        return _committed_field(directory, "count") or 0

    @staticmethod
    def committed_generation(directory: Path) -> int | None:
        """The last saved generation (None before the first save): a reader that opened an
        older one has not seen the vectors saved since."""
        return _committed_field(directory, "generation")

    # -- identity -----------------------------------------------------------------------

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @property
    def count(self) -> int:
        return int(self._index.ntotal)

    @property
    def factory(self) -> str:
        return self._choice.factory

    @property
    def choice(self) -> IndexChoice:
        return self._choice

    @property
    def trained_count(self) -> int:
        return self._trained_count

    @property
    def measured_recall(self) -> float | None:
        """Recall@100 against exact search measured at the last rebuild (None when exact)."""
        return self._measured_recall

    def rebuild_due(self) -> bool:
        """Whether the count has moved far enough from the build to warrant ``rebuild``."""
        return rebuild_due(self.factory, self._trained_count, self.count)

    def ids(self) -> np.ndarray:
        """Sorted int64 ids of every stored vector."""
        if self._ids_cache is None:
            self._ids_cache = np.sort(self._collect_ids())
        return self._ids_cache

    def _collect_ids(self) -> np.ndarray:
        if self._choice.is_exact:
            return faiss.vector_to_array(faiss.downcast_index(self._index).id_map).astype(np.int64)
        ivf = faiss.extract_index_ivf(self._index)
        invlists = ivf.invlists
        parts = []
        for list_no in range(ivf.nlist):
            size = invlists.list_size(list_no)
            if size:
                ptr = invlists.get_ids(list_no)
                parts.append(faiss.rev_swig_ptr(ptr, size).copy())
                invlists.release_ids(list_no, ptr)
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    # -- mutation -----------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._read_only:
            raise LibraryError(f"vector index in {self.directory} was opened read-only")

    def _prepare(self, ids: np.ndarray, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape != (len(ids), self.dim):
            raise InputError(
                f"expected {len(ids)} vectors of dim {self.dim}, got shape {vectors.shape}"
            )
        if not np.all(np.isfinite(vectors)):
            raise InputError("vectors contain NaN or infinity")
        if np.any(ids < 0):
            raise InputError("vector ids must be non-negative")
        if len(np.unique(ids)) != len(ids):
            raise InputError("vector ids repeat within one call")
        return ids, normalize_rows(vectors)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add (N, dim) vectors under new, unused ids."""
        self._check_writable()
        ids, unit = self._prepare(ids, vectors)
        if len(ids) == 0:
            return
        clash = np.isin(ids, self.ids())
        if clash.any():
            raise InputError(f"vector ids already stored: {ids[clash][:5].tolist()}")
        self._index.add_with_ids(unit, ids)
        self._ids_cache = None

    def remove(self, ids: np.ndarray) -> int:
        """Remove vectors by id (unknown ids are ignored); return how many were removed."""
        self._check_writable()
        ids = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        if len(ids) == 0 or self.count == 0:
            return 0
        removed = int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))
        self._ids_cache = None
        return removed

    # -- search -------------------------------------------------------------------------

    def _apply_search_knobs(self) -> None:
        if self._choice.is_exact:
            return
        ivf = faiss.extract_index_ivf(self._index)
        if self._choice.nprobe is not None:
            ivf.nprobe = self._choice.nprobe
        if self._choice.ef_search is not None:
            faiss.downcast_index(ivf.quantizer).hnsw.efSearch = self._choice.ef_search

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by cosine for (Q, dim) queries: scores (Q, k) float32, ids (Q, k) int64.

        Slots without a result (k > count) hold id -1 and score -inf.
        """
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        queries = np.asarray(queries)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(f"queries must have shape (Q, {self.dim}), got {queries.shape}")
        if self.count == 0:
            q = len(queries)
            return np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64)
        scores, ids = self._index.search(normalize_rows(queries), k)
        scores[ids < 0] = -np.inf
        return scores, ids.astype(np.int64, copy=False)

    # -- persistence --------------------------------------------------------------------

    def save(self) -> None:
        """Write a new index generation, then commit it by replacing ``index.json``.

        A failure at any point leaves the previously committed generation in force.
        """
        self._check_writable()
        self.directory.mkdir(parents=True, exist_ok=True)
        generation = self._generation + 1
        index_name = _index_file_name(generation)
        replace_atomically(
            self.directory / index_name, lambda tmp: faiss.write_index(self._index, str(tmp))
        )
        sidecar: dict[str, Any] = {
            "format": SIDECAR_FORMAT,
            "index_file": index_name,
            "generation": generation,
            "factory": self._choice.factory,
            "nprobe": self._choice.nprobe,
            "ef_search": self._choice.ef_search,
            "needs_training": self._choice.needs_training,
            "dim": self.dim,
            "metric": METRIC,
            "count": self.count,
            "trained_count": self._trained_count,
            "measured_recall": self._measured_recall,
        }
        text = json.dumps(sidecar, indent=2) + "\n"
        try:
            replace_atomically(
                self.directory / SIDECAR_NAME, lambda tmp: tmp.write_text(text, encoding="utf-8")
            )
        except BaseException:
            with contextlib.suppress(OSError):
                (self.directory / index_name).unlink()
            raise
        self._generation = generation
        self._remove_stale_files(keep=index_name)

    def _remove_stale_files(self, *, keep: str) -> None:
        # Older generations and temporaries of interrupted saves; a reader that mapped an old
        # generation keeps its pages, since unlinking does not invalidate a mapping.
        for path in self.directory.iterdir():
            stale_index = path.name.startswith("index-") and path.name.endswith(".faiss")
            if (stale_index and path.name != keep) or is_temporary(path):
                with contextlib.suppress(OSError):
                    path.unlink()
        with contextlib.suppress(OSError):
            fsync_directory(self.directory)

    def rebuild(
        self,
        ids: np.ndarray,
        vectors: np.ndarray,
        *,
        choice: IndexChoice | None = None,
        target_recall: float = TARGET_RECALL,
        seed: int = 0,
    ) -> IndexChoice:
        """Replace the whole index with one built for ``vectors`` (all of them), in memory.

        ``choice`` defaults to ``choose_index(len(ids), dim)``. IVF indexes are trained on a
        sample of ``vectors``; then nprobe is doubled from 1 until recall@100 against exact
        search, on queries perturbed from the data, reaches ``target_recall``.
        Returns the choice in force (with the calibrated nprobe). Call ``save`` to persist.
        """
        self._check_writable()
        ids, unit = self._prepare(ids, vectors)
        if choice is None:
            choice = choose_index(len(ids), self.dim)
        index = faiss.index_factory(self.dim, choice.factory, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        measured: float | None = None
        if choice.needs_training:
            ivf = faiss.extract_index_ivf(index)
            if len(ids) < MIN_POINTS_PER_LIST * ivf.nlist:
                raise InputError(
                    f"{choice.factory} needs at least {MIN_POINTS_PER_LIST * ivf.nlist} "
                    f"vectors to train, got {len(ids)}"
                )
            ivf.cp.niter = KMEANS_ITERATIONS
            train_count = min(len(ids), TRAIN_POINTS_PER_LIST * ivf.nlist)
            sample = unit[np.sort(rng.choice(len(ids), size=train_count, replace=False))]
            index.train(sample)
        index.add_with_ids(unit, ids)
        if choice.needs_training:
            choice, measured = _calibrate_nprobe(index, choice, ids, unit, target_recall, rng)
        self._index = index
        self._choice = choice
        self._trained_count = len(ids)
        self._measured_recall = measured
        self._ids_cache = None
        self._apply_search_knobs()
        return choice


def _committed_field(directory: Path, key: str) -> int | None:
    sidecar_path = Path(directory) / SIDECAR_NAME
    if not sidecar_path.exists():
        return None
    try:
        return int(json.loads(sidecar_path.read_text(encoding="utf-8"))[key])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LibraryError(f"unreadable vector sidecar {sidecar_path}: {exc}") from exc


def _calibrate_nprobe(
    index: faiss.Index,
    choice: IndexChoice,
    ids: np.ndarray,
    unit: np.ndarray,
    target_recall: float,
    rng: np.random.Generator,
) -> tuple[IndexChoice, float]:
    """Double nprobe from 1 until recall@k against exact search reaches ``target_recall``."""
    ivf = faiss.extract_index_ivf(index)
    queries = perturbed_queries(unit, CALIBRATION_QUERIES, noise=CALIBRATION_NOISE, rng=rng)
    k = min(CALIBRATION_K, len(unit))
    _, true_rows = faiss.knn(queries, unit, k, metric=faiss.METRIC_INNER_PRODUCT)
    true_ids = ids[true_rows]
    nprobe = 1
    while True:
        ivf.nprobe = nprobe
        if choice.ef_search is not None:
            quantizer = faiss.downcast_index(ivf.quantizer)
            quantizer.hnsw.efSearch = max(choice.ef_search, 2 * nprobe)
        _, found = index.search(queries, k)
        recall = recall_at_k(found, true_ids)
        if recall >= target_recall + CALIBRATION_MARGIN or nprobe >= ivf.nlist:
            break
        nprobe = min(ivf.nlist, nprobe * 2)
    if nprobe >= ivf.nlist:
        # Probing every list is a slower exact scan: the data has no cluster structure that
        # IVF can use (or the codes are too lossy), and the exact index would serve better.
        logger.warning(
            "IVF reaches recall@%d of %.3f only by probing all %d lists (target %.2f)",
            k, recall, nprobe, target_recall,
        )
    ef_search = None if choice.ef_search is None else max(choice.ef_search, 2 * nprobe)
    return dataclasses.replace(choice, nprobe=nprobe, ef_search=ef_search), recall

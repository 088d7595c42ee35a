"""Which FAISS index fits a collection: a pure function of (count, dim, memory budget).

The answer is a factory string (``faiss.index_factory`` syntax) plus search-time knobs; the
string is saved beside the index as its identity. Rules and why:

* Exact search (``IDMap2,Flat``, inner product) below ``EXACT_MAX_COUNT`` = 50,000 vectors.
  A brute-force scan of 50k x 512 float32 is ~25 M multiply-adds per query, a few milliseconds
  on one core and 100 MB of memory, so approximation buys little there while exact search needs
  no training and has perfect recall. IVF also needs >= 39 training points per list, which the
  bigger collections have.
* Above it, IVF with ``nlist`` the smallest power of two >= 4 * sqrt(count) (capped so each list
  trains on >= 39 points): lists of ~sqrt(count)/4 vectors keep both the coarse step (nlist
  centroids) and the scan of the probed lists small. Codes stay Flat (exact distances inside
  the probed lists) unless a memory budget forbids it; then SQ8 (4x smaller), then PQ (d/8
  bytes per vector, then smaller).
* Beyond ``HNSW_QUANTIZER_MIN_NLIST`` lists the coarse quantizer itself becomes the bottleneck,
  so it is an HNSW graph (``IVFn_HNSW32``) searched with ``ef_search``.
* HNSW is never the top-level index: it cannot remove vectors, and a library removes clips
  whenever a video is re-indexed or deleted.

``nprobe`` here is an uncalibrated default (nlist / 64, at least 4): how many lists a query
must probe depends on how clustered the data is, so ``VectorStore.rebuild`` replaces it with
the smallest power of two whose recall against exact search, measured on the actual data,
meets the target.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from vsearch.errors import InputError

EXACT_MAX_COUNT = 50_000
MIN_POINTS_PER_LIST = 39  # below this faiss k-means warns and the centroids are poor
HNSW_QUANTIZER_MIN_NLIST = 16_384
REBUILD_GROWTH_FACTOR = 4  # an IVF index trained at n is rebuilt once it holds 4n vectors
EXACT_FACTORY = "IDMap2,Flat"
# Bytes per vector beyond the codes: IDMap2 keeps an id array plus a reverse hash map; IVF
# keeps one int64 id per vector in its inverted lists.
_EXACT_OVERHEAD_BYTES = 56
_IVF_ID_BYTES = 8

_IVF_RE = re.compile(r"^IVF(\d+)(_HNSW\d+)?,")


@dataclass(frozen=True)
class IndexChoice:
    """A FAISS factory string plus the search-time knobs that belong to it."""

    factory: str
    nprobe: int | None
    ef_search: int | None
    needs_training: bool

    @property
    def is_exact(self) -> bool:
        return self.factory == EXACT_FACTORY


def estimate_bytes(factory: str, count: int, dim: int) -> int:
    """Approximate resident memory of an index with ``count`` vectors (codes, ids, centroids)."""
    if factory == EXACT_FACTORY:
        return count * (4 * dim + _EXACT_OVERHEAD_BYTES)
    match = _IVF_RE.match(factory)
    if match is None:
        raise InputError(f"unsupported index factory {factory!r}")
    nlist = int(match.group(1))
    return count * (_code_bytes(factory.split(",", 1)[1], dim) + _IVF_ID_BYTES) + nlist * dim * 4


def _code_bytes(code: str, dim: int) -> int:
    if code == "Flat":
        return 4 * dim
    if code == "SQ8":
        return dim
    pq = re.fullmatch(r"PQ(\d+)x8", code)
    if pq:
        return int(pq.group(1))
    raise InputError(f"unsupported vector code {code!r}")


def ivf_nlist(count: int) -> int:
    """Smallest power of two >= 4*sqrt(count), halved while lists would train on < 39 points."""
    nlist = 1 << max(0, math.ceil(math.log2(max(1.0, 4 * math.sqrt(count)))))
    while nlist > 1 and count / nlist < MIN_POINTS_PER_LIST:
        nlist //= 2
    return nlist


def _code_candidates(dim: int) -> list[str]:
    codes = ["Flat", "SQ8"]
    m = dim // 8
    while m >= 4:
        if dim % m == 0:
            codes.append(f"PQ{m}x8")
        m //= 2
    return codes


def choose_index(
    count: int,
    dim: int,
    *,
    memory_budget_bytes: int | None = None,
    exact_max_count: int = EXACT_MAX_COUNT,
) -> IndexChoice:
    """Pick the index for ``count`` vectors of ``dim`` dimensions (see the module docstring).

    Raises InputError when even the smallest code does not fit ``memory_budget_bytes``.
    """
    if count < 0 or dim <= 0:
        raise InputError(f"invalid index size: count={count}, dim={dim}")
    if count < exact_max_count:
        return IndexChoice(EXACT_FACTORY, nprobe=None, ef_search=None, needs_training=False)
    nlist = ivf_nlist(count)
    quantizer = f"IVF{nlist}_HNSW32" if nlist >= HNSW_QUANTIZER_MIN_NLIST else f"IVF{nlist}"
    nprobe = max(4, nlist // 64)
    ef_search = 2 * nprobe if nlist >= HNSW_QUANTIZER_MIN_NLIST else None
    for code in _code_candidates(dim):
        factory = f"{quantizer},{code}"
        needed_bytes = estimate_bytes(factory, count, dim)
        if memory_budget_bytes is None or needed_bytes <= memory_budget_bytes:
            return IndexChoice(factory, nprobe=nprobe, ef_search=ef_search, needs_training=True)
    raise InputError(
        f"{count} vectors of dim {dim} do not fit a memory budget of {memory_budget_bytes} bytes"
    )


def rebuild_due(
    factory: str,
    trained_count: int,
    count: int,
    *,
    exact_max_count: int = EXACT_MAX_COUNT,
) -> bool:
    """Whether an index built as ``factory`` on ``trained_count`` vectors should be rebuilt.

    Exact grows into IVF at ``exact_max_count``; IVF returns to exact only below half of it
    (hysteresis, so a library hovering at the threshold does not retrain on every run) and is
    retrained when it has grown ``REBUILD_GROWTH_FACTOR``-fold, since by then nlist is only
    about 2*sqrt(count) and each list is scanned at 4x the planned cost.
    """
    if factory == EXACT_FACTORY:
        return count >= exact_max_count
    if count < exact_max_count // 2:
        return True
    return count > REBUILD_GROWTH_FACTOR * max(trained_count, 1)

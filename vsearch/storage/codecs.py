"""How grounding token features (T, L, P, W) are stored on disk, and turned back into floats.

Three codecs, chosen per library and recorded in its catalogue (see `features.FeatureFormat`):

* ``fp16``: the tokens as float16, 2 bytes per value; exact enough for research and parity.
* ``int8``: each token (one W-vector of one clip, layer and patch) scaled by its own absolute
  maximum to [-127, 127] and rounded; stored as a structured array (T, L, P) of
  ``(scale float32, codes int8[W])``, so W + 4 bytes per token, about half of fp16. A
  per-token scale follows the large spread of norms between CLIP's layers and its class token.
* ``pq``: FAISS product quantisation per layer: each token is cut into ``M = W / 4``
  sub-vectors of 4 values, each replaced by the index of its nearest of 256 centroids, so W / 4
  bytes per token, 1/8 of fp16. The code books (L, M, 256, 4) float32 are trained on the
  library's own tokens (`train_pq`) and stored beside its features.

Every codec decodes in blocks of clips into float16, the dtype grounding reads, so the
temporaries of a decode stay small whatever the window length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vsearch.errors import InputError, LibraryError

CODECS = ("fp16", "int8", "pq")
PQ_SUB_DIM = 4  # values per PQ sub-vector: M = W / 4 sub-quantisers
PQ_BITS = 8  # 256 centroids per sub-quantiser, one byte per code
DECODE_BLOCK_CLIPS = 16  # clips decoded per step: bounds the float32 temporaries


def int8_dtype(width: int) -> np.dtype:
    """The stored record of one int8 token: its scale and its W codes."""
    return np.dtype([("scale", "<f4"), ("codes", "i1", (width,))])


def _blocks(count: int) -> range:
    return range(0, count, DECODE_BLOCK_CLIPS)


def _check_tokens(tokens: np.ndarray) -> np.ndarray:
    if tokens.ndim != 4:
        raise InputError(f"token features must be (T, L, P, W), got shape {tokens.shape}")
    return tokens


class Fp16Codec:
    """Tokens as float16: decode is a (memory-mapped) slice, no copy."""

    name = "fp16"

    def encode(self, tokens: np.ndarray) -> np.ndarray:
        return np.asarray(_check_tokens(tokens), dtype=np.float16)

    def decode(self, stored: np.ndarray) -> np.ndarray:
        return stored

    def token_shape(self, stored: np.ndarray) -> tuple[int, int, int, int]:
        return tuple(stored.shape)  # type: ignore[return-value]


class Int8Codec:
    """Symmetric int8 per token: x ~= codes * scale, scale = max|x| / 127."""

    name = "int8"

    def encode(self, tokens: np.ndarray) -> np.ndarray:
        tokens = _check_tokens(tokens)
        t, layers, p, width = tokens.shape
        out = np.empty((t, layers, p), dtype=int8_dtype(width))
        for start in _blocks(t):
            block = np.asarray(tokens[start : start + DECODE_BLOCK_CLIPS], dtype=np.float32)
            scale = np.abs(block).max(axis=-1) / 127.0
            safe = np.where(scale > 0, scale, 1.0)[..., None]
            codes = np.clip(np.rint(block / safe), -127, 127).astype(np.int8)
            out["scale"][start : start + len(block)] = scale
            out["codes"][start : start + len(block)] = codes
        return out

    def decode(self, stored: np.ndarray) -> np.ndarray:
        t, layers, p = stored.shape
        width = stored.dtype["codes"].shape[0]
        out = np.empty((t, layers, p, width), dtype=np.float16)
        for start in _blocks(t):
            block = stored[start : start + DECODE_BLOCK_CLIPS]
            values = block["codes"].astype(np.float32) * block["scale"][..., None]
            out[start : start + len(block)] = values
        return out

    def token_shape(self, stored: np.ndarray) -> tuple[int, int, int, int]:
        return (*stored.shape, stored.dtype["codes"].shape[0])  # type: ignore[return-value]


@dataclass(frozen=True)
class PqCodec:
    """Product quantisation with one code book per layer: (L, M, 256, PQ_SUB_DIM) float32."""

    codebooks: np.ndarray
    name = "pq"

    def __post_init__(self) -> None:
        books = self.codebooks
        if books.ndim != 4 or books.shape[2] != 1 << PQ_BITS or books.shape[3] != PQ_SUB_DIM:
            raise LibraryError(f"PQ code books must be (L, M, 256, 4), got shape {books.shape}")

    @property
    def layers(self) -> int:
        return int(self.codebooks.shape[0])

    @property
    def width(self) -> int:
        return int(self.codebooks.shape[1] * PQ_SUB_DIM)

    def _quantizer(self, layer: int):
        import faiss

        m = self.codebooks.shape[1]
        pq = faiss.ProductQuantizer(self.width, m, PQ_BITS)
        faiss.copy_array_to_vector(
            np.ascontiguousarray(self.codebooks[layer], dtype=np.float32).ravel(), pq.centroids
        )
        return pq

    def encode(self, tokens: np.ndarray) -> np.ndarray:
        tokens = _check_tokens(tokens)
        t, layers, p, width = tokens.shape
        if (layers, width) != (self.layers, self.width):
            raise LibraryError(
                f"tokens of {layers} layers x {width} values do not fit the library's PQ code "
                f"books ({self.layers} x {self.width}); re-index with the library's CLIP"
            )
        m = self.codebooks.shape[1]
        out = np.empty((t, layers, p, m), dtype=np.uint8)
        for layer in range(layers):
            pq = self._quantizer(layer)
            for start in _blocks(t):
                block = np.asarray(tokens[start : start + DECODE_BLOCK_CLIPS, layer], np.float32)
                codes = pq.compute_codes(np.ascontiguousarray(block.reshape(-1, width)))
                out[start : start + len(block), layer] = codes.reshape(len(block), p, m)
        return out

    def decode(self, stored: np.ndarray) -> np.ndarray:
        t, layers, p, m = stored.shape
        out = np.empty((t, layers, p, self.width), dtype=np.float16)
        sub = np.arange(m)
        for layer in range(layers):
            books = self.codebooks[layer]  # (M, 256, 4)
            for start in _blocks(t):
                codes = np.asarray(stored[start : start + DECODE_BLOCK_CLIPS, layer])
                values = books[sub, codes]  # (n, P, M, 4)
                out[start : start + len(codes), layer] = values.reshape(len(codes), p, -1)
        return out

    def token_shape(self, stored: np.ndarray) -> tuple[int, int, int, int]:
        t, layers, p, _ = stored.shape
        return (t, layers, p, self.width)


Codec = Fp16Codec | Int8Codec | PqCodec


def train_pq(samples: Sequence[np.ndarray], *, seed: int = 0) -> PqCodec:
    """Code books from per-layer samples of tokens, each (n, W) float; W must divide by 4.

    FAISS runs k-means with 256 centroids per sub-quantiser, which wants at least 39 points
    per centroid (9,984 tokens): see `features.MIN_PQ_TOKENS_PER_LAYER`.
    """
    import faiss

    # k-means of 4-value sub-vectors is too small a job per step for OpenMP: its threads
    # mostly spin-wait, which on a busy machine makes training many times slower, not faster
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return PqCodec(np.stack([_train_layer(sample, seed) for sample in samples]))
    finally:
        faiss.omp_set_num_threads(threads)


def _train_layer(sample: np.ndarray, seed: int) -> np.ndarray:
    """(M, 256, 4) float32 code book of one layer."""
    import faiss

    data = np.ascontiguousarray(sample, dtype=np.float32)
    width = data.shape[1]
    if width % PQ_SUB_DIM:
        raise InputError(f"PQ needs a token width divisible by {PQ_SUB_DIM}, got {width}")
    pq = faiss.ProductQuantizer(width, width // PQ_SUB_DIM, PQ_BITS)
    pq.cp.seed = seed
    pq.cp.verbose = False
    pq.train(data)
    centroids = faiss.vector_to_array(pq.centroids).astype(np.float32)
    return centroids.reshape(width // PQ_SUB_DIM, 1 << PQ_BITS, PQ_SUB_DIM)


def stored_bytes_per_token(codec: str, width: int) -> int:
    """Bytes one token (W values) takes in a codec's stored array."""
    if codec == "fp16":
        return 2 * width
    if codec == "int8":
        return width + 4
    if codec == "pq":
        return width // PQ_SUB_DIM
    raise InputError(f"unknown feature codec {codec!r}; use one of {', '.join(CODECS)}")

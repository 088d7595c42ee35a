"""The R2-Tuning network on cached CLIP features, returning every intermediate it computes.

`R2Model.forward` takes padded batches with explicit boolean masks. Two padding behaviours:

* exact (default): each sample's result is what it would be alone. TEF and positional
  encoding use the sample's own length, padded query tokens are excluded from the max in the
  spatial pooling, and pyramid positions past a sample's own level length are zeroed.
* reference (`reference_padding=True`): reproduces the published implementation on a padded
  batch, where TEF/positional encoding use the padded length and padded query tokens (zeros
  through `query_map`) take part in the max. Training on official-style batches needs it.

Two ways to compute the query-modulated spatial pooling, equal in real arithmetic:

* published (default): every token of every clip goes through all of `video_map`, then `v_map`,
  as the published code does; training uses it.
* folded (`fast=True`, inference only): the last `video_map` Linear and `v_map` are moved onto
  the few query tokens and pooled rows instead of the T*P video tokens (see `_folded_pooling`),
  and on CPU clips are processed in chunks so no window-sized temporary is allocated. At equal
  precision it is about 1.5x cheaper on CPU and differs from the published path by float
  rounding only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vsearch.errors import InputError, ModelError
from vsearch.grounding.config import R2Config
from vsearch.grounding.layers import (
    AdaPooling,
    ConvHead,
    DownsampleStep,
    TemporalDecoderLayer,
    feature_map,
    sinusoidal_encoding,
)

# Video tokens per chunk of the folded pooling: big enough for efficient matmuls, small enough
# that a chunk's temporaries stay in cache and are reused by the allocator (fresh window-sized
# allocations cost a page fault per 4 KiB on CPU; 800-1600 tokens measured fastest).
CHUNK_TOKENS = 1024
# devices where the folded pooling walks the batch row by row in chunks of CHUNK_TOKENS tokens,
# bounding memory; elsewhere (GPUs) it runs on the whole batch at once
CHUNKED_DEVICES = frozenset({"cpu"})


@dataclass(frozen=True)
class R2Output:
    """Everything one forward pass computes; per-layer tuples are indexed by CLIP layer i.

    Shapes: B batch, T clips, L query tokens, D dims, N output positions over all levels.
    """

    query_map_out: tuple[Tensor, ...]  # per layer (B,L,D)
    tem_in: tuple[Tensor, ...]  # per layer (B,T,D): decoder input
    tem_out: tuple[Tensor, ...]  # per layer (B,T,D): decoder output
    coll_v: tuple[Tensor, ...]  # per layer (B,T,D): mapped CLS token
    coll_q_pooled: tuple[Tensor, ...]  # per layer (B,1,D): AdaPooled mapped query
    tef: Tensor | None  # (B,T,2)
    pos_enc: Tensor  # (B,T,D)
    video_out_prerelu: Tensor  # (B,T,D)
    video_emb: Tensor  # (B,T,D) = ReLU(adapter output) = pyramid[0]
    query_emb: Tensor  # (B,L,D): layer-0 mapped query
    query_emb_pooled: Tensor  # (B,1,D)
    pyramid: tuple[Tensor, ...]  # per present level (B,T_j,D)
    strides: tuple[int, ...]  # stride of each present level
    class_logits: tuple[Tensor, ...]  # per level (B,T_j,1)
    coord_raw: tuple[Tensor, ...] | None  # per level (B,T_j,2), before exp and coef
    out_class_logits: Tensor  # (B,N,1)
    out_coord: Tensor | None  # (B,N,2) distances in stride units
    points: Tensor  # (N,4): [position (clips), range low, range high, stride]
    pymid_mask: Tensor  # (B,N) bool
    video_mask: Tensor  # (B,T) bool
    query_mask: Tensor  # (B,L) bool
    reference_padding: bool

    @property
    def level_lengths(self) -> tuple[int, ...]:
        """Length of every present pyramid level in this (padded) batch."""
        return tuple(level.shape[1] for level in self.pyramid)


class R2Block(nn.Module):
    """The recurrent adapter: one set of weights applied to CLIP layers deepest-first."""

    def __init__(self, config: R2Config) -> None:
        super().__init__()
        c = config
        self.config = c
        self.video_map = feature_map(c.video_in_width, c.dims, c.dropout, c.layer_norm_eps)
        self.query_map = feature_map(c.query_width, c.dims, c.dropout, c.layer_norm_eps)
        self.gate = nn.Parameter(torch.zeros(c.num_layers - 1))
        self.scale = nn.Parameter(torch.zeros(c.num_layers))
        self.v_map = nn.Linear(c.dims, c.dims)
        self.q_map = nn.Linear(c.dims, c.dims)
        self.tem = TemporalDecoderLayer(c.dims, c.heads, c.ffn_ratio, c.droppath, c.layer_norm_eps)


class R2Model(nn.Module):
    """R2-Tuning on cached features: adapter, conv pyramid, shared heads, AdaPooling."""

    def __init__(self, config: R2Config) -> None:
        super().__init__()
        c = config
        self.config = c
        self.adapter = R2Block(c)
        self.pyramid = nn.ModuleList(
            nn.ModuleList(
                DownsampleStep(c.dims, c.layer_norm_eps) for _ in range(stride.bit_length() - 1)
            )
            for stride in c.strides
        )
        self.pooling = AdaPooling(c.dims)
        self.class_head = ConvHead(c.dims, 1, c.head_kernel)
        self.coord_head = ConvHead(c.dims, 2, c.head_kernel) if c.use_coord_head else None
        self.coef = nn.Parameter(torch.ones(len(c.strides)))

    def forward(
        self,
        video: Tensor,
        video_mask: Tensor,
        query: Tensor,
        query_mask: Tensor,
        *,
        reference_padding: bool = False,
        fast: bool = False,
    ) -> R2Output:
        """video (B,T,K,P,Wv) and query (B,L,K,Wq) of any float dtype; masks bool, True = valid.

        Padded entries may hold anything (even +inf); they are replaced by zeros. `fast`
        selects the folded pooling (module docstring); it needs eval mode, where dropout is
        the identity the folding relies on.
        """
        c = self.config
        self._check_inputs(video, video_mask, query, query_mask)
        if fast and self.training and c.dropout > 0:
            raise ModelError("the folded forward is for inference: call model.eval() first")
        video_mask = video_mask.bool()
        query_mask = query_mask.bool()
        b, t = video.shape[:2]
        k = c.num_layers
        lengths = video_mask.sum(1)

        tef = self._tef(lengths, t, reference_padding, video.device) if c.use_tef else None
        positions = (
            torch.arange(1, t + 1, device=video.device).expand(b, t)
            if reference_padding
            else video_mask.long().cumsum(1)
        )
        pos_enc = sinusoidal_encoding(positions, c.dims, c.pos_temperature)
        query_all = torch.where(query_mask[:, :, None, None], query.float(), 0.0)

        ad = self.adapter
        query_map_out: list[Tensor] = [torch.empty(0)] * k
        tem_in: list[Tensor] = [torch.empty(0)] * k
        tem_out: list[Tensor] = [torch.empty(0)] * k
        coll_v: list[Tensor] = [torch.empty(0)] * k
        last: Tensor | None = None
        for i in range(k - 1, -1, -1):
            q_emb = ad.query_map(query_all[:, :, i])  # B,L,D
            query_map_out[i] = q_emb
            if fast:
                cls, pooled_max = self._folded_pooling(
                    video, i, video_mask, tef, q_emb, None if reference_padding else query_mask
                )
            else:
                cls, pooled_max = self._published_pooling(
                    video, i, video_mask, tef, q_emb, None if reference_padding else query_mask
                )
            coll_v[i] = cls
            x = cls + pooled_max * ad.scale[i].tanh()
            if last is not None:
                gate = ad.gate[i].sigmoid()
                x = gate * x + (1 - gate) * last
            tem_in[i] = x
            last = ad.tem(x, q_emb, pos_enc, video_mask, query_mask)
            tem_out[i] = last
        assert last is not None

        video_emb = F.relu(last)
        pyramid, strides, level_masks = self._pyramid(
            video_emb, video_mask, lengths, reference_padding
        )
        # heads and pooling run in float32 even under CUDA autocast, as the published model does
        with torch.autocast(video.device.type, enabled=False):
            pyramid = tuple(level.float() for level in pyramid)
            video_emb = video_emb.float()
            query_map_out = [q.float() for q in query_map_out]
            head_masks = [None if reference_padding else m for m in level_masks]
            class_logits = tuple(
                self.class_head(level, m) for level, m in zip(pyramid, head_masks, strict=True)
            )
            out_class_logits = torch.cat(class_logits, dim=1)
            coord_raw: tuple[Tensor, ...] | None = None
            out_coord: Tensor | None = None
            if self.coord_head is not None:
                coord_raw = tuple(
                    self.coord_head(level, m) for level, m in zip(pyramid, head_masks, strict=True)
                )
                level_idx = [c.strides.index(s) for s in strides]
                out_coord = torch.cat(
                    [raw.exp() * self.coef[j] for raw, j in zip(coord_raw, level_idx, strict=True)],
                    dim=1,
                )
            query_emb = query_map_out[0]
            coll_q_pooled = tuple(self.pooling(q, query_mask) for q in query_map_out)
            query_emb_pooled = self.pooling(query_emb, query_mask)
        return R2Output(
            query_map_out=tuple(query_map_out),
            tem_in=tuple(tem_in),
            tem_out=tuple(tem_out),
            coll_v=tuple(coll_v),
            coll_q_pooled=coll_q_pooled,
            tef=tef,
            pos_enc=pos_enc,
            video_out_prerelu=last,
            video_emb=video_emb,
            query_emb=query_emb,
            query_emb_pooled=query_emb_pooled,
            pyramid=pyramid,
            strides=strides,
            class_logits=class_logits,
            coord_raw=coord_raw,
            out_class_logits=out_class_logits,
            out_coord=out_coord,
            points=self._points(pyramid, strides, video.device),
            pymid_mask=torch.cat(level_masks, dim=1),
            video_mask=video_mask,
            query_mask=query_mask,
            reference_padding=reference_padding,
        )

    def _published_pooling(
        self,
        video: Tensor,
        i: int,
        video_mask: Tensor,
        tef: Tensor | None,
        q_emb: Tensor,
        query_mask: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        """Mapped CLS token (B,T,D) and max over query tokens of the pooled video (B,T,D).

        The published computation: `video_map` and `v_map` on every token. `query_mask` None
        lets padded query tokens take part in the max (reference padding).
        """
        ad = self.adapter
        v_emb = ad.video_map(self._layer_input(video, i, video_mask, tef))  # B,T,P,D
        v_key = ad.v_map(v_emb)
        q_key = ad.q_map(q_emb)
        att = torch.einsum("bld,btpd->btlp", q_key, v_key) / self.config.dims**0.5
        pooled = torch.matmul(att.softmax(-1), v_emb) + q_emb[:, None]  # B,T,L,D
        if query_mask is not None:
            pooled = pooled.masked_fill(~query_mask[:, None, :, None], float("-inf"))
        return v_emb[:, :, 0], pooled.amax(dim=2)

    def _folded_pooling(
        self,
        video: Tensor,
        i: int,
        video_mask: Tensor,
        tef: Tensor | None,
        q_emb: Tensor,
        query_mask: Tensor | None,
    ) -> tuple[Tensor, Tensor]:
        """`_published_pooling` with the last two token-wise Linears moved off the tokens.

        With h the LayerNorm output before `video_map`'s last Linear (W2, b2), the video
        embedding is v = h W2^T + b2 and the key v_map(v) = v Wv^T + bv. Then
        att = q_key . v_map(v) = ((q_key Wv) W2) . h + (a term constant over tokens), which
        the softmax over tokens ignores; and since softmax rows sum to 1,
        softmax(att) @ v = (softmax(att) @ h) W2^T + b2. So W2 runs on the CLS token and the
        L pooled rows of each clip, and Wv on the L query tokens, instead of both on all P
        tokens. On CPU, clips are processed in chunks of about CHUNK_TOKENS tokens per sample.
        """
        ad = self.adapter
        ln_in, _, proj_in, _, ln_mid, _, proj_out = ad.video_map
        b, t, _, p, _ = video.shape
        d = self.config.dims
        device = video.device.type
        q_key = ad.q_map(q_emb)
        # matmul operands in the autocast dtype, cast once here rather than per chunk
        dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else None
        dtype = dtype or torch.float32
        with torch.autocast(device, enabled=False):
            # (q_key Wv) W2 in float32: tiny, and it scales every attention logit
            q_fold = (q_key.float() @ ad.v_map.weight) @ proj_out.weight / d**0.5
            q_fold = q_fold.to(dtype)
            # LayerNorm's affine folded into the Linear after it
            w_in = (proj_in.weight * ln_in.weight).to(dtype)
            b_in = (proj_in.bias + proj_in.weight @ ln_in.bias).to(dtype)
            w_mid, b_mid = ln_mid.weight.to(dtype), ln_mid.bias.to(dtype)
            w_out, b_out = proj_out.weight.to(dtype), proj_out.bias.to(dtype)
            fold = _FoldedWeights(q_fold, w_in, b_in, w_mid, b_mid, ln_mid.eps, w_out, b_out,
                                  ln_in.eps, dtype)  # fmt: skip
            if device not in CHUNKED_DEVICES:
                # one pass over the whole batch: a GPU pays a kernel launch per operation and a
                # host round trip per Python-side test, and has the memory for it
                hidden_queries = None if query_mask is None else ~query_mask
                layer = self._layer_input(video, i, video_mask, tef)
                cls, pooled_max = fold.pool(layer, q_emb, hidden_queries)
                return cls.float(), pooled_max.float()
            cls = torch.empty(b, t, d, device=video.device)
            pooled_max = torch.empty(b, t, d, device=video.device)
            step = max(1, CHUNK_TOKENS // p)
            for row in range(b):
                hidden_queries = None
                if query_mask is not None and not bool(query_mask[row].all()):
                    hidden_queries = ~query_mask[row : row + 1]
                for start in range(0, t, step):
                    end = min(t, start + step)
                    rows = (slice(row, row + 1), slice(start, end))
                    chunk_tef = None if tef is None else tef[rows]
                    layer = self._layer_input(video[rows], i, video_mask[rows], chunk_tef)
                    chunk_cls, chunk_max = fold.pool(
                        layer, q_emb[row : row + 1], hidden_queries, rows=slice(row, row + 1)
                    )
                    cls[row, start:end] = chunk_cls[0]
                    pooled_max[row, start:end] = chunk_max[0]
        return cls, pooled_max

    def _check_inputs(self, video: Tensor, video_mask: Tensor, query: Tensor, query_mask: Tensor):
        c = self.config
        want_v = (c.num_layers, c.video_tokens, c.video_width)
        if video.dim() != 5 or tuple(video.shape[2:]) != want_v:
            raise InputError(
                f"video must be (B,T,{','.join(map(str, want_v))}), got {tuple(video.shape)}"
            )
        if query.dim() != 4 or tuple(query.shape[2:]) != (c.num_layers, c.query_width):
            raise InputError(
                f"query must be (B,L,{c.num_layers},{c.query_width}), got {tuple(query.shape)}"
            )
        if tuple(video_mask.shape) != tuple(video.shape[:2]):
            raise InputError("video_mask must be (B,T)")
        if tuple(query_mask.shape) != tuple(query.shape[:2]):
            raise InputError("query_mask must be (B,L)")
        for name, mask in (("video_mask", video_mask), ("query_mask", query_mask)):
            lengths = mask.bool().sum(1, keepdim=True)
            prefix = torch.arange(mask.shape[1], device=mask.device)[None] < lengths
            if not torch.equal(prefix, mask.bool()):
                raise InputError(f"{name} must mark a prefix of each row (right padding only)")
        if video.shape[1] > c.buffer_size:
            raise InputError(
                f"{video.shape[1]} clips exceed the {c.buffer_size}-clip point buffer; "
                "use vsearch.grounding.inference.ground, which windows long videos"
            )

    @staticmethod
    def _layer_input(video: Tensor, i: int, video_mask: Tensor, tef: Tensor | None) -> Tensor:
        """Float32 tokens of CLIP layer i with TEF columns appended, zeros on padded clips.

        Built in one preallocated buffer: for long videos this is the largest tensor of the
        forward, and a separate cast, mask and concatenation would each copy it.
        """
        b, t, _, p, w = video.shape
        extra = 0 if tef is None else tef.shape[-1]
        layer = torch.empty(b, t, p, w + extra, dtype=torch.float32, device=video.device)
        layer[..., :w] = video[:, :, i]
        if tef is not None:
            layer[..., w:] = tef[:, :, None, :]
        if not bool(video_mask.all()):
            layer[..., :w].masked_fill_(~video_mask[:, :, None, None], 0.0)
        return layer

    @staticmethod
    def _tef(lengths: Tensor, t: int, reference_padding: bool, device: torch.device) -> Tensor:
        """Temporal endpoint feature (start, end) per clip as fractions of the video length."""
        b = lengths.shape[0]
        if reference_padding:
            starts = torch.arange(0, 1, 1 / t, device=device)[:t]
            one = torch.stack((starts, starts + 1.0 / t), dim=1)
            return one.unsqueeze(0).expand(b, t, 2).contiguous()
        tef = torch.zeros(b, t, 2, device=device)
        for row, n in enumerate(lengths.tolist()):
            if n == 0:
                continue
            starts = torch.arange(0, 1, 1 / n, device=device)[:n]
            tef[row, :n] = torch.stack((starts, starts + 1.0 / n), dim=1)
        return tef

    def _pyramid(
        self, video_emb: Tensor, video_mask: Tensor, lengths: Tensor, reference_padding: bool
    ) -> tuple[tuple[Tensor, ...], tuple[int, ...], list[Tensor]]:
        """Levels computed from the ReLU'd adapter output; masks say which positions are real."""
        t = video_emb.shape[1]
        levels: list[Tensor] = []
        strides: list[int] = []
        masks: list[Tensor] = []
        for stride, steps in zip(self.config.strides, self.pyramid, strict=True):
            if t < stride:
                continue
            level = video_emb
            for step in steps:
                level = step(level)
            if reference_padding:
                if stride > 1:
                    mask = F.max_pool1d(video_mask.float()[:, None], stride, stride)[:, 0] > 0
                else:
                    mask = video_mask
            else:
                valid = torch.div(lengths, stride, rounding_mode="floor")
                mask = torch.arange(level.shape[1], device=level.device)[None] < valid[:, None]
                level = level * mask[:, :, None].to(level.dtype)
            levels.append(level)
            strides.append(stride)
            masks.append(mask)
        return tuple(levels), tuple(strides), masks

    def _points(
        self, pyramid: tuple[Tensor, ...], strides: tuple[int, ...], device: torch.device
    ) -> Tensor:
        ranges = dict(zip(self.config.strides, self.config.regression_ranges, strict=True))
        rows = []
        for level, stride in zip(pyramid, strides, strict=True):
            n = level.shape[1]
            low, high = ranges[stride]
            pos = torch.arange(n, device=device, dtype=torch.float32) * stride
            rows.append(
                torch.stack(
                    (
                        pos,
                        torch.full_like(pos, low),
                        torch.full_like(pos, high),
                        torch.full_like(pos, float(stride)),
                    ),
                    dim=1,
                )
            )
        return torch.cat(rows)


@dataclass(frozen=True)
class _FoldedWeights:
    """The folded pooling's operands, cast once per layer (see `R2Model._folded_pooling`)."""

    q_fold: Tensor  # B,L,D: (q_key Wv) W2 / sqrt(D)
    w_in: Tensor
    b_in: Tensor
    w_mid: Tensor
    b_mid: Tensor
    mid_eps: float
    w_out: Tensor
    b_out: Tensor
    in_eps: float
    dtype: torch.dtype

    def pool(
        self,
        layer: Tensor,
        q_emb: Tensor,
        hidden_queries: Tensor | None,
        *,
        rows: slice = slice(None),
    ) -> tuple[Tensor, Tensor]:
        """CLS rows and query-pooled maxima of a block of clips (n,t,P,W) -> (n,t,D) each.

        `rows` picks the batch rows of `q_fold` that the block's n rows belong to;
        `hidden_queries` (n,L) marks padding query tokens, which never win the max.
        """
        d = self.w_out.shape[0]
        normed = F.layer_norm(layer, layer.shape[-1:], eps=self.in_eps).to(self.dtype)
        hidden = F.linear(normed, self.w_in, self.b_in).relu_()
        h = F.layer_norm(hidden, (d,), self.w_mid, self.b_mid, self.mid_eps)  # n,t,P,D
        keys = self.q_fold[rows].transpose(1, 2)[:, None]  # n,1,D,L
        weights = torch.matmul(h, keys).softmax(dim=2)  # n,t,P,L
        pooled_h = torch.matmul(weights.transpose(2, 3).to(self.dtype), h)  # n,t,L,D
        pooled = F.linear(pooled_h, self.w_out, self.b_out) + q_emb[:, None]
        if hidden_queries is not None:
            pooled = pooled.masked_fill(hidden_queries[:, None, :, None], float("-inf"))
        return F.linear(h[:, :, 0], self.w_out, self.b_out), pooled.amax(dim=2)

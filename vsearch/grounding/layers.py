"""Building blocks of the R2 network: attention, the temporal decoder layer, pyramid and heads.

Every block takes explicit boolean masks (True = valid) instead of relying on padding values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def key_bias(mask: Tensor) -> Tensor:
    """Additive attention bias: 0 where a key is valid, -inf where it is padding."""
    zeros = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    return zeros.masked_fill(~mask, float("-inf"))


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over `heads` heads with separate q/k/v/out projections."""

    def __init__(self, dims: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_dims = dims // heads
        self.q = nn.Linear(dims, dims)
        self.k = nn.Linear(dims, dims)
        self.v = nn.Linear(dims, dims)
        self.m = nn.Linear(dims, dims)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_mask: Tensor) -> Tensor:
        """query (B,Tq,D), key/value (B,Tk,D), key_mask (B,Tk) bool -> (B,Tq,D)."""
        b, tq, d = query.shape
        tk = key.shape[1]
        q = self.q(query).view(b, tq, self.heads, self.head_dims).transpose(1, 2)
        k = self.k(key).view(b, tk, self.heads, self.head_dims).transpose(1, 2)
        v = self.v(value).view(b, tk, self.heads, self.head_dims).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-1, -2)) / self.head_dims**0.5
        att = att + key_bias(key_mask)[:, None, None, :].to(att.dtype)
        out = torch.matmul(att.softmax(-1), v).transpose(1, 2).reshape(b, tq, d)
        return self.m(out)


class FeedForward(nn.Module):
    """Two-layer ReLU MLP; `mapping` indices (0 and 2) follow the published layout."""

    def __init__(self, dims: int, ratio: int) -> None:
        super().__init__()
        self.mapping = nn.Sequential(
            nn.Linear(dims, dims * ratio), nn.ReLU(), nn.Linear(dims * ratio, dims)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.mapping(x)


class DropPath(nn.Module):
    """Stochastic depth on a residual branch, per sample; identity in eval mode."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        shape = (x.shape[0],) + (1,) * (x.dim() - 1)
        noise = x.new_empty(shape).bernoulli_(keep)
        return x * noise / keep


class TemporalDecoderLayer(nn.Module):
    """Post-norm decoder layer: cross-attention to the query, self-attention over time, FFN.

    The positional encoding is added to the attention queries and keys of the video stream
    only, never to the values.
    """

    def __init__(self, dims: int, heads: int, ffn_ratio: int, droppath: float, eps: float):
        super().__init__()
        self.cross_att = MultiHeadAttention(dims, heads)
        self.cross_att_norm = nn.LayerNorm(dims, eps=eps)
        self.self_att = MultiHeadAttention(dims, heads)
        self.self_att_norm = nn.LayerNorm(dims, eps=eps)
        self.ffn = FeedForward(dims, ffn_ratio)
        self.ffn_norm = nn.LayerNorm(dims, eps=eps)
        self.droppath = DropPath(droppath)

    def forward(
        self, x: Tensor, memory: Tensor, pos: Tensor, video_mask: Tensor, query_mask: Tensor
    ) -> Tensor:
        d = self.cross_att(x + pos, memory, memory, query_mask)
        x = self.cross_att_norm(x + self.droppath(d))
        q = x + pos
        d = self.self_att(q, q, x, video_mask)
        x = self.self_att_norm(x + self.droppath(d))
        d = self.ffn(x)
        return self.ffn_norm(x + self.droppath(d))


def sinusoidal_encoding(positions: Tensor, dims: int, temperature: float) -> Tensor:
    """Sinusoidal encoding of positions 1..n normalised by their last value and scaled to 2*pi.

    positions (B,T) integer counts; the last column is the sequence length per row. Channels
    are interleaved sin/cos.
    """
    pos = (positions + 0.0) / (positions[:, -1:] + 1e-6) * (2 * math.pi)
    channel = torch.arange(dims, device=positions.device)
    freq = temperature ** (torch.div(channel, 2, rounding_mode="floor") * 2 / dims)
    angles = pos.unsqueeze(-1) / freq
    return torch.stack((angles[:, :, 0::2].sin(), angles[:, :, 1::2].cos()), dim=3).flatten(2)


class DownsampleStep(nn.Module):
    """Halve the time axis: Conv1d(k=2, s=2) -> LayerNorm -> ReLU, on (B,T,D) features."""

    def __init__(self, dims: int, eps: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(dims, dims, 2, stride=2)
        self.norm = nn.LayerNorm(dims, eps=eps)

    def forward(self, x: Tensor) -> Tensor:
        x = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return F.relu(self.norm(x))


class ConvHead(nn.Module):
    """Conv1d -> ReLU -> Conv1d over time, shared by every pyramid level."""

    def __init__(self, dims: int, out_dims: int, kernel: int) -> None:
        super().__init__()
        self.hidden = nn.Conv1d(dims, dims, kernel, padding=kernel // 2)
        self.out = nn.Conv1d(dims, out_dims, kernel, padding=kernel // 2)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """x (B,T,D) -> (B,T,out_dims).

        With `mask` (B,T) bool, input and hidden activations past the valid positions are
        zeroed, so the convolutions see the same zero padding a shorter sequence alone would.
        """
        keep = None if mask is None else mask[:, None, :].to(x.dtype)
        x = x.transpose(1, 2)
        if keep is not None:
            x = x * keep
        h = F.relu(self.hidden(x))
        if keep is not None:
            h = h * keep
        return self.out(h).transpose(1, 2)


class AdaPooling(nn.Module):
    """Attention pooling of query tokens: masked softmax of a learnt linear score."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.att = nn.Linear(dims, 1, bias=False)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """x (B,L,D), mask (B,L) bool -> (B,1,D)."""
        score = self.att(x) + key_bias(mask).unsqueeze(2).to(x.dtype)
        weight = score.softmax(dim=1)
        return torch.matmul(x.transpose(1, 2), weight).transpose(1, 2)


def feature_map(in_dims: int, dims: int, dropout: float, eps: float) -> nn.Sequential:
    """LayerNorm -> Dropout -> Linear -> ReLU -> LayerNorm -> Dropout -> Linear."""
    return nn.Sequential(
        nn.LayerNorm(in_dims, eps=eps),
        nn.Dropout(dropout),
        nn.Linear(in_dims, dims),
        nn.ReLU(),
        nn.LayerNorm(dims, eps=eps),
        nn.Dropout(dropout),
        nn.Linear(dims, dims),
    )

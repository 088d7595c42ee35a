"""The R2-Tuning architecture and its decoding defaults as data.

One frozen `R2Config` describes a model completely (widths, strides, heads, loss weights and the
post-processing a dataset expects), so a checkpoint plus a config name or JSON file is all that
is needed to rebuild the network. Presets mirror the published training configurations.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vsearch.errors import InputError

NmsKind = Literal["normal", "linear", "gaussian"]


@dataclass(frozen=True)
class R2Config:
    """Architecture, loss and decoding settings of one R2-Tuning model.

    Widths are those of the frozen CLIP taps the model reads (ViT-B/32: 768 visual, 512 text,
    50 tokens per frame, 4 cached layers). `fps` is the clip rate the features were extracted
    at; `unit_s` is the grid evaluation rounds boundaries to (None: no rounding).
    """

    name: str = "qvhighlights"
    video_width: int = 768
    query_width: int = 512
    video_tokens: int = 50
    num_layers: int = 4
    dims: int = 256
    heads: int = 8
    ffn_ratio: int = 4
    dropout: float = 0.5
    droppath: float = 0.1
    strides: tuple[int, ...] = (1, 2, 4, 8)
    use_tef: bool = True
    use_coord_head: bool = True
    merge_cls_sal: bool = True
    head_kernel: int = 3
    buffer_size: int = 1024
    max_num_moment: int = 50
    layer_norm_eps: float = 1e-5
    pos_temperature: float = 10000.0
    fps: float = 0.5
    unit_s: float | None = 2.0
    nms: NmsKind | None = "normal"
    nms_threshold: float = 0.7
    nms_sigma: float = 0.5
    sample_radius: float = 1.5
    temperature: float = 0.07
    loss_cls_weight: float = 1.0
    loss_reg_weight: float = 0.2
    loss_sal_weight: float = 0.1
    loss_video_cal_weight: float = 0.1
    loss_layer_cal_weight: float = 0.1
    sal_directions: tuple[str, ...] = field(default=("row", "col"))

    def __post_init__(self) -> None:
        if self.dims % self.heads:
            raise InputError(f"dims {self.dims} is not divisible by heads {self.heads}")
        for stride in self.strides:
            if stride < 1 or stride & (stride - 1):
                raise InputError(f"pyramid stride {stride} is not a power of two")
        if self.num_layers < 1:
            raise InputError("num_layers must be at least 1")

    @property
    def highlight_only(self) -> bool:
        """True for saliency-only models (no moment regression, BCE class loss)."""
        return not self.use_coord_head

    @property
    def video_in_width(self) -> int:
        """Width entering `video_map`: the CLIP width plus the two TEF columns when used."""
        return self.video_width + (2 if self.use_tef else 0)

    @property
    def regression_ranges(self) -> tuple[tuple[float, float], ...]:
        """Per pyramid level, the range of distances (clip units) a point is responsible for."""
        ranges: list[tuple[float, float]] = []
        low = 0.0
        for stride in self.strides[1:]:
            ranges.append((low, float(stride)))
            low = float(stride)
        ranges.append((low, math.inf))
        return tuple(ranges)

    @classmethod
    def preset(cls, name: str) -> R2Config:
        """The configuration of a published checkpoint family, by dataset name."""
        try:
            overrides = _PRESETS[name]
        except KeyError:
            known = ", ".join(sorted(_PRESETS))
            raise InputError(f"unknown grounding config {name!r}; known: {known}") from None
        return cls(name=name, **overrides)

    @classmethod
    def presets(cls) -> tuple[str, ...]:
        """Names accepted by `preset`."""
        return tuple(sorted(_PRESETS))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> R2Config:
        """Build from a mapping; a `base` key names a preset the other keys override."""
        data = dict(data)
        base = data.pop("base", None)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown grounding config keys: {', '.join(unknown)}")
        for key in ("strides", "sal_directions"):
            if key in data:
                data[key] = tuple(data[key])
        start = cls.preset(base) if base is not None else cls()
        return dataclasses.replace(start, **data)

    @classmethod
    def from_json(cls, path: str | Path) -> R2Config:
        """Load a JSON file holding the fields to set (see `from_dict`)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read grounding config {path}: {error}") from error
        if not isinstance(data, dict):
            raise InputError(f"grounding config {path} must hold a JSON object")
        return cls.from_dict(data)

    @classmethod
    def resolve(cls, name_or_path: str | Path) -> R2Config:
        """A preset name, or else the path of a JSON config file."""
        text = str(name_or_path)
        if text in _PRESETS:
            return cls.preset(text)
        if text.endswith(".json") or Path(text).exists():
            return cls.from_json(text)
        return cls.preset(text)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping; `from_dict(to_dict())` round-trips."""
        data = dataclasses.asdict(self)
        data["strides"] = list(self.strides)
        data["sal_directions"] = list(self.sal_directions)
        return data


_HIGHLIGHT_ONLY: dict[str, Any] = {
    "strides": (1,),
    "use_tef": False,
    "use_coord_head": False,
    "merge_cls_sal": False,
    "loss_reg_weight": 0.0,
    "sal_directions": ("row",),
    "unit_s": None,
    "nms": None,
}

# Values follow the published per-dataset training and evaluation configurations.
_PRESETS: dict[str, dict[str, Any]] = {
    "qvhighlights": {},
    "charades": {
        "fps": 1.0,
        "unit_s": 0.1,
        "nms": "linear",
        "dropout": 0.35,
        "loss_sal_weight": 0.01,
    },
    "tacos": {"unit_s": None, "nms": "linear", "loss_sal_weight": 0.05},
    "ego4d": {"unit_s": None, "nms": "linear"},
    "tvsum": dict(_HIGHLIGHT_ONLY),
    "youtube": dict(_HIGHLIGHT_ONLY),
}

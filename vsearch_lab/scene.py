"""The content model of the synthetic world: what each segment shows and where things are at time t.

Everything here is plain data plus pure geometry, so the renderer, the captioner and the query
generator all read the same truth. Positions are fractions of the frame; sizes are fractions of the
shorter frame side so any --size keeps objects inside their cell of the 3x3 layout grid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# in-place motions keep an object in its cell; moving ones carry it across a row or column
MOVING_MOTIONS: tuple[str, ...] = ("left", "right", "up", "down")
IN_PLACE_MOTIONS: tuple[str, ...] = ("static", "grows", "shrinks", "appears", "disappears")
MOTIONS: tuple[str, ...] = IN_PLACE_MOTIONS + MOVING_MOTIONS

BACKGROUND_KINDS: tuple[str, ...] = ("solid", "stripes", "checkerboard", "noise")
REGIONS: tuple[str, ...] = ("left", "right", "top", "bottom", "centre")

GRID_CELLS = 3
# a mover travels between these fractions of the frame, so it starts and ends inside a side cell
TRAVEL_FROM = 0.15
TRAVEL_TO = 0.85
SMALL_RADIUS = 0.05
LARGE_RADIUS = 0.16


def cell_centre(column: int, row: int) -> tuple[float, float]:
    """Centre of grid cell (column, row) as fractions (x, y) of the frame."""
    return ((column + 0.5) / GRID_CELLS, (row + 0.5) / GRID_CELLS)


def region_of(x_frac: float, y_frac: float) -> str:
    """Name of the screen region holding a point: the side wins over top/bottom."""
    if x_frac < 1 / 3:
        return "left"
    if x_frac > 2 / 3:
        return "right"
    if y_frac < 1 / 3:
        return "top"
    if y_frac > 2 / 3:
        return "bottom"
    return "centre"


@dataclass(frozen=True)
class ObjectTrack:
    """One coloured shape during one segment, with its motion.

    `column`/`row` is the grid cell of an in-place object; a horizontal mover uses only `row`, a
    vertical mover only `column`. `event_s` is when an object appears or disappears (absolute time).
    """

    shape: str
    colour: str
    motion: str
    column: int
    row: int
    radius_frac: float
    event_s: float | None = None

    @property
    def is_moving(self) -> bool:
        return self.motion in MOVING_MOTIONS

    def visible_interval(self, start_s: float, end_s: float) -> tuple[float, float]:
        """The part of its segment during which the object is on screen."""
        if self.motion == "appears" and self.event_s is not None:
            return (self.event_s, end_s)
        if self.motion == "disappears" and self.event_s is not None:
            return (start_s, self.event_s)
        return (start_s, end_s)

    def regions_crossed(self) -> tuple[str, ...]:
        """Every region the object occupies at some time during its segment."""
        if self.motion in ("left", "right"):
            cells = [(column, self.row) for column in range(GRID_CELLS)]
        elif self.motion in ("up", "down"):
            cells = [(self.column, row) for row in range(GRID_CELLS)]
        else:
            cells = [(self.column, self.row)]
        seen: list[str] = []
        for column, row in cells:
            region = region_of(*cell_centre(column, row))
            if region not in seen:
                seen.append(region)
        return tuple(seen)

    def home_region(self) -> str | None:
        """The one region of an in-place object; None for a mover."""
        if self.is_moving:
            return None
        return region_of(*cell_centre(self.column, self.row))

    def state_at(
        self, t_s: float, start_s: float, end_s: float
    ) -> tuple[float, float, float] | None:
        """(x_frac, y_frac, radius_frac) at time t, or None while the object is hidden."""
        visible_start_s, visible_end_s = self.visible_interval(start_s, end_s)
        if not visible_start_s <= t_s < visible_end_s:
            return None
        progress = min(max((t_s - start_s) / (end_s - start_s), 0.0), 1.0)
        x_frac, y_frac = cell_centre(self.column, self.row)
        travel = TRAVEL_FROM + (TRAVEL_TO - TRAVEL_FROM) * progress
        radius_frac = self.radius_frac
        if self.motion == "right":
            x_frac = travel
        elif self.motion == "left":
            x_frac = 1.0 - travel
        elif self.motion == "down":
            y_frac = travel
        elif self.motion == "up":
            y_frac = 1.0 - travel
        elif self.motion == "grows":
            radius_frac = SMALL_RADIUS + (LARGE_RADIUS - SMALL_RADIUS) * progress
        elif self.motion == "shrinks":
            radius_frac = LARGE_RADIUS - (LARGE_RADIUS - SMALL_RADIUS) * progress
        return (x_frac, y_frac, radius_frac)


@dataclass(frozen=True)
class DigitMark:
    """A digit printed in one grid cell for the whole segment."""

    value: int
    colour: str
    column: int
    row: int

    def region(self) -> str:
        return region_of(*cell_centre(self.column, self.row))


@dataclass(frozen=True)
class Background:
    """The screen behind the objects: a solid colour or a texture of one or two colours."""

    kind: str
    colours: tuple[str, ...]
    period_px: int = 0
    vertical: bool = False


@dataclass(frozen=True)
class Segment:
    """A stretch of video with fixed content; `distractor` segments hold no object and no digit."""

    index: int
    start_s: float
    end_s: float
    background: Background
    objects: tuple[ObjectTrack, ...] = ()
    digit: DigitMark | None = None

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def distractor(self) -> bool:
        return not self.objects and self.digit is None

    def to_dict(self) -> dict[str, Any]:
        payload = asdict(self)
        payload["background"]["colours"] = list(self.background.colours)
        payload["distractor"] = self.distractor
        return payload

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Segment:
        background = payload["background"]
        digit = payload.get("digit")
        return cls(
            index=int(payload["index"]),
            start_s=float(payload["start_s"]),
            end_s=float(payload["end_s"]),
            background=Background(
                kind=background["kind"],
                colours=tuple(background["colours"]),
                period_px=int(background.get("period_px", 0)),
                vertical=bool(background.get("vertical", False)),
            ),
            objects=tuple(ObjectTrack(**track) for track in payload.get("objects", [])),
            digit=DigitMark(**digit) if digit else None,
        )


@dataclass(frozen=True)
class VideoPlan:
    """One video of the world: its id, length and the segments that tile it without gaps."""

    video_id: str
    video_idx: int
    duration_s: int
    segments: tuple[Segment, ...]

    def segment_at(self, t_s: float) -> Segment:
        """The segment showing at time t (the last one for t at or past the end)."""
        for segment in self.segments:
            if segment.start_s <= t_s < segment.end_s:
                return segment
        return self.segments[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "vid": self.video_id,
            "video_idx": self.video_idx,
            "duration_s": self.duration_s,
            "segments": [segment.to_dict() for segment in self.segments],
        }

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> VideoPlan:
        return cls(
            video_id=payload["vid"],
            video_idx=int(payload["video_idx"]),
            duration_s=int(payload["duration_s"]),
            segments=tuple(Segment.from_dict(item) for item in payload["segments"]),
        )

"""Reading and writing world.json, the debugging record of every segment of a generated world."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsearch.errors import InputError
from vsearch_lab.describe import describe_segment
from vsearch_lab.scene import VideoPlan

GENERATOR_NAME = "vsearch_lab"
GENERATOR_VERSION = 1
WORLD_FILE = "world.json"
QUERIES_FILE = "queries.jsonl"
VIDEOS_DIR = "videos"


@dataclass(frozen=True)
class World:
    """A whole generated world: how it was drawn and the plan of each video."""

    seed: int
    fps: int
    width: int
    height: int
    plans: tuple[VideoPlan, ...]
    version: int = GENERATOR_VERSION

    def plan(self, video_id: str) -> VideoPlan:
        """The plan of one video by its id (file stem)."""
        for plan in self.plans:
            if plan.video_id == video_id:
                return plan
        raise InputError(f"video {video_id!r} is not part of this world")

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": GENERATOR_NAME,
            "version": self.version,
            "seed": self.seed,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "clip_s": 2,
            "videos": [_plan_record(plan) for plan in self.plans],
        }

    @classmethod
    def from_dict(cls, payload: Mapping[str, Any]) -> World:
        if payload.get("generator") != GENERATOR_NAME:
            raise InputError("not a synthetic world description (generator field missing)")
        return cls(
            seed=int(payload["seed"]),
            fps=int(payload["fps"]),
            width=int(payload["width"]),
            height=int(payload["height"]),
            plans=tuple(VideoPlan.from_dict(item) for item in payload["videos"]),
            version=int(payload["version"]),
        )


def _plan_record(plan: VideoPlan) -> dict[str, Any]:
    """A video plan as JSON, each segment carrying its description for human readers."""
    record = plan.to_dict()
    for segment, item in zip(plan.segments, record["segments"], strict=True):
        item["description"] = describe_segment(segment)
    return record


def write_world(world: World, path: Path) -> None:
    """Write world.json with a stable key order, so equal worlds give equal bytes."""
    path.write_text(json.dumps(world.to_dict(), indent=1) + "\n", encoding="utf-8")


def read_world(source: Path | str | Mapping[str, Any] | World) -> World:
    """A World from a world.json path, its directory, an already-parsed dict, or a World."""
    if isinstance(source, World):
        return source
    if isinstance(source, Mapping):
        return World.from_dict(source)
    path = Path(source)
    if path.is_dir():
        path = path / WORLD_FILE
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise InputError(f"no world description at {path}") from error
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON: {error}") from error
    return World.from_dict(payload)

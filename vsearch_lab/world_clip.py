"""The world CLIP: a tiny CLIP trained on the synthetic world, so search can be scored offline.

No pretrained CLIP is needed to show that vsearch finds the right moment: this module trains one
on a generated world, ships it as `vsearch_lab/assets/world_clip.json` (an open_clip
architecture) plus `world_clip.safetensors` (fp16 weights), and measures text -> clip retrieval
on held-out worlds.

Seeds: the training world of `--seed S` is generated with world seed `TRAIN_SEED_BASE + S`
(1000 + S); evaluation worlds use seeds below 1000, so training and evaluation never share a
video.

Frames are decoded by the media layer exactly as the indexer sees them (one centre crop at the
model's input size per 2 s clip) and paired with the captions of the world at that frame's
presentation time.

Architecture: a 96 px input cut into 32 px patches, so each patch of the 3x3 grid is one cell of
the world's 3x3 layout: a still object lies inside one patch, its region is the patch's position,
and the class token plus nine patches make ten tokens per frame (cheap for the world R2 too).

Recipe: plain contrastive training learns colour (a shortcut that already separates most
captions) and never shape; the text tower then maps "a red star" and "a red cross" to the same
point. Three things break the shortcut:

- half the batches hold every object of one colour, captioned by their own name, so only shape,
  position and background tell the captions apart;
- the other half group each object with objects of its colour and of its shape;
- a caption head (a linear layer from the image embedding to every training caption, multi-label)
  gives the image tower a direct signal for everything a frame shows; it is dropped on export.

Budget: training runs on a couple of shared CPU cores, so it trains a compact twin of the shipped
architecture and expands it on export, without changing what the model computes:

- only the last `live_blocks` visual blocks are trained; the blocks before them are exact
  identities (zero output projections), so the residual stream passes through them unchanged
  and the last-four-block taps are the trained blocks;
- the text tower runs at a context of `TRAIN_CONTEXT` tokens; CLIP's text is causal and pooled
  at the end token, so the positions after it never affect a caption's embedding.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import click
import numpy as np
import torch
import torch.nn.functional as F
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from open_clip.model import CLIP

from vsearch.encoder import ClipEncoder, ClipModelSpec
from vsearch.encoder.tokens import ClipTokenizer
from vsearch.errors import InputError, ModelError
from vsearch_lab.bundle import CONFIG_PATH, MODEL_NAME, world_clip_spec
from vsearch_lab.clauses import Clause, ObjectPattern
from vsearch_lab.describe import segment_frame_captions
from vsearch_lab.options import dataclass_options, knob
from vsearch_lab.palette import OBJECT_COLOURS
from vsearch_lab.parallel import map_in_order
from vsearch_lab.phrases import (
    REGION_PHRASES,
    background_key,
    background_phrase,
    digit_phrase,
    object_phrase,
)
from vsearch_lab.scene import ObjectTrack, Segment, VideoPlan, region_of
from vsearch_lab.shapes import SHAPES
from vsearch_lab.worldfile import QUERIES_FILE, VIDEOS_DIR, World, read_world

logger = logging.getLogger(__name__)

TRAIN_SEED_BASE = 1000
TRAIN_CONTEXT = 40
CLIP_FPS = 0.5  # the indexer's one frame per 2 s clip
# the training world is rendered at 2 fps: the indexer keeps one frame per 2 s anyway, and
# rendering plus encoding 5x fewer frames makes the world five times cheaper to generate
TRAIN_WORLD_FPS = 2
# size captions name only clear sizes: static objects have radius 0.10-0.15 and growing or
# shrinking ones span 0.05-0.16, so "small" is what no static object is and "large" the top end
SMALL_MAX_RADIUS = 0.08
LARGE_MIN_RADIUS = 0.14

StepProgressCallback = Callable[[int, float, float], None]
_BLOCK_OUTPUTS = (
    ".attn.out_proj.weight",
    ".attn.out_proj.bias",
    ".mlp.c_proj.weight",
    ".mlp.c_proj.bias",
)


def read_architecture(path: Path = CONFIG_PATH) -> dict[str, Any]:
    """The open_clip model config of the world CLIP."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise ModelError(f"cannot read world CLIP config {path}: {error}") from error


def build_model(model_cfg: dict[str, Any]) -> CLIP:
    """An open_clip CLIP with fresh random weights for `model_cfg`."""
    return CLIP(**copy.deepcopy(model_cfg))


def compact_config(model_cfg: dict[str, Any], *, live_blocks: int) -> dict[str, Any]:
    """The twin that is trained: `live_blocks` visual blocks and a short text context."""
    vision_layers = int(model_cfg["vision_cfg"]["layers"])
    if not 1 <= live_blocks <= vision_layers:
        raise InputError(f"live blocks must be in 1..{vision_layers}, got {live_blocks}")
    cfg = copy.deepcopy(model_cfg)
    cfg["vision_cfg"]["layers"] = live_blocks
    cfg["text_cfg"]["context_length"] = min(TRAIN_CONTEXT, int(cfg["text_cfg"]["context_length"]))
    return cfg


def expand_compact(compact: CLIP, model_cfg: dict[str, Any]) -> CLIP:
    """The full architecture computing exactly what `compact` computes.

    Visual blocks missing from the compact model are placed first and made identities; text
    positions beyond the compact context keep their random initialisation (they never reach the
    embedding of a text that fits the compact context).
    """
    full = build_model(model_cfg)
    compact_state = compact.state_dict()
    full_state = full.state_dict()
    skipped = int(model_cfg["vision_cfg"]["layers"]) - len(compact.visual.transformer.resblocks)
    for key, value in full_state.items():
        source = _compact_key(key, skipped)
        if key == "positional_embedding":
            value[: compact_state[key].shape[0]] = compact_state[key]
        elif source is None:
            _zero_block_output(key, value)
        else:
            value.copy_(compact_state[source])
    full.load_state_dict(full_state, strict=True)
    return full


def _compact_key(key: str, skipped: int) -> str | None:
    """Name of `key` in the compact model, None for a visual block that is not trained."""
    prefix = "visual.transformer.resblocks."
    if not key.startswith(prefix):
        return key
    index_text, rest = key[len(prefix) :].split(".", 1)
    index = int(index_text)
    return None if index < skipped else f"{prefix}{index - skipped}.{rest}"


def compact_from_full(path: Path, model_cfg: dict[str, Any], *, live_blocks: int) -> CLIP:
    """The compact twin holding the trained part of full-architecture weights at `path`.

    The inverse of `expand_compact` for a model it produced: the last `live_blocks` visual
    blocks, every other weight, and the first positions of the text context. Starting a run
    from a shipped model this way fine-tunes it instead of training afresh.
    """
    from safetensors.torch import load_file

    if not Path(path).is_file():
        raise InputError(f"no world CLIP weights at {path}")
    full_state = load_file(str(path))
    compact = build_model(compact_config(model_cfg, live_blocks=live_blocks))
    compact_state = compact.state_dict()
    skipped = int(model_cfg["vision_cfg"]["layers"]) - live_blocks
    for key, value in full_state.items():
        target = _compact_key(key, skipped)
        if target is None:
            continue
        if target not in compact_state:
            raise InputError(f"{path} does not hold a world CLIP ({key} is not one of its weights)")
        if key == "positional_embedding":
            value = value[: compact_state[target].shape[0]]
        compact_state[target].copy_(value)
    compact.load_state_dict(compact_state, strict=True)
    return compact


def _zero_block_output(key: str, value: torch.Tensor) -> None:
    # a pre-norm block adds attn(...) and mlp(...) to its input; zero output layers make it x -> x
    if key.endswith(_BLOCK_OUTPUTS):
        value.zero_()


def save_weights(model: CLIP, path: Path) -> None:
    """fp16 safetensors: half the bytes, and CLIP loads them back as fp32."""
    from safetensors.torch import save_file

    state = {key: value.detach().half().contiguous() for key, value in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path))


# --- captions -------------------------------------------------------------------------------


def training_texts(world: World, video_id: str, t_s: float) -> tuple[str, ...]:
    """Every text true of the frame at t: the world's frame captions plus the static query forms
    (object on a background, two objects, digit next to an object, digit in its colour)."""
    return _plan_texts(world.plan(video_id), t_s)


def visible_things(world: World, video_id: str, t_s: float) -> tuple[str, ...]:
    """Bare names of what the frame at t shows ("a red circle", "the digit 3"), or ()."""
    return _plan_things(world.plan(video_id), t_s)


def _plan_texts(
    plan: VideoPlan,
    t_s: float,
    *,
    motion: bool = False,
    sizes: bool = False,
    corners: bool = False,
) -> tuple[str, ...]:
    segment = plan.segment_at(t_s)
    texts = list(segment_frame_captions(segment, t_s))
    texts.extend(_query_forms(segment, t_s))
    if motion:
        texts.extend(_motion_forms(segment, t_s))
    if sizes:
        texts.extend(_size_forms(segment, t_s))
    if corners:
        texts.extend(_corner_forms(segment, t_s))
    return tuple(dict.fromkeys(texts))


def _visible_states(
    segment: Segment, t_s: float
) -> list[tuple[ObjectTrack, tuple[float, float, float]]]:
    """Each object on screen at t with its (x_frac, y_frac, radius_frac) there."""
    found = []
    for track in segment.objects:
        state = track.state_at(t_s, segment.start_s, segment.end_s)
        if state is not None:
            found.append((track, state))
    return found


def _corner_forms(segment: Segment, t_s: float) -> list[str]:
    """The height of each visible object in a corner cell ("a red star at the top"): frame
    captions name the side first (a thing at the top left is "on the left"), yet it is also at
    the top, and "moves up" can only be matched as "at the bottom", then "at the top" if the
    model knows the height of things at the sides too."""
    backdrop = background_phrase(background_key(segment.background))
    forms: list[str] = []
    for track, (x_frac, y_frac, _) in _visible_states(segment, t_s):
        if 1 / 3 <= x_frac <= 2 / 3 or 1 / 3 <= y_frac <= 2 / 3:
            continue
        height = REGION_PHRASES["top" if y_frac < 1 / 3 else "bottom"]
        thing = f"{object_phrase(track.shape, track.colour)} {height}"
        forms.extend((thing, f"{thing} on {backdrop}"))
    return forms


def _motion_forms(segment: Segment, t_s: float) -> list[str]:
    """What each visible moving thing does over its segment ("a red star moves to the left"),
    alone and on the backdrop: true of the moment the frame belongs to, as a video's caption is
    true of its frames. A frame cannot show the direction; these give the text tower motion
    phrases to learn from, so that "moves to the left" is not read as "on the left" (measured
    in docs/lab/synthetic-world.md)."""
    backdrop = background_key(segment.background)
    forms: list[str] = []
    for track in segment.objects:
        if track.motion == "static" or track.state_at(t_s, segment.start_s, segment.end_s) is None:
            continue
        pattern = ObjectPattern(track.shape, track.colour, motion=track.motion)
        forms.append(Clause(objects=(pattern,)).text())
        forms.append(Clause(objects=(pattern,), background=backdrop).text())
    return forms


def size_word(radius_frac: float) -> str | None:
    """"small" or "large" for an object of this radius, None for a medium one."""
    if radius_frac <= SMALL_MAX_RADIUS:
        return "small"
    if radius_frac >= LARGE_MIN_RADIUS:
        return "large"
    return None


def _size_forms(segment: Segment, t_s: float) -> list[str]:
    """The size of each visible object whose size is clear ("a small red star"), alone, in its
    place and on the backdrop. A frame shows a size, so the image tower can learn it; with it,
    "a red star grows" can be matched as a small red star, then a large one."""
    backdrop = background_phrase(background_key(segment.background))
    forms: list[str] = []
    for track, (x_frac, y_frac, radius_frac) in _visible_states(segment, t_s):
        size = size_word(radius_frac)
        if size is None:
            continue
        thing = f"a {size} {track.colour} {track.shape}"
        place = REGION_PHRASES[region_of(x_frac, y_frac)]
        forms.extend((thing, f"{thing} {place}", f"{thing} on {backdrop}"))
    return forms


def _plan_things(plan: VideoPlan, t_s: float) -> tuple[str, ...]:
    segment = plan.segment_at(t_s)
    digits = [] if segment.digit is None else [digit_phrase(segment.digit.value)]
    return (*_visible_objects(segment, t_s), *digits)


def _visible_objects(segment: Segment, t_s: float) -> list[str]:
    return [
        object_phrase(track.shape, track.colour)
        for track in segment.objects
        if track.state_at(t_s, segment.start_s, segment.end_s) is not None
    ]


def _object_parts() -> dict[str, tuple[str, str]]:
    """(colour, shape) of every object name, so batches can pair objects that share one."""
    return {
        object_phrase(shape, colour): (colour, shape)
        for shape in SHAPES
        for colour in OBJECT_COLOURS
    }


def _query_forms(segment: Segment, t_s: float) -> list[str]:
    backdrop = background_phrase(background_key(segment.background))
    objects = _visible_objects(segment, t_s)
    forms = [f"{thing} on {backdrop}" for thing in objects]
    for i, first in enumerate(objects):
        for second in objects[i + 1 :]:
            forms.extend((f"{first} and {second}", f"{first} and {second} on {backdrop}"))
    if segment.digit is not None:
        digit = segment.digit
        forms.append(digit_phrase(digit.value, digit.colour))
        forms.extend(f"{digit_phrase(digit.value)} next to {thing}" for thing in objects)
    return forms


# --- data -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FramePairs:
    """Decoded frames and the texts true of each one."""

    frames: np.ndarray  # (N, 3, S, S) uint8, S the model's input size
    texts: tuple[tuple[str, ...], ...]
    things: tuple[tuple[str, ...], ...]  # bare names of what each frame shows
    clip_ids: tuple[tuple[str, int], ...]  # (video_id, clip_idx) per frame


def input_size(config_path: Path = CONFIG_PATH) -> int:
    """Side of the square frames the world CLIP reads, in pixels."""
    return int(read_architecture(config_path)["vision_cfg"]["image_size"])


def decode_world(
    world_dir: Path,
    *,
    with_texts: bool = True,
    size: int | None = None,
    workers: int = 1,
    motion_captions: bool = False,
    size_captions: bool = False,
    corner_captions: bool = False,
) -> FramePairs:
    """One frame per 2 s clip of every video of a world, decoded as the indexer decodes them
    (at `size`, default the shipped model's input size); `workers` > 1 decodes on that many
    processes, with the same result. `motion_captions` adds what moving things do over their
    segment to each frame's texts (see `_motion_forms`), `size_captions` the clear sizes of
    the objects it shows (see `_size_forms`)."""
    size = size or input_size()
    world_dir = Path(world_dir)
    world = read_world(world_dir)
    jobs = [
        _DecodeJob(
            world_dir / VIDEOS_DIR / f"{plan.video_id}.mp4", plan, size, with_texts,
            motion_captions, size_captions, corner_captions,
        )  # fmt: skip
        for plan in world.plans
    ]
    frames: list[np.ndarray] = []
    texts: list[tuple[str, ...]] = []
    things: list[tuple[str, ...]] = []
    clip_ids: list[tuple[str, int]] = []
    for video in map_in_order(_decode_video, jobs, workers=workers):
        frames.append(video.frames)
        texts.extend(video.texts)
        things.extend(video.things)
        clip_ids.extend(video.clip_ids)
    if not clip_ids:
        raise InputError(f"{world_dir} holds no decodable frames")
    return FramePairs(np.concatenate(frames), tuple(texts), tuple(things), tuple(clip_ids))


@dataclass(frozen=True)
class _DecodeJob:
    path: Path
    plan: VideoPlan
    size: int
    with_texts: bool
    motion_captions: bool
    size_captions: bool
    corner_captions: bool


def _decode_video(job: _DecodeJob) -> FramePairs:
    """The frames of one video, and (when asked) the texts true of each."""
    from vsearch.media import sample_frames

    frames, texts, things, clip_ids = [], [], [], []
    for sampled in sample_frames(job.path, fps=CLIP_FPS, size=job.size):
        frames.append(sampled.rgb)
        clip_ids.append((job.plan.video_id, sampled.clip_idx))
        if job.with_texts:
            texts.append(
                _plan_texts(
                    job.plan, sampled.pts_s, motion=job.motion_captions, sizes=job.size_captions,
                    corners=job.corner_captions,
                )
            )
            things.append(_plan_things(job.plan, sampled.pts_s))
    stacked = np.stack(frames) if frames else np.zeros((0, 3, job.size, job.size), np.uint8)
    return FramePairs(stacked, tuple(texts), tuple(things), tuple(clip_ids))


# --- training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldClipSettings:
    """Knobs of one training run: `steps` makes it deterministic, else it runs `minutes`.

    Each field's help text is also its `world-clip train` option's help (`dataclass_options`).
    """

    videos: int = knob(2000, "Videos in the training world.")
    seed: int = knob(0, "Training world seed is 1000+SEED.")
    minutes: float = knob(15.0, "Training time budget.")
    steps: int | None = knob(None, "Exact step count (overrides minutes).")
    batch_size: int = knob(64, "Frames per training batch.")
    learning_rate: float = knob(2e-3, "Peak of the cosine schedule (lower it when fine-tuning).")
    weight_decay: float = knob(0.05, "AdamW weight decay.")
    warmup_frac: float = knob(0.05, "Share of the steps spent warming up.")
    live_blocks: int = knob(4, "Visual blocks trained; the ones before them are identities.")
    group_size: int = knob(4, "Objects grouped with one of their colour and one of their shape.")
    focused_frac: float = knob(0.5, "Share of one-colour batches.")
    caption_weight: float = knob(
        0.1, "Weight of the caption head loss (summed over the vocabulary)."
    )
    place_negatives: bool = knob(
        False, "Each placed caption's other places as negative texts of the batch."
    )
    place_weight: float = knob(
        0.0, "Weight of the loss that picks a frame's placed caption among its other places."
    )
    min_duration_s: int = knob(30, "Shortest training video, s.")
    max_duration_s: int = knob(180, "Longest training video, s.")
    threads: int = knob(1, "Torch threads (one is fastest for this small model on shared cores).")
    workers: int = knob(1, "Processes that render and decode the training world.")
    device: str = knob("cpu", "cpu, cuda or cuda:N (batches are still drawn on the CPU).")
    init_weights: str | None = knob(
        None, "Fine-tune these world CLIP weights (e.g. the shipped ones) instead of random ones."
    )
    motion_captions: bool = knob(False, "Also caption frames with what moves in their segment.")
    size_captions: bool = knob(False, "Also caption frames with the clear sizes of their objects.")
    corner_captions: bool = knob(False, "Also caption things in a corner with their height.")
    size_weight: float = knob(
        0.0, "Weight of the loss that picks a frame's sized caption against its other size."
    )


@dataclass(frozen=True)
class TrainReport:
    """What a training run did; losses are on one fixed probe batch, before and after."""

    out_weights: str
    world_seed: int
    frames: int
    texts: int
    steps: int
    initial_loss: float
    final_loss: float
    generate_s: float
    train_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train_world_clip(
    out_weights: Path,
    settings: WorldClipSettings,
    *,
    config_path: Path = CONFIG_PATH,
    on_progress: StepProgressCallback | None = None,
) -> TrainReport:
    """Generate a training world, train the compact twin contrastively, save the full model.

    `on_progress(step, progress, loss)` is called after every step; progress runs from 0 to 1.
    """
    started = time.perf_counter()
    pairs = training_pairs(settings)
    generate_s = time.perf_counter() - started
    return train_on_pairs(
        out_weights,
        pairs,
        settings,
        config_path=config_path,
        on_progress=on_progress,
        generate_s=generate_s,
    )


def training_pairs(settings: WorldClipSettings) -> FramePairs:
    """The frames and texts of the training world `settings` names (generated, then deleted).

    The pairs depend on the seed, the video count, the durations, `motion_captions` and
    `size_captions` only, so runs that differ in other settings can share one call.
    """
    from vsearch_lab.generator import generate_world

    with tempfile.TemporaryDirectory(prefix="world-clip-") as scratch:
        generate_world(
            Path(scratch),
            videos=settings.videos,
            seed=TRAIN_SEED_BASE + settings.seed,
            min_duration_s=settings.min_duration_s,
            max_duration_s=settings.max_duration_s,
            fps=TRAIN_WORLD_FPS,
            write_queries=False,
            workers=settings.workers,
        )
        return decode_world(
            Path(scratch),
            workers=settings.workers,
            motion_captions=settings.motion_captions,
            size_captions=settings.size_captions,
            corner_captions=settings.corner_captions,
        )


def train_on_pairs(
    out_weights: Path,
    pairs: FramePairs,
    settings: WorldClipSettings,
    *,
    config_path: Path = CONFIG_PATH,
    on_progress: StepProgressCallback | None = None,
    generate_s: float = 0.0,
) -> TrainReport:
    """Train the compact twin on `pairs` and save the full model to `out_weights`."""
    model_cfg = read_architecture(config_path)
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    if settings.init_weights is None:
        model = build_model(compact_config(model_cfg, live_blocks=settings.live_blocks))
    else:
        model = compact_from_full(
            Path(settings.init_weights), model_cfg, live_blocks=settings.live_blocks
        )
    trainer = _Trainer(model, pairs, settings)
    run = trainer.run(on_progress)
    save_weights(expand_compact(model.cpu(), model_cfg), Path(out_weights))
    return TrainReport(
        out_weights=str(out_weights),
        world_seed=TRAIN_SEED_BASE + settings.seed,
        frames=len(pairs.frames),
        texts=len(trainer.vocabulary),
        steps=run.steps,
        initial_loss=run.initial_loss,
        final_loss=run.final_loss,
        generate_s=round(generate_s, 2),
        train_s=round(run.elapsed_s, 2),
    )


class _RunResult(NamedTuple):
    steps: int
    initial_loss: float
    final_loss: float
    elapsed_s: float


class _Batch(NamedTuple):
    pixels: torch.Tensor  # (B, 3, S, S) normalised
    token_ids: torch.Tensor  # (U, context) the unique texts drawn for the batch
    truth: torch.Tensor  # (B, U) 1 where text u is true of frame b
    captions: torch.Tensor  # (B, V) 1 where vocabulary caption v is true of frame b
    place_frames: torch.Tensor  # (K,) frames given a place choice (WorldClipSettings.place_weight)
    place_columns: torch.Tensor  # (K, P) columns of their caption and its other places; -1 pads
    size_frames: torch.Tensor  # (L,) frames given a size choice (WorldClipSettings.size_weight)
    size_columns: torch.Tensor  # (L, 2) columns of their caption and its other size; -1 pads


class _Trainer:
    """Symmetric InfoNCE with every true (frame, text) pair of a batch counted as positive,
    plus the caption head (see the module docstring for why both, and how batches are built).

    Many frames share a text ("a black background"), so plain InfoNCE would push apart pairs
    that truly match; the targets instead spread over all texts a frame satisfies.
    """

    def __init__(self, model: CLIP, pairs: FramePairs, settings: WorldClipSettings) -> None:
        self.device = torch.device(settings.device)
        self.model = model.to(self.device)
        self.pairs = pairs
        self.settings = settings
        self.vocabulary = sorted({text for texts in pairs.texts for text in texts})
        index = {text: i for i, text in enumerate(self.vocabulary)}
        self.frame_texts = [np.array([index[t] for t in texts]) for texts in pairs.texts]
        self.token_ids = _tokenize(self.vocabulary, int(model.context_length))
        self.rng = np.random.default_rng(settings.seed)
        rows_of: dict[str, list[int]] = {}
        for row, things in enumerate(pairs.things):
            for thing in things or ("",):
                rows_of.setdefault(thing, []).append(row)
        self.group_names = sorted(rows_of)
        self.groups = [np.array(rows_of[name]) for name in self.group_names]
        parts = _object_parts()
        self.objects = [g for g, name in enumerate(self.group_names) if name in parts]
        self.by_colour: dict[str, list[int]] = {}
        self.by_shape: dict[str, list[int]] = {}
        for g in self.objects:
            colour, shape = parts[self.group_names[g]]
            self.by_colour.setdefault(colour, []).append(g)
            self.by_shape.setdefault(shape, []).append(g)
        self.parts = parts
        placing = settings.place_negatives or settings.place_weight > 0
        self.place_variants = _place_variants(self.vocabulary) if placing else {}
        self.size_variants = _size_variants(self.vocabulary) if settings.size_weight > 0 else {}
        # per frame, its captions that place or size something: fixed, so found once, not
        # every step
        self.frame_places = _frames_with_variants(
            self.frame_texts if settings.place_weight > 0 else [], self.place_variants
        )
        self.frame_sizes = _frames_with_variants(
            self.frame_texts if settings.size_weight > 0 else [], self.size_variants
        )
        embed_dim = int(model.text_projection.shape[1])
        self.caption_head = torch.nn.Linear(embed_dim, len(self.vocabulary)).to(self.device)
        if settings.init_weights is not None:
            # a trained tower's embeddings are long: a random head on them makes a huge loss
            # whose gradient would wreck the tower before the head has learnt anything; a zero
            # head passes no gradient back until it has
            torch.nn.init.zeros_(self.caption_head.weight)
            torch.nn.init.zeros_(self.caption_head.bias)
        self.token_ids = self.token_ids.to(self.device)
        self.mean = torch.tensor(OPENAI_DATASET_MEAN, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(OPENAI_DATASET_STD, device=self.device).view(1, 3, 1, 1)

    def run(self, on_progress: StepProgressCallback | None) -> _RunResult:
        """Train until the step count, or the clock, reaches the end of the cosine schedule.

        With a time budget the schedule follows the clock: on shared cores a step's duration
        varies, and a schedule fitted to an early estimate would stop before it had cooled down.
        """
        settings = self.settings
        optimizer = _optimizer([self.model, self.caption_head], settings)
        probe = self._batch(self.rng.permutation(len(self.pairs.frames))[: settings.batch_size])
        initial_loss = self._probe_loss(probe)
        started = time.perf_counter()
        budget_s = settings.minutes * 60.0
        progress, step = 0.0, 0
        for step, batch in enumerate(self._batches(), start=1):
            lr = _cosine_lr(progress, settings.learning_rate, settings.warmup_frac)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = self._loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            optimizer.step()
            with torch.no_grad():  # CLIP's clamp: a temperature below 1/100 destabilises
                self.model.logit_scale.clamp_(0, math.log(100))
            if settings.steps is not None:
                progress = step / settings.steps
            else:
                progress = (time.perf_counter() - started) / budget_s
            if on_progress is not None:
                on_progress(step, progress, loss.item())
            if progress >= 1.0:
                break
        elapsed_s = time.perf_counter() - started
        return _RunResult(step, initial_loss, self._probe_loss(probe), elapsed_s)

    def _batches(self) -> Iterator[_Batch]:
        while True:
            if self.objects and self.rng.random() < self.settings.focused_frac:
                yield self._one_colour_batch()
            else:
                yield self._neighbour_batch()

    def _one_colour_batch(self) -> _Batch:
        """Every object of one colour, each frame captioned by a text naming its object."""
        anchor = self.group_names[int(self.rng.choice(self.objects))]
        members = self.by_colour[self.parts[anchor][0]]
        per_group = max(1, self.settings.batch_size // len(members))
        rows = np.concatenate([self.rng.choice(self.groups[g], per_group) for g in members])
        names = [self.group_names[g] for g in members for _ in range(per_group)]
        return self._batch(rows, about=names)

    def _neighbour_batch(self) -> _Batch:
        """Groups of frames showing one thing, next to groups sharing its colour or shape."""
        group_size = max(1, min(self.settings.group_size, self.settings.batch_size))
        wanted = max(1, self.settings.batch_size // group_size)
        picked: list[int] = []
        while len(picked) < wanted:
            if not self.objects:
                picked.append(int(self.rng.integers(len(self.groups))))
                continue
            anchor = int(self.rng.choice(self.objects))
            colour, shape = self.parts[self.group_names[anchor]]
            picked.append(anchor)
            picked.extend(int(g) for g in self.rng.choice(self.by_colour[colour], 2))
            picked.append(int(self.rng.choice(self.by_shape[shape])))
            if self.rng.random() < 0.3:  # and now and then anything (digits, empty screens)
                picked.append(int(self.rng.integers(len(self.groups))))
        rows = [self.rng.choice(self.groups[g], group_size) for g in picked[:wanted]]
        return self._batch(np.concatenate(rows))

    def _batch(self, rows: np.ndarray, *, about: Sequence[str] | None = None) -> _Batch:
        """Pixels, one drawn text per frame (naming `about[i]` when given), their truth matrix
        and the frames' caption labels."""
        drawn = []
        for i, row in enumerate(rows):
            options = self.frame_texts[row]
            if about is not None:
                naming = [t for t in options if about[i] in self.vocabulary[t]]
                options = np.array(naming) if naming else options
            drawn.append(int(self.rng.choice(options)))
        texts = set(drawn)
        if self.settings.place_negatives:
            for text in drawn:
                texts.update(self.place_variants.get(text, ()))
        placed = self._choices(rows, self.frame_places) if self.settings.place_weight > 0 else {}
        for caption in placed.values():
            texts.update((caption, *self.place_variants[caption]))
        sized = self._choices(rows, self.frame_sizes) if self.settings.size_weight > 0 else {}
        for caption in sized.values():
            texts.update((caption, *self.size_variants[caption]))
        unique = sorted(texts)
        truth = np.zeros((len(rows), len(unique)), dtype=np.float32)
        captions = np.zeros((len(rows), len(self.vocabulary)), dtype=np.float32)
        for i, row in enumerate(rows):
            truth[i] = np.isin(unique, self.frame_texts[row])
            captions[i, self.frame_texts[row]] = 1.0
        pixels = torch.from_numpy(self.pairs.frames[rows]).to(self.device).float() / 255.0
        pixels = (pixels - self.mean) / self.std
        column = {text: j for j, text in enumerate(unique)}
        return _Batch(
            pixels,
            self.token_ids[torch.as_tensor(unique, device=self.device)],
            torch.from_numpy(truth).to(self.device),
            torch.from_numpy(captions).to(self.device),
            torch.as_tensor(list(placed), dtype=torch.long, device=self.device),
            _variant_columns(placed, self.place_variants, column).to(self.device),
            torch.as_tensor(list(sized), dtype=torch.long, device=self.device),
            _variant_columns(sized, self.size_variants, column).to(self.device),
        )

    def _choices(self, rows: np.ndarray, frame_captions: list[list[int]]) -> dict[int, int]:
        """Per frame of the batch that has one, a random caption among `frame_captions` of it
        (its captions that place, or size, something it shows)."""
        chosen: dict[int, int] = {}
        for i, row in enumerate(rows):
            options = frame_captions[row]
            if options:
                chosen[i] = int(self.rng.choice(options))
        return chosen

    def _loss(self, batch: _Batch) -> torch.Tensor:
        images = self.model.encode_image(batch.pixels)
        texts = self.model.encode_text(batch.token_ids, normalize=True)
        logits = self.model.logit_scale.exp() * F.normalize(images, dim=-1) @ texts.T
        truth = batch.truth
        image_to_text = -(F.log_softmax(logits, dim=1) * _rows_normalised(truth)).sum(1).mean()
        # texts added only as negatives may hold for no frame: they have no image to pick
        shown = truth.T.sum(1) > 0
        text_to_image = -(F.log_softmax(logits.T[shown], dim=1) * _rows_normalised(truth.T[shown]))
        text_to_image = text_to_image.sum(1).mean()
        contrastive = (image_to_text + text_to_image) / 2
        caption_logits = self.caption_head(images)
        caption_loss = F.binary_cross_entropy_with_logits(
            caption_logits, batch.captions, reduction="sum"
        ) / len(batch.pixels)
        loss = contrastive + self.settings.caption_weight * caption_loss
        if len(batch.place_frames):
            place_loss = _variant_loss(logits, truth, batch.place_frames, batch.place_columns)
            loss = loss + self.settings.place_weight * place_loss
        if len(batch.size_frames):
            size_loss = _variant_loss(logits, truth, batch.size_frames, batch.size_columns)
            loss = loss + self.settings.size_weight * size_loss
        return loss

    def _probe_loss(self, batch: _Batch) -> float:
        with torch.no_grad():
            return float(self._loss(batch))


def _variant_columns(
    chosen: dict[int, int], variants: dict[int, tuple[int, ...]], column: dict[int, int]
) -> torch.Tensor:
    """(K, P) batch columns of each chosen caption then its variants, -1 padded."""
    width = 1 + max((len(variants[c]) for c in chosen.values()), default=0)
    columns = np.full((len(chosen), width), -1, dtype=np.int64)
    for k, caption in enumerate(chosen.values()):
        group = [column[t] for t in (caption, *variants[caption])]
        columns[k, : len(group)] = group
    return torch.from_numpy(columns)


def _frames_with_variants(
    frame_texts: Sequence[np.ndarray], variants: dict[int, tuple[int, ...]]
) -> list[list[int]]:
    """Per frame, its captions that have at least one variant."""
    return [[int(t) for t in texts if variants.get(int(t))] for texts in frame_texts]


def _place_variants(vocabulary: Sequence[str]) -> dict[int, tuple[int, ...]]:
    """For each caption ending in a place ("... on the left"), the vocabulary's captions that
    differ only in that place.

    Trained without them, both towers learn what a frame shows and not where: the captions of one
    object in five places embed within cosine 0.01 of each other, because a random batch rarely
    holds the same object in two places, so where it is almost never decides a pair. Putting the
    other places in the batch as texts (hard negative captions, as in NegCLIP) makes it decide
    more often; the place loss (`WorldClipSettings.place_weight`) makes it decide for every placed
    frame (measurements: docs/lab/synthetic-world.md).
    """
    index = {text: i for i, text in enumerate(vocabulary)}
    places = [f" {phrase}" for phrase in REGION_PHRASES.values()]
    variants: dict[int, tuple[int, ...]] = {}
    for i, text in enumerate(vocabulary):
        for place in places:
            if text.endswith(place):
                stem = text[: -len(place)]
                others = (index.get(stem + other) for other in places if other != place)
                variants[i] = tuple(j for j in others if j is not None)
                break
    return variants


def _size_variants(vocabulary: Sequence[str]) -> dict[int, tuple[int, ...]]:
    """For each sized caption ("a small red star ..."), the vocabulary's caption with the other
    size word ("a large red star ..."), if it holds one.

    As with places, a random batch rarely holds one object at two sizes, so without them size
    would almost never decide a pair; the size loss (`WorldClipSettings.size_weight`) makes it
    decide for every frame with a sized caption.
    """
    index = {text: i for i, text in enumerate(vocabulary)}
    swaps = {"a small ": "a large ", "a large ": "a small "}
    variants: dict[int, tuple[int, ...]] = {}
    for i, text in enumerate(vocabulary):
        for size, other in swaps.items():
            if text.startswith(size):
                j = index.get(other + text[len(size) :])
                variants[i] = () if j is None else (j,)
                break
    return variants


def _variant_loss(
    logits: torch.Tensor, truth: torch.Tensor, frames: torch.Tensor, columns: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of each chosen frame over its caption and that caption's variants (its
    other places, or its other size): every variant the frame also shows counts as right.

    `columns` holds, per frame of `frames`, the logit columns of the caption then its variants,
    padded with -1."""
    padded = columns < 0
    columns = columns.clamp_min(0)
    frames = frames.unsqueeze(1)
    scores = logits[frames, columns].masked_fill(padded, float("-inf"))
    right = truth[frames, columns].masked_fill(padded, 0.0)
    log_p = F.log_softmax(scores, dim=1).masked_fill(padded, 0.0)
    return -(log_p * _rows_normalised(right)).sum(1).mean()


def _rows_normalised(truth: torch.Tensor) -> torch.Tensor:
    return truth / truth.sum(dim=1, keepdim=True).clamp_min(1.0)


def _tokenize(texts: Sequence[str], context_length: int) -> torch.Tensor:
    tokenizer = ClipTokenizer(context_length=context_length)
    rows = []
    for text in texts:
        tokenized = tokenizer.tokenize(text)
        if tokenized.truncated:
            raise InputError(f"caption longer than {context_length} tokens: {text!r}")
        rows.append(tokenized.ids)
    return torch.from_numpy(np.stack(rows))


def _optimizer(
    modules: Sequence[torch.nn.Module], settings: WorldClipSettings
) -> torch.optim.AdamW:
    """AdamW; no decay on gains, biases, embeddings and the temperature (CLIP's recipe)."""
    decayed, plain = [], []
    named = [item for module in modules for item in module.named_parameters()]
    for name, param in named:
        excluded = param.ndim < 2 or "embedding" in name or "logit_scale" in name
        (plain if excluded else decayed).append(param)
    return torch.optim.AdamW(
        [
            {"params": decayed, "weight_decay": settings.weight_decay},
            {"params": plain, "weight_decay": 0.0},
        ],
        lr=settings.learning_rate,
        betas=(0.9, 0.98),
        eps=1e-6,
    )


def _cosine_lr(progress: float, peak: float, warmup_frac: float) -> float:
    """Linear warm-up then cosine decay to zero, over progress 0..1 (steps or seconds)."""
    if progress < warmup_frac:
        return peak * max(progress, 0.01 * warmup_frac) / warmup_frac
    remaining = (progress - warmup_frac) / max(1e-9, 1.0 - warmup_frac)
    return peak * 0.5 * (1.0 + math.cos(math.pi * min(1.0, remaining)))


# --- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class KindRecall:
    """Recall of one query kind: right video among the top k videos (ranked by their best
    clip), right clip among the top k clips of the whole library."""

    queries: int
    video_r1: float
    video_r5: float
    clip_r1: float
    clip_r5: float


@dataclass(frozen=True)
class RetrievalReport:
    """Text -> clip retrieval on one world, per query kind."""

    videos: int
    clips: int
    by_kind: dict[str, KindRecall]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_retrieval(encoder: ClipEncoder, world_dir: Path) -> RetrievalReport:
    """Score every query of a generated world against every clip with `encoder`."""
    world_dir = Path(world_dir)
    pairs = decode_world(world_dir, with_texts=False)
    clip_vectors = encoder.encode_frames(pairs.frames).embeddings
    queries = _read_queries(world_dir / QUERIES_FILE)
    text_vectors = np.stack(
        [t.embedding for t in encoder.encode_texts([q["query"] for q in queries])]
    )
    scores = text_vectors @ clip_vectors.T
    video_of_clip = np.array([video for video, _ in pairs.clip_ids])
    videos = sorted(set(video_of_clip))
    hits: dict[str, list[tuple[bool, bool, bool, bool]]] = {}
    for query, row in zip(queries, scores, strict=True):
        best_per_video = {video: row[video_of_clip == video].max() for video in videos}
        video_rank = sorted(videos, key=lambda video: -best_per_video[video])
        relevant = {(query["vid"], clip_idx) for clip_idx in query["relevant_clip_ids"]}
        clip_rank = [pairs.clip_ids[i] for i in np.argsort(-row, kind="stable")[:5]]
        hits.setdefault(query["kind"], []).append(
            (
                video_rank[0] == query["vid"],
                query["vid"] in video_rank[:5],
                clip_rank[0] in relevant,
                any(clip in relevant for clip in clip_rank),
            )
        )
    by_kind = {
        kind: KindRecall(
            len(rows), *(round(float(np.mean(col)), 4) for col in zip(*rows, strict=True))
        )
        for kind, rows in sorted(hits.items())
    }
    return RetrievalReport(videos=len(videos), clips=len(pairs.clip_ids), by_kind=by_kind)


def _read_queries(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise InputError(f"cannot read queries {path}: {error}") from error
    return [json.loads(line) for line in lines if line.strip()]


def random_encoder(seed: int = 0) -> ClipEncoder:
    """The world CLIP architecture with random weights: the floor retrieval must beat."""
    torch.manual_seed(seed)
    model = build_model(read_architecture())
    return ClipEncoder.from_model(
        model,
        model_id=f"{MODEL_NAME}:random:{seed}",
        mean=OPENAI_DATASET_MEAN,
        std=OPENAI_DATASET_STD,
        device="cpu",
    )


# --- command line ---------------------------------------------------------------------------


def cli_group() -> click.Group:
    from vsearch_lab.cli import SynthGroup

    @click.group(cls=SynthGroup)
    def main() -> None:
        """Train and evaluate the world CLIP."""

    @main.command()
    @click.argument("out_weights", type=click.Path(dir_okay=False, path_type=Path))
    @dataclass_options(WorldClipSettings, renamed={
        "init_weights": "--init", "min_duration_s": "--min-duration",
        "max_duration_s": "--max-duration",
    })  # fmt: skip
    def train(out_weights: Path, **options: Any) -> None:
        """Train on a fresh world and write fp16 safetensors weights to OUT_WEIGHTS."""
        from vsearch.cli.app import echo_json

        report = train_world_clip(out_weights, WorldClipSettings(**options), on_progress=_log_step)
        echo_json(report.to_dict())

    @main.command()
    @click.argument("world_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
    @click.option("--weights", type=click.Path(dir_okay=False, path_type=Path), default=None)
    @click.option("--random-weights", is_flag=True, help="Score the untrained architecture.")
    def evaluate(world_dir: Path, weights: Path | None, random_weights: bool) -> None:
        """Text -> clip recall@1/@5 of a generated world (video level and clip level)."""
        from vsearch.cli.app import echo_json

        if random_weights:
            encoder = random_encoder()
        else:
            spec = world_clip_spec()
            if weights is not None:
                spec = ClipModelSpec(
                    name=MODEL_NAME, pretrained=None, weights=weights, config=CONFIG_PATH
                )
            encoder = ClipEncoder.load(spec, device="cpu")
        echo_json(evaluate_retrieval(encoder, world_dir).to_dict())

    return main


def _log_step(step: int, progress: float, loss: float) -> None:
    if step == 1 or step % 10 == 0 or progress >= 1.0:
        click.echo(f"step {step} ({progress:.0%}) loss {loss:.4f}", err=True)


if __name__ == "__main__":
    cli_group()(prog_name="python -m vsearch_lab.world_clip")

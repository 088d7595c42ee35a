"""Other videos for a query: the negatives that teach a grounding model which video it is in.

The published recipe only shows a model videos where its query holds, so its scores rank
moments within a video but not videos against each other, which library search needs. Two
optional training signals pair a query with other training videos:

* mismatched pairs (`mismatched_pairs`): a (query, other video) pair whose targets say the
  query holds nowhere, trained with the published losses;
* video contrast groups (`contrast_groups`): the query against its own video and `others`
  other videos in one forward; `vsearch.grounding.losses.video_contrast_loss` asks the own
  video's best class score to beat every other video's.

Both assume a query is specific to its video (true of generated data with known answers; not of
every dataset).
A query's *confusable* videos show everything it names (the same red star moving the other
way, or the same two events in the other order); drawing negatives from them teaches what random
videos, which the coarse CLIP stage already tells apart, cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from vsearch.errors import InputError
from vsearch.grounding import TrainingPair, pad_with_inf
from vsearch.research.datasets import FeatureDataset, FeatureItem, GroundingSample


class MismatchSampler:
    """Picks other training videos for a query: any other video, or, with probability
    `hard_share` (given per draw, so one sampler serves every use), one of the query's
    confusable videos when it lists any."""

    def __init__(
        self,
        train_set: FeatureDataset,
        confusable: Mapping[int | str, Sequence[str]],
    ) -> None:
        self.train_set = train_set
        first_of: dict[str, int] = {}
        for index, sample in enumerate(train_set.samples):
            first_of.setdefault(sample.vid, index)
        self.video_count = len(first_of)
        self.confusable = {
            qid: [first_of[vid] for vid in vids if vid in first_of]
            for qid, vids in confusable.items()
        }

    def other_video(
        self, sample: GroundingSample, rng: np.random.Generator, hard_share: float
    ) -> np.ndarray:
        """Features of a training video other than `sample`'s."""
        return self.train_set[self._draw(sample, rng, hard_share, taken=set())].video

    def other_videos(
        self, sample: GroundingSample, count: int, rng: np.random.Generator, hard_share: float
    ) -> list[np.ndarray]:
        """Features of `count` distinct training videos other than `sample`'s."""
        if count > self.video_count - 1:
            raise InputError(
                f"{count} other videos per query need at least {count + 1} training videos"
            )
        taken: set[str] = set()
        picked: list[int] = []
        while len(picked) < count:
            index = self._draw(sample, rng, hard_share, taken)
            taken.add(self.train_set.samples[index].vid)
            picked.append(index)
        return [self.train_set[index].video for index in picked]

    def _draw(
        self, sample: GroundingSample, rng: np.random.Generator, hard_share: float,
        taken: set[str],
    ) -> int:  # fmt: skip
        """Index of a training sample whose video is neither `sample`'s nor in `taken`; a
        confusable one with probability `hard_share` while any is left."""
        hard = [i for i in self.confusable.get(sample.qid, [])
                if self.train_set.samples[i].vid not in taken]  # fmt: skip
        if hard and rng.random() < hard_share:
            return hard[int(rng.integers(len(hard)))]
        while True:
            other = int(rng.integers(len(self.train_set)))
            vid = self.train_set.samples[other].vid
            if vid != sample.vid and vid not in taken:
                return other


def mismatched_pairs(
    sampler: MismatchSampler,
    items: Sequence[FeatureItem],
    per_pair: float,
    fps: float,
    rng: np.random.Generator,
    hard_share: float = 0.0,
) -> list[TrainingPair]:
    """`round(per_pair * len(items))` queries of the batch's items, each with another training
    video's features and targets saying the query holds nowhere there."""
    count = int(round(per_pair * len(items)))
    pairs = []
    for index in rng.choice(len(items), size=count):
        query_item = items[int(index)]
        video = sampler.other_video(query_item.sample, rng, hard_share)
        pairs.append(
            TrainingPair(
                video=torch.from_numpy(video),
                query=torch.from_numpy(query_item.query),
                saliency=torch.zeros(len(video)),
                pos_clip=0,
                boundary=torch.zeros((0, 2)),
                fps=fps,
                matched=False,
            )
        )
    return pairs


@dataclass(frozen=True)
class ContrastGroups:
    """Padded model inputs for groups of `group_size` rows: each query with its own video
    first, then its other videos. Padding is exact (each row as if alone), as at inference."""

    video: Tensor
    video_mask: Tensor
    query: Tensor
    query_mask: Tensor
    group_size: int

    def to(self, device: torch.device) -> ContrastGroups:
        return ContrastGroups(
            self.video.to(device), self.video_mask.to(device), self.query.to(device),
            self.query_mask.to(device), self.group_size,
        )  # fmt: skip


def contrast_groups(
    sampler: MismatchSampler,
    items: Sequence[FeatureItem],
    others: int,
    rng: np.random.Generator,
    hard_share: float = 0.0,
) -> ContrastGroups:
    """Each item's query with its own video and `others` other videos (see `MismatchSampler`)."""
    if not items:
        raise InputError("video contrast needs at least one query")
    videos: list[Tensor] = []
    queries: list[Tensor] = []
    for item in items:
        query = torch.from_numpy(item.query)
        for video in [item.video, *sampler.other_videos(item.sample, others, rng, hard_share)]:
            videos.append(torch.from_numpy(video))
            queries.append(query)
    video, video_mask = pad_with_inf(videos)
    query, query_mask = pad_with_inf(queries)
    return ContrastGroups(video, video_mask, query, query_mask, group_size=others + 1)

"""Reaching a Ray cluster for indexing: connecting, sizing the work to it, checking its storage.

Ray is an optional dependency (`pip install 'vsearch[ray]'`): it is imported only when a
distributed run starts, so everything else in vsearch works without it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from vsearch.errors import InputError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'vsearch[ray]'"
DEFAULT_SHIP_MAX_BYTES = 1 << 30  # Arrow binary cells and single objects stay well under 2 GiB
STORAGE_CHECK_PATHS = 3
STORAGE_CHECK_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RayOptions:
    """Where and how a distributed index run goes.

    address: "local" starts a Ray instance on this machine, "auto" joins the running cluster
    (RAY_ADDRESS or the one `ray start` made here), anything else is a cluster address.
    actors: CLIP encoder actors (default: one per GPU, else half the cluster's CPUs).
    ship_files: send each file's bytes through Ray's object store instead of having workers
    read the same path from shared storage; files above ship_max_bytes then fail.
    local_cpus / object_store_bytes: size of a "local" instance (default: Ray's own).
    """

    address: str = "local"
    actors: int | None = None
    ship_files: bool = False
    ship_max_bytes: int = DEFAULT_SHIP_MAX_BYTES
    local_cpus: int | None = None
    object_store_bytes: int | None = None

    def __post_init__(self) -> None:
        if not self.address:
            raise InputError("--ray needs auto, local or a cluster address")
        if self.actors is not None and self.actors < 1:
            raise InputError(f"encoder actors must be at least 1, got {self.actors}")
        if self.ship_max_bytes < 1:
            raise InputError(f"ship limit must be positive, got {self.ship_max_bytes}")
        import_ray()  # fail before the library is touched, not after planning


@dataclass(frozen=True)
class WorkShape:
    """Resources of each Ray Data stage: the encoder actor pool and the decode tasks."""

    actors: int
    actor_cpus: float
    actor_gpus: float
    decode_cpus: float


def plan_work(cpus: float, gpus: float, actors: int | None = None) -> WorkShape:
    """Size the stages to a cluster with `cpus` CPUs and `gpus` GPUs in total.

    One actor per GPU when there are GPUs, else half the CPUs encode and half decode. Each
    actor and each decode task takes one CPU, or a fair share when the cluster has fewer CPUs
    than actors plus one decoder, so the pool can never wait for resources it will not get.
    """
    if cpus <= 0:
        raise InputError("the Ray cluster has no CPUs for decoding")
    if gpus >= 1:
        count = actors or int(gpus)
        if count > gpus:
            raise InputError(f"{count} encoder actors asked, the Ray cluster has {gpus:g} GPUs")
    else:
        count = actors or max(1, int(cpus) // 2)
    share = min(1.0, cpus / (count + 1))
    return WorkShape(
        actors=count, actor_cpus=share, actor_gpus=1.0 if gpus >= 1 else 0.0, decode_cpus=share
    )


def import_ray() -> ModuleType:
    """The `ray` module with Ray Data, or InputError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (the part indexing needs)
    except ImportError as error:
        raise InputError(f"--ray needs Ray Data: {INSTALL_HINT}") from error
    return ray


@contextmanager
def connected(options: RayOptions) -> Iterator[ModuleType]:
    """Ray, initialised for this run; disconnected (or the local instance stopped) afterwards.

    An instance the caller already initialised is used as it is and left running.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    quiet = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        if options.address == "local":
            ray.init(  # "local": a new instance even where `ray start` left one running
                address="local", num_cpus=options.local_cpus,
                object_store_memory=options.object_store_bytes, **quiet,
            )  # fmt: skip
        else:
            ray.init(address=options.address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = "a local Ray instance" if options.address == "local" else options.address
        raise InputError(f"cannot reach Ray at {where}: {first_line(error)}") from error
    try:
        yield ray
    finally:
        ray.shutdown()


def cluster_resources(ray: ModuleType) -> tuple[float, float]:
    """(CPUs, GPUs) of the whole cluster."""
    total = ray.cluster_resources()
    return float(total.get("CPU", 0.0)), float(total.get("GPU", 0.0))


def _unreadable(paths: Sequence[str]) -> str | None:
    """The first of `paths` this process cannot open and read, else None."""
    for name in paths:
        try:
            with open(name, "rb") as stream:
                stream.read(1)
        except OSError:
            return name
    return None


def check_shared_storage(ray: ModuleType, paths: Sequence[Path]) -> None:
    """Run a tiny task on every alive node that reads the first few `paths`.

    Only paths this process can read are checked, so a file nobody can read still fails just
    its own video. Raises InputError naming the node and the first path it cannot read.
    """
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    sample = [str(p) for p in paths if os.access(p, os.R_OK)][:STORAGE_CHECK_PATHS]
    if not sample:
        return
    probe = ray.remote(num_cpus=0, max_retries=1)(_unreadable)
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    pending = [
        probe.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
        ).remote(sample)
        for node in nodes
    ]
    answers = ray.get(pending, timeout=STORAGE_CHECK_TIMEOUT_S)
    for node, missing in zip(nodes, answers, strict=True):
        if missing is not None:
            raise InputError(
                f"Ray node {node.get('NodeManagerAddress', node['NodeID'])} cannot read "
                f"{missing}: workers read videos at the driver's paths (shared storage "
                "mounted alike on every node), or use --ray-ship-files"
            )


def first_line(error: BaseException) -> str:
    """The first line of an error's message (Ray's messages run to many lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

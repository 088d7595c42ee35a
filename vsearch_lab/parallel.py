"""Ordered parallel map over videos, for generating and decoding large training worlds.

Each video of a world is rendered (or decoded) independently from its plan, so the work spreads
over processes without changing a byte of the output: results come back in input order.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_in_order(
    function: Callable[[Item], Result], items: Iterable[Item], *, workers: int = 1
) -> Iterator[Result]:
    """`map(function, items)`, on `workers` processes when more than one.

    Processes are spawned, not forked: the caller may hold torch threads or a CUDA context,
    which a forked child must not inherit. `function` must therefore be importable (a
    module-level function) and its items picklable.
    """
    if workers <= 1:
        yield from map(function, items)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        yield from pool.map(function, items, chunksize=1)

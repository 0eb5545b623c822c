"""Pausing Python's cyclic garbage collector around bursts of allocation.

Creating many objects at once (100,000 zone boxes for an index, a batch of detections and
their records) triggers collection after collection, each scanning the whole heap: pausing
the collector for the burst makes it several times faster. Use it only around code that
makes no reference cycles.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block; left as it was however it ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def freeze_long_lived() -> None:
    """Move every object alive now out of the collector's sight (``gc.freeze``).

    For a long-running loop (the monitor) after its set-up: the zone index, the predictors
    and the links are never garbage, but each full collection would scan them all (tens of
    milliseconds with 10,000 zones, a pause the drones' decisions would wait for). Objects
    made later are collected as usual.
    """
    gc.collect()
    gc.freeze()


YOUNG_THRESHOLD = 100_000  # gen-0 collections when this many more containers live than died


@contextmanager
def batch_ingest_gc(young_threshold: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """The collector set for a loop that ingests batch after batch (``detect listen``).

    Everything alive at the start (zones, index, judge) is frozen out of the collector
    (:func:`freeze_long_lived`), and the young generation is collected only once
    ``young_threshold`` more containers are alive than at the last collection (Python's
    default: 700). A batch makes tens of thousands of short-lived containers that reference
    counting frees when the next batch replaces them; with the default, each batch ends with
    a collection scanning all of them (about 0.75 us per detection) for nothing. The
    thresholds are restored on exit; cycles are still collected, only less often.
    """
    before = gc.get_threshold()
    freeze_long_lived()
    gc.set_threshold(young_threshold, before[1], before[2])
    try:
        yield
    finally:
        gc.set_threshold(*before)

"""The collector settings for long-running loops: set inside, restored however they end."""

from __future__ import annotations

import gc

import pytest

from uav.gcpause import batch_ingest_gc, paused_gc


def test_batch_ingest_raises_the_young_threshold_and_restores_it() -> None:
    before = gc.get_threshold()
    with batch_ingest_gc(young_threshold=123_456):
        assert gc.get_threshold() == (123_456, before[1], before[2])
        assert gc.get_freeze_count() > 0  # what lived at the start is out of sight
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError), batch_ingest_gc(young_threshold=99_999):
        raise RuntimeError("a listen loop that fails")
    assert gc.get_threshold() == before


def test_paused_gc_leaves_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()

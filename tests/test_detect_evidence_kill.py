"""kill -9 during ingest: the log stays intact and keeps everything reported committed."""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.detect_evidence_support import batch
from uav.detect.verify import verify_evidence
from uav.store import Store

ROOT = Path(__file__).resolve().parents[1]
COMMITS_BEFORE_KILL = 4
LINE_TIMEOUT_S = 30.0  # generous: the machine may be busy; the assertions stay exact


@pytest.fixture
def producer(db: Path) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.detect_evidence_producer", str(db), "120"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def read_lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.strip())


@pytest.mark.slow
def test_kill_9_keeps_every_committed_batch_and_the_chain(
    producer: subprocess.Popen[str], db: Path
) -> None:
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(producer.stdout, lines), daemon=True).start()
    committed = 0
    for _ in range(COMMITS_BEFORE_KILL):
        try:
            line = lines.get(timeout=LINE_TIMEOUT_S)
        except queue.Empty:
            err = producer.stderr.read() if producer.poll() is not None else ""  # type: ignore[union-attr]
            pytest.fail(f"the producer reported no commit within {LINE_TIMEOUT_S} s {err}")
        assert line.startswith("committed ")
        committed = int(line.split()[1])
    os.kill(producer.pid, signal.SIGKILL)
    assert producer.wait(timeout=30) == -signal.SIGKILL
    while not lines.empty():  # commits reported before the kill landed
        committed = int(lines.get_nowait().split()[1])
    assert committed > 0

    store = Store.open(db)
    try:
        report = verify_evidence(store)
        assert report.ok, report.problem
        logged = store.evidence_count("detection")
    finally:
        store.close()
    assert logged >= committed  # nothing reported committed is lost
    # what is there is exactly detections 0..logged-1: a prefix, no holes
    _, _, keys = batch(logged)
    con = sqlite3.connect(db)
    got = {k for (k,) in con.execute("SELECT key FROM detections")}
    con.close()
    assert got == set(keys)

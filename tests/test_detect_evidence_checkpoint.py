"""The evidence log's WAL checkpoints: off the writer's thread, and back to SQLite's own when
that thread fails; the copied pages let go of in the OS page cache; new SQLite files use
16 KiB pages. Real SQLite files, raw sqlite3 checks; page residency read with mincore(2)."""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.detect_evidence_support import batch
from uav.detect import checkpoint
from uav.detect.checkpoint import CACHE_KEEP_BYTES, WalCheckpointer, cache_drop_end
from uav.detect.evidence import EvidenceLog
from uav.detect.verify import verify_evidence
from uav.store import Store
from uav.store.db import SQLITE_PAGE_SIZE


@pytest.fixture
def store(db: Path) -> Iterator[Store]:
    s = Store.open(db)
    yield s
    s.close()


def wait_until(cond: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout_s} s")
        threading.Event().wait(0.01)


def unchecked_frames(db: Path) -> int:
    """WAL frames not yet copied into the database (a checkpoint of nothing new: 0)."""
    con = sqlite3.connect(db)
    try:
        busy, log_frames, done = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        con.close()
    assert busy == 0
    return int(log_frames) - int(done)


def autocheckpoint_pages(log: EvidenceLog) -> int:
    """The writer connection's ``wal_autocheckpoint`` (0: its commits never checkpoint)."""
    value = int(log._conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())
    log._conn.rollback()
    return value


def test_a_new_sqlite_file_has_16_kib_pages(store: Store, db: Path) -> None:
    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    journal = con.execute("PRAGMA journal_mode").fetchone()[0]
    con.close()
    assert (page_size, journal) == (SQLITE_PAGE_SIZE, "wal") == (16_384, "wal")


def test_an_existing_file_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=4096")
    con.execute("CREATE TABLE t (x)")
    con.close()
    Store.open(path).close()
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA page_size").fetchone()[0] == 4096
    con.close()


def test_the_writer_leaves_checkpoints_to_the_thread(store: Store, db: Path) -> None:
    dets, js, keys = batch(40)
    with EvidenceLog(store, background=False) as log:
        assert autocheckpoint_pages(log) == 0  # the writer's commits never checkpoint
        ck = log._checkpointer
        assert ck is not None and ck.alive()
        ck.every_bytes = 1  # every commit is due
        log.append_detections(dets, js, keys)
        log.flush()
        wait_until(lambda: ck.checkpoints >= 1, 10.0)
        assert log.checkpoint_cpu_s >= 0.0
    assert unchecked_frames(db) == 0  # everything committed was copied
    assert verify_evidence(store).ok


def test_checkpointer_copies_the_wal_when_due(store: Store, db: Path) -> None:
    dets, js, keys = batch(20)
    with EvidenceLog(store, background=False, checkpoint_thread=False) as log:
        log._conn.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        log._conn.commit()
        log.append_detections(dets, js, keys)
        log.flush()
        ck = WalCheckpointer(store.engine, every_bytes=1_000)
        try:
            ck.wrote(999)
            assert ck.checkpoints == 0  # not due yet
            ck.wrote(1)
            wait_until(lambda: ck.checkpoints == 1, 10.0)
        finally:
            ck.close()
        assert ck.last is not None
        busy, frames, copied = ck.last
        assert busy == 0 and frames == copied > 0  # it copied everything committed
        assert unchecked_frames(db) == 0


def test_a_failed_checkpointer_hands_back_to_sqlite(store: Store) -> None:
    dets, js, keys = batch(10)
    with EvidenceLog(store, background=False) as log:
        ck = log._checkpointer
        assert ck is not None
        ck._conn.close()  # its next checkpoint fails
        ck.wrote(ck.every_bytes)
        wait_until(lambda: not ck.alive(), 10.0)
        assert ck.error is not None
        log.append_detections(dets, js, keys)
        log.flush()  # notices, and goes back to SQLite's own checkpoints
        assert log._checkpointer is None
        assert autocheckpoint_pages(log) == log._autocheckpoint_pages >= 1000
    assert store.evidence_count("detection") == 10 and verify_evidence(store).ok


def resident_pages(path: Path) -> list[bool]:
    """Which of the file's pages (the OS's pages) are in the page cache: mincore(2) over a
    private mapping that touches none of them."""
    size = path.stat().st_size
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    page = mmap.PAGESIZE
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY)
        try:
            buf = (ctypes.c_char * size).from_buffer(mm)
            vec = (ctypes.c_ubyte * ((size + page - 1) // page))()
            rc = libc.mincore(ctypes.c_void_p(ctypes.addressof(buf)), ctypes.c_size_t(size), vec)
            del buf
        finally:
            mm.close()
    assert rc == 0, os.strerror(ctypes.get_errno())
    return [bool(v & 1) for v in vec]


def checkpointed(log: EvidenceLog, n: int) -> WalCheckpointer:
    """The log's checkpointer, once ``n`` detections are committed and it copied them into
    the database file."""
    ck = log._checkpointer
    assert ck is not None
    dets, js, keys = batch(n)
    log.append_detections(dets, js, keys)
    log.flush()
    ck.checkpoint()
    return ck


def test_the_page_cache_keeps_the_file_tail_only() -> None:
    keep = CACHE_KEEP_BYTES
    assert cache_drop_end(0) == cache_drop_end(keep) == 0
    assert cache_drop_end(keep + 16_384) == 16_384


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore(2) is read on Linux")
def test_a_checkpoint_lets_go_of_the_copied_pages_but_the_tail(
    store: Store, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep = 8 * SQLITE_PAGE_SIZE
    monkeypatch.setattr(checkpoint, "CACHE_KEEP_BYTES", keep)
    with EvidenceLog(store, background=False) as log:
        ck = checkpointed(log, 2_000)
        db.read_bytes()  # every page of it in the page cache again
        size = db.stat().st_size
        assert size > 4 * keep
        assert all(resident_pages(db))  # the measurement sees cached pages
        ck.checkpoint()
        resident = resident_pages(db)
    head = (size - keep) // mmap.PAGESIZE
    assert not any(resident[:head])  # let go of: on disk, the checkpoint synced them
    assert all(resident[head:])  # the tail stays for queries of recent records
    assert verify_evidence(store).ok


def test_checkpoints_go_on_where_the_page_cache_cannot_be_advised(
    store: Store, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def refuse(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append(length)
        raise OSError(95, "Operation not supported")

    monkeypatch.setattr(checkpoint, "CACHE_KEEP_BYTES", 0)
    monkeypatch.setattr(os, "posix_fadvise", refuse, raising=False)
    with EvidenceLog(store, background=False) as log:
        ck = checkpointed(log, 200)
        ck.checkpoint()
        assert ck.checkpoints == 2 and ck.alive()
    assert len(calls) == 1  # tried once, then checkpoints went on without it
    assert unchecked_frames(db) == 0 and verify_evidence(store).ok

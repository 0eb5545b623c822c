"""Copying SQLite's write-ahead log into the database from a connection and thread of its own.

In WAL mode a commit appends pages to the ``-wal`` file; a *checkpoint* copies them into the
database file and fsyncs both (with ``synchronous=NORMAL`` that is the only fsync). SQLite
runs one inside the commit that crosses ``wal_autocheckpoint`` pages, so every few batches
one commit waits for tens of megabytes to be copied and synced. :class:`WalCheckpointer`
does it instead on its own connection (``PRAGMA wal_checkpoint(PASSIVE)``: it copies what is
committed and never blocks a writer or a reader), in a thread woken when about
``every_bytes`` were written since the last one. SQLite releases the GIL while it copies and
syncs, so the writer goes on preparing its next batch meanwhile: mostly the disk's time
taken off the writer, not a second core's work (``cpu_s`` counts what the thread spent).

Durability is SQLite's: committed transactions are in the WAL whether or not a checkpoint
copied them yet, and a crash at any point leaves both files consistent. If the thread
fails, :meth:`alive` turns False and the log goes back to SQLite's own checkpoints.

After each checkpoint the database file's pages in the OS page cache are let go
(``posix_fadvise(DONTNEED)``; the checkpoint has synced them), all but the file's last
``CACHE_KEEP_BYTES``, which queries of recent records read. The log is written once and
read rarely: a day of ingest (gigabytes) should not push other programs' pages out of
memory, and the next checkpoint's writes then land in pages just freed. Measured on the
development VM: each checkpoint cost 4.5 times the CPU once the file passed ~400 MB, all
of it kernel time copying into newly allocated page-cache pages; with the pages let go it
stays flat (1,000,000 detections of ``bench/detect.py``: 1.8 s of checkpoint CPU -> 0.7 s).
The writer's own page cache (SQLite's) is not touched. Where ``posix_fadvise`` is missing
or fails, checkpoints go on without it.
"""

from __future__ import annotations

import os
import threading
import time

from sqlalchemy import Engine

CHECKPOINT_SQL = "PRAGMA wal_checkpoint(PASSIVE)"
JOIN_TIMEOUT_S = 60.0  # closing waits this long at most for a checkpoint in progress
CACHE_KEEP_BYTES = 64 * 2**20  # the database file's tail left in the OS page cache


class WalCheckpointer:
    """Checkpoints the WAL of ``engine``'s SQLite database after every ``every_bytes``
    reported by :meth:`wrote`; see the module docstring."""

    def __init__(self, engine: Engine, every_bytes: int) -> None:
        self.every_bytes = every_bytes
        self.checkpoints = 0
        self.cpu_s = 0.0  # CPU time the thread spent checkpointing
        # SQLite's answer to the last one: (busy, frames in the WAL, frames copied)
        self.last: tuple[int, int, int] | None = None
        self.error: BaseException | None = None
        self._pending_bytes = 0
        self._due = threading.Event()
        self._stop = threading.Event()
        self._conn = engine.connect()
        self._cache_fd = _open_database_file(engine)
        self._thread = threading.Thread(target=self._run, name="evidence-checkpoint", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self.error is None and self._thread.is_alive()

    def wrote(self, n_bytes: int) -> None:
        """``n_bytes`` (about) were committed; wakes the thread every ``every_bytes``."""
        self._pending_bytes += n_bytes
        if self._pending_bytes >= self.every_bytes:
            self._pending_bytes = 0
            self._due.set()

    def _run(self) -> None:
        try:
            while True:
                self._due.wait()
                self._due.clear()
                if self._stop.is_set():
                    return
                self.checkpoint()
        except BaseException as exc:  # the log falls back to SQLite's own checkpoints
            self.error = exc

    def checkpoint(self) -> None:
        cpu0 = time.thread_time()
        row = self._conn.exec_driver_sql(CHECKPOINT_SQL).one()
        self._conn.commit()
        self.last = (int(row[0]), int(row[1]), int(row[2]))
        self._let_go_of_copied_pages()
        self.cpu_s += time.thread_time() - cpu0
        self.checkpoints += 1

    def close(self) -> None:
        """Stop the thread (after the checkpoint in progress) and release the connection."""
        self._stop.set()
        self._due.set()
        self._thread.join(timeout=JOIN_TIMEOUT_S)
        if not self._thread.is_alive():
            self._conn.close()
            self._close_cache_fd()

    def _let_go_of_copied_pages(self) -> None:
        fd = self._cache_fd
        if fd is None:
            return
        try:
            end = cache_drop_end(os.fstat(fd).st_size)
            if end:
                os.posix_fadvise(fd, 0, end, os.POSIX_FADV_DONTNEED)
        except OSError:  # only an economy: checkpoints go on without it
            self._close_cache_fd()

    def _close_cache_fd(self) -> None:
        fd, self._cache_fd = self._cache_fd, None
        if fd is not None:
            os.close(fd)


def cache_drop_end(size_bytes: int) -> int:
    """How much of a database file of ``size_bytes``, from its start, a checkpoint lets go
    of in the page cache: all but its last ``CACHE_KEEP_BYTES``."""
    return max(0, size_bytes - CACHE_KEEP_BYTES)


def _open_database_file(engine: Engine) -> int | None:
    """A read-only descriptor of ``engine``'s SQLite database file, to advise the OS about
    its cached pages; None where there is no file or no ``posix_fadvise``."""
    path = engine.url.database
    if not path or path == ":memory:" or not hasattr(os, "posix_fadvise"):
        return None
    try:
        return os.open(path, os.O_RDONLY)
    except OSError:
        return None


__all__ = ["WalCheckpointer"]

"""A process that logs detections until killed (for the kill -9 test).

Run: ``python -m tests.detect_evidence_producer DB MAX_SECONDS``. Appends detections 0, 1,
2, ... in order through an :class:`EvidenceLog` (background flush every 0.1 s) and prints
``committed N`` after every commit: detections 0..N-1 are then durable. Exits by itself after
MAX_SECONDS (a safety bound; the test kills it long before).
"""

from __future__ import annotations

import sys
import time

from tests.detect_evidence_support import batch
from uav.detect.evidence import Commit, EvidenceLog
from uav.store import Store

CHUNK = 50


def main(db: str, max_s: float) -> None:
    store = Store.open(db)
    committed = 0

    def report(c: Commit) -> None:
        nonlocal committed
        committed += c.detections
        sys.stdout.write(f"committed {committed}\n")
        sys.stdout.flush()

    log = EvidenceLog(store, batch_s=0.1, on_commit=report)
    deadline = time.monotonic() + max_s
    i = 0
    while time.monotonic() < deadline:
        dets, js, keys = batch(CHUNK, start=i)
        log.append_detections(dets, js, keys)
        i += CHUNK
    log.close()


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))

"""The bad-input corpus: every file in tests/bad/ must be refused with exit code 2, a message
naming the file and containing the text in its ``.expect`` sidecar, and no database change.

Zone files go through ``uav zones load``; ``plan-*`` files through ``uav plan check``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import BAD, DATA, Invoke, db_snapshot

CASES = sorted(p for p in BAD.iterdir() if p.is_file() and p.suffix != ".expect")


def expectation(path: Path) -> str:
    sidecar = path.with_name(path.name + ".expect")
    assert sidecar.exists(), f"{path.name} has no {sidecar.name}"
    return sidecar.read_text(encoding="utf-8").strip().splitlines()[0]


def test_corpus_is_not_empty() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=[p.name for p in CASES])
def test_bad_input_is_refused_and_changes_nothing(uav: Invoke, db: Path, path: Path) -> None:
    r = uav("zones", "load", DATA / "geojson" / "guangzhou.geojson")
    assert r.exit_code == 0, r.stderr
    before = db_snapshot(db)
    if path.name.startswith("plan-"):
        r = uav("plan", "check", path, "--at", "2026-11-24T10:00+08:00")
    else:
        r = uav("zones", "load", path)
    assert r.exit_code == 2, f"exit {r.exit_code}: {r.stdout}{r.stderr}"
    message = " ".join(r.stderr.split())  # rich may wrap long lines
    assert path.name in message.replace(" ", "") or path.name in message
    assert expectation(path) in message, message
    assert db_snapshot(db) == before

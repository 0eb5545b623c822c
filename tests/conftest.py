"""Shared fixtures: an isolated database per test and a CliRunner driving the real app."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from typer.testing import CliRunner, Result

from cli import app

pytest_plugins = ["tests.sim_plugin"]

# CI runs are reproducible: hypothesis draws the same examples every run (CI=true).
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") == "true":
    hypothesis_settings.load_profile("ci")

DATA = Path(__file__).parent / "data"
BAD = Path(__file__).parent / "bad"

Invoke = Callable[..., Result]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real database or data directory."""
    monkeypatch.delenv("UAV_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "uav.db"


@pytest.fixture
def uav(db: Path) -> Invoke:
    """Run ``uav --db <tmp db> ARGS...`` in-process; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: object, input: str | None = None) -> Result:
        return runner.invoke(app, ["--db", str(db), *map(str, args)], input=input)

    return invoke


def db_snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to prove a failed command changed nothing."""
    if not path.exists():
        return {}
    con = sqlite3.connect(path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        con.close()

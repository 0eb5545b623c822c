"""uav on PostgreSQL (`--db postgresql+psycopg://...`): zones, checks, grants, permits and the
evidence log work as on SQLite, tampering is caught the same way; a database URL is never
taken for a file name."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cli import app
from tests.conftest import DATA
from tests.fleet_support import said
from tests.pg_support import postgres_server, postgres_url  # noqa: F401  (fixtures)
from tests.test_detect_judge_cli import INTRUDER_INCIDENT, ZONES, crossing, jsonl
from uav.store import Store

ROOT = Path(__file__).resolve().parents[1]


def cli(url: str) -> Callable[..., Result]:
    """``uav --db URL ARGS...`` in-process."""
    runner = CliRunner()

    def invoke(*args: object) -> Result:
        return runner.invoke(app, ["--db", url, *map(str, args)])

    return invoke


def test_a_database_url_is_never_taken_for_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A URL whose driver is missing is an error naming it (password hidden), exit 2; it is
    not folded into a path and opened as an SQLite file."""
    monkeypatch.chdir(tmp_path)
    res = cli("postgresql+nosuchdriver://police:s3cret@127.0.0.1:1/uav")("zones", "list")
    assert res.exit_code == 2, res.output
    assert "cannot open the database postgresql+nosuchdriver://police:***@127.0.0.1:1/uav" in (
        said(res.stderr)
    )
    assert "s3cret" not in res.stderr
    assert list(tmp_path.iterdir()) == []  # no stray SQLite file or folder


@pytest.mark.slow
def test_zones_checks_grants_and_permits_on_postgresql(postgres_url: str) -> None:  # noqa: F811
    uav = cli(postgres_url)
    loaded = uav("zones", "load", DATA / "geojson" / "guangzhou.geojson", "--json")
    assert loaded.exit_code == 0, loaded.output
    listed = json.loads(uav("zones", "list", "--json").stdout)
    assert len(listed) == len(json.loads(loaded.stdout)) > 0
    plan = ROOT / "examples" / "plans" / "th01-west-patrol.plan"
    checked = uav("plan", "check", plan, "--json")
    assert checked.exit_code in (0, 1), checked.output  # a verdict, not an error
    assert "violations" in json.loads(checked.stdout)
    added = uav(
        "permits", "add", "--remote-id", "CAM-9", "--start", "2026-12-05T10:00Z",
        "--end", "2026-12-05T12:00Z", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    permits = json.loads(uav("permits", "list", "--json").stdout)
    assert [p["remote_id"] for p in permits] == ["CAM-9"]
    assert uav("permits", "revoke", permits[0]["id"]).exit_code == 0
    assert uav("detect", "verify").exit_code == 0  # the permit changes are chained too


@pytest.mark.slow
def test_the_evidence_log_on_postgresql(postgres_url: str, tmp_path: Path) -> None:  # noqa: F811
    import psycopg

    uav = cli(postgres_url)
    store = Store.open(postgres_url)
    store.add_zones([replace(z, id=None) for z in ZONES])
    store.close()
    feed = jsonl(tmp_path / "feed.jsonl", crossing("INTRUDER-7") + crossing("WALKER-2", 500.0))
    first = uav("detect", "listen", f"jsonl:{feed}", "--duration", "60", "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["detections"] == 80 and summary["high_incidents"] == [INTRUDER_INCIDENT]
    again = json.loads(uav("detect", "listen", f"jsonl:{feed}", "--json").stdout)
    assert (again["detections"], again["duplicates"]) == (0, 80)  # idempotent
    assert uav("detect", "verify").exit_code == 0
    in_zone = json.loads(uav("detect", "list", "--json", "--zone", "1").stdout)
    assert {s["track_id"] for s in in_zone} == {"rid:INTRUDER-7"}
    stats = json.loads(uav("detect", "stats", "--json").stdout)
    assert stats["detections"] == 80
    report = uav("detect", "report", "--format", "html", "-o", tmp_path / "r.html")
    assert report.exit_code == 0, report.output

    libpq = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("UPDATE evidence SET payload = replace(payload, '23.1', '23.2') WHERE seq = 4")
    tampered = uav("detect", "verify")
    assert tampered.exit_code == 1 and "seq 4" in said(tampered.stderr)

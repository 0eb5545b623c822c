"""Process tracking: the state file, pid ownership checks, SIGTERM then SIGKILL."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from uav.errors import NotFound
from uav.sitl import control
from uav.sitl.errors import SitlError
from uav.sitl.tracking import (
    ProcessRecord,
    ProcessTable,
    adopt,
    is_alive,
    owns_pid,
    proc_cmdline,
    proc_start_ticks,
    sitl_state_dir,
    stop_process,
)

# An idle child that says "ready" once its SIGTERM disposition is set (default, or ignore).
IDLE = """
import signal, sys, threading
if sys.argv[1] == "ignore-term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
threading.Event().wait(60)
"""

Spawn = Callable[..., tuple[subprocess.Popen[bytes], ProcessRecord]]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """Start idle children and describe them as uav.sitl would; always killed at the end."""
    children: list[subprocess.Popen[bytes]] = []

    def start(
        mode: str = "exit-on-term", name: str = "TH-T1", instance: int = 7
    ) -> tuple[subprocess.Popen[bytes], ProcessRecord]:
        argv = [sys.executable, "-c", IDLE, mode]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE)
        children.append(proc)
        adopt(proc)
        assert proc.stdout is not None
        readable, _, _ = select.select([proc.stdout], [], [], 10)
        assert readable and proc.stdout.readline() == b"ready\n"
        record = ProcessRecord(
            name=name,
            instance=instance,
            pid=proc.pid,
            kind="ardupilot",
            argv=tuple(argv),
            started_at="2026-11-24T03:00:00+00:00",
            workdir=str(tmp_path),
            log=str(tmp_path / "sitl.log"),
            sysid=1,
            speedup=10.0,
            proc_start_ticks=proc_start_ticks(proc.pid),
        )
        return proc, record

    yield start
    for proc in children:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()


def test_records_survive_in_the_state_file(tmp_path: Path, spawn: Spawn) -> None:
    _, record = spawn()
    table = ProcessTable(tmp_path / "state")
    table.add(record)
    assert ProcessTable(tmp_path / "state").records() == [record]
    body = json.loads((tmp_path / "state" / "instances.json").read_text())
    assert body["instances"][0]["pid"] == record.pid
    assert body["instances"][0]["argv"] == list(record.argv)
    with pytest.raises(SitlError, match="instance 7 is already tracked"):
        table.add(replace(record, name="TH-T2"))
    table.remove(record)
    assert table.records() == []


def test_a_corrupt_state_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "instances.json").write_text("{not json")
    with pytest.raises(SitlError, match="unreadable"):
        ProcessTable(tmp_path).records()


def test_owns_pid_checks_command_line_and_start_time(spawn: Spawn) -> None:
    _, record = spawn()
    assert owns_pid(record)
    assert proc_cmdline(record.pid) == record.argv
    assert not owns_pid(replace(record, argv=(*record.argv[:-1], "other")))
    assert not owns_pid(replace(record, proc_start_ticks=(record.proc_start_ticks or 0) + 1))
    # A script run through its interpreter: the recorded argv is the tail of the cmdline.
    assert owns_pid(replace(record, argv=record.argv[1:]))


def test_a_recycled_pid_is_never_signalled(spawn: Spawn) -> None:
    proc, record = spawn()
    stranger = replace(record, argv=("/usr/bin/arducopter", "-I", "0"))
    assert stop_process(stranger, term_timeout_s=0.2) == "not ours"
    assert proc.poll() is None and is_alive(proc.pid)


def test_stop_sends_sigterm(spawn: Spawn) -> None:
    proc, record = spawn()
    assert stop_process(record, term_timeout_s=5) == "stopped"
    assert proc.wait(timeout=5) == -signal.SIGTERM
    assert not is_alive(record.pid)
    assert stop_process(record) == "not running"


def test_sigkill_after_the_bound_when_sigterm_is_ignored(spawn: Spawn) -> None:
    proc, record = spawn("ignore-term")
    assert stop_process(record, term_timeout_s=0.3) == "killed"
    assert proc.wait(timeout=5) == -signal.SIGKILL


def test_down_stops_exactly_the_named_and_forgets_them(tmp_path: Path, spawn: Spawn) -> None:
    table = ProcessTable(tmp_path)
    one, first = spawn(name="TH-T1", instance=7)
    two, second = spawn(name="TH-T2", instance=8)
    table.add(first)
    table.add(second)
    with pytest.raises(NotFound, match="TH-T9"):
        control.down(table, ["TH-T9", "TH-T1"])
    assert one.poll() is None and two.poll() is None  # all or nothing
    outcomes = control.down(table, ["TH-T1"], term_timeout_s=5)
    assert [(r.name, o) for r, o in outcomes] == [("TH-T1", "stopped")]
    assert one.wait(timeout=5) == -signal.SIGTERM and two.poll() is None
    assert [r.name for r in table.records()] == ["TH-T2"]
    statuses = control.status(table)
    assert [(s.record.name, s.alive, s.ports) for s in statuses] == [
        ("TH-T2", True, (5840, 5842, 5843))
    ]
    assert [o for _, o in control.down(table, term_timeout_s=5)] == ["stopped"]
    assert table.records() == []


def test_state_dir_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UAV_STATE_DIR", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    # conftest points HOME at tmp_path / "home"
    assert sitl_state_dir() == tmp_path / "home" / ".local" / "state" / "uav" / "sitl"
    monkeypatch.setenv("UAV_STATE_DIR", str(tmp_path / "elsewhere"))
    assert sitl_state_dir() == tmp_path / "elsewhere" / "sitl"
    assert sitl_state_dir(tmp_path / "given") == tmp_path / "given" / "sitl"


def test_is_alive_for_a_pid_that_does_not_exist() -> None:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text()) if os.path.exists("/proc") else 0
    assert not is_alive(pid_max + 1 if pid_max else 2**22 + 1)

"""``python -m uav.sim`` (arducopter's command line) and ``uav sim run``, as processes."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sim.conftest import free_instance
from tests.sim.gcs import Gcs

PYTHON = sys.executable
REPO = Path(__file__).resolve().parents[2]


def spawn(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [PYTHON, *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_until(proc: subprocess.Popen[str], pattern: str, timeout_s: float = 10.0) -> list[str]:
    """stdout lines up to the first one matching ``pattern`` (bounded wait)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buffer = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffer += chunk
            lines = buffer.decode().splitlines()
            if any(re.search(pattern, line) for line in lines):
                return lines
    raise AssertionError(f"no line matching {pattern!r} within {timeout_s} s: {buffer!r}")


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=10)
    return proc.returncode, err


def test_module_entry_point_like_arducopter(
    processes: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    instance = free_instance()
    parm = tmp_path / "sysid.parm"
    parm.write_text("MAV_SYSID 3\nFENCE_RADIUS 400\n")
    started = time.monotonic()
    proc = spawn(
        "-m",
        "uav.sim",
        "--model",
        "+",
        "--speedup",
        "20",
        "--defaults",
        str(parm),
        "--home",
        "23.1258,113.3412,15,90",
        "-I",
        str(instance),
        "--rate",
        "400",
        "-w",
    )
    processes.append(proc)
    port = 5760 + 10 * instance
    lines = read_until(proc, r"Waiting for connection")
    assert f"SERIAL0 on TCP port {port}" in lines
    assert f"SERIAL1 on TCP port {port + 2}" in lines and f"SERIAL2 on TCP port {port + 3}" in lines
    gcs = Gcs(port, 20.0)
    assert time.monotonic() - started < 10
    try:
        hb = gcs.wait_for("HEARTBEAT", timeout_s=5)
        assert hb.get_srcSystem() == 3
        gcs.run_until(21)
        home = gcs.latest("HOME_POSITION")
        assert (home.latitude, home.longitude, home.altitude) == (231258000, 1133412000, 15100)
        assert gcs.latest("GLOBAL_POSITION_INT") is None  # streams off by default
    finally:
        gcs.close()
    code, err = stop(proc)
    assert code == 0
    assert "--rate 400" in err and "warning" in err


def test_module_entry_point_refuses_bad_options(processes: list[subprocess.Popen[str]]) -> None:
    proc = spawn("-m", "uav.sim", "--home", "91,0,0,0", "-I", str(free_instance()))
    processes.append(proc)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert "--home" in err and "out of range" in err


def test_uav_sim_run_serves_several_vehicles(processes: list[subprocess.Popen[str]]) -> None:
    first = free_instance()
    proc = spawn(
        "-c",
        "from uav.cli.sim import app; app(prog_name='uav sim')",
        "run",
        "--instances",
        "2",
        "--first-instance",
        str(first),
        "--speedup",
        "20",
        "--sysid",
        "5",
    )
    processes.append(proc)
    lines = read_until(proc, rf"instance {first + 1} sysid 6")
    assert any(
        f"instance {first} sysid 5: SERIAL0 tcp:127.0.0.1:{5760 + 10 * first}" in x for x in lines
    )
    clients = [Gcs(5760 + 10 * (first + k), 20.0) for k in range(2)]
    try:
        sysids = [c.wait_for("HEARTBEAT", timeout_s=5).get_srcSystem() for c in clients]
        assert sysids == [5, 6]
    finally:
        for client in clients:
            client.close()
    code, _ = stop(proc, signal.SIGINT)
    assert code == 0


def test_uav_sim_run_in_process_stops_after_and_refuses_bad_input() -> None:
    from typer.testing import CliRunner

    from uav.cli.sim import app

    runner = CliRunner()
    first = free_instance()
    result = runner.invoke(app, ["run", "-I", str(first), "--stop-after", "0.2"])
    assert result.exit_code == 0, result.output
    assert f"instance {first} sysid 1: SERIAL0 tcp:127.0.0.1:{5760 + 10 * first}" in result.stdout
    bad = runner.invoke(app, ["run", "-I", str(first), "--home", "1,2", "--stop-after", "0.2"])
    assert bad.exit_code == 2
    assert "--home" in bad.stderr


def test_serial0_listens_before_the_heavy_imports(processes: list[subprocess.Popen[str]]) -> None:
    probe = subprocess.run(
        [
            PYTHON,
            "-c",
            "import sys, uav.sim.__main__; print(any('pymavlink' in m for m in sys.modules))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout.strip() == "False"
    instance = free_instance()
    started = time.monotonic()
    proc = spawn("-m", "uav.sim", "-I", str(instance))
    processes.append(proc)
    deadline = started + 5.0
    while True:
        try:
            socket.create_connection(("127.0.0.1", 5760 + 10 * instance), timeout=0.1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "SERIAL0 did not listen within 5 s"
            time.sleep(0.002)
    assert time.monotonic() - started < 2.0
    code, _ = stop(proc)
    assert code == 0

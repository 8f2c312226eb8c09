"""The process launcher behind `make run` (scripts/run.py), without starting Rasa."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scripts_loader import load_script

run = load_script("run")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """A service definition whose PID file lives in a temporary folder, on a free port."""
    monkeypatch.setattr(run, "RUN_DIR", tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield run.Service("demo", (sys.executable, "-c", "pass"), port, "/", "demo server")


def test_stale_pid_file_is_removed_and_does_not_block_the_start(service) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    service.pid_file.write_text(finished.stdout)  # that process has exited: the file is stale

    assert run.check_can_start(service) is None
    assert not service.pid_file.exists()


def test_a_running_process_blocks_a_second_start(service) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        service.pid_file.write_text(f"{sleeper.pid}\n")
        problem = run.check_can_start(service)
        assert problem is not None and "already running" in problem and str(sleeper.pid) in problem
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_taken_port_is_reported_with_its_number(service) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", service.port))
        listener.listen()
        problem = run.check_can_start(service)
    assert problem == f"Port {service.port} is in use by another program; the demo server needs it."


def test_garbage_in_a_pid_file_is_treated_as_stale(service) -> None:
    service.pid_file.write_text("not a pid")
    assert run.check_can_start(service) is None


def test_stop_terminates_the_whole_process_group_and_removes_pid_files(service) -> None:
    # A parent that starts a child, as `rasa run` starts workers: both must go.
    parent_code = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']);"
        "print(child.pid, flush=True); time.sleep(60)"
    )
    process = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    child_pid = int(process.stdout.readline())
    service.pid_file.write_text(f"{process.pid}\n")

    run.stop({service: process})

    assert process.poll() is not None
    assert not service.pid_file.exists()
    for _ in range(50):
        if not run.process_alive(child_pid):
            break
        subprocess.run(["sleep", "0.1"])
    assert not run.process_alive(child_pid)


def test_process_output_is_rotated_by_size(tmp_path) -> None:
    log = run.rotating_log(tmp_path / "demo.log", max_bytes=1000)
    child = subprocess.Popen(
        [sys.executable, "-c", "for n in range(200): print(f'line {n:04d} ' + 'x' * 40)"],
        stdout=subprocess.PIPE,
    )
    run.pump(child.stdout, log)
    child.wait()
    files = sorted(path.name for path in tmp_path.iterdir())
    assert files == ["demo.log", *(f"demo.log.{n}" for n in range(1, run.LOG_BACKUPS + 1))]
    assert all(path.stat().st_size <= 1000 for path in tmp_path.iterdir())
    assert "line 0199" in (tmp_path / "demo.log").read_text()

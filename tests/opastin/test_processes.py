"""Free ports for servers the tests and the launcher start, and stopping them (opastin/processes.py)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest

from opastin import processes


def test_a_free_port_lies_below_the_range_of_outgoing_connections() -> None:
    port = processes.free_port()
    assert processes.LOWEST_CHOSEN_PORT <= port < processes._ephemeral_low()
    with socket.socket() as server:
        server.bind((processes.LOOPBACK, port))


def test_the_same_port_is_never_handed_out_twice() -> None:
    ports = [processes.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)


def test_a_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as taken:
        taken.bind((processes.LOOPBACK, 0))
        taken.listen()
        busy = taken.getsockname()[1]
        # A port known to be free next, not busy + 1: that one may be any connection's (CI runs
        # two lanes of servers at once).
        free = next(
            port
            for port in range(processes.LOWEST_CHOSEN_PORT, processes._ephemeral_low())
            if port not in processes._handed_out and processes._bindable(port)
        )
        candidates = iter([busy, free])
        monkeypatch.setattr(processes.random, "randint", lambda low, high: next(candidates))
        assert processes.free_port() == free


def test_no_free_port_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "_bindable", lambda port: False)
    with pytest.raises(OSError, match="no free port"):
        processes.free_port()


def test_a_block_of_ports_is_consecutive_free_and_never_handed_out_again() -> None:
    first = processes.free_port_block(12)
    block = range(first, first + 12)
    assert processes.LOWEST_CHOSEN_PORT <= first and block[-1] < processes._ephemeral_low()
    for port in block:
        with socket.socket() as server:
            server.bind((processes.LOOPBACK, port))
    later = {processes.free_port() for _ in range(300)} | {processes.free_port_block(12) for _ in range(20)}
    assert later.isdisjoint(block)


def test_a_block_with_one_port_in_use_is_passed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    starts = iter([20_000, 30_000])
    monkeypatch.setattr(processes.random, "randint", lambda low, high: next(starts))
    monkeypatch.setattr(processes, "_bindable", lambda port: port != 20_005)
    monkeypatch.setattr(processes, "_handed_out", set())  # not the ports earlier tests were given
    assert processes.free_port_block(12) == 30_000


IGNORES_SIGTERM = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
)


def test_stopping_ends_a_process_that_obeys_sigterm_and_kills_one_that_ignores_it() -> None:
    obeying = subprocess.Popen(["sleep", "60"])
    ignoring = subprocess.Popen([sys.executable, "-c", IGNORES_SIGTERM], stdout=subprocess.PIPE)
    try:
        ignoring.stdout.readline()  # its handler is in place
        started = time.monotonic()
        processes.stop_processes([obeying, ignoring], timeout_s=1)
        assert time.monotonic() - started < 10
        assert obeying.returncode == -signal.SIGTERM
        assert ignoring.returncode == -signal.SIGKILL  # after the timeout
    finally:
        for process in (obeying, ignoring):
            if process.poll() is None:
                process.kill()
                process.wait()
        ignoring.stdout.close()


def test_stopping_a_process_that_has_already_exited_is_harmless() -> None:
    done = subprocess.Popen(["true"])
    done.wait()
    processes.stop_processes([done], timeout_s=1)
    assert done.returncode == 0

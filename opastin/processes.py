"""Local processes on loopback: a free port, waiting until a process answers, and stopping it.

Shared by the launcher (``scripts/run.py``), the benchmarks and the tests, so
that every one of them starts a server the same way: poll, never sleep a
fixed time, and fail at once when the process dies.
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

LOOPBACK = "127.0.0.1"
POLL_S = 0.1
EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_CHOSEN_PORT = 10_000
ATTEMPTS = 50

_handed_out: set[int] = set()


class DidNotAnswer(RuntimeError):
    """A process exited, or did not answer in time."""


def _ephemeral_low() -> int:
    """The lowest port the kernel gives to outgoing connections (32768 unless configured)."""
    try:
        return int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A TCP port that is free on the loopback interface now, and stays free until a server binds it.

    A port from the kernel's ephemeral range (what binding port 0 gives) may be taken by
    any outgoing connection before the server that was meant to have it starts — a test
    suite opens thousands of them. The port is therefore chosen below that range, where
    the kernel never puts a connection of its own, and never handed out twice by this process.
    """
    high = _ephemeral_low() - 1
    for _ in range(ATTEMPTS):
        port = random.randint(LOWEST_CHOSEN_PORT, high)
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise OSError(f"no free port between {LOWEST_CHOSEN_PORT} and {high} after {ATTEMPTS} attempts")


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free ports (as :func:`free_port` chooses them)."""
    high = _ephemeral_low() - count
    for _ in range(ATTEMPTS):
        first = random.randint(LOWEST_CHOSEN_PORT, high)
        block = range(first, first + count)
        if not _handed_out.intersection(block) and all(map(_bindable, block)):
            _handed_out.update(block)
            return first
    raise OSError(f"no {count} consecutive free ports below {high + count} after {ATTEMPTS} attempts")


def answers(url: str, timeout_s: float = 2.0) -> bool:
    """Whether ``url`` answers an HTTP GET with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until(
    ready: Callable[[], bool],
    processes: Sequence[subprocess.Popen[bytes] | subprocess.Popen[str]] = (),
    timeout_s: float = 60.0,
    what: str = "the server",
) -> float:
    """Poll ``ready`` until it is true; return the seconds it took.

    Raises :class:`DidNotAnswer` as soon as one of ``processes`` exits, or
    when ``timeout_s`` passes.
    """
    started = time.monotonic()
    while True:
        for process in processes:
            if process.poll() is not None:
                raise DidNotAnswer(f"{what} exited with status {process.returncode} while starting")
        if ready():
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise DidNotAnswer(f"{what} did not answer within {timeout_s:.0f} s")
        time.sleep(POLL_S)


def wait_until_answering(
    url: str,
    processes: Sequence[subprocess.Popen[bytes] | subprocess.Popen[str]] = (),
    timeout_s: float = 60.0,
) -> float:
    """Wait until ``url`` answers with a 2xx status; return the seconds it took."""
    return wait_until(lambda: answers(url), processes, timeout_s, what=url)


def stop_processes(
    processes: Iterable[subprocess.Popen[bytes] | subprocess.Popen[str]], timeout_s: float = 30.0
) -> None:
    """Stop ``processes``: SIGTERM to all, wait up to ``timeout_s`` in all, then SIGKILL the ones left.

    Returns once every process has exited (and been reaped).
    """
    processes = list(processes)
    for process in processes:
        process.terminate()
    deadline = time.monotonic() + timeout_s
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

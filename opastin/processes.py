"""Local processes on loopback: a free port, and waiting until a process answers.

Shared by the launcher (``scripts/run.py``), the benchmarks and the tests, so
that every one of them starts a server the same way: poll, never sleep a
fixed time, and fail at once when the process dies.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence

LOOPBACK = "127.0.0.1"
POLL_S = 0.1


class DidNotAnswer(RuntimeError):
    """A process exited, or did not answer in time."""


def free_port() -> int:
    """A TCP port that is free on the loopback interface now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


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

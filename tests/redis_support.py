"""A real redis-server for the tests, on a free loopback port, in a temporary directory, saving nothing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from opastin.processes import LOOPBACK, free_port, stop_processes, wait_until

REDIS_START_SECONDS = 10.0


def _redis_binary() -> str:
    """redis-server's path; skips the test without it, except in CI, where it must be installed."""
    found = shutil.which("redis-server")
    if found is None:
        reason = "redis-server is not installed (`scripts/system_packages.sh test` installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return found


def _pings(port: int) -> bool:
    """Whether Redis answers PING on ``port`` (synchronously, so callable under a running event loop)."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A running redis-server and its URL."""

    url: str
    command: list[str]
    port: int
    process: subprocess.Popen[bytes] = field(init=False)

    def kill(self) -> None:
        """Stop the server at once (SIGKILL), as a crash would."""
        self.process.kill()
        self.process.wait(timeout=10)

    def start(self) -> None:
        """Start the server with its command and wait until it answers PING."""
        self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)
        wait_until(lambda: _pings(self.port), [self.process], REDIS_START_SECONDS, what="redis-server")

    def restart(self) -> None:
        """Kill the server and start it again on the same port, empty (as an orchestrator would)."""
        self.kill()
        self.start()


@contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """redis-server on a free loopback port, its files in ``directory``; stopped afterwards."""
    binary, port = _redis_binary(), free_port()
    command = [binary, "--port", str(port), "--bind", LOOPBACK, "--save", "", "--appendonly", "no"]
    command += ["--dir", str(directory), "--logfile", str(directory / "redis.log")]
    server = RedisServer(f"redis://{LOOPBACK}:{port}/0", command, port)
    server.start()
    try:
        yield server
    finally:
        stop_processes([server.process], timeout_s=10)

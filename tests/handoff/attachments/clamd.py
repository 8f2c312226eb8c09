"""A real clamd for the tests, with a signature database made by the test (no internet)."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from opastin.processes import stop_processes
from tests.handoff.attachments.support import EICAR, TEST_SIGNATURE_BYTES, TEST_SIGNATURE_NAME

EICAR_SIGNATURE_NAME = "Opastin.Test.EICAR"
CLAMD_START_SECONDS = 60.0


def _clamd_binary() -> str:
    candidates = (Path("/usr/sbin/clamd"), Path("/usr/local/sbin/clamd"))  # sbin: not on every PATH
    found = shutil.which("clamd") or next((str(path) for path in candidates if path.exists()), None)
    if found is None:
        pytest.fail(
            "clamd is not installed: `scripts/system_packages.sh test` installs it (Debian clamav-daemon)",
            pytrace=False,
        )
    return found


def write_clamd_setup(directory: Path) -> tuple[Path, Path]:
    """A clamd.conf and a database of two test signatures in ``directory``; the config and socket paths."""
    database = directory / "db"
    database.mkdir()
    # A hash signature (md5:size:name) of the EICAR string and a body signature
    # (name:any file type:any offset:hex bytes) of bytes no real file contains.
    (database / "opastin-test.hdb").write_text(
        f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:{EICAR_SIGNATURE_NAME}\n", encoding="ascii"
    )
    (database / "opastin-test.ndb").write_text(
        f"{TEST_SIGNATURE_NAME}:0:*:{TEST_SIGNATURE_BYTES.hex()}\n", encoding="ascii"
    )
    socket = directory / "clamd.sock"
    config = directory / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                "Foreground yes",
                f"LocalSocket {socket}",
                f"DatabaseDirectory {database}",
                f"TemporaryDirectory {directory}",
                f"LogFile {directory / 'clamd.log'}",
                "LogTime yes",
                "",
            ]
        ),
        encoding="ascii",
    )
    return config, socket


def _ping(socket_path: Path) -> bool:
    """clamd's PING over its unix socket, synchronously (callable under a running event loop)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(2.0)
            connection.connect(str(socket_path))
            connection.sendall(b"zPING\0")
            return connection.recv(16).rstrip(b"\0\n") == b"PONG"
    except OSError:
        return False


@contextmanager
def running_clamd(directory: Path) -> Iterator[Path]:
    """clamd with the test signatures, its socket under ``directory`` (or a short temporary one)."""
    binary = _clamd_binary()
    own_directory = len(str(directory)) > 80  # a unix socket path has room for about 100 bytes
    if own_directory:
        directory = Path(tempfile.mkdtemp(prefix="opastin-clamd-"))
    directory.mkdir(parents=True, exist_ok=True)
    config, socket_path = write_clamd_setup(directory)
    output = (directory / "clamd.out").open("wb")
    started = time.monotonic()
    process = subprocess.Popen(
        [binary, "--config-file", str(config)], stdout=output, stderr=subprocess.STDOUT
    )
    try:
        while not (socket_path.exists() and _ping(socket_path)):
            if process.poll() is not None or time.monotonic() - started > CLAMD_START_SECONDS:
                log = (directory / "clamd.out").read_text(errors="replace")
                pytest.fail(f"clamd did not start (exit {process.poll()}):\n{log[-2000:]}", pytrace=False)
            time.sleep(0.1)
        print(f"clamd answered in {time.monotonic() - started:.2f} s")  # shown with -s
        yield socket_path
    finally:
        stop_processes([process], timeout_s=10)
        output.close()
        if own_directory:
            shutil.rmtree(directory, ignore_errors=True)

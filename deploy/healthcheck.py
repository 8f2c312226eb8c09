"""The image's HEALTHCHECK for container engines (Kubernetes ignores it and uses its own probes).

The container runs one process, named by the entry point's first argument,
which tini (PID 1) keeps in its command line: ``tini -- entrypoint.sh handoff``.
This asks that process's health path on loopback; the one-shot commands
(``migrate``, ``purge``) count as healthy. Exit status 0 is healthy, 1 is not.
Standard library only.
"""

from __future__ import annotations

import sys
import urllib.request
from pathlib import Path

# The process, its port and the path it answers 200 on (the same as the Kubernetes probes).
HEALTH_URLS = {
    "handoff": "http://127.0.0.1:8000/livez",
    "rasa": "http://127.0.0.1:5005/",
    "actions": "http://127.0.0.1:5055/health",
}
ONE_SHOT = frozenset({"migrate", "purge"})
TIMEOUT_S = 4.0


def running_command(cmdline: Path = Path("/proc/1/cmdline")) -> str:
    """The entry point's command: the argument after ``entrypoint.sh`` (default ``handoff``)."""
    try:
        arguments = cmdline.read_bytes().decode("utf-8", "replace").split("\0")
    except OSError:
        return "handoff"
    for index, argument in enumerate(arguments):
        if argument.endswith("entrypoint.sh"):
            following = [a for a in arguments[index + 1 :] if a]
            return following[0] if following else "handoff"
    return "handoff"


def healthy(command: str) -> bool:
    """Whether the process of ``command`` answers its health path with 200."""
    if command in ONE_SHOT:
        return True
    url = HEALTH_URLS.get(command)
    if url is None:
        return False
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(0 if healthy(running_command()) else 1)

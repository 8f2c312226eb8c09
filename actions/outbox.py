"""Contact requests kept on disk while the handoff service cannot be reached, and delivered later.

When a resident has filled in the contact form and the service does not
answer, the request must not be lost. :class:`ContactOutbox` writes it to a
private file (``var/outbox/`` by default, ``OPASTIN_OUTBOX_DIR`` to change)
and :class:`Courier` retries delivery in a background thread of the action
server, also after a restart. Each request carries a ``request_id``, so a
retry after a timeout that did reach the service is not stored twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from actions.handoff_client import InvalidRequest, Refused, ServiceUnavailable

logger = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "var" / "outbox"
RETRY_INTERVAL_S = 30.0

Send = Callable[[Mapping[str, Any]], Any]


class ContactOutbox:
    """A directory of pending contact requests, one JSON file each, readable by the owner only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, body: Mapping[str, Any]) -> Path:
        """Keep ``body`` (given a ``request_id`` if it has none) until it is delivered; returns its file."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        request = {**body, "request_id": body.get("request_id") or uuid.uuid4().hex}
        path = self.directory / f"{time.time_ns()}-{request['request_id']}.json"
        partial = path.with_suffix(".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(request, file, ensure_ascii=False)
            file.flush()
            os.fsync(file.fileno())
        partial.rename(path)
        return path

    def pending(self) -> list[Path]:
        """The waiting requests, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob("*.json"))

    def deliver(self, send: Send) -> int:
        """Send the waiting requests in order; stop at the first that cannot be sent now.

        A request the service refuses for good (invalid, unknown team) is moved
        to ``rejected/`` for a person to look at. Returns how many were delivered.
        """
        delivered = 0
        for path in self.pending():
            request = json.loads(path.read_text(encoding="utf-8"))
            try:
                send(request)
            except ServiceUnavailable as error:
                logger.info("contact outbox: the service is still unavailable (%s)", error)
                break
            except (InvalidRequest, Refused) as refusal:
                logger.error("contact outbox: %s was refused (%s); kept in rejected/", path.name, refusal)
                rejected = self.directory / "rejected"
                rejected.mkdir(exist_ok=True, mode=0o700)
                path.rename(rejected / path.name)
                continue
            path.unlink()
            delivered += 1
        if delivered:
            logger.info("contact outbox: delivered %d request(s)", delivered)
        return delivered


class Courier:
    """A daemon thread that delivers an outbox's requests every ``interval_s`` seconds while any wait."""

    def __init__(self, outbox: ContactOutbox, send: Callable[[], Send], interval_s: float = RETRY_INTERVAL_S):
        self.outbox = outbox
        self.send = send
        self.interval_s = interval_s
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread unless it runs already; it ends by itself once the outbox is empty."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="contact-outbox", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval_s)
            try:
                self.outbox.deliver(self.send())
            except Exception:  # keep retrying; the files stay until delivered
                logger.exception("contact outbox: delivery failed")
            with self._lock:
                if not self.outbox.pending():
                    self._thread = None
                    return


def default_outbox() -> ContactOutbox:
    """The outbox in ``OPASTIN_OUTBOX_DIR`` or ``var/outbox/``."""
    configured = os.environ.get("OPASTIN_OUTBOX_DIR")
    return ContactOutbox(Path(configured) if configured else DEFAULT_DIR)

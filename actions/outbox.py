"""Contact requests kept on disk while the handoff service cannot be reached, and delivered later.

When a resident has filled in the contact form and the service does not
answer, the request must not be lost. :class:`ContactOutbox` writes it to a
private file (``var/outbox/`` by default, ``OPASTIN_OUTBOX_DIR`` to change)
and :class:`Courier` retries delivery in a background thread of the action
server, also after a restart. Each request carries a ``request_id``, so a
retry after a timeout that did reach the service is not stored twice.

Several action servers may share one outbox folder (``make run-cluster``; a
shared volume in Kubernetes): a courier claims a request by renaming its file
before sending it, so two couriers do not send it at once, and a claim left by
a courier that died is given back after :data:`STALE_CLAIM_S`. A request kept
by a server that is gone is delivered by the others.
"""

from __future__ import annotations

import contextlib
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
STALE_CLAIM_S = 300.0  # far longer than one delivery: the handoff client times out in seconds
CLAIMED = ".sending"

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
        self.give_back_stale_claims()
        delivered = 0
        for path in self.pending():
            claimed = path.with_name(f"{path.stem}.{time.time_ns()}{CLAIMED}")  # the claim's time in its name
            try:
                path.rename(claimed)  # another courier sharing the folder may have taken it first
            except FileNotFoundError:
                continue
            request = json.loads(claimed.read_text(encoding="utf-8"))
            try:
                send(request)
            except ServiceUnavailable as error:
                claimed.rename(path)
                logger.info("contact outbox: the service is still unavailable (%s)", error)
                break
            except (InvalidRequest, Refused) as refusal:
                logger.error("contact outbox: %s was refused (%s); kept in rejected/", path.name, refusal)
                rejected = self.directory / "rejected"
                rejected.mkdir(exist_ok=True, mode=0o700)
                claimed.rename(rejected / path.name)
                continue
            except BaseException:
                claimed.rename(path)
                raise
            claimed.unlink()
            delivered += 1
        if delivered:
            logger.info("contact outbox: delivered %d request(s)", delivered)
        return delivered

    def give_back_stale_claims(self, older_than_s: float = STALE_CLAIM_S) -> None:
        """Return to the waiting requests those claimed longer than ``older_than_s`` ago (their
        courier's server died while sending): the service keeps one copy if both arrive."""
        if not self.directory.is_dir():
            return
        oldest_kept_ns = time.time_ns() - older_than_s * 1e9
        for claimed in self.directory.glob(f"*{CLAIMED}"):
            stem, claimed_ns = claimed.name.removesuffix(CLAIMED).rsplit(".", 1)
            if int(claimed_ns) < oldest_kept_ns:
                with contextlib.suppress(FileNotFoundError):  # delivered or given back meanwhile
                    claimed.rename(claimed.with_name(f"{stem}.json"))


class Courier:
    """A daemon thread that delivers an outbox's requests every ``interval_s`` seconds while any wait;
    with ``keep_watching``, for as long as the server runs (requests another server kept in a shared
    folder, or this one before a restart)."""

    def __init__(
        self,
        outbox: ContactOutbox,
        send: Callable[[], Send],
        interval_s: float = RETRY_INTERVAL_S,
        keep_watching: bool = False,
    ):
        self.outbox = outbox
        self.send = send
        self.interval_s = interval_s
        self.keep_watching = keep_watching
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread unless it runs already; unless it keeps watching, it ends by itself once
        the outbox is empty."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="contact-outbox", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """End the thread after its current round (the files stay for the next start)."""
        self._stopping.set()

    def _run(self) -> None:
        while True:
            if self._stopping.wait(self.interval_s):
                return
            try:
                self.outbox.deliver(self.send())
            except Exception:  # keep retrying; the files stay until delivered
                logger.exception("contact outbox: delivery failed")
            with self._lock:
                if not self.keep_watching and not self.outbox.pending():
                    self._thread = None
                    return


def default_outbox() -> ContactOutbox:
    """The outbox in ``OPASTIN_OUTBOX_DIR`` or ``var/outbox/``."""
    configured = os.environ.get("OPASTIN_OUTBOX_DIR")
    return ContactOutbox(Path(configured) if configured else DEFAULT_DIR)

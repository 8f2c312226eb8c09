"""Virus scanning behind one interface, and its ClamAV adapter (clamd's INSTREAM protocol).

A :class:`Verdict` is clean, infected (with the signature's name) or an error;
only ``clean`` lets a file through: a scanner that cannot answer never passes one.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

VerdictStatus = Literal["clean", "infected", "error"]

_CHUNK_BYTES = 64 * 1024
_MAX_REPLY_BYTES = 4096


@dataclass(frozen=True)
class Verdict:
    """What a scanner said of a file: ``signature`` when infected, ``detail`` when an error."""

    status: VerdictStatus
    signature: str | None = None
    detail: str | None = None

    @property
    def clean(self) -> bool:
        """Whether the file may be stored (only on an explicit clean answer)."""
        return self.status == "clean"

    @classmethod
    def error(cls, detail: str) -> Verdict:
        """A scan that did not complete."""
        return cls("error", detail=detail)


class Scanner(Protocol):
    """Anything that scans a file's bytes."""

    async def scan(self, data: bytes) -> Verdict:
        """The verdict on ``data``; never raises for a scanner failure, returns an error verdict."""
        ...


class ClamdScanner:
    """Scans with a running clamd, at a unix socket path or ``tcp://host:port``."""

    def __init__(self, address: str, *, timeout: float = 30.0) -> None:
        self.address = address
        self.timeout = timeout
        if address.startswith("tcp://"):
            host, _, port = address.removeprefix("tcp://").rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"a clamd address is tcp://host:port or a socket path, not {address!r}")
            self._tcp: tuple[str, int] | None = (host.strip("[]"), int(port))
        else:
            self._tcp = None
            self._path = address.removeprefix("unix://")

    def __repr__(self) -> str:
        return f"ClamdScanner({self.address!r})"

    async def scan(self, data: bytes) -> Verdict:
        """``data`` sent with INSTREAM; the reply read as clean, infected or an error."""
        try:
            reply = await asyncio.wait_for(self._instream(data), self.timeout)
        except TimeoutError:
            return Verdict.error(f"clamd did not answer in {self.timeout:g} s")
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as error:
            return Verdict.error(f"clamd: {error!r}")
        return parse_reply(reply)

    async def ping(self) -> bool:
        """Whether clamd answers ``PONG`` (a readiness check)."""
        try:
            reply = await asyncio.wait_for(self._command(b"zPING\0"), self.timeout)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return False
        return reply == "PONG"

    async def _instream(self, data: bytes) -> str:
        chunks = (data[start : start + _CHUNK_BYTES] for start in range(0, len(data), _CHUNK_BYTES))
        framed = (struct.pack(">I", len(chunk)) + chunk for chunk in chunks)
        return await self._command(b"zINSTREAM\0", framed, struct.pack(">I", 0))

    async def _command(self, *parts: bytes | Iterable[bytes]) -> str:
        """The null-terminated reply to ``parts`` (a ``z`` command and its body) on a new connection."""
        if self._tcp is not None:
            reader, writer = await asyncio.open_connection(*self._tcp, limit=_MAX_REPLY_BYTES)
        else:
            reader, writer = await asyncio.open_unix_connection(self._path, limit=_MAX_REPLY_BYTES)
        try:
            for part in parts:
                for piece in [part] if isinstance(part, bytes) else part:
                    writer.write(piece)
                    await writer.drain()
            reply = await reader.readuntil(b"\0")
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
        return reply.rstrip(b"\0").decode("utf-8", "replace").strip()


def parse_reply(reply: str) -> Verdict:
    """A clamd INSTREAM reply: ``stream: OK``, ``stream: <name> FOUND``; anything else is an error."""
    result = reply.removeprefix("stream: ") if reply.startswith("stream: ") else None
    if result == "OK":
        return Verdict("clean")
    if result is not None and result.endswith(" FOUND") and result.removesuffix(" FOUND").strip():
        return Verdict("infected", signature=result.removesuffix(" FOUND").strip())
    return Verdict.error(f"clamd: {reply}")

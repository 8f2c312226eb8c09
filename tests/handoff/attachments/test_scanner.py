"""Virus scanning with a real clamd and a test-made signature database (handoff/attachments/scanner.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from handoff.attachments.content import prepare
from handoff.attachments.scanner import ClamdScanner, Scanner, Verdict, parse_reply
from tests.handoff.attachments.clamd import EICAR_SIGNATURE_NAME
from tests.handoff.attachments.support import EICAR, TEST_SIGNATURE_BYTES, TEST_SIGNATURE_NAME, pdf, plain_png


def _signature(verdict: Verdict) -> str:
    # clamd adds ".UNOFFICIAL" to the names of signatures outside its official databases.
    return (verdict.signature or "").removesuffix(".UNOFFICIAL")


async def test_clamd_answers_ping(clamd_socket: Path) -> None:
    assert await ClamdScanner(str(clamd_socket)).ping() is True


async def test_the_eicar_test_file_is_infected(clamd_socket: Path) -> None:
    verdict = await ClamdScanner(str(clamd_socket)).scan(EICAR)
    assert verdict.status == "infected" and not verdict.clean
    assert _signature(verdict) == EICAR_SIGNATURE_NAME


async def test_a_pdf_with_the_test_signature_is_infected(clamd_socket: Path) -> None:
    infected = prepare(pdf(b"alku " + TEST_SIGNATURE_BYTES + b" loppu"), "liite.pdf")
    verdict = await ClamdScanner(str(clamd_socket)).scan(infected.data)
    assert verdict.status == "infected"
    assert _signature(verdict) == TEST_SIGNATURE_NAME


async def test_clean_files_are_clean(clamd_socket: Path) -> None:
    scanner: Scanner = ClamdScanner(str(clamd_socket))
    assert (await scanner.scan(prepare(plain_png(), "kuva.png").data)).clean
    assert (await scanner.scan(pdf())).clean


async def test_a_file_of_several_chunks_is_scanned_whole(clamd_socket: Path) -> None:
    big = pdf(b"0" * 300_000 + TEST_SIGNATURE_BYTES + b"0" * 300_000)  # the signature beyond the first chunks
    verdict = await ClamdScanner(str(clamd_socket)).scan(big)
    assert _signature(verdict) == TEST_SIGNATURE_NAME


async def test_concurrent_scans_get_their_own_answers(clamd_socket: Path) -> None:
    scanner = ClamdScanner(str(clamd_socket))
    verdicts = await asyncio.gather(*(scanner.scan(data) for data in [EICAR, pdf(), EICAR, plain_png()] * 3))
    assert [verdict.status for verdict in verdicts] == ["infected", "clean", "infected", "clean"] * 3


async def test_a_missing_socket_is_an_error_never_clean(tmp_path: Path) -> None:
    scanner = ClamdScanner(str(tmp_path / "no-clamd.sock"), timeout=2)
    verdict = await scanner.scan(pdf())
    assert verdict.status == "error" and not verdict.clean and verdict.detail
    assert await scanner.ping() is False


async def test_a_stopped_clamds_socket_is_an_error_never_clean(tmp_path: Path) -> None:
    path = tmp_path / "stopped.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as left_behind:
        left_behind.bind(str(path))  # the file stays, nobody listens: connection refused
    verdict = await ClamdScanner(str(path), timeout=2).scan(pdf())
    assert verdict.status == "error" and not verdict.clean


async def _with_server(
    tmp_path: Path, handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
) -> asyncio.Server:
    return await asyncio.start_unix_server(handle, path=str(tmp_path / "fake.sock"))


async def test_a_clamd_that_does_not_answer_in_time_is_an_error(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(1 << 16):  # reads everything, answers nothing, until the client gives up
            pass
        writer.close()

    async with await _with_server(tmp_path, silent):
        verdict = await ClamdScanner(str(tmp_path / "fake.sock"), timeout=0.3).scan(pdf())
    assert verdict.status == "error" and "0.3" in (verdict.detail or "")


@pytest.mark.parametrize(
    "reply", [b"", b"stream: OK", b"INSTREAM size limit exceeded. ERROR\0", b"stream: \0"]
)
async def test_a_hung_up_cut_short_or_odd_reply_is_an_error(tmp_path: Path, reply: bytes) -> None:
    async def odd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\0")
        writer.write(reply)  # without the terminating null byte, the reply is cut short
        await writer.drain()
        writer.close()

    async with await _with_server(tmp_path, odd):
        verdict = await ClamdScanner(str(tmp_path / "fake.sock"), timeout=2).scan(b"x")
    assert verdict.status == "error" and not verdict.clean


async def test_the_tcp_address_is_understood(clamd_socket: Path) -> None:
    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(str(clamd_socket))
        upstream_writer.write(await reader.read(1 << 20))
        await upstream_writer.drain()
        writer.write(await upstream_reader.readuntil(b"\0"))
        await writer.drain()
        writer.close()
        upstream_writer.close()

    server = await asyncio.start_server(relay, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        verdict = await ClamdScanner(f"tcp://127.0.0.1:{port}").scan(EICAR)
    assert _signature(verdict) == EICAR_SIGNATURE_NAME


@pytest.mark.parametrize("address", ["tcp://", "tcp://clamd", "tcp://clamd:port", "tcp://:3310"])
def test_a_bad_tcp_address_is_refused(address: str) -> None:
    with pytest.raises(ValueError):
        ClamdScanner(address)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("stream: OK", Verdict("clean")),
        ("stream: Win.Test.EICAR_HDB-1 FOUND", Verdict("infected", signature="Win.Test.EICAR_HDB-1")),
        ("stream: Can't allocate memory ERROR", Verdict.error("clamd: stream: Can't allocate memory ERROR")),
        ("INSTREAM size limit exceeded. ERROR", Verdict.error("clamd: INSTREAM size limit exceeded. ERROR")),
        ("", Verdict.error("clamd: ")),
        ("OK FOUND", Verdict.error("clamd: OK FOUND")),
        ("stream:  FOUND", Verdict.error("clamd: stream:  FOUND")),
    ],
)
def test_replies_are_read_strictly(reply: str, expected: Verdict) -> None:
    assert parse_reply(reply) == expected

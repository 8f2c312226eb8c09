"""Attachments in a live chat over real sockets and a real clamd (handoff/gateway/attachments.py,
handoff/desk/attachments.py, handoff/uploads.py): only an identified resident in a live chat may
send; the file is checked by content, cleaned, scanned and stored encrypted; both sides see
"Liite: …"; only the conversation's professional downloads it, audited; refusals are told in
Finnish and leave nothing behind; retention and erasure take the files too."""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from handoff.db import Database
from handoff.identification.keys import ensure_dev_key_file, load_client_keys
from handoff.models import Attachment, AuditEntry, ResidentSession
from handoff.retention import Places, purge
from handoff.settings import Settings
from handoff.subject import erase
from opastin.teams import Teams
from tests.handoff.attachments.support import CAMERA, SECRET_TEXT, TEST_SIGNATURE_BYTES, jpeg_with_gps, pdf
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.identification.support import CLIENT_ID, ISSUER, MATTI, FakeProvider, provider_key
from tests.handoff.live_support import Agent, Resident, live_chat, sender_of
from tests.handoff.test_identification_chat import Chat, button, identify, served

UPLOAD = "/liitteet"


@pytest.fixture(scope="module")
def client_keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_dev_key_file(tmp_path_factory.mktemp("oidc") / "client-keys.json")


@pytest.fixture
async def live(
    db: Database, settings: Settings, clock: FakeClock, client_keys_file: Path, clamd_socket: Path
) -> AsyncIterator[Chat]:
    configured = dataclasses.replace(
        settings,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_key_file=client_keys_file,
        clamd_address=str(clamd_socket),
    )
    provider = FakeProvider(load_client_keys(client_keys_file), provider_key("provider-1"))
    async for chat in served(configured, clock, db, provider):
        yield chat


@pytest.fixture
async def resident(live: Chat) -> AsyncIterator[Resident]:
    client = Resident(live.url)
    await client.connect()
    yield client
    await client.close()


async def upload(live: Chat, resident: Resident | None, data: bytes, name: str) -> httpx.Response:
    headers = {"X-Opastin-Session": resident.secret} if resident is not None and resident.secret else {}
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as browser:
        return await browser.post(UPLOAD, files={"file": (name, data)}, headers=headers)


def stored_files(live: Chat) -> list[Path]:
    directory = live.app.state.services.settings.var_dir / "attachments"
    return sorted(directory.iterdir()) if directory.exists() else []


def rows(db: Database) -> list[Attachment]:
    with db.reading() as session:
        return list(session.execute(select(Attachment)).scalars())


async def identified_chat(live: Chat, resident: Resident) -> tuple[str, Agent]:
    conversation_id, agent = await live_chat(live, resident)
    assert (await agent.post(f"/desk/conversations/{conversation_id}/tunnistautuminen")).status_code == 200
    assert (await identify(live, await button(resident), MATTI)).status_code == 200
    await resident.until(lambda message: message.get("text") == "Tunnistettu: Matti Kokeilu")
    return conversation_id, agent


async def test_an_anonymous_resident_cannot_send_a_file(live: Chat, resident: Resident) -> None:
    _conversation_id, agent = await live_chat(live, resident)
    refused = await upload(live, resident, pdf(), "lausunto.pdf")
    assert refused.status_code == 403
    assert refused.json()["message"].startswith("Voit lähettää liitteitä, kun olet tunnistautunut vahvasti.")
    assert (await upload(live, None, pdf(), "lausunto.pdf")).status_code == 403  # no session at all
    assert stored_files(live) == [] and rows(live.db) == []
    await agent.close()


async def test_a_malformed_upload_is_refused_politely(live: Chat, resident: Resident) -> None:
    headers = {"X-Opastin-Session": resident.secret or "", "Content-Type": "multipart/form-data; boundary=x"}
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as browser:
        broken = await browser.post(UPLOAD, content=b"--x\r\nno headers, no end", headers=headers)
        no_boundary = await browser.post(
            UPLOAD, content=b"file", headers={**headers, "Content-Type": "multipart/form-data"}
        )
    for refused in (broken, no_boundary):
        assert refused.status_code == 400 and refused.json()["message"]
    assert stored_files(live) == [] and rows(live.db) == []


async def test_an_identified_residents_photo_reaches_the_professional_without_its_metadata(
    live: Chat, resident: Resident, db: Database
) -> None:
    conversation_id, agent = await identified_chat(live, resident)
    photo = jpeg_with_gps()
    sent = await upload(live, resident, photo, "../../IMG_2041.jpeg")
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"name": "IMG_2041.jpg", "size": "1 kt"}
    told = await resident.until(lambda message: str(message.get("text", "")).startswith("Liite:"))
    assert told["text"] == "Liite: IMG_2041.jpg (1 kt)" and sender_of(told) == "system"
    desk = await agent.next_message("system")
    while not desk["text"].startswith("Liite:"):
        desk = await agent.next_message("system")
    url = desk["attachment"]["url"]
    assert url.startswith(f"/desk/conversations/{conversation_id}/liitteet/")

    downloaded = await agent.http.get(url)
    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "image/jpeg"
    assert downloaded.headers["content-disposition"].startswith('attachment; filename="IMG_2041.jpg"')
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    cleaned = Image.open(io.BytesIO(downloaded.content))
    assert cleaned.size == (40, 20) and not cleaned.getexif() and "comment" not in cleaned.info
    assert CAMERA.encode() not in downloaded.content and SECRET_TEXT.encode() not in downloaded.content
    (stored,) = stored_files(live)
    assert b"\xff\xd8\xff" not in stored.read_bytes()[:16] and CAMERA.encode() not in stored.read_bytes()
    page = (await agent.http.get(f"/desk/conversations/{conversation_id}")).text
    assert f'href="{url}" download>Lataa liite</a>' in page

    add_agent(db, "liisa", ["neuvola"])  # a colleague of the team, not the chat's professional
    colleague = Agent(live.url)
    await colleague.login("liisa")
    assert (await colleague.http.get(url)).status_code == 403
    assert f'href="{url}"' not in (await colleague.http.get(f"/desk/conversations/{conversation_id}")).text
    with db.reading() as session:
        actions = [
            tuple(row)
            for row in session.execute(
                select(AuditEntry.actor, AuditEntry.action).where(AuditEntry.action.like("attachment.%"))
            )
        ]
    assert actions == [("resident", "attachment.upload"), ("maija", "attachment.download")]
    await colleague.close()
    await agent.close()


@pytest.mark.parametrize(
    ("data", "name", "status", "said"),
    [
        (pdf(TEST_SIGNATURE_BYTES), "lasku.pdf", 422, "virustarkistus löysi siitä haitallista sisältöä"),
        (b"MZ\x90\x00 not a document", "kuva.png", 415, "Voit lähettää PDF-tiedoston tai kuvan"),
        (b"", "tyhja.pdf", 415, "Tiedosto on tyhjä"),
        (pdf(b"x" * (10 * 1024 * 1024)), "iso.pdf", 413, "enintään 10 Mt"),
    ],
)
async def test_a_refused_file_is_told_in_finnish_and_leaves_nothing(
    live: Chat, resident: Resident, data: bytes, name: str, status: int, said: str
) -> None:
    _conversation_id, agent = await identified_chat(live, resident)
    refused = await upload(live, resident, data, name)
    assert refused.status_code == status and said in refused.json()["message"]
    assert stored_files(live) == [] and rows(live.db) == []
    await agent.close()


async def test_a_scanner_that_cannot_be_reached_refuses_the_file(
    db: Database, settings: Settings, clock: FakeClock, client_keys_file: Path, tmp_path: Path
) -> None:
    configured = dataclasses.replace(
        settings,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_key_file=client_keys_file,
        clamd_address=str(tmp_path / "no-clamd.sock"),
    )
    provider = FakeProvider(load_client_keys(client_keys_file), provider_key("provider-1"))
    async for live in served(configured, clock, db, provider):
        resident = Resident(live.url)
        await resident.connect()
        _conversation_id, agent = await identified_chat(live, resident)
        refused = await upload(live, resident, pdf(), "lausunto.pdf")
        assert refused.status_code == 422 and "tarkistus ei juuri nyt onnistu" in refused.json()["message"]
        assert stored_files(live) == [] and rows(db) == []
        await agent.close()
        await resident.close()


async def test_retention_and_erasure_remove_the_files(
    live: Chat, resident: Resident, db: Database, teams: Teams, tmp_path: Path
) -> None:
    conversation_id, agent = await identified_chat(live, resident)
    assert (await upload(live, resident, pdf(), "lausunto.pdf")).status_code == 201
    assert (await upload(live, resident, jpeg_with_gps(), "kuva.jpg")).status_code == 201
    first, second = stored_files(live)
    await agent.close()
    places = Places(None, tmp_path / "outbox", tmp_path / "log", first.parent)
    with db.reading() as session:
        reference: Any = session.execute(
            select(ResidentSession.reference).where(ResidentSession.conversation_id == conversation_id)
        ).scalar_one()
    counts = erase(db, places, reference, "kirjaamo", live.app.state.services.now())
    assert counts["attachments"] == 2 and stored_files(live) == [] and rows(db) == []

    # A file without a row (a purged conversation's) goes in the next retention run, once it is old.
    (first.parent / first.name).write_bytes(b"orphan")
    os.utime(first.parent / first.name, (0, 0))
    (first.parent / second.name).write_bytes(b"just being uploaded")
    report = purge(db, teams, places, live.app.state.services.now())
    assert report.removed["attachment_files"] == 1 and [p.name for p in stored_files(live)] == [second.name]

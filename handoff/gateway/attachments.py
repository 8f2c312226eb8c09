"""Residents' attachments in a live chat: ``POST /liitteet`` (docs/identification.md, "Attachments").

The widget posts one file (multipart field ``file``) with the session secret in
the ``X-Opastin-Session`` header. The server finds the conversation from the
secret alone and checks that a professional holds the chat and that the
resident has identified (:mod:`handoff.uploads`), then the file: type by
content, images re-encoded without metadata (:mod:`handoff.attachments.content`),
scanned (:mod:`handoff.attachments.scanner`; a scanner error refuses the file
too), stored encrypted outside the web root (:mod:`handoff.attachments.store`).
Both sides then see the system message "Liite: <nimi> (<koko>)"; the desk's
copy links to the download. Every refusal answers a short Finnish message.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from python_multipart.exceptions import FormParserError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from handoff import live, uploads
from handoff.attachments.content import MAX_BYTES, Prepared, Refused, prepare
from handoff.attachments.scanner import Scanner
from handoff.attachments.store import AttachmentStore
from handoff.errors import Forbidden, NotActive
from handoff.gateway import relay, sessions
from opastin import messages

if TYPE_CHECKING:
    from handoff.gateway.hub import Gateway

logger = logging.getLogger(__name__)

PATH = "/liitteet"
SECRET_HEADER = "X-Opastin-Session"
# The body limit of this one path: the file and the multipart envelope around it.
MAX_UPLOAD_BODY = MAX_BYTES + 64 * 1024


def size_text(size: int) -> str:
    """``120 kt`` or ``2,4 Mt`` (Finnish units, decimal comma)."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} kt"
    return f"{size / (1024 * 1024):.1f} Mt".replace(".", ",")


def _target(session: Session, secret: str | None) -> uploads.Sender:
    """The live chat of the resident session ``secret`` (not ended), checked by :func:`uploads.sender`."""
    found = sessions.conversation_of_secret(session, secret)
    if found is None:
        raise Forbidden("no resident session")
    return uploads.sender(session, found)


def record(
    session: Session, conversation_id: str, prepared: Prepared, stored_id: str, now: datetime
) -> relay.Posted:
    """Announce the stored file in the live chat (both sides) and record it; checked again here."""
    target = uploads.sender(session, conversation_id)
    chat = live.HeldChat(target.conversation_id, target.team_id, target.agent_id, "")
    text = messages.text("gateway.attachments.sent", name=prepared.filename, size=size_text(prepared.size))
    posted = relay.post(session, chat, live.SYSTEM, text, now, extra={"custom": {"attachment": True}})
    uploads.add(
        session,
        stored_id,
        conversation_id,
        posted.desk["id"],
        prepared.filename,
        prepared.content_type,
        prepared.size,
        prepared.sha256,
        now,
    )
    posted.desk["attachment"] = {
        "url": uploads.download_path(conversation_id, stored_id),
        "name": prepared.filename,
        "size": size_text(prepared.size),
    }
    return posted


class ChatAttachments:
    """The gateway's attachments: its hub, the scanner and the encrypted store."""

    def __init__(self, hub: Gateway, scanner: Scanner, store: AttachmentStore) -> None:
        self.hub = hub
        self.scanner = scanner
        self.store = store

    async def receive(self, secret: str | None, upload: Any) -> JSONResponse:
        """Check, scan, store and announce one upload; a Finnish refusal otherwise."""
        hub = self.hub
        try:
            target = await hub.read(_target, secret)
        except uploads.NotIdentified:
            return _refusal("not_identified", 403)
        except NotActive:
            return _refusal("not_live", 409)
        except Forbidden:
            return _refusal("no_session", 403)
        if not isinstance(upload, UploadFile):
            return _refusal("no_file", 400)
        data = await upload.read(MAX_BYTES + 1)
        try:
            prepared = await run_in_threadpool(prepare, data, upload.filename or "")
        except Refused as refused:
            logger.info("attachment refused: %s", refused.reason)
            return _refusal(refused.reason, 413 if refused.reason == "too_large" else 415)
        verdict = await self.scanner.scan(prepared.data)
        if not verdict.clean:
            logger.warning("attachment not accepted by the scanner: %s", verdict.status)
            return _refusal("infected" if verdict.status == "infected" else "scan_failed", 422)
        stored_id = await run_in_threadpool(self.store.save, prepared.data)
        conversation_id = target.conversation_id
        try:
            async with hub.lock(conversation_id):
                posted = await hub.write(record, conversation_id, prepared, stored_id, hub.services.now())
                await hub.apply(relay.Outcome(None, [posted]), locked=True)
        except (NotActive, Forbidden):  # the chat ended meanwhile: the file goes too
            await run_in_threadpool(self.store.delete, stored_id)
            return _refusal("not_live", 409)
        return JSONResponse({"name": prepared.filename, "size": size_text(prepared.size)}, status_code=201)


def _refusal(reason: str, status: int) -> JSONResponse:
    return JSONResponse(
        {"error": reason, "message": messages.text(f"gateway.attachments.refused.{reason}")},
        status_code=status,
    )


def create_router(attachments: ChatAttachments) -> APIRouter:
    """``POST /liitteet``."""
    router = APIRouter(include_in_schema=False)

    @router.post(PATH)
    async def upload(request: Request) -> JSONResponse:
        try:
            form = await request.form(max_files=1, max_fields=2)
        except (HTTPException, MultiPartException, FormParserError):  # a malformed multipart body
            return _refusal("no_file", 400)
        return await attachments.receive(request.headers.get(SECRET_HEADER), form.get("file"))

    return router

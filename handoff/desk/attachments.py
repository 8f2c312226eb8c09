"""Downloading a resident's attachment from the desk (docs/identification.md, "Attachments").

``GET /desk/conversations/{id}/liitteet/{attachment}``: for the professional
holding the chat, or who held it last once it ended (:func:`handoff.uploads.for_download`,
audited). The file is decrypted from the store and sent as a download, never
shown inline: ``Content-Disposition: attachment``, ``nosniff``, a sandboxing
CSP and ``no-store``.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from handoff import uploads
from handoff.attachments.store import UnknownAttachment
from handoff.desk.learning import DeskTools
from handoff.errors import NotFound
from handoff.gateway.hub import Gateway
from handoff.runtime import Services

PATH = "/conversations/{conversation_id}/liitteet/{attachment_id}"


def download_headers(filename: str) -> dict[str, str]:
    """Headers that make the browser save the file under its (Finnish) name, never run it."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
    }


def add_attachment_routes(router: APIRouter, tools: DeskTools, services: Services, gateway: Gateway) -> None:
    """The download, under the desk's router (``/desk``); 404 while attachments are off."""

    @router.get(PATH)
    @tools.guarded
    async def download(request: Request, conversation_id: str, attachment_id: str) -> Response:
        user = await tools.require_user(request)
        if gateway.attachments is None:
            raise NotFound("attachments are not configured")
        found = await tools.write(
            uploads.for_download, user.agent_id, conversation_id, attachment_id, services.now()
        )
        try:
            data = await run_in_threadpool(gateway.attachments.store.read, found.id)
        except UnknownAttachment:
            raise NotFound("the attachment's file is gone") from None
        return Response(data, media_type=found.content_type, headers=download_headers(found.filename))

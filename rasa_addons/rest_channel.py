"""Rasa's REST channel with an optional token and without message text in its error log.

Configured in ``credentials.yml`` as ``rasa_addons.rest_channel.TokenRestInput``;
it keeps the name ``rest``, so the URL stays ``/webhooks/rest/webhook``. When
``RASA_REST_TOKEN`` is set, a ``POST`` must carry ``Authorization: Bearer
<token>`` (the chat gateway sends it); otherwise the channel behaves as Rasa's
own, which is safe only because Rasa listens on loopback. Loading the channel
also makes Rasa's logs private (:mod:`rasa_addons.private_logging`).

A message may carry a ``message_id`` (the chat gateway's id of the resident's
message, stored with it in the tracker). A message sent again after a failed
call (``"retry": true``: the server that had it died, or the call timed out) is
answered once only: the retry waits until the conversation's earlier messages
are done (the lock store), and if the tracker already holds a message with that
id, it gets the replies that message got instead of being processed again.
A message whose processing failed with nothing to say (the lock store out of
reach, say) is answered 503, so that the sender sees the failure instead of
silence.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from opastin.tokens import same_token
from rasa_addons.private_logging import keep_logs_private

logger = logging.getLogger(__name__)

TOKEN_ENV = "RASA_REST_TOKEN"
BEARER = "Bearer "
MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class TokenRestInput(RestInput):  # type: ignore[misc]  # Rasa ships no types
    """``POST /webhooks/rest/webhook`` guarded by ``RASA_REST_TOKEN`` when it is set."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or None

    @classmethod
    def name(cls) -> str:
        """Same URL as Rasa's REST channel."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """The channel with the token from the environment (credentials carry no secrets)."""
        keep_logs_private()
        return cls(os.environ.get(TOKEN_ENV, "").strip() or None)

    def authorised(self, request: Request) -> bool:
        """Whether ``request`` may talk to the bot."""
        if self.token is None:
            return True
        header = request.headers.get("authorization", "")
        return header.startswith(BEARER) and same_token(header[len(BEARER) :], self.token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health check and the webhook (no streaming)."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])  # type: ignore[untyped-decorator]  # untyped in Sanic 21
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])  # type: ignore[untyped-decorator]  # untyped in Sanic 21
        async def receive(request: Request) -> HTTPResponse:
            if not self.authorised(request):
                return response.json({"error": "A valid token is required."}, status=401)
            if not isinstance(request.json, dict):
                return response.json({"error": "A JSON object is required."}, status=400)
            collector = CollectingOutputChannel()
            message = UserMessage(
                self._extract_message(request),
                collector,
                await self._extract_sender(request),
                input_channel=self._extract_input_channel(request),
                metadata=self.get_metadata(request),
                message_id=message_id_of(request.json),
            )
            if request.json.get("retry") is True and message.message_id:
                agent: Agent = request.app.ctx.agent
                if await answered_before(agent, message, collector):
                    return response.json(collector.messages)
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("a message timed out in the dialogue engine")
            except Exception as error:  # noqa: BLE001 - answer what was collected, as Rasa's channel does
                frames = "".join(traceback.format_tb(error.__traceback__))
                logger.error(
                    "a message failed in the dialogue engine: %s at\n%s", type(error).__name__, frames
                )
                if not collector.messages:  # nothing to say: a failure the sender sees (and may retry)
                    return response.json({"error": "The message could not be processed."}, status=503)
            return response.json(collector.messages)

        return webhook


def message_id_of(body: dict[str, Any]) -> str | None:
    """The message's ``message_id`` when it is a plain id (letters, digits, ``-``, ``_``; ≤ 64)."""
    value = body.get("message_id")
    return value if isinstance(value, str) and MESSAGE_ID.fullmatch(value) else None


async def answered_before(agent: Agent, message: UserMessage, collector: CollectingOutputChannel) -> bool:
    """Whether the conversation already holds ``message`` (by its id); if so, its replies go to
    ``collector``. An attempt still running finishes first: the lock is taken in ticket order."""
    async with agent.lock_store.lock(message.sender_id):
        tracker = await agent.tracker_store.retrieve(message.sender_id)
    replies = replies_to(tracker.events if tracker else [], message.message_id)
    if replies is None:
        return False
    for reply in replies:
        await collector.send_response(message.sender_id, reply.message())
    return True


def replies_to(events: Any, message_id: str) -> list[BotUttered] | None:
    """The bot's utterances after the user message ``message_id`` (until the next user message),
    or ``None`` when the conversation has no such message."""
    found: list[BotUttered] | None = None
    for event in events:
        if isinstance(event, UserUttered):
            if found is not None:
                break
            if event.message_id == message_id:
                found = []
        elif found is not None and isinstance(event, BotUttered):
            found.append(event)
    return found

"""The bot side of the gateway: Rasa's REST channel, and mapping its replies to ``bot_uttered``."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import uuid4

import httpx

from handoff import metrics
from handoff.errors import BotUnavailable

REST_PATH = "/webhooks/rest/webhook"
DEFAULT_TIMEOUT_S = 10.0
RETRY_AFTER_S = 0.2  # the load balancer's health check may not have seen the dead server yet


class RasaClient:
    """POSTs resident messages to ``{base_url}/webhooks/rest/webhook`` and returns the replies.

    With a ``token`` (``RASA_REST_TOKEN``) every request carries ``Authorization: Bearer <token>``.
    """

    def __init__(
        self,
        base_url: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
        token: str | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + REST_PATH
        self.timeout_s = timeout_s
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = client or httpx.AsyncClient(timeout=timeout_s)

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """The bot's replies to ``text``; :class:`BotUnavailable` on any failure or timeout.

        The message carries an id of its own. When the call is refused or answered with a
        5xx (the Rasa server behind the load balancer died), it is sent once more, marked as
        a retry: Rasa's channel answers a retry whose id it already holds with the replies
        it gave then, so a message is never answered twice (rasa_addons/rest_channel.py).
        A timeout is not retried: that server is alive, only slow.

        The time an answered call took is observed in ``opastin_bot_reply_seconds``; a
        failure counts in ``opastin_bot_errors_total`` by its kind.
        """
        body = {"sender": conversation_id, "message": text, "metadata": metadata, "message_id": uuid4().hex}
        started = time.perf_counter()
        try:
            replies = await self._post(body)
        except (httpx.HTTPError, ValueError) as error:
            if not worth_retrying(error):
                raise self._failed(error) from error
            metrics.BOT_RETRIES.inc()
            await asyncio.sleep(RETRY_AFTER_S)
            try:
                replies = await self._post({**body, "retry": True})
            except (httpx.HTTPError, ValueError) as again:
                raise self._failed(again) from again
        if not isinstance(replies, list):
            metrics.BOT_ERRORS.labels(kind="invalid").inc()
            raise BotUnavailable("Rasa answered with something else than a list")
        metrics.BOT_REPLY_SECONDS.observe(time.perf_counter() - started)
        return [reply for reply in replies if isinstance(reply, dict)]

    async def _post(self, body: dict[str, Any]) -> Any:
        response = await self._client.post(self.url, json=body, headers=self.headers, timeout=self.timeout_s)
        response.raise_for_status()
        return response.json()

    @staticmethod
    def _failed(error: Exception) -> BotUnavailable:
        metrics.BOT_ERRORS.labels(kind=error_kind(error)).inc()
        return BotUnavailable(f"Rasa did not answer: {type(error).__name__}")

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()


def worth_retrying(error: BaseException) -> bool:
    """A refused or broken connection, or a 5xx from the load balancer or Rasa: another server may answer."""
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code >= 500
    return isinstance(error, httpx.TransportError) and not isinstance(error, httpx.TimeoutException)


def error_kind(error: BaseException) -> str:
    """The kind of a failed call to Rasa: ``timeout``, ``connection``, ``http`` or ``invalid``."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.HTTPStatusError):
        return "http"
    if isinstance(error, httpx.HTTPError):
        return "connection"
    return "invalid"


def to_bot_uttered(reply: dict[str, Any]) -> dict[str, Any] | None:
    """One Rasa REST reply as a ``bot_uttered`` message, or ``None`` if it carries nothing to show.

    ``buttons`` become ``quick_replies``; ``custom`` (e.g. the route payload)
    is passed on as is; ``image`` becomes an image attachment as Rasa's own
    socket.io channel sends it.
    """
    message: dict[str, Any] = {}
    if isinstance(reply.get("text"), str):
        message["text"] = reply["text"]
    buttons = reply.get("buttons")
    if isinstance(buttons, list) and buttons:
        message["quick_replies"] = [
            {"content_type": "text", "title": str(button.get("title", "")), "payload": _payload(button)}
            for button in buttons
            if isinstance(button, dict)
        ]
    if isinstance(reply.get("custom"), dict):
        message["custom"] = reply["custom"]
    if isinstance(reply.get("image"), str):
        message["attachment"] = {"type": "image", "payload": {"src": reply["image"]}}
    return message or None


def _payload(button: dict[str, Any]) -> str:
    payload = button.get("payload")
    return str(payload) if payload is not None else str(button.get("title", ""))

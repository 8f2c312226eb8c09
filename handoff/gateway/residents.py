"""Residents' sockets: the ``rasa-webchat`` protocol, sessions, and each message to the bot or a person.

Each resident socket has an inbox drained by one task, so its messages are
handled one at a time in the order they arrived. Everything sent to one
conversation is sent under that conversation's lock (:meth:`Gateway.lock`),
so replies, agent messages and system messages reach the resident in the
order they were stored.

In bot mode a message goes to Rasa's REST channel; while the conversation is
queued or with an agent it goes to the agent side (stored, checked for an
emergency) and the bot stays silent. Identity codes are masked here, before
anything else sees the text.

A ``typing`` state (:mod:`.indicators`) waits in the same inbox, behind the
messages before it, and goes only to the agent holding the live chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import socketio
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from handoff import metrics, queue
from handoff.errors import BotUnavailable
from handoff.gateway import indicators, limits, relay, sessions
from handoff.gateway.limits import TokenBucket
from handoff.gateway.positions import position_of
from handoff.gateway.rasa import to_bot_uttered
from handoff.gateway.wire import (
    CHANNEL,
    DESK,
    RESIDENTS,
    agent_room,
    emergency_message,
    queue_message,
    resident_room,
    system_uttered,
    team_room,
)
from opastin import messages
from opastin.privacy import mask_hetu
from opastin.safety.net import default_net

if TYPE_CHECKING:
    from handoff.gateway.hub import Gateway

logger = logging.getLogger(__name__)

CLOSE = "close"  # an inbox event of the gateway's own: the socket closed
TYPING = "typing"
MAX_MESSAGE_CHARS = 2000
MAX_CUSTOM_DATA_BYTES = 2048
INBOX_SIZE = 64


def detect_level(text: str) -> str | None:
    """The emergency level of ``text`` (``112``, ``crisis``, ``116117``, ``social``) or ``None``.

    Every layer of the safety net counts here, suspicions included: a professional is
    present, so the resident gets the guidance at once and the desk an alert, with no
    safety question. Never raises.
    """
    try:
        verdict = default_net().check(text)
    except Exception:
        logger.exception("emergency detection failed")
        return None
    return verdict.level if verdict else None


@dataclass
class ResidentSocket:
    """One connected resident socket: its inbox, rate limit and conversation."""

    sid: str
    address: str = "unknown"
    inbox: asyncio.Queue[tuple[str, Any]] = field(default_factory=lambda: asyncio.Queue(INBOX_SIZE))
    bucket: TokenBucket = field(default_factory=lambda: TokenBucket(*limits.SOCKET_MESSAGES))
    session_bucket: TokenBucket = field(default_factory=lambda: TokenBucket(*limits.SOCKET_SESSIONS))
    conversation_id: str | None = None
    worker: asyncio.Task[None] | None = None


class ResidentNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # python-socketio ships no types
    """Socket.io events of the resident's widget; handlers only hand events to the inbox."""

    def __init__(self, residents: Residents) -> None:
        super().__init__(RESIDENTS)
        self.residents = residents

    def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """A resident connected; nothing is bound until ``session_request``."""
        client = (environ.get("asgi.scope") or {}).get("client") or ("unknown", 0)
        self.residents.connected(sid, str(client[0]))

    def on_session_request(self, sid: str, data: Any = None) -> None:
        """``{session_id}``: resume with a known secret, or start anew."""
        secret = data.get("session_id") if isinstance(data, dict) else None
        self.residents.event(sid, "session", secret)

    def on_session_end(self, sid: str, data: Any = None) -> None:
        """The resident ended the conversation."""
        self.residents.event(sid, "end", None)

    def on_user_uttered(self, sid: str, data: Any = None) -> None:
        """``{message, customData?}`` from the resident."""
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            self.residents.event(sid, "message", data)

    def on_typing(self, sid: str, data: Any = None) -> None:
        """``{typing: true|false}``: the resident is writing, or stopped (never the text)."""
        state = indicators.resident_state(data)
        if state is not None:
            self.residents.typing(sid, state)

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """The socket is gone; its conversation stays (it may come back with its secret)."""
        self.residents.disconnected(sid)


class Residents:
    """Every connected resident socket, and what happens to their sessions and messages."""

    def __init__(self, hub: Gateway) -> None:
        self.hub = hub
        self.sockets: dict[str, ResidentSocket] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self.address_limits = limits.address_limits(hub.services.settings.redis_url)
        self.typing_gates = indicators.TypingGates(indicators.MAX_GATES)

    def stop(self) -> None:
        """Cancel every socket's worker, also those finishing a closed socket's last events."""
        for worker in list(self._workers):
            worker.cancel()

    def connected(self, sid: str, address: str = "unknown") -> None:
        """Start the socket's inbox worker."""
        resident = ResidentSocket(sid, address)
        resident.worker = asyncio.get_running_loop().create_task(self._drain(resident))
        self._workers.add(resident.worker)
        resident.worker.add_done_callback(self._workers.discard)
        self.sockets[sid] = resident

    def event(self, sid: str, kind: str, data: Any) -> None:
        """Queue an event of a resident socket, in arrival order; drop floods with a notice."""
        resident = self.sockets.get(sid)
        if resident is None:
            return
        if not self._allowed(resident, kind):
            self.hub.spawn(self._to_socket(sid, system_uttered(messages.text("gateway.too_fast"))))
            return
        try:
            resident.inbox.put_nowait((kind, data))
        except asyncio.QueueFull:
            self.hub.spawn(self._to_socket(sid, system_uttered(messages.text("gateway.too_fast"))))

    def typing(self, sid: str, typing: bool) -> None:
        """Queue a typing state behind the socket's messages; what comes too fast is dropped silently."""
        resident = self.sockets.get(sid)
        if resident is None or resident.conversation_id is None:
            return
        if not self.typing_gates.allow(resident.conversation_id, typing):
            return
        with contextlib.suppress(asyncio.QueueFull):
            resident.inbox.put_nowait((TYPING, typing))

    def _allowed(self, resident: ResidentSocket, kind: str) -> bool:
        """The socket's own flood limits (in memory: a socket lives on one replica, sticky sessions).

        Its address's limits may be in Redis: the worker checks them, in arrival order, for a
        message when it takes it and for a new conversation when it creates it.
        """
        if kind == "message":
            return resident.bucket.take()
        return resident.session_bucket.take()

    def disconnected(self, sid: str) -> None:
        """The socket is gone: its worker finishes what the resident already sent, then stops.

        A bot reply that is on its way is still stored, so a resident who reloads
        the page in the middle of it finds it in the resumed conversation.
        """
        resident = self.sockets.pop(sid, None)
        if resident is None or resident.worker is None:
            return
        try:
            resident.inbox.put_nowait((CLOSE, None))
        except asyncio.QueueFull:
            resident.worker.cancel()

    async def _drain(self, resident: ResidentSocket) -> None:
        while True:
            kind, data = await resident.inbox.get()
            if kind == CLOSE:
                return
            try:
                if kind == "session":
                    await self._open_session(resident, data)
                elif kind == "end":
                    await self._end_session(resident)
                elif kind == TYPING:
                    await self._typing(resident, data)
                elif not await self.address_limits.allow_message(resident.address):
                    await self._to_socket(resident.sid, system_uttered(messages.text("gateway.too_fast")))
                else:
                    await self._message(resident, data)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                logger.exception("resident event %s failed", kind)
                if kind == TYPING:
                    continue  # the resident need not know that an indicator was lost
                notice = (
                    "gateway.not_delivered"
                    if isinstance(error, SQLAlchemyError)
                    else "gateway.bot_unavailable"
                )
                await self._to_socket(resident.sid, system_uttered(messages.text(notice)))

    async def _to_socket(self, sid: str, message: dict[str, Any]) -> None:
        await self.hub.sio.emit("bot_uttered", message, to=sid, namespace=RESIDENTS)

    async def _open_session(self, resident: ResidentSocket, secret: Any) -> None:
        hub, sio, services = self.hub, self.hub.sio, self.hub.services
        resumable = await hub.read(sessions.resumable_secret, secret)
        if not resumable and not await self.address_limits.allow_new_session(resident.address):
            await self._to_socket(
                resident.sid, system_uttered(messages.text("gateway.too_many_conversations"))
            )
            return
        resume_within = timedelta(minutes=services.settings.resume_minutes)
        binding = await hub.write(sessions.open_session, secret, services.now(), resume_within)
        previous = resident.conversation_id
        if previous is not None and previous != binding.conversation_id:
            await sio.leave_room(resident.sid, resident_room(previous), namespace=RESIDENTS)
            await hub.apply(await hub.write(relay.resident_left, previous, services.now()))
        resident.conversation_id = binding.conversation_id
        # Under the conversation's lock: a reply still on its way is either in the history
        # read here or sent to the room after the socket joined it, never lost or doubled.
        async with hub.lock(binding.conversation_id):
            await sio.enter_room(resident.sid, resident_room(binding.conversation_id), namespace=RESIDENTS)
            await sio.emit("session_confirm", binding.secret, to=resident.sid, namespace=RESIDENTS)
            if binding.reference:
                reference = {"reference": binding.reference}
                await sio.emit("conversation_reference", reference, to=resident.sid, namespace=RESIDENTS)
            if binding.resumed:
                await self._replay(resident, binding.conversation_id)

    async def _replay(self, resident: ResidentSocket, conversation_id: str) -> None:
        """Send a resumed conversation's last messages again, and its place in a queue."""
        for message in await self.hub.read(sessions.history, conversation_id):
            await self._to_socket(resident.sid, message)
        status = await self.hub.read(position_of, self.hub.services, conversation_id)
        if status is not None:
            position = queue_message(status.position, status.queue_length, status.wait)
            await self._to_socket(resident.sid, position)
            if self.hub.identification is not None:  # the button was live only: a new one
                await self.hub.identification.offer_while_waiting(conversation_id, again=True)

    async def _end_session(self, resident: ResidentSocket) -> None:
        """End the socket's conversation: out of any queue, its secret revoked, the socket unbound."""
        conversation_id = resident.conversation_id
        if conversation_id is None:
            return
        hub, now = self.hub, self.hub.services.now
        resident.conversation_id = None
        await hub.sio.leave_room(resident.sid, resident_room(conversation_id), namespace=RESIDENTS)
        async with hub.lock(conversation_id):
            await hub.write(sessions.end_session, conversation_id, now())
            if hub.identification is not None:  # no ticket or login of it works on any device now
                await hub.identification.resident_ended(conversation_id)
            await hub.apply(await hub.write(relay.resident_left, conversation_id, now()), locked=True)

    async def _typing(self, resident: ResidentSocket, typing: bool) -> None:
        """Tell the agent holding the socket's live chat (and nobody else) that the resident types."""
        conversation_id = resident.conversation_id
        if conversation_id is None:
            return
        state = await self.hub.read(sessions.live_state, conversation_id)
        if state is None or state.status != queue.ACTIVE or state.agent_id is None:
            return
        event = indicators.to_desk(conversation_id, typing)
        await self.hub.sio.emit(indicators.EVENT, event, room=agent_room(state.agent_id), namespace=DESK)

    async def _message(self, resident: ResidentSocket, data: dict[str, Any]) -> None:
        conversation_id = resident.conversation_id
        if conversation_id is None:
            return
        written: str = data["message"]
        if len(written) > MAX_MESSAGE_CHARS:
            await self._to_socket(
                resident.sid, system_uttered(messages.text("gateway.too_long", limit=MAX_MESSAGE_CHARS))
            )
            return
        text = mask_hetu(written)  # the one masking point: nothing below sees the code
        async with self.hub.lock(conversation_id):
            if text != written:
                await self._tell_hetu_removed(conversation_id)
            # The safety check runs on the writer thread just before the message is stored,
            # outside the transaction: one hand-over between threads for both.
            turn = await self.hub.writer.run(
                sessions.take_resident_message,
                conversation_id,
                text,
                self.hub.services.now(),
                before=partial(self.hub.detect, text),
            )
            if turn.live is None:
                await self.bot_turn(conversation_id, text, metadata(data.get("customData")))
                return
            await self._live_turn(conversation_id, turn)

    async def _tell_hetu_removed(self, conversation_id: str) -> None:
        """Tell the resident, once per conversation, that an identity code was removed."""
        if await self.hub.read(sessions.told_already, conversation_id, messages.text("gateway.hetu_removed")):
            return
        await self.say(conversation_id, system_uttered(messages.text("gateway.hetu_removed")))

    async def _live_turn(self, conversation_id: str, turn: sessions.ResidentTurn) -> None:
        hub = self.hub
        state = turn.live
        assert state is not None and turn.created_at is not None
        if turn.emergency is not None:
            await self.say(conversation_id, emergency_message(turn.emergency))
        desk_message = {
            "conversation_id": conversation_id,
            "id": turn.message_id,
            "sender": "resident",
            "text": turn.text,
            "author": None,
            "created_at": turn.created_at.isoformat(),
            "emergency": turn.emergency,
        }
        if state.status == queue.ACTIVE and state.agent_id is not None:
            rooms = [agent_room(agent_id) for agent_id in (state.agent_id, *turn.watchers)]
            await hub.sio.emit("message", desk_message, room=rooms, namespace=DESK)
        else:
            await hub.sio.emit("message", desk_message, room=team_room(state.team_id), namespace=DESK)
        metrics.LIVE_MESSAGES.labels(direction=metrics.TO_AGENT).inc()
        if turn.emergency is not None:
            await hub.desk_changed(state.team_id)
        if turn.consent is not None:
            services = hub.services
            outcome = await hub.write(
                relay.answer_transfer, services.teams, conversation_id, turn.consent, services.now()
            )
            await hub.apply(outcome, locked=True)

    async def say(self, conversation_id: str, message: dict[str, Any]) -> None:
        """Store a message for the resident and send it (caller holds the conversation's lock)."""
        await self.send_stored(conversation_id, [message])

    async def send_stored(self, conversation_id: str, uttered: list[dict[str, Any]]) -> None:
        """Store messages for the resident, then send them in order (caller holds the lock)."""
        await self.hub.write(record_uttered, conversation_id, uttered, self.hub.services.now())
        for message in uttered:
            await self.hub.sio.emit(
                "bot_uttered", message, room=resident_room(conversation_id), namespace=RESIDENTS
            )

    async def bot_turn(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> None:
        """Send ``text`` to Rasa and relay its replies in order (caller holds the lock)."""
        try:
            replies = await self.hub.bot.send(conversation_id, text, metadata)
            uttered = [message for reply in replies if (message := to_bot_uttered(reply))]
        except BotUnavailable as error:
            logger.warning("bot unavailable for a resident message: %s", error)
            uttered = [system_uttered(messages.text("gateway.bot_unavailable"))]
            level = await run_in_threadpool(self.hub.detect, text)
            if level is not None:
                uttered.insert(0, emergency_message(level))
        if uttered:
            await self.send_stored(conversation_id, uttered)
        if self.hub.identification is not None:  # just queued for a team that requires it: the button
            await self.hub.identification.offer_while_waiting(conversation_id)


def record_uttered(session: Any, conversation_id: str, uttered: list[dict[str, Any]], now: Any) -> None:
    """Store messages sent to the resident, in order."""
    for message in uttered:
        sessions.record_uttered(session, conversation_id, message, now)


def metadata(custom_data: Any) -> dict[str, Any]:
    """Metadata for Rasa: the channel, and the widget's ``customData`` if it is a small JSON object.

    Rasa stores metadata with the message, so identity codes are masked in it too.
    """
    result: dict[str, Any] = {"channel": CHANNEL}
    if isinstance(custom_data, dict):
        with contextlib.suppress(TypeError, ValueError):
            encoded = json.dumps(custom_data, ensure_ascii=False)
            if len(encoded) <= MAX_CUSTOM_DATA_BYTES:
                result["customData"] = json.loads(mask_hetu(encoded))
    return result

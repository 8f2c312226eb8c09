"""The chat gateway: a python-socketio server (ASGI) for residents and the agent desk.

Residents (namespace ``/``) speak the ``rasa-webchat`` protocol:

* ``session_request {session_id}`` → ``session_confirm "<secret>"``. A known
  secret resumes its conversation (and the last messages are sent again with
  ``custom.history``); anything else starts a new conversation with a new secret.
* ``user_uttered {message, customData?}``: authorised by the socket's own
  server-side binding only; the payload's ``session_id`` is ignored.
* ``conversation_reference {reference}`` after ``session_confirm``: the
  reference the page shows ("KS-7F3K-9QXA"), for data subject requests.
* ``session_end``: the resident pressed "Lopeta keskustelu": the conversation
  leaves any queue and its secret resumes nothing any more; the widget then
  asks for a new session.
* ``bot_uttered {text?, quick_replies?, custom?}``: bot replies, agent and
  system messages (``custom.sender``), queue positions (``custom.queue``).

Each resident socket has an inbox drained by one task, so its messages are
handled one at a time in the order they arrived. Everything sent to one
conversation is sent under that conversation's lock, so replies, agent
messages and system messages reach the resident in the order they were stored.

In bot mode a message goes to Rasa's REST channel; while the conversation is
queued or with an agent it goes to the agent side (stored, checked for an
emergency) and the bot stays silent. The agent desk's namespace (``/desk``)
is registered by :mod:`handoff.desk.socket`; the desk calls this hub's
``accept``/``agent_says``/``end``/``propose_transfer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import socketio
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from handoff import queue
from handoff.errors import BotUnavailable
from handoff.gateway import limits, relay, sessions, texts
from handoff.gateway.limits import TokenBucket
from handoff.gateway.rasa import RasaClient, to_bot_uttered
from handoff.gateway.sessions import EmergencyDetector
from handoff.models import Conversation
from handoff.queue import WAITING
from handoff.runtime import Services
from opastin.privacy import mask_hetu
from opastin.safety.net import default_net

logger = logging.getLogger(__name__)

T = TypeVar("T")

RESIDENTS = "/"
DESK = "/desk"
MAX_MESSAGE_CHARS = 2000
MAX_CUSTOM_DATA_BYTES = 2048
INBOX_SIZE = 64
# The bot asks for feedback (feedback_form) when a professional ends the chat.
LIVE_CHAT_ENDED = "/give_feedback"
CHANNEL = "opastin-webchat"


def resident_room(conversation_id: str) -> str:
    """Room of every socket of one resident conversation."""
    return f"resident:{conversation_id}"


def agent_room(agent_id: int) -> str:
    """Room of every desk socket of one agent."""
    return f"agent:{agent_id}"


def team_room(team_id: str) -> str:
    """Room of every desk socket of a team's members."""
    return f"team:{team_id}"


def system_uttered(text: str, **custom: Any) -> dict[str, Any]:
    """A system message for the resident."""
    return {"text": text, "custom": {"sender": "system", **custom}}


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


class ResidentNamespace(socketio.AsyncNamespace):
    """Socket.io events of the resident's widget; handlers only hand events to the hub's inbox."""

    def __init__(self, hub: Gateway) -> None:
        super().__init__(RESIDENTS)
        self.hub = hub

    def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        """A resident connected; nothing is bound until ``session_request``."""
        client = (environ.get("asgi.scope") or {}).get("client") or ("unknown", 0)
        self.hub.resident_connected(sid, str(client[0]))

    def on_session_request(self, sid: str, data: Any = None) -> None:
        """``{session_id}``: resume with a known secret, or start anew."""
        secret = data.get("session_id") if isinstance(data, dict) else None
        self.hub.resident_event(sid, "session", secret)

    def on_session_end(self, sid: str, data: Any = None) -> None:
        """The resident ended the conversation."""
        self.hub.resident_event(sid, "end", None)

    def on_user_uttered(self, sid: str, data: Any = None) -> None:
        """``{message, customData?}`` from the resident."""
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            self.hub.resident_event(sid, "message", data)

    def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """The socket is gone; its conversation stays (it may come back with its secret)."""
        self.hub.resident_disconnected(sid)


class Gateway:
    """The socket.io server and the relay between residents, the bot and agents."""

    def __init__(self, services: Services, bot: RasaClient, detect: EmergencyDetector = detect_level) -> None:
        self.services = services
        self.bot = bot
        self.detect = detect
        self.desk_sockets: Any = None  # the desk's namespace, set by handoff.desk.mount_desk
        settings = services.settings
        options: dict[str, Any] = {}
        if settings.redis_url:
            options["client_manager"] = socketio.AsyncRedisManager(settings.redis_url)
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            cors_allowed_origins=list(settings.allowed_origins) or None,
            max_http_buffer_size=settings.max_body_bytes,
            logger=False,
            engineio_logger=False,
            **options,
        )
        self.sio.register_namespace(ResidentNamespace(self))
        self._residents: dict[str, ResidentSocket] = {}
        self.address_limits = limits.AddressLimits()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._queue_sent: dict[str, tuple[str, int, int | None]] = {}
        self._queue_dirty: set[str] = set()
        self._queue_running: set[str] = set()
        self._agent_sockets: Counter[int] = Counter()
        self._grace: dict[int, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Attach to the loop; load the emergency lexicon; give agents of live chats a grace period.

        After a restart every live chat continues from the database; an agent
        whose desk does not reconnect within the grace period loses their
        chats to the head of the queue. (With several replicas behind Redis
        this is left to disconnects, since another replica may hold the desk.)
        """
        self.services.events.attach(asyncio.get_running_loop(), self.queue_changed)
        await run_in_threadpool(default_net)
        if not self.services.settings.redis_url:
            for agent_id in await self._read(_agents_with_live_chats):
                self._start_grace(agent_id)

    async def stop(self) -> None:
        """Cancel timers and tasks; close the bot client."""
        self.services.events.detach()
        for handle in self._grace.values():
            handle.cancel()
        for task in list(self._tasks):
            task.cancel()
        for resident in self._residents.values():
            if resident.worker is not None:
                resident.worker.cancel()
        await self.sio.shutdown()
        await self.bot.close()

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run ``coroutine`` in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def lock(self, conversation_id: str) -> asyncio.Lock:
        """The lock under which everything for one conversation is stored and sent."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        return lock

    async def _write(self, operation: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with self.services.database.writing() as session:
                return operation(session, *args)

        return await run_in_threadpool(run)

    async def _read(self, operation: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with self.services.database.reading() as session:
                return operation(session, *args)

        return await run_in_threadpool(run)

    # -- residents ------------------------------------------------------------------

    def resident_connected(self, sid: str, address: str = "unknown") -> None:
        """Start the socket's inbox worker."""
        resident = ResidentSocket(sid, address)
        resident.worker = asyncio.get_running_loop().create_task(self._drain(resident))
        self._residents[sid] = resident

    def resident_event(self, sid: str, kind: str, data: Any) -> None:
        """Queue an event of a resident socket, in arrival order; drop floods with a notice."""
        resident = self._residents.get(sid)
        if resident is None:
            return
        if not self._allowed(resident, kind):
            self.spawn(self._to_socket(sid, system_uttered(texts.TOO_FAST)))
            return
        try:
            resident.inbox.put_nowait((kind, data))
        except asyncio.QueueFull:
            self.spawn(self._to_socket(sid, system_uttered(texts.TOO_FAST)))

    def _allowed(self, resident: ResidentSocket, kind: str) -> bool:
        """The socket's and its address's flood limits (new conversations are counted when created)."""
        if kind == "message":
            return resident.bucket.take() and self.address_limits.message(resident.address)
        return resident.session_bucket.take()

    def resident_disconnected(self, sid: str) -> None:
        """Stop the socket's worker."""
        resident = self._residents.pop(sid, None)
        if resident is not None and resident.worker is not None:
            resident.worker.cancel()

    async def _drain(self, resident: ResidentSocket) -> None:
        while True:
            kind, data = await resident.inbox.get()
            try:
                if kind == "session":
                    await self._open_session(resident, data)
                elif kind == "end":
                    await self._end_session(resident)
                else:
                    await self._resident_message(resident, data)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("resident event %s failed", kind)
                await self._to_socket(resident.sid, system_uttered(texts.BOT_UNAVAILABLE))

    async def _to_socket(self, sid: str, message: dict[str, Any]) -> None:
        await self.sio.emit("bot_uttered", message, to=sid, namespace=RESIDENTS)

    async def _open_session(self, resident: ResidentSocket, secret: Any) -> None:
        if not await self._read(sessions.resumable_secret, secret) and not self.address_limits.new_session(
            resident.address
        ):
            await self._to_socket(resident.sid, system_uttered(texts.TOO_MANY_CONVERSATIONS))
            return
        resume_within = timedelta(minutes=self.services.settings.resume_minutes)
        binding = await self._write(sessions.open_session, secret, self.services.now(), resume_within)
        previous = resident.conversation_id
        if previous is not None and previous != binding.conversation_id:
            await self.sio.leave_room(resident.sid, resident_room(previous), namespace=RESIDENTS)
            await self._apply(await self._write(relay.resident_left, previous, self.services.now()))
        resident.conversation_id = binding.conversation_id
        await self.sio.enter_room(resident.sid, resident_room(binding.conversation_id), namespace=RESIDENTS)
        await self.sio.emit("session_confirm", binding.secret, to=resident.sid, namespace=RESIDENTS)
        if binding.reference:
            reference = {"reference": binding.reference}
            await self.sio.emit("conversation_reference", reference, to=resident.sid, namespace=RESIDENTS)
        if not binding.resumed:
            return
        for message in await self._read(sessions.history, binding.conversation_id):
            await self._to_socket(resident.sid, message)
        status = await self._read(_queue_status, self.services, binding.conversation_id)
        if status is not None:
            await self._to_socket(
                resident.sid, _queue_message(status.position, status.queue_length, status.wait)
            )

    async def _end_session(self, resident: ResidentSocket) -> None:
        """End the socket's conversation: out of any queue, its secret revoked, the socket unbound."""
        conversation_id = resident.conversation_id
        if conversation_id is None:
            return
        resident.conversation_id = None
        await self.sio.leave_room(resident.sid, resident_room(conversation_id), namespace=RESIDENTS)
        async with self.lock(conversation_id):
            await self._write(sessions.end_session, conversation_id, self.services.now())
            await self._apply(
                await self._write(relay.resident_left, conversation_id, self.services.now()), locked=True
            )

    async def _resident_message(self, resident: ResidentSocket, data: dict[str, Any]) -> None:
        conversation_id = resident.conversation_id
        if conversation_id is None:
            return
        written: str = data["message"]
        if len(written) > MAX_MESSAGE_CHARS:
            await self._to_socket(
                resident.sid, system_uttered(texts.TOO_LONG.format(limit=MAX_MESSAGE_CHARS))
            )
            return
        text = mask_hetu(written)  # the one masking point: nothing below sees the code
        async with self.lock(conversation_id):
            if text != written:
                await self._tell_hetu_removed(conversation_id)
            turn = await run_in_threadpool(self._take, conversation_id, text)
            if turn.live is None:
                await self._bot_turn(conversation_id, text, _metadata(data.get("customData")))
                return
            await self._live_turn(conversation_id, turn)

    def _take(self, conversation_id: str, text: str) -> sessions.ResidentTurn:
        """Check for an emergency, then store the message (outside and inside the write lock)."""
        level = self.detect(text)
        with self.services.database.writing() as session:
            return sessions.take_resident_message(session, conversation_id, text, self.services.now(), level)

    async def _tell_hetu_removed(self, conversation_id: str) -> None:
        """Tell the resident, once per conversation, that an identity code was removed."""
        if await self._read(sessions.told_already, conversation_id, texts.HETU_REMOVED):
            return
        await self._say(conversation_id, system_uttered(texts.HETU_REMOVED))

    async def _live_turn(self, conversation_id: str, turn: sessions.ResidentTurn) -> None:
        state = turn.live
        assert state is not None and turn.created_at is not None
        if turn.emergency is not None:
            await self._say(conversation_id, _emergency_message(turn.emergency))
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
            await self.sio.emit("message", desk_message, room=agent_room(state.agent_id), namespace=DESK)
        else:
            await self.sio.emit("message", desk_message, room=team_room(state.team_id), namespace=DESK)
        if turn.emergency is not None:
            await self.desk_changed(state.team_id)
        if turn.consent is not None:
            outcome = await self._write(
                relay.answer_transfer, self.services.teams, conversation_id, turn.consent, self.services.now()
            )
            await self._apply(outcome, locked=True)

    async def _say(self, conversation_id: str, message: dict[str, Any]) -> None:
        """Store a message for the resident and send it (caller holds the conversation's lock)."""
        await self._write(_record_uttered, conversation_id, message, self.services.now())
        await self.sio.emit("bot_uttered", message, room=resident_room(conversation_id), namespace=RESIDENTS)

    # -- the bot --------------------------------------------------------------------

    async def _bot_turn(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> None:
        """Send ``text`` to Rasa and relay its replies in order (caller holds the lock)."""
        try:
            replies = await self.bot.send(conversation_id, text, metadata)
            messages = [message for reply in replies if (message := to_bot_uttered(reply))]
        except BotUnavailable as error:
            logger.warning("bot unavailable for a resident message: %s", error)
            messages = [system_uttered(texts.BOT_UNAVAILABLE)]
            level = await run_in_threadpool(self.detect, text)
            if level is not None:
                messages.insert(0, _emergency_message(level))
        if not messages:
            return
        await self._write(_record_many, conversation_id, messages, self.services.now())
        for message in messages:
            await self.sio.emit(
                "bot_uttered", message, room=resident_room(conversation_id), namespace=RESIDENTS
            )

    # -- live chat operations for the desk ----------------------------------------------

    async def accept(self, agent_id: int, team_id: str, conversation_id: str | None) -> Conversation | None:
        """The agent accepts the next or a chosen resident; ``None`` if nobody waits."""
        outcome = await self._write(
            relay.accept, self.services.teams, agent_id, team_id, conversation_id, self.services.now()
        )
        await self._apply(outcome)
        return outcome.conversation

    async def agent_says(self, agent_id: int, conversation_id: str, text: str) -> dict[str, Any]:
        """The agent writes in their live chat; returns the desk's copy of the stored message."""
        async with self.lock(conversation_id):
            posted = await self._write(relay.agent_says, agent_id, conversation_id, text, self.services.now())
            await self._deliver(posted)
        return posted.desk

    async def end(self, agent_id: int, conversation_id: str) -> None:
        """The agent ends the chat; the resident is told and the bot asks for feedback."""
        async with self.lock(conversation_id):
            outcome = await self._write(relay.end, agent_id, conversation_id, self.services.now())
            await self._apply(outcome, locked=True)
            metadata = {"channel": CHANNEL, "live_chat": {"outcome": "ended"}}
            await self._bot_turn(conversation_id, LIVE_CHAT_ENDED, metadata)

    async def propose_transfer(self, agent_id: int, conversation_id: str, team_id: str) -> None:
        """The agent proposes a transfer; the resident is asked for consent."""
        async with self.lock(conversation_id):
            outcome = await self._write(
                relay.propose_transfer,
                self.services.teams,
                agent_id,
                conversation_id,
                team_id,
                self.services.now(),
            )
            await self._apply(outcome, locked=True)

    async def conversations_closed(self, conversation_ids: list[str]) -> None:
        """The team closed while these residents waited (the message is already stored)."""
        for conversation_id in conversation_ids:
            async with self.lock(conversation_id):
                await self._write(
                    _record_uttered, conversation_id, system_uttered(texts.QUEUE_CLOSED), self.services.now()
                )
                await self.sio.emit(
                    "bot_uttered",
                    system_uttered(texts.QUEUE_CLOSED),
                    room=resident_room(conversation_id),
                    namespace=RESIDENTS,
                )

    async def _apply(self, outcome: relay.Outcome, locked: bool = False) -> None:
        """Send an outcome's messages, then refresh the changed queues and the desks."""
        for posted in outcome.posted:
            if locked:
                await self._deliver(posted)
            else:
                async with self.lock(posted.conversation_id):
                    await self._deliver(posted)
        conversation = outcome.conversation
        if conversation is not None:
            event = {"conversation_id": conversation.id, "status": conversation.status}
            for agent_id in {outcome.previous_agent_id, conversation.agent_id} - {None}:
                await self.sio.emit("conversation", event, room=agent_room(agent_id), namespace=DESK)
            await self.desk_changed(conversation.team_id)
        for team_id in outcome.teams_changed:
            self.queue_changed(team_id)

    async def _deliver(self, posted: relay.Posted) -> None:
        if posted.uttered is not None:
            await self.sio.emit(
                "bot_uttered", posted.uttered, room=resident_room(posted.conversation_id), namespace=RESIDENTS
            )
        room = agent_room(posted.agent_id) if posted.agent_id is not None else team_room(posted.team_id)
        await self.sio.emit("message", posted.desk, room=room, namespace=DESK)

    async def desk_changed(self, team_id: str) -> None:
        """Tell the team's desks to refresh their queue and chat lists."""
        await self.sio.emit("changed", {"team": team_id}, room=team_room(team_id), namespace=DESK)

    # -- queue positions ------------------------------------------------------------

    def queue_changed(self, team_id: str) -> None:
        """Someone joined or left ``team_id``'s queue: push positions (coalesced per team)."""
        self._queue_dirty.add(team_id)
        if team_id not in self._queue_running:
            self._queue_running.add(team_id)
            self.spawn(self._push_positions(team_id))

    async def _push_positions(self, team_id: str) -> None:
        try:
            while team_id in self._queue_dirty:
                self._queue_dirty.discard(team_id)
                await self._push_once(team_id)
        finally:
            self._queue_running.discard(team_id)

    async def _push_once(self, team_id: str) -> None:
        team = self.services.teams.get(team_id)
        if team is None:
            return
        waiting = await self._read(queue.waiting_list, team, self.services.now())
        current = {resident.conversation_id for resident in waiting}
        for conversation_id, (sent_team, _, _) in list(self._queue_sent.items()):
            if sent_team == team_id and conversation_id not in current:
                del self._queue_sent[conversation_id]
        for resident in waiting:
            key = (team_id, resident.position, resident.estimated_wait_s)
            if self._queue_sent.get(resident.conversation_id) == key:
                continue
            self._queue_sent[resident.conversation_id] = key
            message = _queue_message(resident.position, len(waiting), resident.estimated_wait_s)
            await self.sio.emit(
                "bot_uttered", message, room=resident_room(resident.conversation_id), namespace=RESIDENTS
            )
        await self.desk_changed(team_id)

    # -- agents' desks and the grace period ---------------------------------------------

    def agent_connected(self, agent_id: int) -> None:
        """A desk socket of the agent connected: cancel a running grace period."""
        self._agent_sockets[agent_id] += 1
        handle = self._grace.pop(agent_id, None)
        if handle is not None:
            handle.cancel()

    def agent_disconnected(self, agent_id: int) -> None:
        """A desk socket closed; when it was the agent's last, the grace period starts."""
        self._agent_sockets[agent_id] -= 1
        if self._agent_sockets[agent_id] <= 0:
            del self._agent_sockets[agent_id]
            self._start_grace(agent_id)

    def _start_grace(self, agent_id: int) -> None:
        if agent_id in self._grace:
            return
        loop = asyncio.get_running_loop()
        self._grace[agent_id] = loop.call_later(
            self.services.settings.agent_grace_s, lambda: self.spawn(self._grace_over(agent_id))
        )

    async def _grace_over(self, agent_id: int) -> None:
        self._grace.pop(agent_id, None)
        if self._agent_sockets.get(agent_id):
            return
        outcome = await self._write(relay.requeue_agent, self.services.teams, agent_id, self.services.now())
        if outcome.posted:
            logger.info("agent %s stayed away: %d chats back to the queue", agent_id, len(outcome.posted))
        await self._apply(outcome)


@dataclass(frozen=True)
class _Position:
    position: int
    queue_length: int
    wait: int | None


def _queue_status(session: Any, services: Services, conversation_id: str) -> _Position | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.status != WAITING:
        return None
    status = queue.queue_status(session, services.teams, conversation_id, services.now())
    if status.position is None:
        return None
    return _Position(status.position, status.queue_length, status.estimated_wait_s)


def _agents_with_live_chats(session: Any) -> list[int]:
    statement = select(Conversation.agent_id).where(
        Conversation.status == queue.ACTIVE, Conversation.agent_id.is_not(None)
    )
    return sorted(set(session.execute(statement).scalars()))


def _record_uttered(session: Any, conversation_id: str, message: dict[str, Any], now: Any) -> None:
    sessions.record_uttered(session, conversation_id, message, now)


def _record_many(session: Any, conversation_id: str, messages: list[dict[str, Any]], now: Any) -> None:
    for message in messages:
        sessions.record_uttered(session, conversation_id, message, now)


def _queue_message(position: int, queue_length: int, wait: int | None) -> dict[str, Any]:
    queue_info = {"position": position, "queue_length": queue_length, "estimated_wait_s": wait}
    return {"custom": {"sender": "system", "queue": queue_info}}


def _emergency_message(level: str) -> dict[str, Any]:
    return system_uttered(texts.EMERGENCY_ADVICE[level], route={"type": "emergency", "target": level})


def _metadata(custom_data: Any) -> dict[str, Any]:
    """Metadata for Rasa: the channel, and the widget's ``customData`` if it is a small JSON object.

    Rasa stores metadata with the message, so identity codes are masked in it too.
    """
    metadata: dict[str, Any] = {"channel": CHANNEL}
    if isinstance(custom_data, dict):
        with contextlib.suppress(TypeError, ValueError):
            encoded = json.dumps(custom_data, ensure_ascii=False)
            if len(encoded) <= MAX_CUSTOM_DATA_BYTES:
                metadata["customData"] = json.loads(mask_hetu(encoded))
    return metadata

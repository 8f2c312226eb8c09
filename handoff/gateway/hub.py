"""The chat gateway: one python-socketio server (ASGI) for residents and the agent desk.

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
* ``typing {typing}`` both ways in a live chat: the resident's or the
  professional's typing state, never text (:mod:`.indicators`).

The hub owns the server, the per-conversation locks and the background
tasks, and runs the desk's live chat operations. The rest lives beside it:
residents' sockets and messages (:mod:`.residents`), queue-position pushes
(:mod:`.positions`), agents' presence and grace periods (:mod:`.presence`),
and the desk's own namespace (``/desk``, :mod:`handoff.desk.socket`), which
calls :meth:`Gateway.accept`, :meth:`Gateway.agent_says`, :meth:`Gateway.end`,
:meth:`Gateway.propose_transfer` and :meth:`Gateway.agent_typing`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import socketio
from starlette.concurrency import run_in_threadpool

from handoff import live, metrics
from handoff.errors import HandoffError
from handoff.gateway import indicators, relay
from handoff.gateway.attachments import ChatAttachments
from handoff.gateway.identification import ChatIdentification
from handoff.gateway.origins import socket_origins
from handoff.gateway.positions import QueuePositions
from handoff.gateway.presence import AgentPresence
from handoff.gateway.pubsub import GapAwareRedisManager
from handoff.gateway.rasa import RasaClient
from handoff.gateway.residents import ResidentNamespace, Residents, detect_level
from handoff.gateway.sessions import EmergencyDetector
from handoff.gateway.wire import (
    CHANNEL,
    DESK,
    RESIDENTS,
    RESYNC,
    agent_room,
    resident_room,
    system_uttered,
    team_room,
)
from handoff.gateway.writer import Writer
from handoff.models import Conversation
from handoff.runtime import Services
from opastin import messages
from opastin.safety.net import default_net

T = TypeVar("T")
AnyOutcome = TypeVar("AnyOutcome", bound=relay.Outcome)

# The bot asks for feedback (feedback_form) when a professional ends the chat.
LIVE_CHAT_ENDED = "/give_feedback"


class Gateway:
    """The socket.io server and the relay between residents, the bot and agents."""

    def __init__(self, services: Services, bot: RasaClient, detect: EmergencyDetector = detect_level) -> None:
        self.services = services
        self.bot = bot
        self.detect = detect
        self.desk_sockets: Any = None  # the desk's namespace, set by handoff.desk.mount_desk
        # Strong identification in the chats, set by handoff.app when OIDC_ISSUER is set.
        self.identification: ChatIdentification | None = None
        # Residents' attachments, set by handoff.app when identification and CLAMD_ADDRESS are set.
        self.attachments: ChatAttachments | None = None
        settings = services.settings
        options: dict[str, Any] = {}
        if settings.redis_url:
            options["client_manager"] = GapAwareRedisManager(settings.redis_url, self._queue_was_away)
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            cors_allowed_origins=socket_origins(settings.allowed_origins),
            max_http_buffer_size=settings.max_body_bytes,
            logger=False,
            engineio_logger=False,
            **options,
        )
        self.residents = Residents(self)
        self.positions = QueuePositions(self)
        self.presence = AgentPresence(self)
        self.sio.register_namespace(ResidentNamespace(self.residents))
        self.writer = Writer(services.database)
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Attach to the loop; load the safety net; give agents of live chats a grace period."""
        self.services.events.attach(asyncio.get_running_loop(), self.queue_changed)
        if self.writer.stopped:  # the app is started again (its lifespan runs once per start)
            self.writer = Writer(self.services.database)
        await run_in_threadpool(default_net)
        await self.presence.start()

    async def stop(self) -> None:
        """Cancel timers and tasks; close the bot client."""
        self.services.events.detach()
        await self.presence.stop()
        for task in list(self._tasks):
            task.cancel()
        self.residents.stop()
        await self.sio.shutdown()
        await self.bot.close()
        await self.writer.stop()

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run ``coroutine`` in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _queue_was_away(self) -> None:
        """Socket.io's Redis queue is back after a gap: this replica's sockets may have missed events."""
        self.spawn(self.resync_sockets())

    async def resync_sockets(self) -> None:
        """Ask every socket of this replica to catch up from the database, as after a reconnect."""
        for namespace in (RESIDENTS, DESK):
            await self.sio.emit(RESYNC, {}, namespace=namespace, ignore_queue=True)

    def lock(self, conversation_id: str) -> asyncio.Lock:
        """The lock under which everything for one conversation is stored and sent."""
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        return lock

    async def write(self, operation: Callable[..., T], *args: Any) -> T:
        """Run ``operation(session, *args)`` in a write transaction of the gateway's writer thread.

        Writes run in the order they are handed in, several in one transaction
        when they arrive together (:mod:`handoff.gateway.writer`).
        """
        return await self.writer.run(operation, *args)

    async def read(self, operation: Callable[..., T], *args: Any) -> T:
        """Run ``operation(session, *args)`` in a read-only session, in a worker thread."""

        def run() -> T:
            with self.services.database.reading() as session:
                return operation(session, *args)

        return await run_in_threadpool(run)

    # -- live chat operations for the desk ----------------------------------------------

    async def accept(self, agent_id: int, team_id: str, conversation_id: str | None) -> Conversation | None:
        """The agent accepts the next or a chosen resident; ``None`` if nobody waits."""
        outcome = await self.write(
            relay.accept, self.services.teams, agent_id, team_id, conversation_id, self.services.now()
        )
        await self.apply(outcome)
        return outcome.conversation

    async def agent_says(self, agent_id: int, conversation_id: str, text: str) -> dict[str, Any]:
        """The agent writes in their live chat; returns the desk's copy of the stored message."""
        async with self.lock(conversation_id):
            posted = await self.write(relay.agent_says, agent_id, conversation_id, text, self.services.now())
            await self._deliver(posted)
        metrics.LIVE_MESSAGES.labels(direction=metrics.TO_RESIDENT).inc()
        return posted.desk

    async def agent_typing(self, agent_id: int, conversation_id: str, typing: bool) -> None:
        """Tell the resident of the agent's live chat that the agent types or stopped; else nothing.

        Only the agent holding the chat (:func:`handoff.live.held_chat`) reaches its
        resident; the state is neither stored nor sent anywhere else.
        """
        try:
            await self.read(live.held_chat, agent_id, conversation_id)
        except HandoffError:
            return
        await self.sio.emit(
            indicators.EVENT,
            indicators.to_resident(typing),
            room=resident_room(conversation_id),
            namespace=RESIDENTS,
        )

    async def end(self, agent_id: int, conversation_id: str) -> None:
        """The agent ends the chat; the resident is told and the bot asks for feedback."""
        async with self.lock(conversation_id):
            outcome = await self.write(relay.end, agent_id, conversation_id, self.services.now())
            await self.apply(outcome, locked=True)
            metadata = {"channel": CHANNEL, "live_chat": {"outcome": "ended"}}
            await self.residents.bot_turn(conversation_id, LIVE_CHAT_ENDED, metadata)

    async def propose_transfer(self, agent_id: int, conversation_id: str, team_id: str) -> None:
        """The agent proposes a transfer; the resident is asked for consent."""
        async with self.lock(conversation_id):
            outcome = await self.write(
                relay.propose_transfer,
                self.services.teams,
                agent_id,
                conversation_id,
                team_id,
                self.services.now(),
            )
            await self.apply(outcome, locked=True)

    async def in_chat_order(
        self, conversation_id: str, operation: Callable[..., AnyOutcome], *args: Any
    ) -> AnyOutcome:
        """Run a write of ``conversation_id`` under its lock and send its outcome in the chat's order."""
        async with self.lock(conversation_id):
            outcome = await self.write(operation, *args)
            await self.apply(outcome, locked=True)
        return outcome

    async def conversations_closed(self, conversation_ids: list[str]) -> None:
        """The team closed while these residents waited: tell each of them."""
        for conversation_id in conversation_ids:
            async with self.lock(conversation_id):
                await self.residents.say(
                    conversation_id, system_uttered(messages.text("gateway.queue_closed"))
                )

    async def apply(self, outcome: relay.Outcome, locked: bool = False) -> None:
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
        rooms = [room, *(agent_room(agent_id) for agent_id in posted.watchers)]
        await self.sio.emit("message", posted.desk, room=rooms if posted.watchers else room, namespace=DESK)

    async def desk_changed(self, team_id: str) -> None:
        """Tell the team's desks to refresh their queue and chat lists."""
        await self.sio.emit("changed", {"team": team_id}, room=team_room(team_id), namespace=DESK)

    def queue_changed(self, team_id: str) -> None:
        """Someone joined or left ``team_id``'s queue: push the waiting residents' positions."""
        self.positions.changed(team_id)

    def agent_connected(self, agent_id: int, socket_id: str) -> None:
        """A desk socket of the agent connected."""
        self.presence.connected(agent_id, socket_id)

    def agent_disconnected(self, agent_id: int, socket_id: str) -> None:
        """A desk socket of the agent closed."""
        self.presence.disconnected(agent_id, socket_id)

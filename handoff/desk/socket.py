"""The desk's socket.io namespace ``/desk``: live updates for logged-in agents.

The handshake is authenticated by the desk session cookie (same origin only,
as for every socket of the gateway). A desk socket joins its agent's room,
its teams' rooms and, if it may enter the common consultation room
(:mod:`handoff.rooms`), that room's; it receives ``message`` (a new message in a chat of
the agent, or of a team queue), ``conversation`` (a chat's status changed),
``changed`` (a team's queue or inbox changed), ``typing``
(``{conversation_id, typing}``: the resident of one of the agent's live chats
types or stopped), and ``room_message`` and ``room_presence`` of the consultation rooms
(:mod:`handoff.desk.rooms`). Actions go through the desk's HTTP forms, which carry the
CSRF token; a desk sends two things on the socket: its own ``typing`` state in a
chat it holds (:mod:`handoff.gateway.indicators`), never text, and ``reply``
(``{conversation_id, text}``, acknowledged with the stored message or an error): the
same write as the reply form, without an HTTP request, a session lookup and a
worker thread for each message (the socket was authenticated when it connected,
and the relay checks the account and the chat in the database for every reply).

A socket lives no longer than its session: logging out drops it at once, and
:meth:`DeskNamespace.revalidate` (run by the service's maintenance task) drops
sockets whose session expired, was ended elsewhere or whose account was
deactivated.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from handoff import rooms
from handoff.desk.auth import DeskUser, cookie_from_environ, load_user, valid_sessions
from handoff.errors import HandoffError, InvalidInput, ServiceUnavailable
from handoff.gateway import indicators
from handoff.gateway.hub import Gateway
from handoff.gateway.limits import TokenBucket
from handoff.gateway.wire import DESK, agent_room, common_room, team_room

logger = logging.getLogger(__name__)

MAX_REPLY_CHARS = 4000
# A desk socket's replies: 20 at once, then 10 a second (a person writes far slower; a runaway
# script is bounded).
REPLIES = (20, 10.0)


class TooManyReplies(HandoffError):
    """A desk socket sent replies faster than its limit."""

    code = "too_many_requests"


def reply_of(data: Any) -> tuple[str, str] | None:
    """``(conversation_id, text)`` of a ``reply`` event, or ``None`` when it is malformed."""
    if not isinstance(data, dict):
        return None
    conversation_id, text = data.get("conversation_id"), data.get("text")
    if not isinstance(conversation_id, str) or not indicators.valid_conversation_id(conversation_id):
        return None
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_REPLY_CHARS:
        return None
    return conversation_id, text.strip()


def _refusal(error: HandoffError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message}}


class DeskNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # python-socketio ships no types
    """Authenticated live updates for agents; a closed desk starts the agent's grace period."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(DESK)
        self.gateway = gateway
        self._sockets: dict[str, tuple[int, str]] = {}  # sid -> (agent id, session token hash)
        self._typing_buckets: dict[str, TokenBucket] = {}  # sid -> its typing events' flood limit
        self._typing_locks: dict[str, asyncio.Lock] = {}  # sid -> one typing state relayed at a time
        self._reply_buckets: dict[str, TokenBucket] = {}  # sid -> its replies' flood limit
        self.typing_gates = indicators.TypingGates(indicators.MAX_GATES)  # (agent id, chat) -> gate

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        """Accept only a valid desk session cookie of an account that works with residents (not a
        manager's) and has no pending password change."""
        user = await run_in_threadpool(self._user, cookie_from_environ(environ))
        if user is None or user.must_change_password or not user.sees_chats:
            raise ConnectionRefusedError("login required")
        await self.save_session(sid, {"agent_id": user.agent_id})
        self._sockets[sid] = (user.agent_id, user.session_hash)
        self._typing_buckets[sid] = TokenBucket(*indicators.DESK_SOCKET_EVENTS)
        self._typing_locks[sid] = asyncio.Lock()
        self._reply_buckets[sid] = TokenBucket(*REPLIES)
        await self.enter_room(sid, agent_room(user.agent_id))
        for team_id in user.teams:
            await self.enter_room(sid, team_room(team_id))
        if rooms.in_common_room(user.role, user.teams):
            await self.enter_room(sid, common_room())
        self.gateway.agent_connected(user.agent_id, sid)

    async def on_typing(self, sid: str, data: Any = None) -> None:
        """``{conversation_id, typing}``: the agent types in a chat, or stopped (never the text).

        Relayed to the resident only if the agent holds that live chat; anything
        else, and what comes faster than the gates allow, is dropped silently.
        """
        known = self._sockets.get(sid)
        parsed = indicators.desk_state(data)
        if known is None or parsed is None:
            return
        conversation_id, typing = parsed
        # A "typing" may name any chat (checked below, in the database): the socket's bucket
        # bounds those checks. A "stopped" passes the gate only after a "typing" passed.
        if typing and not self._typing_buckets[sid].take():
            return
        if not self.typing_gates.allow((known[0], conversation_id), typing):
            return
        # The lock is taken before any await, so a socket's states are relayed in arrival order.
        async with self._typing_locks[sid]:
            await self.gateway.agent_typing(known[0], conversation_id, typing)

    async def on_reply(self, sid: str, data: Any = None) -> dict[str, Any]:
        """``{conversation_id, text}``: the agent writes in a live chat they hold or take part in.

        Acknowledged with ``{message}`` (the desk's copy of the stored message) or
        ``{error: {code, message}}``; what comes faster than the socket's limit is refused.
        """
        known = self._sockets.get(sid)
        parsed = reply_of(data)
        if known is None or parsed is None:
            return _refusal(InvalidInput("a reply is {conversation_id, text} of 1-4000 characters"))
        if not self._reply_buckets[sid].take():
            return _refusal(TooManyReplies("too many replies at once"))
        try:
            message = await self.gateway.agent_says(known[0], *parsed)
        except HandoffError as error:
            return _refusal(error)
        except SQLAlchemyError:  # the database is out of reach: say so at once, not by silence
            logger.exception("an agent's reply could not be stored")
            return _refusal(ServiceUnavailable("the reply could not be stored; send it again"))
        return {"message": message}

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """The desk closed or lost its connection."""
        self._sockets.pop(sid, None)
        self._typing_buckets.pop(sid, None)
        self._typing_locks.pop(sid, None)
        self._reply_buckets.pop(sid, None)
        session = await self.get_session(sid)
        if session and "agent_id" in session:
            self.gateway.agent_disconnected(session["agent_id"], sid)

    async def drop_session(self, session_hash: str) -> None:
        """Disconnect every socket of one desk session (logout)."""
        await self._drop([sid for sid, (_, token) in self._sockets.items() if token == session_hash])

    async def drop_other_sessions(self, agent_id: int, keep_hash: str) -> None:
        """Disconnect the agent's sockets of other sessions (after a password change)."""
        await self._drop(
            [sid for sid, (agent, token) in self._sockets.items() if agent == agent_id and token != keep_hash]
        )

    async def revalidate(self) -> None:
        """Disconnect sockets whose session expired or ended, or whose account was deactivated."""
        if not self._sockets:
            return
        hashes = {token for _, token in self._sockets.values()}
        services = self.gateway.services

        def still_valid() -> set[str]:
            with services.database.reading() as session:
                return valid_sessions(session, hashes, services.now())

        valid = await run_in_threadpool(still_valid)
        await self._drop([sid for sid, (_, token) in self._sockets.items() if token not in valid])

    async def _drop(self, sids: list[str]) -> None:
        for sid in sids:
            await self.disconnect(sid)

    def _user(self, token: str | None) -> DeskUser | None:
        services = self.gateway.services
        with services.database.reading() as session:
            return load_user(session, token, services.now())

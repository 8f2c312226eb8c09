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
CSRF token; the one thing a desk sends on the socket is its own ``typing``
state in a chat it holds (:mod:`handoff.gateway.indicators`), never text.

A socket lives no longer than its session: logging out drops it at once, and
:meth:`DeskNamespace.revalidate` (run by the service's maintenance task) drops
sockets whose session expired, was ended elsewhere or whose account was
deactivated.
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError
from starlette.concurrency import run_in_threadpool

from handoff import rooms
from handoff.desk.auth import DeskUser, cookie_from_environ, load_user, valid_sessions
from handoff.gateway import indicators
from handoff.gateway.hub import Gateway
from handoff.gateway.limits import TokenBucket
from handoff.gateway.wire import DESK, agent_room, common_room, team_room


class DeskNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # python-socketio ships no types
    """Authenticated live updates for agents; a closed desk starts the agent's grace period."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(DESK)
        self.gateway = gateway
        self._sockets: dict[str, tuple[int, str]] = {}  # sid -> (agent id, session token hash)
        self._typing_buckets: dict[str, TokenBucket] = {}  # sid -> its typing events' flood limit
        self._typing_locks: dict[str, asyncio.Lock] = {}  # sid -> one typing state relayed at a time
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
        await self.enter_room(sid, agent_room(user.agent_id))
        for team_id in user.teams:
            await self.enter_room(sid, team_room(team_id))
        if rooms.in_common_room(user.role, user.teams):
            await self.enter_room(sid, common_room())
        self.gateway.agent_connected(user.agent_id)

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

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """The desk closed or lost its connection."""
        self._sockets.pop(sid, None)
        self._typing_buckets.pop(sid, None)
        self._typing_locks.pop(sid, None)
        session = await self.get_session(sid)
        if session and "agent_id" in session:
            self.gateway.agent_disconnected(session["agent_id"])

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

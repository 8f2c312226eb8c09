"""The desk's socket.io namespace ``/desk``: live updates for logged-in agents.

The handshake is authenticated by the desk session cookie (same origin only,
as for every socket of the gateway). A desk socket joins its agent's room
and its teams' rooms; it receives ``message`` (a new message in a chat of
the agent, or of a team queue), ``conversation`` (a chat's status changed)
and ``changed`` (a team's queue or inbox changed). Actions go through the
desk's HTTP forms, which carry the CSRF token.
"""

from __future__ import annotations

from typing import Any

import socketio
from socketio.exceptions import ConnectionRefusedError
from starlette.concurrency import run_in_threadpool

from handoff.desk.auth import DeskUser, cookie_from_environ, load_user
from handoff.gateway.hub import DESK, Gateway, agent_room, team_room


class DeskNamespace(socketio.AsyncNamespace):
    """Authenticated live updates for agents; a closed desk starts the agent's grace period."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(DESK)
        self.gateway = gateway

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        """Accept only a valid desk session cookie."""
        user = await run_in_threadpool(self._user, cookie_from_environ(environ))
        if user is None:
            raise ConnectionRefusedError("login required")
        await self.save_session(sid, {"agent_id": user.agent_id})
        await self.enter_room(sid, agent_room(user.agent_id))
        for team_id in user.teams:
            await self.enter_room(sid, team_room(team_id))
        self.gateway.agent_connected(user.agent_id)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """The desk closed or lost its connection."""
        session = await self.get_session(sid)
        if session and "agent_id" in session:
            self.gateway.agent_disconnected(session["agent_id"])

    def _user(self, token: str | None) -> DeskUser | None:
        services = self.gateway.services
        with services.database.reading() as session:
            return load_user(session, token, services.now())

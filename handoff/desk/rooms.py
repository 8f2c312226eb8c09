"""Consultation rooms in the desk (:mod:`handoff.rooms`): ``/desk/huoneet`` and ``/desk/huoneet/{room}``.

The list shows the rooms the professional may enter (the common room, then their teams'), with
who is present and when the last message came. A room's page shows its latest messages, oldest
first, who is present now and a form to write; it works without scripts (POST and redirect), and
``rooms.js`` posts in place and adds what arrives on the desk socket: ``room_message``
``{room, message: {id, who, at, text}}`` to the room's members only (a team's socket.io room, or
the common one), and ``room_presence`` ``{room}`` when someone marks themselves present or away,
after which the page fetches the presence list (``/desk/huoneet/{room}/paikalla``) again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from handoff import rooms
from handoff.desk import views
from handoff.desk.auth import DeskUser
from handoff.desk.learning import DeskTools
from handoff.gateway.hub import Gateway
from handoff.gateway.wire import DESK, common_room, team_room
from handoff.runtime import Services
from opastin.teams import Teams

PATH = "/huoneet"
MESSAGE_EVENT = "room_message"
PRESENCE_EVENT = "room_presence"


@dataclass(frozen=True)
class PresentRow:
    """A professional present now, as the room page lists them."""

    name: str
    is_me: bool


@dataclass(frozen=True)
class RoomRow:
    """A room in the list: its name, who it is for, how many are present, when the last message came."""

    id: str
    name: str
    audience: str
    present: int
    latest: str


@dataclass(frozen=True)
class RoomPage:
    """A room's page: its latest messages (oldest first) and who is present."""

    id: str
    name: str
    audience: str
    common: bool
    lines: list[views.Line]
    present: list[PresentRow]

    @property
    def more(self) -> bool:
        """Whether older messages than those shown are kept too."""
        return len(self.lines) >= rooms.SHOWN_MESSAGES


def socket_room(room: str) -> str:
    """The desk socket.io room of a consultation room's members."""
    return common_room() if room == rooms.COMMON else team_room(room)


def _name(room: rooms.Room) -> str:
    return views.text("rooms.common") if room.common else views.text("rooms.team_room", team=room.team_name)


def _audience(room: rooms.Room) -> str:
    return views.text("rooms.common_audience" if room.common else "rooms.team_audience")


def _line(line: rooms.RoomLine) -> views.Line:
    return views.Line(line.id, "room", line.author, line.text, views.local_time(line.created_at))


def _present(session: Session, user: DeskUser, room: str) -> list[PresentRow]:
    return [
        PresentRow(row.display_name, row.agent_id == user.agent_id) for row in rooms.present(session, room)
    ]


def _list(session: Session, teams: Teams, user: DeskUser) -> list[RoomRow]:
    found = rooms.rooms_for(views.agent_of(session, user.agent_id), teams)
    latest = rooms.latest_at(session, [room.id for room in found])
    return [
        RoomRow(
            room.id,
            _name(room),
            _audience(room),
            len(rooms.present(session, room.id)),
            views.local_time(latest.get(room.id)),
        )
        for room in found
    ]


def _page(session: Session, teams: Teams, user: DeskUser, room: str, now: datetime) -> RoomPage:
    found = rooms.view(session, teams, views.agent_of(session, user.agent_id), room, now)
    lines = [_line(line) for line in rooms.messages(session, room)]
    return RoomPage(room, _name(found), _audience(found), found.common, lines, _present(session, user, room))


def _presence(session: Session, teams: Teams, user: DeskUser, room: str) -> list[PresentRow]:
    rooms.room_of(teams, views.agent_of(session, user.agent_id), room)
    return _present(session, user, room)


def _write(session: Session, teams: Teams, user: DeskUser, room: str, text: str, now: datetime) -> views.Line:
    agent = views.agent_of(session, user.agent_id)
    return _line(rooms.write(session, teams, agent, room, text, now))


async def presence_changed(gateway: Gateway, team_id: str) -> None:
    """Someone marked themselves present or away in ``team_id``: tell that team's room and the common
    room, whose pages fetch their presence lists again."""
    for room in (team_id, rooms.COMMON):
        await gateway.sio.emit(PRESENCE_EVENT, {"room": room}, room=socket_room(room), namespace=DESK)


def add_room_routes(router: APIRouter, tools: DeskTools, services: Services, gateway: Gateway) -> None:
    """The rooms' list, a room's page, its presence list and writing: under the desk's router."""

    @router.get(PATH, response_class=HTMLResponse)
    @tools.guarded
    async def room_list(request: Request) -> Response:
        user = await tools.require_user(request)
        rows = await tools.read(_list, services.teams, user)
        return tools.page(request, "rooms.html", user=user, rooms=rows)

    @router.get(PATH + "/{room}", response_class=HTMLResponse)
    @tools.guarded
    async def room_page(request: Request, room: str) -> Response:
        user = await tools.require_user(request)
        shown = await tools.write(_page, services.teams, user, room, services.now())
        return tools.page(request, "room.html", user=user, room=shown, max_length=rooms.MAX_MESSAGE_LENGTH)

    @router.get(PATH + "/{room}/paikalla", response_class=HTMLResponse)
    @tools.guarded
    async def room_presence(request: Request, room: str) -> Response:
        user = await tools.require_user(request)
        present = await tools.read(_presence, services.teams, user, room)
        return tools.page(request, "_room_presence.html", user=user, present=present)

    @router.post(PATH + "/{room}/viestit")
    @tools.guarded
    async def write(request: Request, room: str) -> Response:
        user, form = await tools.checked_form(request)
        given = form.get("text")
        text = given if isinstance(given, str) else ""
        line = await tools.write(_write, services.teams, user, room, text, services.now())
        message: dict[str, Any] = {"id": line.id, "who": line.who, "at": line.at, "text": line.text}
        event = {"room": room, "message": message}
        await gateway.sio.emit(MESSAGE_EVENT, event, room=socket_room(room), namespace=DESK)
        return tools.done(request, f"/desk/huoneet/{room}#room-latest", event)

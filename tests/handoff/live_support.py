"""Helpers of the live chat tests: a served app, a fake Rasa, a resident and an agent client.

The resident speaks exactly what the rasa-webchat widget sends (python-socketio's
client); the agent uses the desk's HTTP forms (httpx) and its ``/desk`` socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import httpx
import socketio
import uvicorn

from handoff.app import HandoffApp, create_app
from handoff.db import Database
from handoff.gateway.rasa import RasaClient
from handoff.models import Conversation
from handoff.settings import Settings
from opastin import messages
from tests.handoff.conftest import AUTH, FakeClock, add_agent

if not hasattr(aiohttp, "ClientWSTimeout"):
    # python-engineio's client builds aiohttp.ClientWSTimeout (aiohttp >= 3.10), but Rasa pins
    # aiohttp 3.9, whose ws_connect takes the close timeout as a plain number instead.
    aiohttp.ClientWSTimeout = lambda ws_close=10.0, ws_receive=None: ws_close

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
# How long a socket's namespace may take to connect: python-socketio's default of 1 s is too short
# on a loaded test machine (CI runs the model checks beside the tests).
CONNECT_TIMEOUT_S = 10
PASSWORD = "correct horse battery"


@dataclass
class FakeRasa:
    """Rasa's REST channel in memory: records what it gets, answers ``Botti: <text>``."""

    received: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False
    answer: Callable[[str, str], list[dict[str, Any]]] | None = None
    delay_s: float = 0.0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        """The mock transport's handler."""
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        body = httpx.Response(200, content=request.content).json()
        self.received.append(body)
        await asyncio.sleep(self.delay_s)  # the bot thinking
        sender, text = body["sender"], body["message"]
        replies = (
            self.answer(sender, text) if self.answer else [{"recipient_id": sender, "text": f"Botti: {text}"}]
        )
        return httpx.Response(200, json=replies)

    def client(self) -> httpx.AsyncClient:
        """An httpx client whose requests this fake answers."""
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))

    def senders(self) -> set[str]:
        """Every conversation id Rasa has seen."""
        return {body["sender"] for body in self.received}


@contextlib.asynccontextmanager
async def serve(app: HandoffApp) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port in this event loop; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class Resident:
    """A resident's widget: one socket.io connection, the session secret, received messages."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)
        self.secret: str | None = None
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._confirmed = asyncio.Event()
        self.reference: str | None = None
        self.sio.on("session_confirm", self._on_confirm)
        self.sio.on("conversation_reference", self._on_reference)
        self.sio.on("bot_uttered", self._on_uttered)

    def _on_confirm(self, data: Any) -> None:
        self.secret = data if isinstance(data, str) else data["session_id"]
        self._confirmed.set()

    def _on_reference(self, data: dict[str, Any]) -> None:
        self.reference = data["reference"]

    def _on_uttered(self, data: dict[str, Any]) -> None:
        self.inbox.put_nowait(data)

    async def connect(self, secret: str | None = None) -> str:
        """Connect and request a session (with a stored secret, or none); returns the confirmed secret."""
        await self.sio.connect(
            self.url, socketio_path="socket.io", transports=["websocket"], wait_timeout=CONNECT_TIMEOUT_S
        )
        await self.request_session(secret)
        assert self.secret is not None
        return self.secret

    async def request_session(self, secret: str | None) -> None:
        """Send ``session_request`` as the widget does right after connecting."""
        self._confirmed.clear()
        await self.sio.emit("session_request", {"session_id": secret})
        await asyncio.wait_for(self._confirmed.wait(), 5)

    async def say(
        self, text: str, session_id: str | None = None, custom_data: dict[str, Any] | None = None
    ) -> None:
        """Send a message as the widget does (its ``session_id`` is ignored by the server)."""
        body: dict[str, Any] = {"message": text, "session_id": session_id or self.secret}
        if custom_data is not None:
            body["customData"] = custom_data
        await self.sio.emit("user_uttered", body)

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        """The next ``bot_uttered`` message."""
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5) -> dict[str, Any]:
        """Skip messages until one matches ``predicate``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            message = await self.next(max(0.01, deadline - asyncio.get_running_loop().time()))
            if predicate(message):
                return message

    def drain(self) -> list[dict[str, Any]]:
        """Everything received and not yet read."""
        messages = []
        while not self.inbox.empty():
            messages.append(self.inbox.get_nowait())
        return messages

    async def close(self) -> None:
        """Disconnect."""
        await self.sio.disconnect()


async def eventually(check: Callable[[], bool], timeout: float = 5) -> None:
    """Poll ``check`` until it holds (instead of sleeping a fixed time); fail after ``timeout`` s."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "the condition did not hold in time"
        await asyncio.sleep(0.02)


def sender_of(message: dict[str, Any]) -> str:
    """``bot``, ``agent`` or ``system``."""
    return (message.get("custom") or {}).get("sender", "bot")


class Agent:
    """An agent's desk: HTTP forms with the CSRF token, and the ``/desk`` socket."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.AsyncClient(base_url=url, timeout=10)
        self.csrf = ""
        self.sio: socketio.AsyncClient | None = None
        self.events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        """Log in through the form; keeps the session cookie and the CSRF token."""
        form = await self.http.get("/desk/login")
        token = CSRF_FIELD.search(form.text).group(1)
        response = await self.http.post(
            "/desk/login", data={"username": username, "password": password, "csrf_token": token}
        )
        if response.status_code == 303:  # to the desk, or to the password page first
            desk = await self.http.get(response.headers["location"])
            self.csrf = CSRF_FIELD.search(desk.text).group(1)
        return response

    async def post(self, path: str, **fields: str) -> httpx.Response:
        """POST a desk form asking for JSON."""
        return await self.http.post(
            path, data={"csrf_token": self.csrf, **fields}, headers={"Accept": "application/json"}
        )

    async def present(self, team: str) -> None:
        """Mark present in ``team``."""
        assert (await self.post("/desk/presence", team=team, present="1")).status_code == 200

    async def accept(self, team: str, conversation_id: str | None = None) -> str | None:
        """Accept the next (or a chosen) resident; returns the conversation id."""
        fields = {"team": team} | ({"conversation_id": conversation_id} if conversation_id else {})
        response = await self.post("/desk/accept", **fields)
        assert response.status_code == 200, response.text
        return response.json()["conversation_id"]

    async def reply(self, conversation_id: str, text: str) -> dict[str, Any]:
        """Write to the resident."""
        response = await self.post(f"/desk/conversations/{conversation_id}/messages", text=text)
        assert response.status_code == 200, response.text
        return response.json()["message"]

    async def connect_socket(self) -> None:
        """Open the desk's live connection with the session cookie."""
        self.sio = socketio.AsyncClient(reconnection=False)
        for event in ("message", "changed", "conversation"):
            self.sio.on(event, self._recorder(event), namespace="/desk")
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        await self.sio.connect(
            self.url,
            socketio_path="socket.io",
            transports=["websocket"],
            namespaces=["/desk"],
            headers={"Cookie": cookie},
            wait_timeout=CONNECT_TIMEOUT_S,
        )

    def _recorder(self, event: str) -> Callable[[dict[str, Any]], None]:
        def record(data: dict[str, Any]) -> None:
            self.events.put_nowait((event, data))

        return record

    async def next_message(self, sender: str = "resident", timeout: float = 5) -> dict[str, Any]:
        """The next ``message`` event from ``sender`` (other events and senders are skipped)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = max(0.01, deadline - asyncio.get_running_loop().time())
            event, data = await asyncio.wait_for(self.events.get(), remaining)
            if event == "message" and data["sender"] == sender:
                return data

    async def close(self) -> None:
        """Disconnect and close the HTTP client."""
        if self.sio is not None:
            await self.sio.disconnect()
        await self.http.aclose()


@dataclass
class Live:
    """A served app with its fake Rasa."""

    url: str
    rasa: FakeRasa
    db: Database
    app: HandoffApp

    async def handoff(self, conversation_id: str, team: str = "neuvola") -> httpx.Response:
        """Create a handoff as the action server does."""
        body = {
            "conversation_id": conversation_id,
            "team": team,
            "summary": "Kysyy lapsen rokotuksista.",
            "transcript": [{"sender": "resident", "text": "lapsen rokotukset neuvolassa"}],
        }
        async with httpx.AsyncClient(base_url=self.url) as client:
            return await client.post("/api/service/handoffs", json=body, headers=AUTH)

    def conversation(self, conversation_id: str) -> Conversation:
        with self.db.reading() as session:
            return session.get(Conversation, conversation_id)


def build(settings: Settings, clock: FakeClock, rasa: FakeRasa, grace_s: float = 0.3) -> HandoffApp:
    bot = RasaClient("http://rasa.test", client=rasa.client())
    return create_app(replace(settings, agent_grace_s=grace_s), clock, bot=bot)


async def conversation_of(resident: Resident, live: Live) -> str:
    """The resident's server-side conversation id, learnt the way only the bot side can."""
    await resident.say("hei")
    await resident.until(lambda message: message.get("text") == "Botti: hei")
    return live.rasa.received[-1]["sender"]


async def live_chat(live: Live, resident: Resident, team: str = "neuvola") -> tuple[str, Agent]:
    """Queue the resident, log an agent in and let them accept."""
    add_agent(live.db, "maija", [team], present=False)
    conversation_id = await conversation_of(resident, live)
    agent = Agent(live.url)
    assert (await agent.login("maija")).status_code == 303
    await agent.present(team)
    assert (await live.handoff(conversation_id, team)).status_code == 201
    await agent.connect_socket()
    assert await agent.accept(team) == conversation_id
    await resident.until(
        lambda message: message.get("text") == messages.text("gateway.agent_joined", name="maija")
    )
    return conversation_id, agent

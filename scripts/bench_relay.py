"""Benchmark the live chat relay: N concurrent resident↔agent chats, M messages each way.

Starts ``python -m handoff serve`` on a free loopback port with a temporary
SQLite database (or ``--database-url``) and a generated teams file in which
neuvola is open around the clock; connects N residents over socket.io (as the
webchat widget does), queues them through the service API, lets agents accept
them (``--chats-per-agent`` each) and then, in every chat at once, sends M
messages from the resident and M from the agent (desk HTTP form), one every
``--interval-ms``. Reports the relay latency (send → arrival at the other
side) p50/p95/max per direction, and the number of lost and reordered
messages, which must be 0.

Usage: .venv/bin/python scripts/bench_relay.py [--chats 50] [--messages 20]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import socketio
import yaml
from sqlalchemy import create_engine, text

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from devtools.stack import always_open_teams, handoff_server  # noqa: E402
from handoff import agents as accounts  # noqa: E402
from handoff.db import Database, migrate  # noqa: E402
from handoff.gateway.sessions import hash_secret  # noqa: E402
from opastin.processes import free_port  # noqa: E402

if not hasattr(aiohttp, "ClientWSTimeout"):
    # python-engineio's client builds aiohttp.ClientWSTimeout (aiohttp >= 3.10); Rasa pins aiohttp 3.9,
    # whose ws_connect takes the close timeout as a number.
    aiohttp.ClientWSTimeout = lambda ws_close=10.0, ws_receive=None: ws_close

TEAM = "neuvola"
TOKEN = "bench-relay-token-0123456789"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench relay password"


@dataclass
class Chat:
    """One resident↔agent chat and what each side sent and received."""

    index: int
    resident: socketio.AsyncClient
    secret: str = ""
    conversation_id: str = ""
    sent_at: dict[str, float] = field(default_factory=dict)
    to_agent: list[str] = field(default_factory=list)
    to_resident: list[str] = field(default_factory=list)


@dataclass
class Desk:
    """An agent: an HTTP client with the session cookie and CSRF token, and a desk socket."""

    http: httpx.AsyncClient
    csrf: str
    socket: socketio.AsyncClient


def prepare(database_url: str, teams_file: Path, agents: int, chats_per_agent: int) -> None:
    """Open every team around the clock, allow ``chats_per_agent`` each, migrate, create the agents."""
    always_open_teams(teams_file)
    document = yaml.safe_load(teams_file.read_text(encoding="utf-8"))
    for team in document["teams"].values():
        team["max_chats_per_agent"] = chats_per_agent
    teams_file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    migrate(database_url)
    database = Database(database_url)
    try:
        with database.writing() as session:
            for number in range(agents):
                accounts.create_agent(session, f"agent{number}", PASSWORD, datetime.now(UTC), team_ids=[TEAM])
    finally:
        database.dispose()


async def connect_resident(base: str, chat: Chat) -> None:
    """Connect like the widget and get a session secret."""
    confirmed = asyncio.Event()

    def on_confirm(secret: str) -> None:
        chat.secret = secret
        confirmed.set()

    def on_uttered(message: dict) -> None:
        body = message.get("text") or ""
        if body.startswith("a:"):
            chat.to_resident.append(body)
            chat.sent_at[body] = time.monotonic() - chat.sent_at[body]

    chat.resident.on("session_confirm", on_confirm)
    chat.resident.on("bot_uttered", on_uttered)
    await chat.resident.connect(base, socketio_path="socket.io", transports=["websocket"])
    await chat.resident.emit("session_request", {"session_id": None})
    await asyncio.wait_for(confirmed.wait(), 10)


async def login(base: str, number: int, chats: dict[str, Chat]) -> Desk:
    """Log an agent in, mark them present and open their desk socket."""
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout, so that a request never
    # races the server closing its connection.
    http = httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(keepalive_expiry=2))
    token = CSRF_FIELD.search((await http.get("/desk/login")).text).group(1)
    await http.post(
        "/desk/login", data={"username": f"agent{number}", "password": PASSWORD, "csrf_token": token}
    )
    csrf = CSRF_FIELD.search((await http.get("/desk")).text).group(1)
    await http.post("/desk/presence", data={"csrf_token": csrf, "team": TEAM, "present": "1"})
    desk = socketio.AsyncClient(reconnection=False)

    def on_message(message: dict) -> None:
        chat = chats.get(message["conversation_id"])
        body = message["text"]
        if chat is not None and message["sender"] == "resident" and body.startswith("r:"):
            chat.to_agent.append(body)
            chat.sent_at[body] = time.monotonic() - chat.sent_at[body]

    desk.on("message", on_message, namespace="/desk")
    cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    await desk.connect(
        base,
        socketio_path="socket.io",
        transports=["websocket"],
        namespaces=["/desk"],
        headers={"Cookie": cookie},
    )
    return Desk(http, csrf, desk)


def conversation_ids(database_url: str, chats: list[Chat]) -> None:
    """Look up each session's server-side conversation id (what the bot's action would hand off)."""
    engine = create_engine(database_url, future=True)
    with engine.connect() as connection:
        for chat in chats:
            chat.conversation_id = connection.execute(
                text("SELECT conversation_id FROM resident_sessions WHERE secret_hash = :hash"),
                {"hash": hash_secret(chat.secret)},
            ).scalar_one()
    engine.dispose()


async def resident_sends(chat: Chat, messages: int, interval_s: float) -> None:
    """The resident writes ``messages`` numbered messages."""
    for number in range(messages):
        body = f"r:{chat.index}:{number}"
        chat.sent_at[body] = time.monotonic()
        await chat.resident.emit("user_uttered", {"message": body, "session_id": chat.secret})
        await asyncio.sleep(interval_s)


async def agent_sends(desk: Desk, chat: Chat, messages: int, interval_s: float) -> None:
    """The agent answers with ``messages`` numbered messages through the desk form."""
    for number in range(messages):
        body = f"a:{chat.index}:{number}"
        chat.sent_at[body] = time.monotonic()
        response = await desk.http.post(
            f"/desk/conversations/{chat.conversation_id}/messages",
            data={"csrf_token": desk.csrf, "text": body},
            headers={"Accept": "application/json"},
        )
        response.raise_for_status()
        await asyncio.sleep(interval_s)


def problems(received: list[str], prefix: str, chat: Chat, messages: int) -> tuple[int, int]:
    """(lost, reordered) of one direction of one chat."""
    expected = [f"{prefix}:{chat.index}:{number}" for number in range(messages)]
    lost = len(set(expected) - set(received))
    order = [expected.index(body) for body in received if body in expected]
    reordered = sum(1 for before, after in zip(order, order[1:], strict=False) if after < before)
    return lost, reordered


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` (0–1) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def run(base: str, database_url: str, args: argparse.Namespace) -> int:
    chats = [Chat(index, socketio.AsyncClient(reconnection=False)) for index in range(args.chats)]
    await asyncio.gather(*(connect_resident(base, chat) for chat in chats))
    conversation_ids(database_url, chats)
    by_id = {chat.conversation_id: chat for chat in chats}
    agents = (args.chats + args.chats_per_agent - 1) // args.chats_per_agent
    desks = list(await asyncio.gather(*(login(base, number, by_id) for number in range(agents))))
    try:
        return await relay(base, chats, desks, args)
    finally:
        await close(chats, desks)


async def relay(base: str, chats: list[Chat], desks: list[Desk], args: argparse.Namespace) -> int:
    """Queue every resident, let the agents accept, then send in every chat at once."""
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        for chat in chats:
            body = {
                "conversation_id": chat.conversation_id,
                "team": TEAM,
                "summary": "bench",
                "transcript": [],
            }
            (await api.post("/api/service/handoffs", json=body)).raise_for_status()
    holder: dict[str, Desk] = {}
    for _number, desk in enumerate(desks):
        for _ in range(args.chats_per_agent):
            response = await desk.http.post(
                "/desk/accept",
                data={"csrf_token": desk.csrf, "team": TEAM},
                headers={"Accept": "application/json"},
            )
            conversation_id = response.json().get("conversation_id")
            if conversation_id:
                holder[conversation_id] = desk
    assert len(holder) == args.chats, f"only {len(holder)} of {args.chats} chats were accepted"
    await asyncio.sleep(0.5)
    interval = args.interval_ms / 1000
    started = time.monotonic()
    await asyncio.gather(
        *(resident_sends(chat, args.messages, interval) for chat in chats),
        *(agent_sends(holder[chat.conversation_id], chat, args.messages, interval) for chat in chats),
    )
    deadline = time.monotonic() + args.settle_s
    expected = 2 * args.messages * args.chats
    while time.monotonic() < deadline:
        if sum(len(chat.to_agent) + len(chat.to_resident) for chat in chats) >= expected:
            break
        await asyncio.sleep(0.05)
    return report(chats, args, time.monotonic() - started)


def report(chats: list[Chat], args: argparse.Namespace, wall: float) -> int:
    lost = reordered = 0
    latencies = {"resident → agent": [], "agent → resident": []}
    for chat in chats:
        directions = ((chat.to_agent, "r", "resident → agent"), (chat.to_resident, "a", "agent → resident"))
        for received, prefix, name in directions:
            chat_lost, chat_reordered = problems(received, prefix, chat, args.messages)
            lost, reordered = lost + chat_lost, reordered + chat_reordered
            latencies[name] += [chat.sent_at[body] * 1000 for body in received]
    total = 2 * args.chats * args.messages
    print(f"{args.chats} chats × {args.messages} messages each way = {total} messages in {wall:.1f} s")
    for name, values in latencies.items():
        if values:
            print(
                f"  {name}: p50 {percentile(values, 0.5):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
                f"max {max(values):.1f} ms, mean {statistics.mean(values):.1f} ms ({len(values)} messages)"
            )
    print(f"  lost: {lost}, reordered: {reordered}")
    return 0 if lost == 0 and reordered == 0 else 1


async def close(chats: list[Chat], desks: list[Desk]) -> None:
    """Disconnect every client."""
    for chat in chats:
        await chat.resident.disconnect()
    for desk in desks:
        await desk.socket.disconnect()
        await desk.http.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument(
        "--messages", type=int, default=20, help="messages each way per chat (≤ 20: the burst limit)"
    )
    parser.add_argument("--chats-per-agent", type=int, default=5)
    parser.add_argument(
        "--interval-ms", type=float, default=1000, help="pause between one side's messages in a chat"
    )
    parser.add_argument("--settle-s", type=float, default=30, help="how long to wait for the last messages")
    parser.add_argument("--database-url", help="an empty database instead of a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="opastin-relay-") as tmp:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'handoff.db'}"
        teams_file = Path(tmp) / "teams.yml"
        agents = (args.chats + args.chats_per_agent - 1) // args.chats_per_agent
        prepare(database_url, teams_file, agents, args.chats_per_agent)
        port = free_port()
        env = {
            "DATABASE_URL": database_url,
            "HANDOFF_TEAMS_FILE": str(teams_file),
            "HANDOFF_VAR_DIR": tmp,
            "HANDOFF_API_TOKEN": TOKEN,
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
        }
        with handoff_server(env, port) as (base, _server):
            return asyncio.run(run(base, database_url, args))


if __name__ == "__main__":
    sys.exit(main())

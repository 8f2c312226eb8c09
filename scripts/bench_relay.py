"""Benchmark the live chat relay: N concurrent resident↔agent chats, M messages each way.

Starts ``python -m handoff serve`` on a free loopback port with a temporary
SQLite database (or ``--database-url``) and a generated teams file in which
neuvola is open around the clock; connects N residents over socket.io (as the
webchat widget does), queues them through the service API, lets agents accept
them (``--chats-per-agent`` each) and then, in every chat at once, sends M
messages from the resident and M from the agent (as that checkout's desk sends them: over the
desk socket's ``reply`` event where the service has it, else the desk's HTTP form), one every
``--interval-ms``: all chats in step, so that every interval starts with a
burst of 2N messages (``--spread`` starts them evenly over the interval
instead). Reports the relay latency (send → arrival at the other side)
p50/p95/max per direction, the service's CPU time per message (from /proc,
the sending phase only), and the number of lost and reordered messages,
which must be 0.

Each resident connects from an address of its own on the loopback network
(127.0.0.2, 127.0.0.3, …), as residents do from their own machines: the
gateway's per-address flood limits (handoff/gateway/limits.py) would otherwise
refuse the 31st conversation and every message beyond 10 a second.

``--compare CHECKOUT`` measures another checkout of the project (e.g. a
``git worktree`` of the previous commit) side by side with this one: the two
services run one after the other, ``--rounds`` times each in alternating
order (ABBA…), on the same machine with the same clients, each time on a
fresh database (migrated and given its agents by this checkout's code, so
the two must share the schema); then the medians of each figure are printed
for both. On a noisy machine only such interleaved runs compare fairly.

Usage: .venv/bin/python scripts/bench_relay.py [--chats 50] [--messages 20]
       .venv/bin/python scripts/bench_relay.py --compare /tmp/relay-old --rounds 5 [--spread]
       scripts/with_postgres.sh sh -c '.venv/bin/python scripts/bench_relay.py --compare /tmp/relay-old \\
           --rounds 5 --database-url "$TEST_DATABASE_URL"'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import httpx
import socketio
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from devtools.stack import always_open_teams, child_environment  # noqa: E402
from handoff import agents as accounts  # noqa: E402
from handoff.db import Database, migrate  # noqa: E402
from handoff.gateway.sessions import hash_secret  # noqa: E402
from opastin.processes import free_port, stop_processes, wait_until_answering  # noqa: E402

if not hasattr(aiohttp, "ClientWSTimeout"):
    # python-engineio's client builds aiohttp.ClientWSTimeout (aiohttp >= 3.10); Rasa pins aiohttp 3.9,
    # whose ws_connect takes the close timeout as a number.
    aiohttp.ClientWSTimeout = lambda ws_close=10.0, ws_receive=None: ws_close

TEAM = "neuvola"
TOKEN = "bench-relay-token-0123456789"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "bench relay password"
TO_AGENT = "resident → agent"
TO_RESIDENT = "agent → resident"
DIRECTIONS = (TO_AGENT, TO_RESIDENT)


@dataclass
class Chat:
    """One resident↔agent chat and what each side sent and received."""

    index: int
    resident: socketio.AsyncClient
    http: aiohttp.ClientSession
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
    replies_over_socket: bool = False


@dataclass
class Result:
    """One run: latencies (ms) per direction, lost and reordered messages, seconds it took, and the
    service's CPU time per message sent (ms; ``None`` where /proc cannot tell)."""

    latencies: dict[str, list[float]]
    lost: int
    reordered: int
    wall: float
    cpu_ms: float | None = None


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) process ``pid`` has used so far; ``None`` without Linux's /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_address(index: int) -> str:
    """The loopback address resident ``index`` connects from: 127.0.0.2, 127.0.0.3, …"""
    return f"127.0.{index // 250}.{2 + index % 250}"


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


async def login(base: str, number: int, chats: dict[str, Chat], over_socket: bool) -> Desk:
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
    return Desk(http, csrf, desk, over_socket)


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


async def resident_sends(chat: Chat, messages: int, interval_s: float, delay_s: float = 0) -> None:
    """The resident writes ``messages`` numbered messages, the first after ``delay_s``."""
    await asyncio.sleep(delay_s)
    for number in range(messages):
        body = f"r:{chat.index}:{number}"
        chat.sent_at[body] = time.monotonic()
        await chat.resident.emit("user_uttered", {"message": body, "session_id": chat.secret})
        await asyncio.sleep(interval_s)


async def agent_sends(desk: Desk, chat: Chat, messages: int, interval_s: float, delay_s: float = 0) -> None:
    """The agent answers with ``messages`` numbered messages as the desk sends them, the first after
    ``delay_s``."""
    await asyncio.sleep(delay_s)
    for number in range(messages):
        body = f"a:{chat.index}:{number}"
        chat.sent_at[body] = time.monotonic()
        if desk.replies_over_socket:
            answer = await desk.socket.call(
                "reply",
                {"conversation_id": chat.conversation_id, "text": body},
                namespace="/desk",
                timeout=60,
            )
            if "message" not in answer:
                raise RuntimeError(f"the reply was refused: {answer}")
        else:
            response = await desk.http.post(
                f"/desk/conversations/{chat.conversation_id}/messages",
                data={"csrf_token": desk.csrf, "text": body},
                headers={"Accept": "application/json"},
            )
            response.raise_for_status()
        await asyncio.sleep(interval_s)


def replies_over_socket(checkout: Path) -> bool:
    """Whether ``checkout``'s desk sends replies over its socket (its service has the ``reply`` event)."""
    return "async def on_reply(" in (checkout / "handoff" / "desk" / "socket.py").read_text()


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


def new_chat(index: int) -> Chat:
    """A resident client whose connections come from :func:`resident_address` ``(index)``."""
    connector = aiohttp.TCPConnector(local_addr=(resident_address(index), 0))
    http = aiohttp.ClientSession(connector=connector)
    return Chat(index, socketio.AsyncClient(reconnection=False, http_session=http), http)


async def run(base: str, database_url: str, args: argparse.Namespace, pid: int) -> Result:
    chats = [new_chat(index) for index in range(args.chats)]
    desks: list[Desk] = []
    try:
        await asyncio.gather(*(connect_resident(base, chat) for chat in chats))
        conversation_ids(database_url, chats)
        by_id = {chat.conversation_id: chat for chat in chats}
        agents = (args.chats + args.chats_per_agent - 1) // args.chats_per_agent
        desks = list(
            await asyncio.gather(
                *(login(base, number, by_id, args.replies_over_socket) for number in range(agents))
            )
        )
        return await relay(base, chats, desks, args, pid)
    finally:
        await close(chats, desks)


async def relay(
    base: str, chats: list[Chat], desks: list[Desk], args: argparse.Namespace, pid: int
) -> Result:
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
    started, cpu_before = time.monotonic(), cpu_seconds(pid)
    await asyncio.gather(
        *(resident_sends(chat, args.messages, interval, offset(chat, 0, args)) for chat in chats),
        *(
            agent_sends(holder[chat.conversation_id], chat, args.messages, interval, offset(chat, 0.5, args))
            for chat in chats
        ),
    )
    deadline = time.monotonic() + args.settle_s
    expected = 2 * args.messages * args.chats
    while time.monotonic() < deadline:
        if sum(len(chat.to_agent) + len(chat.to_resident) for chat in chats) >= expected:
            break
        await asyncio.sleep(0.05)
    result = tally(chats, args, time.monotonic() - started)
    cpu_after = cpu_seconds(pid)
    if cpu_before is not None and cpu_after is not None:
        result.cpu_ms = (cpu_after - cpu_before) * 1000 / expected
    return result


def offset(chat: Chat, half: float, args: argparse.Namespace) -> float:
    """When a chat's side starts (s): at once, or with ``--spread`` evenly over one interval (the
    resident of chat i at i/N of it, the agent half a step later)."""
    if not args.spread:
        return 0.0
    return (chat.index + half) / args.chats * args.interval_ms / 1000


def tally(chats: list[Chat], args: argparse.Namespace, wall: float) -> Result:
    lost = reordered = 0
    latencies: dict[str, list[float]] = {name: [] for name in DIRECTIONS}
    for chat in chats:
        directions = ((chat.to_agent, "r", TO_AGENT), (chat.to_resident, "a", TO_RESIDENT))
        for received, prefix, name in directions:
            chat_lost, chat_reordered = problems(received, prefix, chat, args.messages)
            lost, reordered = lost + chat_lost, reordered + chat_reordered
            latencies[name] += [chat.sent_at[body] * 1000 for body in received]
    return Result(latencies, lost, reordered, wall)


def report(result: Result, args: argparse.Namespace) -> None:
    total = 2 * args.chats * args.messages
    print(f"{args.chats} chats × {args.messages} messages each way = {total} messages in {result.wall:.1f} s")
    for name, values in result.latencies.items():
        if values:
            print(
                f"  {name}: p50 {percentile(values, 0.5):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
                f"max {max(values):.1f} ms, mean {statistics.mean(values):.1f} ms ({len(values)} messages)"
            )
    if result.cpu_ms is not None:
        print(f"  service CPU: {result.cpu_ms:.2f} ms per message")
    print(f"  lost: {result.lost}, reordered: {result.reordered}")


async def close(chats: list[Chat], desks: list[Desk]) -> None:
    """Disconnect every client."""
    for chat in chats:
        await chat.resident.disconnect()
        await chat.http.close()
    for desk in desks:
        await desk.socket.disconnect()
        await desk.http.aclose()


@contextlib.contextmanager
def service(checkout: Path, env: dict[str, str], port: int) -> Iterator[tuple[str, int]]:
    """Run ``python -m handoff serve`` of ``checkout`` on ``port``; yield its URL and pid; stop it."""
    command = [sys.executable, "-m", "handoff", "serve", "--port", str(port), "--log-level", "warning"]
    environment = child_environment(env)
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))
    server = subprocess.Popen(command, cwd=checkout, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{url}/healthz", [server], timeout_s=60)
        yield url, server.pid
    finally:
        stop_processes([server])


@contextlib.contextmanager
def fresh_database(given: str | None, tmp: Path, name: str) -> Iterator[str]:
    """A new empty database for one run: a SQLite file in ``tmp``, or a new PostgreSQL database
    beside ``given`` (created and dropped here)."""
    if given is None:
        yield f"sqlite:///{tmp / 'handoff.db'}"
        return
    url = make_url(given)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("--rounds and --compare take a PostgreSQL --database-url (or none: SQLite)")
    database = f"{url.database}_{name}"
    admin = create_engine(url, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{database}"')
        try:
            yield url.set(database=database).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        admin.dispose()


def run_once(checkout: Path, database_url: str, tmp: Path, args: argparse.Namespace) -> Result:
    """One run of ``checkout``'s service on ``database_url`` (an empty database), its files in ``tmp``."""
    teams_file = tmp / "teams.yml"
    agents = (args.chats + args.chats_per_agent - 1) // args.chats_per_agent
    prepare(database_url, teams_file, agents, args.chats_per_agent)
    env = {
        "DATABASE_URL": database_url,
        "HANDOFF_TEAMS_FILE": str(teams_file),
        "HANDOFF_VAR_DIR": str(tmp),
        "HANDOFF_API_TOKEN": TOKEN,
        "RASA_URL": f"http://127.0.0.1:{free_port()}",
    }
    for_checkout = argparse.Namespace(**vars(args), replies_over_socket=replies_over_socket(checkout))
    with service(checkout, env, free_port()) as (base, pid):
        return asyncio.run(run(base, database_url, for_checkout, pid))


def fresh_run(checkout: Path, database_url: str | None, name: str, args: argparse.Namespace) -> Result:
    """One run of ``checkout``'s service on a new database (named after ``name`` on PostgreSQL)."""
    with tempfile.TemporaryDirectory(prefix="opastin-relay-") as tmp_name:
        tmp = Path(tmp_name)
        with fresh_database(database_url, tmp, name) as url:
            return run_once(checkout, url, tmp, args)


def figures(result: Result) -> list[float]:
    """p50, p95, max of each direction (ms), the service's CPU ms per message, lost and reordered."""
    values: list[float] = []
    for name in DIRECTIONS:
        latencies = result.latencies[name] or [float("nan")]
        values += [percentile(latencies, 0.5), percentile(latencies, 0.95), max(latencies)]
    cpu = float("nan") if result.cpu_ms is None else result.cpu_ms
    return [*values, cpu, result.lost, result.reordered]


COLUMNS = ("r→a p50", "r→a p95", "r→a max", "a→r p50", "a→r p95", "a→r max", "cpu/msg", "lost", "reord.")
MEASURES = 7  # the columns before lost and reordered, whose medians are printed


def line(label: str, values: list[float]) -> str:
    return (
        f"{label:<44}"
        + "".join(f"{value:>9.1f}" for value in values[:6])
        + f"{values[6]:>9.2f}"
        + "".join(f"{value:>8.0f}" for value in values[MEASURES:])
    )


def compare(args: argparse.Namespace) -> int:
    """Run this checkout and ``args.compare`` alternately; print every run and the medians."""
    checkouts = {"this": PROJECT_ROOT, "other": Path(args.compare).resolve()}
    runs: dict[str, list[list[float]]] = {"this": [], "other": []}
    header = f"{'run (ms)':<44}" + "".join(f"{column:>9}" for column in COLUMNS[:MEASURES])
    header += "".join(f"{column:>8}" for column in COLUMNS[MEASURES:])
    print(header)
    for round_number in range(args.rounds):
        order = ("other", "this") if round_number % 2 == 0 else ("this", "other")
        for which in order:
            result = fresh_run(checkouts[which], args.database_url, f"r{round_number}{which}", args)
            runs[which].append(figures(result))
            print(line(f"{round_number + 1} {which}: {checkouts[which]}", runs[which][-1]), flush=True)
    print(f"medians of {args.rounds} runs each (lost and reordered: totals)")
    for which in ("other", "this"):
        columns = list(zip(*runs[which], strict=True))
        medians = [statistics.median(column) for column in columns[:MEASURES]]
        totals = [sum(column) for column in columns[MEASURES:]]
        print(line(f"{which}: {checkouts[which]}", [*medians, *totals]))
    failed = any(any(values[MEASURES:]) for which in runs for values in runs[which])
    return 1 if failed else 0


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
    parser.add_argument(
        "--spread",
        action="store_true",
        help="start the chats' senders evenly over one interval instead of all at once",
    )
    parser.add_argument(
        "--database-url",
        help="an empty database instead of a temporary SQLite file; with --rounds or --compare a "
        "PostgreSQL server's database, beside which a new database is created for each run",
    )
    parser.add_argument("--compare", metavar="CHECKOUT", help="another checkout to measure side by side")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each checkout (alternating)")
    args = parser.parse_args()
    if args.compare or args.rounds > 1:
        if not args.compare:
            args.compare = str(PROJECT_ROOT)
        return compare(args)
    with tempfile.TemporaryDirectory(prefix="opastin-relay-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'handoff.db'}"
        result = run_once(PROJECT_ROOT, url, Path(tmp), args)
    report(result, args)
    return 0 if result.lost == 0 and result.reordered == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

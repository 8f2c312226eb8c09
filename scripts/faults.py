"""The fault suite of issue 19: one fault at a time in a running cluster while residents and agents chat.

Starts ``scripts/cluster.py`` on twelve free ports in a temporary folder (or, with
``--attach STATE_DIR --base-port N``, uses a running one, started with the environment of
:func:`cluster_environment`: an always-open team catalogue and this script's API token),
then, through HAProxy's front port only:

* R residents chat with the bot (``--residents``, default 20), a message every 2–5 s;
* L residents are in live chats with professionals (``--live``, default 10), each agent
  answering in its chats every 2–5 s over the desk socket, and Q more wait in the queue
  (``--queued``, default 2);

and, with that workload running, injects one fault at a time, each followed by a
recovery period: SIGKILL to handoff-1, rasa-1 and actions-1, SIGKILL to Redis, SIGTERM
to PostgreSQL's postmaster (SIGINT, a fast shutdown, when the smart one waits for the
pooled connections for more than 5 s). The launcher starts each one again. ``--short``
(``make test``): handoff-1 and rasa-1 only, fewer clients, about two and a half minutes.

What the sender saw as sent:

* a resident's message to the bot: a bot reply came back (before the next message);
* a resident's message in a live chat or the queue: the service acknowledged the
  socket.io event (the widget asks for no acknowledgement; the acknowledgement says the
  service process received it, which is as much as the resident's screen can show);
* an agent's reply: the desk socket's ``reply`` acknowledgement with the stored message.

Lost: seen as sent but not stored (Rasa's ``events`` for the bot, the service's
``messages`` for live chats), or stored but never shown on the other side (the resident:
received live or in the history replayed on resume; the agent: received live, or the desk
socket connected again afterwards or the service asked it to catch up, when the desk reloads the
conversation). Duplicated:
stored twice, or received live twice by the same client. Reordered: an adjacent pair
received or stored in the opposite order of sending. Without service: from the fault
until each client's first message sent after it completed its round trip (a bot reply;
arrival at the other side); the worst client per side. Intact afterwards: every live chat
still active with its agent (or requeued), every queued resident still queued in the same
order with one open entry, and every resident's session resumed (never a new conversation).

The table is printed, the report written as JSON (``--report``); the exit status is 1 when
something seen as sent was lost, a fault did not recover or something was not intact (and,
in the full run, on duplicates or reorders), 2 without a trained model or when the cluster
did not start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import socketio
import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import cluster as cluster_script  # noqa: E402  (scripts/cluster.py)

from devtools.stack import always_open_teams  # noqa: E402
from handoff import agents as accounts  # noqa: E402
from handoff.db import Database  # noqa: E402
from handoff.gateway.sessions import hash_secret  # noqa: E402
from opastin import messages  # noqa: E402
from opastin.processes import answers, free_port_block  # noqa: E402

if not hasattr(aiohttp, "ClientWSTimeout"):
    # python-engineio's client builds aiohttp.ClientWSTimeout (aiohttp >= 3.10); Rasa pins aiohttp 3.9.
    aiohttp.ClientWSTimeout = lambda ws_close=10.0, ws_receive=None: ws_close

TEAM = "neuvola"
API_TOKEN = "fault-suite-api-token-0123456789"
PASSWORD = "fault suite password"
CHATS_PER_AGENT = 2
READY_MARKER = "Press Ctrl-C to stop everything"
START_TIMEOUT_S = 300
ACK_TIMEOUT_S = 10
BOT_REPLY_TIMEOUT_S = 30
PACE_S = (2.0, 5.0)
SETTLE_S = 10
STOP_MARGIN_S = 25
SMART_SHUTDOWN_WAIT_S = 5
PROCESS_BACK_TIMEOUT_S = 120
BOT, TO_AGENT, TO_RESIDENT = "resident → bot", "resident → agent", "agent → resident"
PATHS = (BOT, TO_AGENT, TO_RESIDENT)
BOT_UNAVAILABLE = messages.text("gateway.bot_unavailable")
TOO_FAST = messages.text("gateway.too_fast")


@dataclass(frozen=True)
class Fault:
    """One fault: its name in the report and the process it stops."""

    name: str
    process: str  # its PID file's name


FULL_FAULTS = (
    Fault("kill -9 handoff-1", "handoff-1"),
    Fault("kill -9 rasa-1", "rasa-1"),
    Fault("kill -9 actions-1", "actions-1"),
    Fault("restart Redis (kill -9)", "redis"),
    Fault("restart PostgreSQL (SIGTERM)", "postgres"),
)
SHORT_FAULTS = FULL_FAULTS[:2]


@dataclass
class Sent:
    """One message a client tried to send, and what became of it on the sender's side."""

    path: str
    sender: str
    conversation_id: str
    text: str
    number: int
    at: float
    accepted: bool = False  # the service acknowledged it (socket.io ack)
    answered_at: float | None = None  # resident → bot: the bot's reply came
    refused: str = ""  # what the sender saw instead: "bot unavailable", "no acknowledgement"…

    @property
    def seen_as_sent(self) -> bool:
        """Whether the sender saw it as sent (see the module's docstring)."""
        return self.answered_at is not None if self.path == BOT else self.accepted


@dataclass
class Traffic:
    """Everything the clients sent and received, shared by all of them."""

    sent: list[Sent] = field(default_factory=list)
    received: dict[str, list[tuple[str, float]]] = field(default_factory=lambda: defaultdict(list))
    replayed: set[str] = field(default_factory=set)  # agent texts seen in a resumed history
    desk_connects: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    new_conversations: list[str] = field(default_factory=list)  # residents whose resume failed
    client_errors: list[str] = field(default_factory=list)  # a client that stopped on an exception
    running: bool = True


def resident_address(index: int) -> str:
    """Resident ``index`` connects from 127.0.0.2, 127.0.0.3…: the per-address limits see residents."""
    return f"127.0.{index // 250}.{2 + index % 250}"


async def pace() -> None:
    """A person's pause between two messages."""
    await asyncio.sleep(random.uniform(*PACE_S))


# -- the clients -----------------------------------------------------------------------------------


class ResidentClient:
    """A resident's widget: reconnects by itself and resumes its conversation with its secret."""

    def __init__(self, index: int, role: str, traffic: Traffic) -> None:
        self.name = f"resident {index}"
        self.role = role  # "bot", "live" or "queued"
        self.traffic = traffic
        connector = aiohttp.TCPConnector(local_addr=(resident_address(index), 0))
        self.http = aiohttp.ClientSession(connector=connector)
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay_max=5, http_session=self.http)
        self.secret: str | None = None
        self.conversation_id = ""
        self.confirmed = asyncio.Event()
        self.replies: asyncio.Queue[tuple[str, str, float]] = asyncio.Queue()
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("session_confirm", self._on_confirm)
        self.sio.on("bot_uttered", self._on_uttered)
        self.sio.on("resync", self._on_connect)  # catch up: the conversation again, as the widget does

    async def _on_connect(self, *_data: Any) -> None:
        await self.sio.emit("session_request", {"session_id": self.secret})

    def _on_disconnect(self, *_reason: Any) -> None:
        self.confirmed.clear()

    def _on_confirm(self, data: Any) -> None:
        secret = data if isinstance(data, str) else data["session_id"]
        if self.secret is not None and secret != self.secret:
            self.traffic.new_conversations.append(self.name)
        self.secret = secret
        self.confirmed.set()

    def _on_uttered(self, message: dict[str, Any]) -> None:
        body, custom = message.get("text") or "", message.get("custom") or {}
        sender = custom.get("sender", "bot")
        if custom.get("history"):
            if sender == "agent":
                self.traffic.replayed.add(body)
        elif sender == "agent":
            self.traffic.received[body].append((self.name, time.monotonic()))
        elif body:
            self.replies.put_nowait((sender, body, time.monotonic()))

    async def connect(self, front_url: str) -> None:
        """Connect through HAProxy and get a session."""
        await self.sio.connect(
            front_url, socketio_path="socket.io", transports=["websocket"], wait_timeout=10
        )
        await asyncio.wait_for(self.confirmed.wait(), 15)

    async def send(self, sent: Sent) -> None:
        """Send one message (when connected, as the widget only then lets one write); note the ack."""
        self.traffic.sent.append(sent)
        try:
            await self.sio.call(
                "user_uttered", {"message": sent.text, "session_id": self.secret}, timeout=ACK_TIMEOUT_S
            )
            sent.accepted = True
        except (TimeoutError, socketio.exceptions.SocketIOError):
            sent.refused = "no acknowledgement"

    async def bot_turn(self, sent: Sent) -> None:
        """One message to the bot and its reply (or what the resident saw instead)."""
        while not self.replies.empty():
            self.replies.get_nowait()
        await self.send(sent)
        if not sent.accepted:
            return
        try:
            sender, body, at = await asyncio.wait_for(self.replies.get(), BOT_REPLY_TIMEOUT_S)
        except TimeoutError:
            return  # accepted, then nothing at all: "unanswered"
        if sender == "bot":
            sent.answered_at = at
        else:
            sent.refused = {BOT_UNAVAILABLE: "bot unavailable", TOO_FAST: "too fast"}.get(
                body, "system message"
            )

    async def chat(self) -> None:
        """Write numbered messages at a person's pace until the run stops."""
        number = 0
        while self.traffic.running:
            await self.confirmed.wait()
            path = BOT if self.role == "bot" else TO_AGENT
            body = f"kiitos, viesti {number} ({self.name})" if path == BOT else f"r:{self.name}:{number}"
            sent = Sent(path, self.name, self.conversation_id, body, number, time.monotonic())
            await (self.bot_turn(sent) if path == BOT else self.send(sent))
            number += 1
            await pace()

    async def close(self) -> None:
        """Disconnect for good."""
        await self.sio.disconnect()
        await self.http.close()


class DeskClient:
    """An agent's desk: logged in over HTTP, present in the team, the ``/desk`` socket reconnecting."""

    def __init__(self, front_url: str, username: str, traffic: Traffic) -> None:
        self.front_url = front_url
        self.name = username
        self.traffic = traffic
        self.http = httpx.AsyncClient(base_url=front_url, timeout=30, limits=httpx.Limits(keepalive_expiry=2))
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay_max=5)
        self.connected = asyncio.Event()
        self.csrf = ""
        self.chats: list[str] = []
        self.sio.on("connect", self._on_connect, namespace="/desk")
        self.sio.on("disconnect", self._on_disconnect, namespace="/desk")
        self.sio.on("message", self._on_message, namespace="/desk")
        self.sio.on("resync", self._on_resync, namespace="/desk")

    def _on_connect(self) -> None:
        self.traffic.desk_connects[self.name].append(time.monotonic())
        self.connected.set()

    def _on_disconnect(self, *_reason: Any) -> None:
        self.connected.clear()

    def _on_resync(self, *_data: Any) -> None:
        self.traffic.desk_connects[self.name].append(time.monotonic())  # the desk reloads, as on connect

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("sender") == "resident":
            self.traffic.received[message.get("text") or ""].append((self.name, time.monotonic()))

    async def login(self) -> None:
        """Log in through the form, mark present and open the desk socket (as scripts/bench_relay.py)."""
        page = (await self.http.get("/desk/login")).text
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        form = {"username": self.name, "password": PASSWORD, "csrf_token": token}
        await self.http.post("/desk/login", data=form)
        desk = (await self.http.get("/desk")).text
        self.csrf = desk.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        await self.post("/desk/presence", team=TEAM, present="1")
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        # A callable: python-engineio takes a Cookie header out of the dictionary it is given, so a
        # dictionary would leave the reconnections without the session (a browser sends it each time).
        await self.sio.connect(
            self.front_url, socketio_path="socket.io", transports=["websocket"], namespaces=["/desk"],
            headers=lambda: {"Cookie": cookie}, wait_timeout=10,
        )  # fmt: skip

    async def post(self, path: str, **fields: str) -> httpx.Response:
        """A desk form, answered in JSON."""
        response = await self.http.post(
            path, data={"csrf_token": self.csrf, **fields}, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        return response

    async def accept(self, conversation_id: str) -> None:
        """Take this resident from the queue."""
        answer = (await self.post("/desk/accept", team=TEAM, conversation_id=conversation_id)).json()
        if answer.get("conversation_id") != conversation_id:
            raise RuntimeError(f"{self.name} could not accept a chat: {answer}")
        self.chats.append(conversation_id)

    async def answer(self, conversation_id: str) -> None:
        """Answer in one chat at a person's pace until the run stops."""
        number = 0
        while self.traffic.running:
            await self.connected.wait()
            body = f"a:{self.name}:{conversation_id[:8]}:{number}"
            sent = Sent(TO_RESIDENT, self.name, conversation_id, body, number, time.monotonic())
            self.traffic.sent.append(sent)
            try:
                reply = {"conversation_id": conversation_id, "text": body}
                answer = await self.sio.call("reply", reply, namespace="/desk", timeout=ACK_TIMEOUT_S)
                sent.accepted = "message" in answer
                sent.refused = "" if sent.accepted else str(answer.get("error", {}).get("code", "refused"))
            except (TimeoutError, socketio.exceptions.SocketIOError):
                sent.refused = "no acknowledgement"
            number += 1
            await pace()

    async def close(self) -> None:
        """Disconnect for good."""
        await self.sio.disconnect()
        await self.http.aclose()


# -- the cluster -----------------------------------------------------------------------------------


class ClusterDidNotStart(RuntimeError):
    """The launcher exited or did not say the cluster was up in time."""


class Launcher:
    """``scripts/cluster.py`` started by this script: its process and every line it printed."""

    def __init__(self, state_dir: Path, base_port: int, env: dict[str, str]) -> None:
        command = [sys.executable, str(ROOT / "scripts" / "cluster.py"), "--state-dir", str(state_dir)]
        self.process = subprocess.Popen(
            [*command, "--base-port", str(base_port)], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, name="launcher-output", daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if READY_MARKER in line:
                self.ready.set()

    def wait_ready(self, timeout_s: float) -> None:
        """Until the launcher says the cluster is up; :class:`ClusterDidNotStart` when it exits or
        takes too long."""
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise ClusterDidNotStart("the cluster did not start:\n" + "\n".join(self.lines[-30:]))

    def stop(self) -> None:
        """Ctrl-C: the launcher stops the applications, then the stores."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def cluster_environment(teams_file: Path) -> dict[str, str]:
    """The launcher's environment: an always-open team catalogue, a known service API token, and an
    identity provider setting that keeps the test provider (fixed port 8100) from being started."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        HANDOFF_TEAMS_FILE=str(teams_file),
        HANDOFF_API_TOKEN=API_TOKEN,
        OIDC_ISSUER="http://127.0.0.1:9/fault-suite-no-provider",
        OIDC_CLIENT_ID="opastin",
    )
    return env


def write_teams(teams_file: Path) -> None:
    """The team catalogue with every team open around the clock, :data:`CHATS_PER_AGENT` chats each."""
    always_open_teams(teams_file)
    document = yaml.safe_load(teams_file.read_text(encoding="utf-8"))
    for team in document["teams"].values():
        team["max_chats_per_agent"] = CHATS_PER_AGENT
    teams_file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


def create_agents(database_url: str, usernames: list[str]) -> None:
    """The agents of this run, members of :data:`TEAM`."""
    database = Database(database_url)
    try:
        with database.writing() as session:
            for username in usernames:
                accounts.create_agent(session, username, PASSWORD, datetime.now(UTC), team_ids=[TEAM])
    finally:
        database.dispose()


def rows(database_url: str, query: str, **params: object) -> list[tuple[Any, ...]]:
    """The rows of one query (a fresh connection: the database may have restarted)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    finally:
        engine.dispose()


# -- the faults ------------------------------------------------------------------------------------


def inject(cluster: cluster_script.Cluster, fault: Fault) -> str:
    """Stop ``fault``'s process; how it was stopped."""
    if fault.process == "postgres":
        return stop_postgres(cluster)
    pid = cluster_script.single.read_pid(cluster.state_dir / "run" / f"{fault.process}.pid")
    if pid is None:
        raise RuntimeError(f"no PID file for {fault.process}")
    os.killpg(pid, signal.SIGKILL)  # the process and anything it started, as a container dies
    return "SIGKILL"


def stop_postgres(cluster: cluster_script.Cluster) -> str:
    """SIGTERM to the postmaster (a smart shutdown); SIGINT (fast) if it still waits after 5 s."""
    postmaster = int((cluster.postgres_dir / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGTERM)
    deadline = time.monotonic() + SMART_SHUTDOWN_WAIT_S
    while time.monotonic() < deadline:
        if not cluster_script.single.process_alive(postmaster):
            return "SIGTERM (smart shutdown)"
        time.sleep(0.1)
    os.kill(postmaster, signal.SIGINT)
    return f"SIGTERM, then SIGINT (fast shutdown) after {SMART_SHUTDOWN_WAIT_S} s of waiting for clients"


def is_back(cluster: cluster_script.Cluster, fault: Fault, old_pid: int | None) -> bool:
    """Whether the launcher started ``fault``'s process again and it answers."""
    pid = cluster_script.single.read_pid(cluster.state_dir / "run" / f"{fault.process}.pid")
    if pid is None or pid == old_pid:
        return False
    ports = cluster.ports
    if fault.process == "redis":
        return cluster_script.redis_pings(ports.redis)
    if fault.process == "postgres":
        return cluster_script.postgres_ready(ports.postgres)
    kind, number = fault.process.split("-")
    replica = {
        "handoff": ports.handoff_replicas,
        "rasa": ports.rasa_replicas,
        "actions": ports.action_replicas,
    }
    path = {"handoff": "/readyz", "rasa": "/", "actions": "/health"}[kind]
    return answers(f"http://127.0.0.1:{replica[kind][int(number) - 1]}{path}")


async def wait_back(cluster: cluster_script.Cluster, fault: Fault, old_pid: int | None) -> float | None:
    """Seconds until the process answered again (``None``: not within the timeout)."""
    started = time.monotonic()
    while time.monotonic() - started < PROCESS_BACK_TIMEOUT_S:
        if await asyncio.to_thread(is_back, cluster, fault, old_pid):
            return time.monotonic() - started
        await asyncio.sleep(0.5)
    return None


# -- the run ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What to run: the clients, the faults and the time."""

    residents: int
    live: int
    queued: int
    faults: tuple[Fault, ...]
    deadline: float  # time.monotonic() by which everything must be done
    warmup_s: float
    short: bool


@dataclass
class FaultRun:
    """When a fault was injected, how, and when its process answered again."""

    fault: Fault
    at: float
    method: str
    back_after_s: float | None = None


@dataclass
class Setup:
    """The clients of a run and the state of the chats when the workload began."""

    residents: list[ResidentClient]
    desks: list[DeskClient]
    agent_of: dict[str, int]  # live conversation id → agent id
    queue_order: list[str]  # queued conversation ids, first first


async def set_up(cluster: cluster_script.Cluster, plan: Plan, traffic: Traffic, run_id: str) -> Setup:
    """Connect the residents and log the agents in, then hand the live residents over (each accepted
    at once: the queue holds agents present × chats per agent) and queue the others."""
    roles = ["bot"] * plan.residents + ["live"] * plan.live + ["queued"] * plan.queued
    residents = [ResidentClient(index, role, traffic) for index, role in enumerate(roles)]
    agents = [f"faults-{run_id}-{n}" for n in range(max(1, -(-plan.live // CHATS_PER_AGENT)))]
    await asyncio.to_thread(create_agents, cluster.handoff_database_url, agents)
    desks = [DeskClient(cluster.front_url, username, traffic) for username in agents]
    try:
        await asyncio.gather(*(resident.connect(cluster.front_url) for resident in residents))
        await asyncio.gather(*(desk.login() for desk in desks))
        for resident in residents:
            found = rows(cluster.handoff_database_url, "SELECT conversation_id FROM resident_sessions "
                         "WHERE secret_hash = :hash", hash=hash_secret(resident.secret))  # fmt: skip
            resident.conversation_id = found[0][0]
        live = [resident for resident in residents if resident.role == "live"]
        for number, resident in enumerate(live):
            await hand_over(cluster, resident)
            await desks[number // CHATS_PER_AGENT].accept(resident.conversation_id)
        for resident in residents:
            if resident.role == "queued":
                await hand_over(cluster, resident)
    except BaseException:
        await close_all([*residents, *desks])
        raise
    return Setup(residents, desks, *chat_state(cluster, [r.conversation_id for r in live]))


async def hand_over(cluster: cluster_script.Cluster, resident: ResidentClient) -> None:
    """Queue the resident for :data:`TEAM` as the action server does (the service API)."""
    body = {"conversation_id": resident.conversation_id, "team": TEAM, "summary": "vikakoe", "transcript": []}
    async with httpx.AsyncClient(base_url=cluster.front_url, timeout=30) as api:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        (await api.post("/api/service/handoffs", json=body, headers=headers)).raise_for_status()


async def close_all(clients: list[ResidentClient | DeskClient]) -> None:
    """Disconnect every client, whatever state it is in."""
    for client in clients:
        with contextlib.suppress(Exception):
            await client.close()


def chat_state(cluster: cluster_script.Cluster, live_ids: list[str]) -> tuple[dict[str, int], list[str]]:
    """The agent holding each of ``live_ids`` and the team's open queue entries, first first."""
    holders = rows(
        cluster.handoff_database_url, "SELECT id, agent_id FROM conversations WHERE status = 'active'"
    )
    queue = rows(
        cluster.handoff_database_url,
        "SELECT conversation_id FROM queue_entries WHERE team_id = :team AND left_at IS NULL "
        "ORDER BY priority DESC, enqueued_at, id",
        team=TEAM,
    )
    agent_of = {conversation: agent for conversation, agent in holders if conversation in live_ids}
    return agent_of, [conversation for (conversation,) in queue]


async def workload_and_faults(cluster: cluster_script.Cluster, plan: Plan, run_id: str) -> dict[str, Any]:
    """Run the workload, inject the faults one at a time, settle, and measure."""
    traffic = Traffic()
    setup = await set_up(cluster, plan, traffic, run_id)
    tasks = [asyncio.create_task(resident.chat()) for resident in setup.residents]
    tasks += [asyncio.create_task(desk.answer(chat)) for desk in setup.desks for chat in desk.chats]
    began = time.monotonic()
    runs: list[FaultRun] = []
    try:
        await asyncio.sleep(plan.warmup_s)
        for position, fault in enumerate(plan.faults):
            runs.append(await one_fault(cluster, fault, plan, len(plan.faults) - position))
        traffic.running = False
        await asyncio.sleep(SETTLE_S)  # the last turns finish; nothing new starts
    finally:
        traffic.running = False
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        traffic.client_errors += [repr(error) for error in outcomes if isinstance(error, Exception)]
        await close_all([*setup.residents, *setup.desks])
    return measure(cluster, traffic, setup, runs, began)


async def one_fault(cluster: cluster_script.Cluster, fault: Fault, plan: Plan, left: int) -> FaultRun:
    """Inject ``fault``, then keep the workload running until its process is back and its share of
    the remaining time has passed."""
    period = max(20.0, (plan.deadline - time.monotonic() - SETTLE_S - STOP_MARGIN_S) / left)
    old_pid = cluster_script.single.read_pid(cluster.state_dir / "run" / f"{fault.process}.pid")
    print(f"==> {fault.name} (then {period:.0f} s of recovery at least)", flush=True)
    run = FaultRun(fault, time.monotonic(), await asyncio.to_thread(inject, cluster, fault))
    run.back_after_s = await wait_back(cluster, fault, old_pid)
    back = "not back" if run.back_after_s is None else f"back after {run.back_after_s:.1f} s"
    print(f"    {fault.process} {back}", flush=True)
    await asyncio.sleep(max(0.0, run.at + period - time.monotonic()))
    return run


# -- measuring -------------------------------------------------------------------------------------


def stored_texts(cluster: cluster_script.Cluster, traffic: Traffic) -> dict[tuple[str, str], list[str]]:
    """What the databases hold per (conversation, path), in storing order."""
    stored: dict[tuple[str, str], list[str]] = defaultdict(list)
    bot_ids = sorted({sent.conversation_id for sent in traffic.sent if sent.path == BOT})
    live_ids = sorted({sent.conversation_id for sent in traffic.sent if sent.path != BOT})
    if bot_ids:
        for sender, data in rows(
            cluster.tracker_database_url,
            "SELECT sender_id, data FROM events WHERE type_name = 'user' AND sender_id = ANY(:ids) "
            "ORDER BY id",
            ids=bot_ids,
        ):
            stored[(sender, BOT)].append(json.loads(data).get("text") or "")
    if live_ids:
        for conversation, sender, body in rows(
            cluster.handoff_database_url,
            "SELECT conversation_id, sender, text FROM messages WHERE conversation_id = ANY(:ids) "
            "AND sender IN ('resident', 'agent') ORDER BY id",
            ids=live_ids,
        ):
            stored[(conversation, TO_AGENT if sender == "resident" else TO_RESIDENT)].append(body)
    return stored


def inversions(numbers: list[int]) -> int:
    """Adjacent pairs in the opposite order of sending."""
    return sum(1 for before, after in zip(numbers, numbers[1:], strict=False) if after < before)


@dataclass
class Counts:
    """The counts of one window (a fault's, the baseline's) or of the whole run."""

    sent: int = 0  # messages the senders tried to send
    seen_as_sent: int = 0
    refused: int = 0  # the sender saw a failure (error message, no acknowledgement)
    unanswered: int = 0  # resident → bot: acknowledged, then neither a reply nor an error
    lost_not_stored: int = 0
    lost_not_shown: int = 0
    duplicated: int = 0
    reordered: int = 0
    by_path: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Seen as sent, never stored or never shown on the other side."""
        return self.lost_not_stored + self.lost_not_shown


def shown_to_receiver(sent: Sent, traffic: Traffic) -> bool:
    """Whether the other side's client showed the message (see the module's docstring)."""
    if sent.path == BOT:
        return True  # the bot's side is the tracker store
    if traffic.received.get(sent.text):
        return True
    if sent.path == TO_RESIDENT:
        return sent.text in traffic.replayed
    return any(at > sent.at for times in traffic.desk_connects.values() for at in times)


def message_counts(sent: Sent, traffic: Traffic, stored: dict[tuple[str, str], list[str]]) -> dict[str, int]:
    """The counts one message adds."""
    copies = stored.get((sent.conversation_id, sent.path), []).count(sent.text)
    receivers = [receiver for receiver, _ in traffic.received.get(sent.text, [])]
    seen = sent.seen_as_sent
    return {
        "sent": 1,
        "seen_as_sent": int(seen),
        "refused": int(bool(sent.refused)),
        "unanswered": int(sent.path == BOT and sent.accepted and not seen and not sent.refused),
        "lost_not_stored": int(seen and copies == 0),
        "lost_not_shown": int(seen and copies > 0 and not shown_to_receiver(sent, traffic)),
        "duplicated": int(copies > 1 or len(receivers) != len(set(receivers))),
    }


def window_of(at: float, runs: list[FaultRun]) -> str:
    """The fault whose window ``at`` falls in ("baseline" before the first)."""
    name = "baseline"
    for run in runs:
        if at >= run.at:
            name = run.fault.name
    return name


@dataclass(frozen=True)
class Reorder:
    """Two messages of one conversation and path in the wrong order: ``first`` (sent later) stored
    or received before ``second``; ``where``: "stored" or the receiving client."""

    window: str
    where: str
    first: Sent
    second: Sent


def reorders(
    traffic: Traffic, stored: dict[tuple[str, str], list[str]], runs: list[FaultRun]
) -> list[Reorder]:
    """Reordered adjacent pairs: as stored, and as each receiver got them live, per conversation
    and path."""
    found: list[Reorder] = []
    streams: dict[tuple[str, str], list[Sent]] = defaultdict(list)
    for sent in traffic.sent:
        streams[(sent.conversation_id, sent.path)].append(sent)
    for key, sents in streams.items():
        number_of = {sent.text: sent for sent in sents}
        orders = [("stored", [number_of[body] for body in stored.get(key, []) if body in number_of])]
        arrivals: dict[str, list[tuple[float, Sent]]] = defaultdict(list)
        for body, sent in number_of.items():
            for receiver, at in traffic.received.get(body, []):
                arrivals[receiver].append((at, sent))
        orders += [
            (receiver, [sent for _, sent in sorted(got, key=lambda item: item[0])])
            for receiver, got in arrivals.items()
        ]
        for where, order in orders:
            for first, second in zip(order, order[1:], strict=False):
                if second.number < first.number:
                    found.append(Reorder(window_of(second.at, runs), where, first, second))
    return found


def outage(traffic: Traffic, side: str, start: float, end: float) -> dict[str, float | int | None]:
    """Seconds from ``start`` until each client of ``side`` completed a round trip begun after it; a
    client with none before ``end`` (or that could not even send) has not recovered."""
    done_at: dict[str, float | None] = {}
    for sent in sorted(traffic.sent, key=lambda item: item.at):
        if (sent.path != TO_RESIDENT) != (side == "residents"):
            continue
        done_at.setdefault(sent.sender, None)
        if start <= sent.at < end and done_at[sent.sender] is None:
            done_at[sent.sender] = completed_at(sent, traffic)
    waits = [at - start for at in done_at.values() if at is not None]
    return {
        "clients": len(done_at),
        "max_s": max(waits) if waits and len(waits) == len(done_at) else None,
        "median_s": statistics.median(waits) if waits else None,
        "not_recovered": len(done_at) - len(waits),
    }


def completed_at(sent: Sent, traffic: Traffic) -> float | None:
    """When the message's round trip completed: the bot's reply, or its arrival at the other side."""
    if sent.path == BOT:
        return sent.answered_at
    arrivals = [at for _, at in traffic.received.get(sent.text, [])]
    return min(arrivals) if sent.accepted and arrivals else None


def intact(cluster: cluster_script.Cluster, setup: Setup, traffic: Traffic) -> dict[str, Any]:
    """Live chats, the queue and the residents' sessions after the faults."""
    live_ids = list(setup.agent_of)
    state = {
        conversation: (status, agent)
        for conversation, status, agent in rows(
            cluster.handoff_database_url,
            "SELECT id, status, agent_id FROM conversations WHERE id = ANY(:ids)",
            ids=live_ids + setup.queue_order,
        )
    }
    _, queue_now = chat_state(cluster, live_ids)
    kept = [c for c in live_ids if state.get(c) == ("active", setup.agent_of[c])]
    requeued = [c for c in live_ids if state.get(c, ("",))[0] == "queued" and c in queue_now]
    waiting = [c for c in queue_now if c in setup.queue_order]
    open_entries = rows(
        cluster.handoff_database_url,
        "SELECT conversation_id, count(*) FROM queue_entries WHERE left_at IS NULL GROUP BY conversation_id",
    )
    return {
        "live_chats": len(live_ids),
        "live_kept_with_their_agent": len(kept),
        "live_requeued": len(requeued),
        "live_broken": len(live_ids) - len(kept) - len(requeued),
        "queued": len(setup.queue_order),
        "queue_order_kept": waiting == setup.queue_order,
        "queue_entries_doubled": sum(1 for _, count in open_entries if count > 1),
        "residents_given_a_new_conversation": len(traffic.new_conversations),
    }


def measure(
    cluster: cluster_script.Cluster, traffic: Traffic, setup: Setup, runs: list[FaultRun], began: float
) -> dict[str, Any]:
    """The report's figures: per window and in total, the outages, and what is intact."""
    stored = stored_texts(cluster, traffic)
    windows: dict[str, Counts] = {name: Counts() for name in ["baseline", *(run.fault.name for run in runs)]}
    total = Counts()
    problems: list[dict[str, Any]] = []
    for sent in traffic.sent:
        values = message_counts(sent, traffic, stored)
        for counts in (windows[window_of(sent.at, runs)], total):
            add(counts, sent.path, values)
        found = [name for name in ("lost_not_stored", "lost_not_shown", "duplicated") if values[name]]
        if found:
            problems.append(problem(sent, found, runs, began))
    for reorder in reorders(traffic, stored, runs):
        windows[reorder.window].reordered += 1
        total.reordered += 1
        problems.append(
            {
                **problem(reorder.second, ["reordered"], runs, began),
                "where": reorder.where,
                "after": {"text": reorder.first.text, "sent_at_s": round(reorder.first.at - began, 2)},
            }
        )
    ends = [run.at for run in runs[1:]] + [time.monotonic()]
    faults = [
        fault_report(run, windows[run.fault.name], traffic, end, began)
        for run, end in zip(runs, ends, strict=True)
    ]
    return {
        "baseline": counts_report(windows["baseline"]),
        "faults": faults,
        "total": counts_report(total),
        "intact": intact(cluster, setup, traffic),
        "problems": problems,
        "client_errors": traffic.client_errors,
        "stored": {path: sum(len(v) for (_, p), v in stored.items() if p == path) for path in PATHS},
    }


def problem(sent: Sent, found: list[str], runs: list[FaultRun], began: float) -> dict[str, Any]:
    """One lost, duplicated or reordered message, for the report (the texts are the suite's own)."""
    return {
        "problem": found,
        "window": window_of(sent.at, runs),
        "path": sent.path,
        "sender": sent.sender,
        "text": sent.text,
        "sent_at_s": round(sent.at - began, 2),
    }


def add(counts: Counts, path: str, values: dict[str, int]) -> None:
    """Add one message's counts, in total and on its path."""
    per_path = counts.by_path.setdefault(path, {})
    for name, value in values.items():
        setattr(counts, name, getattr(counts, name) + value)
        per_path[name] = per_path.get(name, 0) + value


def counts_report(counts: Counts) -> dict[str, Any]:
    """A window's counts as JSON."""
    report = {name: value for name, value in asdict(counts).items() if name != "by_path"}
    return {**report, "lost": counts.lost, "by_path": {path: dict(v) for path, v in counts.by_path.items()}}


def fault_report(run: FaultRun, counts: Counts, traffic: Traffic, end: float, began: float) -> dict[str, Any]:
    """One fault's part of the report."""
    residents, agents = outage(traffic, "residents", run.at, end), outage(traffic, "agents", run.at, end)
    recovered = run.back_after_s is not None and all(
        side["clients"] == 0 or side["not_recovered"] == 0 for side in (residents, agents)
    )
    return {
        "fault": run.fault.name,
        "at_s": round(run.at - began, 1),
        "method": run.method,
        "process_back_after_s": run.back_after_s,
        "residents_without_service": residents,
        "agents_without_service": agents,
        "recovered": recovered,
        **counts_report(counts),
    }


# -- reporting -------------------------------------------------------------------------------------


def seconds(value: float | None) -> str:
    """A duration for the table."""
    return "—" if value is None else f"{value:.1f}"


def print_table(report: dict[str, Any]) -> None:
    """The figures a person reads."""
    header = (
        f"{'window':<30}{'back s':>7}{'res. out s':>11}{'ag. out s':>10}{'sent':>6}{'seen':>6}"
        f"{'lost':>6}{'dup':>5}{'reord':>6}{'refused':>8}{'unansw':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    rows_ = [("baseline", None, report["baseline"])] + [(f["fault"], f, f) for f in report["faults"]]
    for name, fault, counts in [*rows_, ("total", None, report["total"])]:
        back = seconds(fault["process_back_after_s"]) if fault else ""
        residents = seconds(fault["residents_without_service"]["max_s"]) if fault else ""
        agents = seconds(fault["agents_without_service"]["max_s"]) if fault else ""
        print(
            f"{name:<30}{back:>7}{residents:>11}{agents:>10}{counts['sent']:>6}{counts['seen_as_sent']:>6}"
            f"{counts['lost']:>6}{counts['duplicated']:>5}{counts['reordered']:>6}{counts['refused']:>8}"
            f"{counts['unanswered']:>7}"
        )
    print("\nper path (total): " + json.dumps(report["total"]["by_path"], ensure_ascii=False))
    print("intact afterwards: " + json.dumps(report["intact"]))
    print("stored: " + json.dumps(report["stored"], ensure_ascii=False))
    verdict = report["verdict"]
    print("\n" + ("PASSED" if verdict["passed"] else "FAILED: " + "; ".join(verdict["failures"])))


def verdict(report: dict[str, Any], short: bool) -> dict[str, Any]:
    """Whether the targets were met, and which were not."""
    failures = []
    total, state = report["total"], report["intact"]
    if total["lost"]:
        failures.append(f"{total['lost']} message(s) seen as sent were lost")
    failures += [f"{fault['fault']}: not recovered" for fault in report["faults"] if not fault["recovered"]]
    if state["live_broken"] or not state["queue_order_kept"] or state["queue_entries_doubled"]:
        failures.append("live chats or the queue were not intact")
    if state["residents_given_a_new_conversation"]:
        failures.append("a resident's session was not resumed")
    if report["client_errors"]:
        failures.append(f"{len(report['client_errors'])} client(s) stopped on an error: not measured")
    if not short and (total["duplicated"] or total["reordered"]):
        failures.append(f"{total['duplicated']} duplicated, {total['reordered']} reordered")
    return {"passed": not failures, "failures": failures}


# -- main ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def running_cluster(
    args: argparse.Namespace, teams_file: Path, state_dir: Path
) -> Iterator[cluster_script.Cluster]:
    """The cluster to fault: a new one on free ports (stopped afterwards), or the one attached to."""
    if args.attach:
        yield cluster_script.Cluster(cluster_script.Ports.from_base(args.base_port), args.attach.resolve())
        return
    base = free_port_block(12)
    write_teams(teams_file)
    launcher = Launcher(state_dir, base, cluster_environment(teams_file))
    try:
        print(
            f"==> Starting the cluster on ports {base}–{base + 11} in {state_dir} (about a minute)",
            flush=True,
        )
        launcher.wait_ready(START_TIMEOUT_S)
        yield cluster_script.Cluster(cluster_script.Ports.from_base(base), state_dir)
    finally:
        print("==> Stopping the cluster", flush=True)
        launcher.stop()
        restarts = [line.strip() for line in launcher.lines if "starting it again" in line]
        print("    the launcher restarted: " + ("; ".join(restarts) or "nothing"), flush=True)


def plan_of(args: argparse.Namespace, started: float) -> Plan:
    """The run's size, faults and deadline from the arguments."""
    short = args.short
    minutes = args.minutes or (2.75 if short else 6.0)
    return Plan(
        residents=args.residents if args.residents is not None else (6 if short else 20),
        live=args.live if args.live is not None else (3 if short else 10),
        queued=args.queued if args.queued is not None else (1 if short else 2),
        faults=SHORT_FAULTS if short else FULL_FAULTS,
        deadline=started + minutes * 60,
        warmup_s=10 if short else 15,
        short=short,
    )


def run(args: argparse.Namespace) -> int:
    """Start or attach, run, report; the exit status."""
    started = time.monotonic()
    plan = plan_of(args, started)
    run_id = datetime.now(UTC).strftime("%H%M%S") + f"{random.randrange(1000):03d}"
    with tempfile.TemporaryDirectory(prefix="opastin-faults-") as folder:
        state_dir = Path(folder) / "cluster"
        with running_cluster(args, Path(folder) / "teams.yml", state_dir) as cluster:
            report = asyncio.run(workload_and_faults(cluster, plan, run_id))
            if args.keep_logs:
                keep_logs(cluster, args.keep_logs)
        report = {
            "mode": "short" if plan.short else "full",
            "clients": {"bot_residents": plan.residents, "live_chats": plan.live, "queued": plan.queued},
            **report,
            "duration_s": round(time.monotonic() - started, 1),
        }
        report["verdict"] = verdict(report, plan.short)
    print_table(report)
    print(f"whole run: {report['duration_s']:.0f} s")
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if report["verdict"]["passed"] else 1


def keep_logs(cluster: cluster_script.Cluster, target: Path) -> None:
    """Copy the processes' logs (the temporary folder goes away)."""
    target.mkdir(parents=True, exist_ok=True)
    for log in (cluster.state_dir / "log").glob("*.log*"):
        (target / log.name).write_bytes(log.read_bytes())


def main(argv: list[str] | None = None) -> int:
    """``faults.py [--short] [--minutes M] [--report PATH] [--attach STATE_DIR --base-port N]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="two faults, fewer clients (make test)")
    parser.add_argument("--minutes", type=float, help="the whole run's budget (default 6; short 2.75)")
    parser.add_argument("--report", type=Path, help="write the JSON report here")
    parser.add_argument("--residents", type=int, help="residents chatting with the bot (20; short 6)")
    parser.add_argument("--live", type=int, help="live chats with professionals (10; short 3)")
    parser.add_argument("--queued", type=int, help="residents waiting in the queue (2; short 1)")
    parser.add_argument("--attach", type=Path, metavar="STATE_DIR", help="a running cluster's folder")
    parser.add_argument("--base-port", type=int, help="the attached cluster's first port")
    parser.add_argument("--keep-logs", type=Path, metavar="DIR", help="copy the processes' logs here")
    args = parser.parse_args(argv)
    if args.attach and not args.base_port:
        parser.error("--attach needs --base-port")
    if not cluster_script.single.MODEL.exists():
        print("No trained model in models/: run `make train` first.", file=sys.stderr)
        return 2
    try:
        return run(args)
    except ClusterDidNotStart as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

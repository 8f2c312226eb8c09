"""Benchmark the handoff service over HTTP on the loopback interface.

Starts ``python -m handoff serve`` on a free 127.0.0.1 port with a temporary
SQLite database (or ``--database-url``) and a generated teams file in which
every team is open around the clock (dated exceptions for yesterday, today
and tomorrow override holidays), makes five agents present in every team, then
measures:

1. ``GET /api/public/teams`` latency (p50/p95/p99) with N concurrent clients;
2. queue join + leave operations per second through the service API.

Usage: .venv/bin/python scripts/bench_handoff.py [--requests 2000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from devtools.stack import always_open_teams, handoff_server  # noqa: E402
from handoff import agents  # noqa: E402
from handoff.db import Database, migrate  # noqa: E402
from opastin.places import DEFAULT_TEAMS_FILE  # noqa: E402
from opastin.processes import free_port  # noqa: E402
from opastin.teams import load_teams  # noqa: E402

TEAM_IDS = load_teams(DEFAULT_TEAMS_FILE).ids

AGENTS_PER_TEAM = 5


def prepare_database(url: str) -> None:
    """Migrate and make :data:`AGENTS_PER_TEAM` agents present in every team."""
    migrate(url)
    database = Database(url)
    now = datetime.now(UTC)
    try:
        with database.writing() as session:
            for number, team_id in itertools.product(range(AGENTS_PER_TEAM), TEAM_IDS):
                agent = agents.create_agent(
                    session,
                    f"bench-{number}-{team_id.replace('_', '-')}",
                    secrets.token_urlsafe(16),
                    now,
                    team_ids=[team_id],
                )
                agents.set_presence(session, agent, team_id, now)
    finally:
        database.dispose()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Connection:
    """A minimal HTTP/1.1 keep-alive client.

    httpx's AsyncClient costs more CPU per request than the service itself,
    which would make the client the bottleneck on a small machine; this one
    only writes a request and reads a ``Content-Length`` response.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: str) -> None:
        self.reader, self.writer, self.headers = reader, writer, headers

    @classmethod
    async def open(cls, port: int, token: str | None = None) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        headers = f"Host: 127.0.0.1:{port}\r\n" + (f"Authorization: Bearer {token}\r\n" if token else "")
        return cls(reader, writer, headers)

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\n{self.headers}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
        self.writer.write(head.encode() + b"\r\n" + payload)
        await self.writer.drain()
        status_line, *header_lines = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        length = next(
            int(line.split(":")[1]) for line in header_lines if line.lower().startswith("content-length")
        )
        return int(status_line.split()[1]), await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def bench_status(port: int, requests: int, concurrency: int) -> None:
    latencies: list[float] = []
    connections = [await Connection.open(port) for _ in range(concurrency)]
    for _ in range(20):
        await connections[0].request("GET", "/api/public/teams")
    remaining = iter(range(requests))

    async def worker(connection: Connection) -> None:
        for _ in remaining:
            started = time.perf_counter()
            status, _body = await connection.request("GET", "/api/public/teams")
            latencies.append(time.perf_counter() - started)
            if status != 200:
                raise RuntimeError(f"status request failed: {status}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    print(f"GET /api/public/teams: {requests} requests, {concurrency} concurrent clients")
    p50, p95, p99 = (percentile(latencies, fraction) * 1000 for fraction in (0.50, 0.95, 0.99))
    mean = statistics.mean(latencies) * 1000
    print(f"  p50 {p50:.1f} ms   p95 {p95:.1f} ms   p99 {p99:.1f} ms   mean {mean:.1f} ms")
    print(f"  throughput {requests / elapsed:.0f} requests/s")


async def bench_queue(port: int, token: str, cycles: int, concurrency: int) -> None:
    latencies: list[float] = []
    connections = [await Connection.open(port, token) for _ in range(concurrency)]
    remaining = iter(range(cycles))

    async def worker(connection: Connection) -> None:
        for index in remaining:
            conversation = f"bench-{index}"
            body = {
                "conversation_id": conversation,
                "team": TEAM_IDS[index % len(TEAM_IDS)],
                "summary": "bench",
            }
            started = time.perf_counter()
            joined, answer = await connection.request("POST", "/api/service/handoffs", body)
            middle = time.perf_counter()
            left, _body = await connection.request("DELETE", f"/api/service/handoffs/{conversation}")
            latencies.extend([middle - started, time.perf_counter() - middle])
            if joined != 201 or left != 200:
                raise RuntimeError(f"queue operation failed: {joined} {answer!r} / {left}")

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    operations = 2 * cycles
    p50, p95 = (percentile(latencies, fraction) * 1000 for fraction in (0.50, 0.95))
    print(f"Queue join + leave: {cycles} residents, {concurrency} concurrent clients")
    print(f"  {operations / elapsed:.0f} operations/s ({cycles / elapsed:.0f} join+leave pairs/s)")
    print(f"  per operation p50 {p50:.1f} ms   p95 {p95:.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="status requests (default 2000)")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent status clients (default 50)")
    parser.add_argument("--cycles", type=int, default=500, help="queue join+leave cycles (default 500)")
    parser.add_argument(
        "--queue-concurrency", type=int, default=10, help="concurrent queue clients (default 10)"
    )
    parser.add_argument(
        "--database-url", help="benchmark this (empty) database instead of a temporary SQLite"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="opastin-bench-") as temporary:
        workdir = Path(temporary)
        teams_file = workdir / "teams.yml"
        always_open_teams(teams_file)
        database_url = args.database_url or f"sqlite:///{workdir / 'handoff.db'}"
        prepare_database(database_url)
        token = secrets.token_urlsafe(24)
        port = free_port()
        env = {
            "DATABASE_URL": database_url,
            "HANDOFF_TEAMS_FILE": str(teams_file),
            "HANDOFF_VAR_DIR": str(workdir),
            "HANDOFF_API_TOKEN": token,
        }
        with handoff_server(env, port) as (base, _server):
            backend = database_url.split(":", 1)[0]
            print(f"Handoff service on {base} (one uvicorn worker, {backend} database)")
            asyncio.run(bench_status(port, args.requests, args.concurrency))
            asyncio.run(bench_queue(port, token, args.cycles, args.queue_concurrency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

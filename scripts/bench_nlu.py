"""Bot reply latency over Rasa's REST channel: p50/p95 at 1 and 20 concurrent senders, and messages/s.

By default it starts its own Rasa server (with models/opastin.tar.gz) and
action server on free loopback ports, with a throw-away SQLite tracker store,
and stops them afterwards. ``--url`` measures servers that are already
running instead (e.g. ``make run``). Every run is bounded in messages and time.
Each level runs twice: senders firing the next message as soon as the reply
arrives (think time 0: the server's capacity), and residents who read the
reply and type for 3 s on average (uniformly 1.5–4.5 s, first messages spread
over the first 3 s, as people do not press enter in step; seeded, so runs
repeat).

    .venv/bin/python scripts/bench_nlu.py
    .venv/bin/python scripts/bench_nlu.py --url http://127.0.0.1:5005 --messages 400
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from devtools.stack import MODEL, bot_servers, post_message  # noqa: E402

RUN_ID = os.getpid()
THINK_JITTER = 0.5  # a think time of 3 s means 1.5–4.5 s

# What residents write: routes of every type, symptoms, conversation, emergencies.
MESSAGES = (
    "hei",
    "mulla on hammas kipee",
    "miten äidille saa kotihoitoa",
    "kurkku kipee ja kuumetta",
    "paljonko lääkärikäynti maksaa",
    "haluan jättää soittopyynnön",
    "rahat on ihan loppu",
    "olen raskaana ja mietityttää",
    "reseptin uusiminen",
    "milloin chat on auki",
    "lapsella korva kipeä",
    "kiitos",
    "isällä kova rintakipu",
    "mitä kuuluu",
    "tarvitsen sairauslomatodistuksen",
    "teini ei tottele ja riidellään",
)


@dataclass(frozen=True)
class Result:
    """Latencies of one run at one concurrency."""

    concurrency: int
    latencies_s: list[float]
    errors: int
    wall_s: float

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile latency in milliseconds."""
        ordered = sorted(self.latencies_s)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def line(self) -> str:
        """One printed line of figures."""
        count = len(self.latencies_s)
        return (
            f"{self.concurrency:>3} senders: {count} replies, {self.errors} errors, "
            f"p50 {self.percentile(50):.0f} ms, p95 {self.percentile(95):.0f} ms, "
            f"mean {statistics.mean(self.latencies_s) * 1000:.0f} ms, {count / self.wall_s:.1f} messages/s"
        )


async def _run(
    url: str, concurrency: int, total: int, time_limit_s: float, think_s: float, conversation_length: int
) -> Result:
    import aiohttp

    latencies: list[float] = []
    errors = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(total):
        queue.put_nowait(index)
    deadline = time.monotonic() + time_limit_s

    async def sender(worker: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        sent = 0
        pace = random.Random(worker)
        await asyncio.sleep(pace.uniform(0, think_s))
        while time.monotonic() < deadline:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            conversation = f"bench-{RUN_ID}-{concurrency}-{think_s:g}-{worker}-{sent // conversation_length}"
            body = {"sender": conversation, "message": MESSAGES[index % len(MESSAGES)]}
            sent += 1
            started = time.monotonic()
            try:
                async with session.post(f"{url}/webhooks/rest/webhook", json=body) as response:
                    replies = await response.json()
                    if response.status != 200 or not replies:
                        errors += 1
                        continue
            except (TimeoutError, aiohttp.ClientError):
                errors += 1
                continue
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(think_s * pace.uniform(1 - THINK_JITTER, 1 + THINK_JITTER))

    started = time.monotonic()
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(sender(worker, session) for worker in range(concurrency)))
    return Result(concurrency, latencies, errors, time.monotonic() - started)


def measure(
    url: str,
    levels: Sequence[int],
    total: int,
    time_limit_s: float,
    think_s: float = 0.0,
    conversation_length: int = 8,
) -> list[Result]:
    """Run ``total`` messages (bounded by ``time_limit_s``) at each concurrency level.

    Each sender sends its next message about ``think_s`` seconds (±50 %) after
    the previous reply and its first one within ``think_s`` of the start: 0
    saturates the server (closed loop); a few seconds is closer to residents,
    who read the answer and type before they write again. After
    ``conversation_length`` messages a sender starts a new conversation (Rasa
    replays a conversation's whole history on every message, so endless
    conversations would measure something no resident does).
    """
    return [
        asyncio.run(_run(url, level, total, time_limit_s, think_s, conversation_length)) for level in levels
    ]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="measure an already running Rasa server (e.g. http://127.0.0.1:5005)")
    parser.add_argument("--model", type=Path, default=MODEL, help="model to serve when starting servers")
    parser.add_argument("--messages", type=int, default=300, help="messages per concurrency level")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per concurrency level at most")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 20], help="concurrent senders")
    parser.add_argument("--conversation-length", type=int, default=8, help="messages per conversation")
    parser.add_argument(
        "--think-time",
        type=float,
        nargs="+",
        default=[0.0, 3.0],
        help="seconds each sender waits after a reply before its next message (one run per value)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start (or use) the servers, measure and print the figures."""
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        url = args.url or stack.enter_context(bot_servers(args.model))
        post_message(url, "bench-warm-up", MESSAGES[1])
        print(f"Reply latency over REST at {url} ({args.messages} messages per level, {os.cpu_count()} CPUs)")
        for think_s in args.think_time:
            print(f"think time {think_s:g} s:")
            results = measure(
                url, args.concurrency, args.messages, args.time_limit, think_s, args.conversation_length
            )
            for result in results:
                print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

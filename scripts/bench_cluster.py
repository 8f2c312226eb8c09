"""Bot capacity and reply times: one Rasa server beside the cluster of ``make run-cluster``, in one run.

Four measurements over Rasa's REST channel, each on both topologies:

* **capacity**: 20 senders in a closed loop (the next message as soon as the
  reply arrives): replies per second (issue 19: the cluster ≥ 80/s on 2 cores);
* **residents**: 200 senders at their own pace, a message every 5 s on average
  (2.5–7.5 s, first ones spread over 5 s): reply p95 (target ≤ 100 ms);
* **CPU per reply**: during the closed loop, the CPU time each kind of process
  (Rasa, action server, handoff service, PostgreSQL, HAProxy, Redis) used,
  divided by the replies: where a reply's cost goes;
* **a long conversation**: one conversation of 200 messages, one at a time: the
  median reply of messages 191–200 against that of messages 6–15 of a new
  conversation, the two written in turns (target: at most 20 % slower).

The single topology is measured twice: as Rasa's own tracker store reads a
conversation (the whole session for every message, ``recent_turns: 0``) and
as ours does (the resident's latest messages and what still holds from
before them, ``endpoints.yml``).

The single topology is ``make run``'s: one Rasa server, one action server and
one handoff service, the tracker store in SQLite. The cluster is ``scripts/cluster.py`` on free ports
in a temporary folder: two Rasa servers behind HAProxy, the tracker store in
PostgreSQL, the lock store in Redis. Both run on this machine beside the load
generator, as on a 2-core server; bounded in messages and time.

    .venv/bin/python scripts/bench_cluster.py
    .venv/bin/python scripts/bench_cluster.py --only cluster --messages 200
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_nlu  # noqa: E402
import cluster as cluster_script  # noqa: E402

from devtools.stack import (  # noqa: E402
    MODEL,
    action_server,
    handoff_cli,
    handoff_server,
    post_message,
    rasa_server,
)
from opastin.processes import free_port_block, wait_until  # noqa: E402

CLUSTER_START_S = 420
LONG_MESSAGES = ("reseptin uusiminen", "milloin chat on auki")  # neither opens a form or a loop


# Program kinds whose CPU time is counted, by a part of their command line.
PROGRAMS = {
    "rasa": b"rasa\x00run",
    "actions": b"-m\x00actions",
    "handoff": b"-m\x00handoff",
    "postgresql": b"postgres",
    "haproxy": b"haproxy",
    "redis": b"redis-server",
}
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figures:
    """One topology's measurements."""

    capacity: bench_nlu.Result
    residents: bench_nlu.Result
    early_ms: float
    late_ms: float
    cpu_ms_per_reply: dict[str, float]

    @property
    def slowdown(self) -> float:
        """How much slower the late messages of the long conversation were than the early ones."""
        return self.late_ms / self.early_ms - 1


def long_conversation(url: str, turns: int) -> tuple[float, float]:
    """Median reply (ms) of messages 6–15 of a new conversation and of the last ten of one of ``turns``
    messages. The long one is first written up to its last ten; then the two take turns, message for
    message, so that the machine's ups and downs fall on both alike."""
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    long, new = f"bench-long-{tag}", f"bench-new-{tag}"

    def reply_s(sender: str, turn: int) -> float:
        started = time.monotonic()
        post_message(url, sender, LONG_MESSAGES[turn % len(LONG_MESSAGES)])
        return time.monotonic() - started

    for turn in range(turns - 10):
        reply_s(long, turn)
    for turn in range(5):
        reply_s(new, turn)
    early, late = [], []
    for turn in range(10):
        early.append(reply_s(new, 5 + turn))
        late.append(reply_s(long, turns - 10 + turn))
    return statistics.median(early) * 1000, statistics.median(late) * 1000


def cpu_seconds_by_program() -> dict[str, float]:
    """CPU time used so far by this process's descendants, summed by :data:`PROGRAMS` kind (read
    from ``/proc``: a process that has ended is not counted)."""
    parents: dict[int, int] = {}
    used: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        parents[int(entry.name)] = int(stat[1])
        kind = next((name for name, part in PROGRAMS.items() if part in command), None)
        if kind is not None:
            used[int(entry.name)] = (kind, (int(stat[11]) + int(stat[12])) / TICKS_PER_S)
    totals: dict[str, float] = {}
    for pid, (kind, seconds) in used.items():
        ancestor = parents.get(pid)
        while ancestor not in (None, 0, 1, os.getpid()):
            ancestor = parents.get(ancestor)
        if ancestor == os.getpid():
            totals[kind] = totals.get(kind, 0.0) + seconds
    return totals


def measure(url: str, args: argparse.Namespace) -> Figures:
    """The three measurements against one REST channel."""
    post_message(url, "bench-warm-up", bench_nlu.MESSAGES[1])
    before = cpu_seconds_by_program()
    (capacity,) = bench_nlu.measure(url, [args.senders], args.messages, args.time_limit, 0.0)
    after, replies = cpu_seconds_by_program(), max(len(capacity.latencies_s), 1)
    cpu_ms = {kind: (after[kind] - before.get(kind, 0.0)) / replies * 1000 for kind in after}
    print(f"    capacity  {capacity.line()}", flush=True)
    print("    CPU per reply: " + ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in cpu_ms.items()), flush=True)
    (residents,) = bench_nlu.measure(
        url, [args.residents], args.resident_messages, args.time_limit, args.think_time
    )
    print(f"    residents {residents.line()}", flush=True)
    early, late = long_conversation(url, args.turns)
    print(f"    long conversation: messages 6-15 {early:.0f} ms, the last ten {late:.0f} ms", flush=True)
    return Figures(capacity, residents, early, late, cpu_ms)


@contextlib.contextmanager
def running_cluster() -> Iterator[str]:
    """``scripts/cluster.py`` on free ports in a temporary folder; yields its Rasa front end's URL."""
    with tempfile.TemporaryDirectory(prefix="opastin-bench-cluster-") as state:
        base = free_port_block(12)
        ports = cluster_script.Ports.from_base(base)
        command = [sys.executable, str(ROOT / "scripts" / "cluster.py"), "--state-dir", state]
        log = open(Path(state) / "launcher.log", "wb")  # noqa: SIM115  (closed below)
        launcher = subprocess.Popen(
            [*command, "--base-port", str(base)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            ready = Path(state) / "launcher.log"
            wait_until(
                lambda: b"Press Ctrl-C" in ready.read_bytes(), [launcher], CLUSTER_START_S, "the cluster"
            )
            yield f"http://127.0.0.1:{ports.rasa}"
        finally:
            subprocess.run([*command, "stop"], cwd=ROOT, capture_output=True, timeout=180)
            launcher.wait(timeout=60)
            log.close()


@contextlib.contextmanager
def running_single(recent_turns: int | None = None) -> Iterator[str]:
    """``make run``'s processes, one of each, on free ports (SQLite files in a temporary folder); yields
    the Rasa server's URL. ``recent_turns`` 0: Rasa reads whole conversations, as its own store does."""
    with (
        tempfile.TemporaryDirectory(prefix="opastin-bench-single-") as state,
        rasa_server(MODEL, recent_turns=recent_turns) as rasa,
    ):
        env = {"DATABASE_URL": f"sqlite:///{state}/handoff.db", "RASA_URL": rasa.url}
        handoff_cli(env, "migrate")
        with handoff_server(env) as (handoff_url, _), action_server(rasa, {"HANDOFF_URL": handoff_url}):
            yield rasa.url


def topologies(only: str | None) -> list[tuple[str, Callable[[], contextlib.AbstractContextManager[str]]]]:
    """The topologies to measure, single first."""
    chosen = [
        ("single, unbounded", lambda: running_single(recent_turns=0)),
        ("single", running_single),
        ("cluster", running_cluster),
    ]
    return [(name, start) for name, start in chosen if only in (None, name.split(",")[0])]


def report(results: dict[str, Figures], args: argparse.Namespace) -> None:
    """The figures side by side, with the targets."""
    names = list(results)
    rows = [
        (f"capacity, {args.senders} senders closed loop (replies/s)",
         lambda f: f"{len(f.capacity.latencies_s) / f.capacity.wall_s:.1f}", "cluster ≥ 80"),
        ("capacity errors", lambda f: str(f.capacity.errors), "0"),
        (f"{args.residents} residents, {args.think_time:g} s apart: reply p95 (ms)",
         lambda f: f"{f.residents.percentile(95):.0f}", "≤ 100"),
        (f"{args.residents} residents: reply p50 (ms), errors",
         lambda f: f"{f.residents.percentile(50):.0f}, {f.residents.errors}", "errors 0"),
        (f"{args.turns}-message conversation: last ten vs 6-15 (median)",
         lambda f: f"{f.late_ms:.0f} vs {f.early_ms:.0f} ms ({f.slowdown:+.0%})", "≤ +20 %"),
    ]  # fmt: skip
    measured = [figures.cpu_ms_per_reply for figures in results.values()]
    kinds = [kind for kind in PROGRAMS if any(kind in cpu for cpu in measured)]
    rows += [
        (f"CPU per reply in the closed loop, {kind} (ms)",
         lambda f, kind=kind: f"{f.cpu_ms_per_reply.get(kind, 0.0):.1f}", "")
        for kind in kinds
    ]  # fmt: skip
    width = max(len(label) for label, _, _ in rows)
    print(f"\n{'':<{width}}  " + "  ".join(f"{name:>22}" for name in names) + "  target")
    for label, figure, target in rows:
        cells = "  ".join(f"{figure(results[name]):>22}" for name in names)
        print(f"{label:<{width}}  {cells}  {target}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["single", "cluster"], help="measure one topology")
    parser.add_argument("--senders", type=int, default=20, help="closed-loop senders")
    parser.add_argument("--messages", type=int, default=600, help="closed-loop messages")
    parser.add_argument("--residents", type=int, default=200, help="senders at their own pace")
    parser.add_argument("--resident-messages", type=int, default=800, help="messages of the residents")
    parser.add_argument(
        "--think-time", type=float, default=5.0, help="mean seconds between a resident's messages"
    )
    parser.add_argument("--turns", type=int, default=200, help="messages of the long conversation")
    parser.add_argument("--time-limit", type=float, default=120, help="seconds per measurement at most")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each topology in turn and print them side by side."""
    args = parse_args(argv)
    if not MODEL.exists():
        print("No trained model: run `make train` first.", file=sys.stderr)
        return 1
    results: dict[str, Figures] = {}
    for name, start in topologies(args.only):
        print(f"==> {name} ({os.cpu_count()} CPUs)", flush=True)
        with start() as url:
            results[name] = measure(url, args)
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

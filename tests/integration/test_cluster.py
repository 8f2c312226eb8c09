"""`make run-cluster` end to end: two of each process behind HAProxy, on PostgreSQL and Redis.

One cluster on free ports in a temporary folder, started as the Makefile starts it,
for the whole module; the tests run in order and the last one stops it with
`cluster.py stop` (`make stop`). Needs a trained model and the Debian packages
`scripts/system_packages.sh cluster` installs (the launcher installs them itself).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from opastin.processes import free_port_block, wait_until
from tests.handoff.live_support import Resident, sender_of
from tests.scripts_loader import load_script

cluster_script = load_script("cluster")
rows = load_script("faults").rows
pytestmark = [pytest.mark.e2e, pytest.mark.cluster]
ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 420
READY_MARKER = "Press Ctrl-C to stop everything"
IDENTITY_CODE = "131052-308T"  # the example of the Finnish Digital Agency's documentation


class Launched:
    """The running launcher, its cluster and everything it has printed."""

    def __init__(self, process: subprocess.Popen[str], cluster: object) -> None:
        self.process = process
        self.cluster = cluster
        self.lines: list[str] = []

    def read_until(self, marker: str, timeout_s: float) -> None:
        """Read the launcher's output until a line contains ``marker``; fail on exit or timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if line:
                self.lines.append(line.rstrip())
                if marker in line:
                    return
            elif self.process.poll() is not None:
                pytest.fail("the launcher exited:\n" + "\n".join(self.lines[-40:]))
            else:
                time.sleep(0.2)
        pytest.fail(f"no {marker!r} from the launcher:\n" + "\n".join(self.lines[-40:]))


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    """`scripts/cluster.py` on twelve free ports, its state in a temporary folder."""
    if not cluster_script.single.MODEL.exists():
        pytest.fail("no trained model: run `make train` (make test does) before this test")
    state = tmp_path_factory.mktemp("cluster")
    base = free_port_block(12)
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    # Another identity provider than the test one, which `make run`'s test (beside) serves on 8100.
    env.update(OIDC_ISSUER="http://127.0.0.1:9/cluster-test-no-provider", OIDC_CLIENT_ID="opastin")
    command = [sys.executable, str(ROOT / "scripts" / "cluster.py"), "--state-dir", str(state)]
    process = subprocess.Popen(
        [*command, "--base-port", str(base)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    os.set_blocking(process.stdout.fileno(), False)
    launched = Launched(process, cluster_script.Cluster(cluster_script.Ports.from_base(base), state))
    yield launched
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=120)


def post_to_rasa(cluster: object, sender: str, message: str, **extra: object) -> tuple[int, list[dict]]:
    """A message through HAProxy's Rasa front end (as the handoff services send them)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{cluster.ports.rasa}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message, **extra}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, []


async def resident_chat(front_url: str, messages: list[str]) -> tuple[str, list[str]]:
    """A resident writes ``messages`` through the front end; the session secret and the bot's texts."""
    resident = Resident(front_url)
    secret = await resident.connect()
    seen = []
    for message in messages:
        await resident.say(message)
        # Notices (an identity code removed) may come before the bot's own reply: skipped.
        answer = await resident.until(lambda said: sender_of(said) == "bot", 60)
        seen.append(str(answer.get("text")))
        await asyncio.sleep(0.5)
        seen += [str(reply.get("text")) for reply in resident.drain()]
    await resident.close()
    return secret, seen


def test_the_cluster_starts_two_of_each_behind_haproxy(launched: Launched) -> None:
    launched.read_until(READY_MARKER, START_TIMEOUT_S)
    output = "\n".join(launched.lines)
    for started in ("action server 2", "handoff service 2", "Rasa server 2", "HAProxy", "PostgreSQL"):
        assert f"{started} is ready" in output
    status = cluster_script.replica_status(launched.cluster.ports.stats)
    assert sorted(status) == [f"{kind}/{kind}{n}" for kind in ("actions", "handoff", "rasa") for n in (1, 2)]
    assert set(status.values()) == {"UP"}
    endpoints = (launched.cluster.state_dir / "endpoints.yml").read_text()
    assert "type: rasa_addons.lock_store.RedisUrlLockStore" in endpoints  # in Redis: REDIS_URL is set


def test_a_resident_is_answered_through_the_front_end_and_stored_in_postgresql(launched: Launched) -> None:
    cluster = launched.cluster
    with urllib.request.urlopen(f"{cluster.front_url}/desk/login", timeout=10) as response:
        cookies = response.headers.get_all("Set-Cookie")
    assert any(cookie.startswith("opastin_node=handoff") for cookie in cookies)  # sticky for socket.io

    secret, seen = asyncio.run(
        resident_chat(cluster.front_url, ["hei", f"tarvitsen hammaslääkäriajan, hetuni on {IDENTITY_CODE}"])
    )

    assert seen[0].startswith("Hei!")
    assert any("suun terveydenhuol" in text.lower().replace("-", " ") for text in seen[1:]), seen
    conversation = rows(cluster.handoff_database_url, "SELECT conversation_id FROM resident_sessions")
    assert len(conversation) == 1
    users = rows(
        cluster.tracker_database_url,
        "SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user' ORDER BY id",
        sender=conversation[0][0],
    )
    assert len(users) == 2
    stored = "\n".join(data for (data,) in users)
    assert "hammaslääkäriajan" in json.loads(users[1][0])["text"]
    assert IDENTITY_CODE not in stored and "131052" not in stored  # masked before it is stored
    assert secret not in stored


def test_two_rasa_servers_take_one_conversations_messages_one_at_a_time(launched: Launched) -> None:
    cluster = launched.cluster
    texts = [f"viesti {number}: tarvitsen apua" for number in range(6)]
    with ThreadPoolExecutor(len(texts)) as pool:
        answers = list(pool.map(lambda message: post_to_rasa(cluster, "lukko", message), texts))

    assert [status for status, _ in answers] == [200] * len(texts)
    assert all(replies for _, replies in answers)
    events = rows(
        cluster.tracker_database_url,
        "SELECT type_name FROM events WHERE sender_id = 'lukko' AND type_name IN ('user', 'bot') ORDER BY id",
    )
    kinds = [kind for (kind,) in events]
    assert kinds.count("user") == len(texts)  # none lost by two servers writing one tracker at once
    turns = "".join("u" if kind == "user" else "b" for kind in kinds)
    assert turns.startswith("u") and "uu" not in turns  # each message answered before the next was read


def test_a_retried_message_is_answered_again_from_the_tracker_not_processed_twice(launched: Launched) -> None:
    cluster = launched.cluster
    first = post_to_rasa(cluster, "uusinta", "mulla on hammas kipee", message_id="viesti-1")
    again = [post_to_rasa(cluster, "uusinta", "mulla on hammas kipee", message_id="viesti-1", retry=True)
             for _ in range(2)]  # fmt: skip

    assert first[0] == 200 and first[1]
    assert again == [first, first]  # the same replies, whichever Rasa server answered
    stored = rows(
        cluster.tracker_database_url,
        "SELECT data FROM events WHERE sender_id = 'uusinta' AND type_name = 'user'",
    )
    assert [json.loads(data)["message_id"] for (data,) in stored] == ["viesti-1"]


def test_a_killed_rasa_server_is_routed_around_and_started_again(launched: Launched) -> None:
    cluster = launched.cluster
    first = cluster_script.single.read_pid(cluster.state_dir / "run" / "rasa-1.pid")
    os.kill(first, signal.SIGKILL)
    # A request that reaches the dying process before its socket closes fails (502): the fault
    # suite counts those; here, what follows its death.
    wait_until(lambda: not cluster_script.tcp_answers(cluster.ports.rasa_replicas[0]), [], 10, what="rasa-1")

    answers = [post_to_rasa(cluster, f"after-kill-{number}", "hei") for number in range(4)]

    assert [status for status, _ in answers] == [200] * 4
    launched.read_until("Rasa server 1 stopped (status -9); starting it again", 30)
    # The launcher says so before it starts the new process, which then writes its pid file.
    pid_file = cluster.state_dir / "run" / "rasa-1.pid"
    wait_until(lambda: cluster_script.single.read_pid(pid_file) not in (None, first), [], 30, what="rasa-1")


def test_a_killed_handoff_service_leaves_residents_a_way_in(launched: Launched) -> None:
    cluster = launched.cluster
    os.kill(cluster_script.single.read_pid(cluster.state_dir / "run" / "handoff-1.pid"), signal.SIGKILL)
    port = cluster.ports.handoff_replicas[0]
    wait_until(lambda: not cluster_script.tcp_answers(port), [], 10, what="handoff-1")

    _, seen = asyncio.run(resident_chat(cluster.front_url, ["hei"]))

    assert seen[0].startswith("Hei!")
    launched.read_until("handoff service 1 stopped (status -9); starting it again", 30)


def test_make_stop_stops_the_applications_then_the_stores(launched: Launched) -> None:
    cluster = launched.cluster
    pid_files = sorted((cluster.state_dir / "run").glob("*.pid"))
    pids = [cluster_script.single.read_pid(path) for path in pid_files]
    assert len(pids) >= 10  # the launcher, two of each, HAProxy, PostgreSQL, Redis

    stopped = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cluster.py"), "stop", "--state-dir", str(cluster.state_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert stopped.returncode == 0 and "Stopped the cluster." in stopped.stdout
    assert launched.process.wait(timeout=30) == 0
    launched.read_until("stopped", 5)
    assert not [pid for pid in pids if cluster_script.single.process_alive(pid)]
    assert not list((cluster.state_dir / "run").glob("*.pid"))

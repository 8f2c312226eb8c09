"""Rasa's REST channel behind ``RASA_REST_TOKEN``, served by Sanic as Rasa serves it.

A small server in a subprocess mounts :class:`TokenRestInput` the way ``rasa run``
does, with a stand-in for the dialogue engine that echoes the text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from opastin.processes import free_port, wait_until_answering
from rasa_addons.rest_channel import answered_before, message_id_of, replies_to

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "rest-token-for-tests-0123"
SERVER = """
import sys
from sanic import Sanic
from rasa_addons.rest_channel import TokenRestInput

async def echo(message):
    if message.text == "boom":
        raise RuntimeError("dialogue failed for " + message.text)
    await message.output_channel.send_text_message(message.sender_id, "kaiku: " + message.text)

app = Sanic("rest_channel_test")
channel = TokenRestInput.from_credentials(None)
app.blueprint(channel.blueprint(echo), url_prefix="/webhooks/" + channel.url_prefix())
app.run(host="127.0.0.1", port=int(sys.argv[1]), access_log=False)
"""


def post(url: str, body: dict, token: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def serve(token: str | None) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RASA_REST_TOKEN", None)
    if token:
        env["RASA_REST_TOKEN"] = token
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/webhooks/rest"
    wait_until_answering(url + "/", [process])
    yield url, process
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture(scope="module")
def guarded() -> Iterator[tuple[str, subprocess.Popen]]:
    yield from serve(TOKEN)


@pytest.fixture(scope="module")
def open_channel() -> Iterator[tuple[str, subprocess.Popen]]:
    yield from serve(None)


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN[:-1]])
def test_with_a_token_set_messages_without_it_are_refused(guarded, token: str | None) -> None:
    url, _ = guarded
    assert post(url + "/webhook", {"sender": "s", "message": "hei"}, token)[0] == 401


def test_the_gateways_token_passes(guarded) -> None:
    url, _ = guarded
    status, body = post(url + "/webhook", {"sender": "s", "message": "hei"}, TOKEN)
    assert status == 200 and json.loads(body) == [{"recipient_id": "s", "text": "kaiku: hei"}]


def test_a_failure_with_nothing_to_say_is_a_503_logged_without_the_message(guarded) -> None:
    url, process = guarded
    status, body = post(url + "/webhook", {"sender": "s", "message": "boom"}, TOKEN)
    assert status == 503 and "boom" not in body  # the gateway retries once, then tells the resident
    process.terminate()
    output = process.stdout.read().decode()
    assert "RuntimeError" in output and "dialogue failed for" not in output and "boom" not in output


def test_without_a_token_it_is_rasas_open_channel(open_channel) -> None:
    url, _ = open_channel
    assert post(url + "/webhook", {"sender": "s", "message": "hei"})[0] == 200
    assert post(url + "/webhook", ["not", "an", "object"])[0] == 400


def test_a_message_id_is_a_plain_id_or_nothing() -> None:
    assert message_id_of({"message_id": "0f3c9a_b-1"}) == "0f3c9a_b-1"
    for value in ("x" * 65, "id with spaces", "'; drop", 42, None, ""):
        assert message_id_of({"message_id": value}) is None
    assert message_id_of({}) is None


def conversation() -> list:
    """Two messages with ids, each answered."""
    return [
        UserUttered("hei", message_id="m1"),
        ActionExecuted("utter_greet"),
        BotUttered("Hei!"),
        BotUttered("Kerro asiasi.", data={"buttons": [{"title": "Neuvola", "payload": "/neuvola"}]}),
        ActionExecuted("action_listen"),
        UserUttered("hammas", message_id="m2"),
        BotUttered("Suun terveydenhuolto"),
    ]


def test_the_replies_to_a_message_are_the_bots_until_the_next_message() -> None:
    assert [reply.text for reply in replies_to(conversation(), "m1")] == ["Hei!", "Kerro asiasi."]
    assert [reply.text for reply in replies_to(conversation(), "m2")] == ["Suun terveydenhuolto"]
    assert replies_to(conversation(), "m3") is None


async def test_a_retry_of_a_message_already_processed_gets_its_replies_again() -> None:
    store = InMemoryTrackerStore(Domain.empty())
    await store.save(DialogueStateTracker.from_events("c1", conversation()))
    agent = SimpleNamespace(lock_store=InMemoryLockStore(), tracker_store=store)

    again = CollectingOutputChannel()
    assert await answered_before(agent, UserMessage("hei", again, "c1", message_id="m1"), again)
    assert [message["text"] for message in again.messages] == ["Hei!", "Kerro asiasi."]
    assert again.messages[1]["buttons"] == [{"title": "Neuvola", "payload": "/neuvola"}]

    fresh = CollectingOutputChannel()
    assert not await answered_before(agent, UserMessage("uusi", fresh, "c1", message_id="m9"), fresh)
    assert not await answered_before(agent, UserMessage("hei", fresh, "c2", message_id="m1"), fresh)
    assert fresh.messages == []

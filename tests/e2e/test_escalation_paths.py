"""Every escalation path over Rasa's REST channel with real processes, recorded as transcripts.

Open with a queue (and identification required), decline, closed, nobody
present, queue full, chat hours, the contact form, feedback, and finally the
handoff service stopped. The conversations are written to
``test-results/escalation-transcripts.md`` (the issue's closing note quotes them).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from devtools.stack import Rasa, always_open_teams, post_message
from opastin.finnish_time import HELSINKI
from opastin.teams import WEEKDAYS
from tests.e2e.stack import TOKEN, query_one, running_stack
from tests.handoff.live_support import Agent

pytestmark = pytest.mark.e2e

RESULTS = Path(__file__).resolve().parents[2] / "test-results"
AGENTS = {"maija": "neuvola", "sanna": "tyoikaisten_sosiaalityo", "pekka": "perhekeskus"}


def teams_for_paths(path: Path) -> None:
    """Every team open all day, except fysioterapia: closed until the day after tomorrow, 8–15.

    Perhekeskus takes one waiting resident per present agent, so one queued resident fills it.
    """
    always_open_teams(path)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    opening_day = datetime.now(HELSINKI).date() + timedelta(days=2)
    document["teams"]["fysioterapia"]["hours"] = {WEEKDAYS[opening_day.weekday()]: "08:00-15:00"}
    document["teams"]["fysioterapia"]["exceptions"] = []
    document["teams"]["perhekeskus"]["max_chats_per_agent"] = 1
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")


class Transcripts:
    """Conversations over the REST channel, kept for the Markdown file."""

    def __init__(self, rasa_url: str) -> None:
        self.rasa_url = rasa_url
        self.sections: list[str] = []

    def start(self, title: str) -> None:
        self.sections.append(f"\n## {title}\n")

    def say(self, sender: str, text: str) -> str:
        """Send ``text``; record it and the bot's answers (with button titles); return the answers' text."""
        replies = post_message(self.rasa_url, sender, text, timeout=60)
        lines = [f"> **Asukas:** {text}"]
        for reply in replies:
            if reply.get("text"):
                lines.append(f"> **Opastin:** {reply['text']}")
            if reply.get("buttons"):
                lines.append("> " + " · ".join(f"[{button['title']}]" for button in reply["buttons"]))
            if "route" in (reply.get("custom") or {}):
                lines.append(f"> `{reply['custom']}`")
        self.sections.append("\n>\n".join(lines) + "\n")
        return " ".join(reply.get("text") or "" for reply in replies)

    def write(self) -> None:
        RESULTS.mkdir(exist_ok=True)
        header = "# Escalation paths, real transcripts (tests/e2e/test_escalation_paths.py)\n"
        (RESULTS / "escalation-transcripts.md").write_text(header + "".join(self.sections), encoding="utf-8")


@pytest.fixture(scope="module")
def stack(rasa: Rasa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_stack(rasa, tmp_path_factory.mktemp("paths"), AGENTS, teams_for_paths) as running:
        yield running


async def test_every_escalation_path(stack: dict[str, str]) -> None:
    agents = [Agent(stack["url"]) for _ in AGENTS]
    for agent, (username, team) in zip(agents, AGENTS.items(), strict=True):
        assert (await agent.login(username, stack[username])).status_code == 303  # to the desk
        await agent.present(team)
    chat = Transcripts(stack["rasa"])
    try:
        _walk_the_paths(chat, stack)
    finally:
        for agent in agents:
            await agent.close()
    try:
        _without_the_service(chat, stack)
    finally:
        chat.write()


def _stop_service(stack: dict[str, str]) -> None:
    """Stop the handoff service and wait until its port no longer answers."""
    os.kill(int(stack["service_pid"]), signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{stack['url']}/healthz", timeout=1)
        except httpx.TransportError:
            return
        time.sleep(0.2)
    raise AssertionError("the handoff service did not stop")


def _walk_the_paths(chat: Transcripts, stack: dict[str, str]) -> None:
    chat.start("Open team with a queue; identification required; the resident joins")
    other = httpx.post(
        f"{stack['url']}/api/service/handoffs",
        json={"conversation_id": "w-earlier", "team": "neuvola"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert other.status_code == 201, other.text
    answer = chat.say("open", "lapsen rokotukset neuvolassa")
    assert "Neuvolan chat on nyt auki. Jonossa on 1 asiakas, arvioitu odotusaika noin" in answer
    assert "vahvan tunnistautumisen" in answer and "Haluatko jonoon?" in answer
    assert "Olet nyt jonossa sijalla 2" in chat.say("open", "/join_queue")
    summary = query_one(stack["database"], "SELECT summary FROM conversations WHERE id = 'open'")[0]
    assert "lapsen rokotukset neuvolassa" in summary

    chat.start("Open team; the resident declines the queue")
    assert "Haluatko jonoon?" in chat.say("decline", "tarvitsen apua toimeentulotuen hakemiseen")
    answer = chat.say("decline", "/decline_queue")
    assert answer.startswith("Selvä, et jää jonoon.") and "015 211" in answer

    chat.start("Closed team: when it opens next, and the alternatives")
    answer = chat.say("closed", "tarvitsen fysioterapeutin ohjeita polven kuntoutukseen")
    assert re.search(r"Fysioterapian chat on nyt suljettu\. .*on auki seuraavan kerran .+ klo 8–15", answer)
    assert "yhteydenottopyynnön" in answer and "015 211" in answer

    chat.start("Open team, nobody present")
    answer = chat.say("nobody", "tarvitsen apua vammaispalveluhakemuksen kanssa")
    assert "paikalla ei ole ketään vastaamassa" in answer and "Haluatko jonoon?" not in answer

    chat.start("Open team, queue full")
    assert "Haluatko jonoon?" in chat.say("full-1", "riitelemme jatkuvasti puolison kanssa")
    chat.say("full-1", "/join_queue")
    answer = chat.say("full-2", "tarvitsen tukea parisuhteen riitoihin")
    assert "jono on juuri nyt täynnä" in answer and "Haluatko jonoon?" not in answer

    chat.start("Chat hours from the live status")
    assert "Fysioterapian chat on nyt suljettu" in chat.say("hours", "milloin fysioterapian chat on auki?")
    assert "Nyt auki:" in chat.say("hours-all", "milloin chat on auki")

    chat.start("Contact form after a closed team: validation, identity code masked, reference")
    chat.say("form", "tarvitsen fysioterapeutin ohjeita polven kuntoutukseen")
    assert "missä asiassa toivot yhteydenottoa" in chat.say("form", "/contact_request")
    # Straight to Rasa: masked again by the form (the resident page's gateway masks and tells first).
    assert "Miten haluat" in chat.say("form", "Polvi leikattiin, hetu 131052-308T, mitä jumppaa saa tehdä?")
    assert "Kirjoita puhelinnumerosi" in chat.say("form", "puhelimitse")
    assert "ei näytä suomalaiselta puhelinnumerolta" in chat.say("form", "12345")
    assert "puhelimitse numeroon 040 123 4567" in chat.say("form", "040-1234567")
    answer = chat.say("form", "kyllä")
    reference = re.search(r"Viitenumerosi on (YP-\d{4}-\d{6})", answer).group(1)
    assert "Otamme sinuun yhteyttä kahden arkipäivän kuluessa." in answer
    sql = "SELECT message FROM contact_requests WHERE reference = :reference"
    message = query_one(stack["database"], sql, reference=reference)
    assert message == ("Polvi leikattiin, hetu ******-****, mitä jumppaa saa tehdä?",)

    chat.start("An emergency in the middle of the form")
    chat.say("form-112", "haluan jättää soittopyynnön terveysasemalle")
    assert "Soita heti hätänumeroon 112" in chat.say("form-112", "mies ei herää eikä hengitä")
    assert "Olen Opastin" in chat.say("form-112", "hei")  # the form is over: a normal greeting

    chat.start("Feedback (the gateway sends /give_feedback when a live chat ends)")
    assert "asteikolla 1–5" in chat.say("feedback", "/give_feedback")
    assert "Valitse arvio numerona 1–5" in chat.say("feedback", "tosi hyvä")
    assert "mitä voisimme tehdä paremmin" in chat.say("feedback", "4")
    assert "Kiitos palautteestasi" in chat.say("feedback", "Vastaus tuli nopeasti")
    sql = "SELECT rating, comment FROM feedback WHERE conversation_id = 'feedback'"
    stored = query_one(stack["database"], sql)
    assert stored == (4, "Vastaus tuli nopeasti")


def _without_the_service(chat: Transcripts, stack: dict[str, str]) -> None:
    chat.start("The handoff service is down: no promise of a human; the form's message is kept")
    _stop_service(stack)
    answer = chat.say("down", "lapsen rokotukset neuvolassa")
    assert "En juuri nyt saa yhteyttä ammattilaisten chat-palveluun" in answer and "015 211 8400" in answer
    chat.say("down", "/contact_request")
    chat.say("down", "Haluaisin siirtää lapsen rokotusajan")
    chat.say("down", "maija@example.fi")
    assert "viestisi on tallessa" in chat.say("down", "kyllä")

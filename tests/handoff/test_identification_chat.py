"""Strong identification in the chat, over real sockets (handoff/gateway/identification.py,
handoff/desk/identification.py): the professional asks, the resident gets the "Tunnistaudu" button,
identifies (a fake provider behind httpx.MockTransport) and both sides hear "Tunnistettu: Etunimi
Sukunimi"; cancelling is told to both; the names reach only that resident and the holding agent;
the ticket is never stored in plain text; "Lopeta keskustelu" ends every ticket and login of the
conversation; a team that requires identification offers the button to a queued resident.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select, text

from handoff.db import Database
from handoff.gateway.identification import EVENT
from handoff.identification import service
from handoff.identification.keys import ensure_dev_key_file, load_client_keys
from handoff.models import AuditEntry, IdentificationAttempt
from handoff.queue import enqueue
from handoff.settings import Settings
from opastin import messages
from opastin.teams import load_teams
from tests.handoff.conftest import FakeClock, add_agent
from tests.handoff.identification.support import (
    CLIENT_ID,
    ISSUER,
    MATTI,
    FakeProvider,
    oidc_client,
    provider_key,
)
from tests.handoff.live_support import (
    Agent,
    FakeRasa,
    Live,
    Resident,
    build,
    conversation_of,
    live_chat,
    sender_of,
    serve,
)

START = "/tunnistautuminen/aloita/"
REGISTER_FILE = Path(__file__).resolve().parents[2] / "idp" / "population_register.yml"
AINO = {"personal_identity_code": "140385-911S", "given_name": "Aino", "family_name": "Testinen"}


@pytest.fixture(scope="module")
def client_keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_dev_key_file(tmp_path_factory.mktemp("oidc") / "client-keys.json")


@pytest.fixture(scope="module")
def provider_signing_key() -> Any:
    return provider_key("provider-1")


@pytest.fixture
def provider(client_keys_file: Path, provider_signing_key: Any) -> FakeProvider:
    return FakeProvider(load_client_keys(client_keys_file), provider_signing_key)


@dataclasses.dataclass
class Chat(Live):
    provider: FakeProvider | None = None


async def served(
    settings: Settings, clock: FakeClock, db: Database, provider: FakeProvider | None
) -> AsyncIterator[Chat]:
    rasa = FakeRasa()
    app = build(settings, clock, rasa)
    if provider is not None:
        app.state.identification.client = oidc_client(provider)
    async with serve(app) as url:
        yield Chat(url, rasa, db, app, provider)


@pytest.fixture
async def live(
    db: Database, settings: Settings, clock: FakeClock, client_keys_file: Path, provider: FakeProvider
) -> AsyncIterator[Chat]:
    configured = dataclasses.replace(
        settings,
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT_ID,
        oidc_client_key_file=client_keys_file,
        population_register_file=REGISTER_FILE,
    )
    async for chat in served(configured, clock, db, provider):
        yield chat


@pytest.fixture
async def resident(live: Chat) -> AsyncIterator[Resident]:
    client = Resident(live.url)
    await client.connect()
    yield client
    await client.close()


class DeskEvents:
    """The ``identification`` events one desk socket receives."""

    def __init__(self, agent: Agent) -> None:
        assert agent.sio is not None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        agent.sio.on(EVENT, self.events.put_nowait, namespace="/desk")

    async def next(self, timeout: float = 5) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def none(self) -> None:
        await asyncio.sleep(0.3)
        assert self.events.empty(), self.events.get_nowait()


def route_of(message: dict[str, Any]) -> dict[str, Any] | None:
    route = (message.get("custom") or {}).get("route")
    return route if isinstance(route, dict) and route.get("type") == "identification" else None


async def button(resident: Resident) -> str:
    """The start link of the next "Tunnistaudu" button the resident gets."""
    message = await resident.until(lambda message: route_of(message) is not None)
    route = route_of(message)
    assert route is not None and route["label"] == "Tunnistaudu"
    assert route["target"].startswith(START)
    assert sender_of(message) == "system"
    return str(route["target"])


async def identify(live: Chat, link: str, person: dict[str, str] | None) -> httpx.Response:
    """Open the link in the resident's browser, log in at the fake provider (``None``: cancel), come back."""
    assert live.provider is not None
    async with httpx.AsyncClient(base_url=live.url) as browser:
        start = await browser.get(link)
        assert start.status_code == 303, start.text
        query = parse_qs(urlsplit(start.headers["location"]).query)
        state, nonce = query["state"][0], query["nonce"][0]
        if person is None:
            return await browser.get(service.CALLBACK_PATH, params={"error": "access_denied", "state": state})
        live.provider.id_token = live.provider.sign(live.provider.claims(nonce, person=person))
        return await browser.get(service.CALLBACK_PATH, params={"code": "the-code", "state": state})


async def desk_line(agent: Agent, said: str) -> None:
    """Skip the desk's system messages until one says ``said``."""
    while (await agent.next_message("system"))["text"] != said:
        pass


def events_of(agent: Agent) -> list[tuple[str, dict[str, Any]]]:
    """Every event the desk recorded and nobody read yet."""
    seen = []
    while not agent.events.empty():
        seen.append(agent.events.get_nowait())
    return seen


def database_text(db: Database) -> str:
    """Every row of the tables that hold messages, sessions and attempts, as one text."""
    with db.reading() as session:
        rows = []
        for table in ("messages", "session_messages", "identification_attempts", "audit_log"):
            rows += [str(tuple(row)) for row in session.execute(text(f"SELECT * FROM {table}"))]
    return "\n".join(rows)


async def test_the_professional_asks_and_both_sides_hear_the_name(live: Chat, resident: Resident) -> None:
    conversation_id, agent = await live_chat(live, resident)
    add_agent(live.db, "liisa", ["neuvola"])  # a colleague in the same team, desk open
    colleague = Agent(live.url)
    await colleague.login("liisa")
    await colleague.connect_socket()
    at_agent, at_colleague = DeskEvents(agent), DeskEvents(colleague)
    panel_path = f"/desk/conversations/{conversation_id}/tunnistautuminen"
    panel = await agent.http.get(panel_path)
    assert (
        panel.status_code == 200 and "Ei tunnistettu" in panel.text and "Pyydä tunnistautumista" in panel.text
    )
    assert "Pyydä tunnistautumista" not in (await colleague.http.get(panel_path)).text  # not theirs to ask

    asked = await agent.post(panel_path)
    assert asked.status_code == 200, asked.text
    link = await button(resident)
    ticket = link.removeprefix(START)
    assert await at_agent.next() == {"conversation_id": conversation_id, "state": "requested"}
    await desk_line(agent, messages.text("gateway.identification.asked"))
    assert "Tunnistautumista pyydetty" in (await agent.http.get(panel_path)).text

    page = await identify(live, link, MATTI)
    assert page.status_code == 200 and "Olet nyt tunnistautunut" in page.text
    told = await resident.until(lambda message: sender_of(message) == "system")
    assert told["text"] == "Tunnistettu: Matti Kokeilu"
    assert told["custom"]["identification"] == "identified"  # the widget retires the spent button
    assert await at_agent.next() == {
        "conversation_id": conversation_id,
        "state": "identified",
        "name": "Matti Kokeilu",
    }
    await desk_line(agent, "Tunnistettu: Matti Kokeilu")
    assert "Tunnistettu: Matti Kokeilu" in (await agent.http.get(panel_path)).text
    seen_by_colleague = (await colleague.http.get(panel_path)).text
    assert "Tunnistettu" in seen_by_colleague and "Matti" not in seen_by_colleague
    own_chats = (await agent.http.get("/desk")).text  # the chat list, on the front page and beside a chat
    assert 'data-identified="1">Tunnistettu' in own_chats and "Matti" not in own_chats
    await at_colleague.none()  # no event, no name for anyone but the holder
    assert all("Matti" not in str(data) for _, data in events_of(colleague))

    stored = database_text(live.db)
    assert ticket not in stored  # the link went to the resident's socket only
    assert MATTI["personal_identity_code"] not in stored and "021178" not in stored
    with live.db.reading() as session:
        actions = session.execute(
            select(AuditEntry.action).where(AuditEntry.action.like("identification.%"))
        ).scalars()
        assert list(actions) == ["identification.ticket", "identification.start", "identification.identified"]
    await colleague.close()
    await agent.close()


async def test_the_identity_code_opens_to_the_holder_and_participant_and_to_others_only_with_a_reason(
    live: Chat, resident: Resident
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    panel_path = f"/desk/conversations/{conversation_id}/tunnistautuminen"
    code_path = f"/desk/conversations/{conversation_id}/henkilotunnus"
    code = MATTI["personal_identity_code"]
    assert (await agent.post(panel_path)).status_code == 200
    assert (await identify(live, await button(resident), MATTI)).status_code == 200
    add_agent(live.db, "liisa", ["neuvola"])  # a colleague of the team, not holding the chat
    add_agent(live.db, "pekka", ["terveysneuvo"])  # another team
    colleague, outsider = Agent(live.url), Agent(live.url)
    await colleague.login("liisa")
    await outsider.login("pekka")

    # The panels offer the opening, never the code itself.
    for _ in range(50):
        held = (await agent.http.get(panel_path)).text
        if "Näytä henkilötunnus" in held:
            break
        await asyncio.sleep(0.05)
    assert "Näytä henkilötunnus" in held and code not in held
    theirs = (await colleague.http.get(panel_path)).text
    assert "Avaa henkilötunnus" in theirs and 'name="reason"' in theirs and code not in theirs

    opened = await agent.post(code_path)  # the holder: no reason needed
    assert opened.status_code == 200 and code in opened.text and "Matti Kokeilu" in opened.text
    refused = await colleague.post(code_path)
    assert refused.status_code == 400 and code not in refused.text
    short = await colleague.post(code_path, reason="katson")
    assert short.status_code == 400 and code not in short.text
    reason = "Asukas soitti ja pyysi tarkistamaan chatin tiedot"
    with_reason = await colleague.post(code_path, reason=reason)
    assert with_reason.status_code == 200 and code in with_reason.text and "Matti Kokeilu" in with_reason.text
    assert (await outsider.post(code_path, reason=reason)).status_code == 403
    # Invited to consult, the colleague of another team sees the name, never the code.
    await outsider.present("terveysneuvo")
    page = f"/desk/conversations/{conversation_id}"
    assert (await agent.post(f"{page}/konsultaatio", username="pekka")).status_code == 200
    consulting = (await outsider.http.get(panel_path)).text
    assert "Tunnistettu: Matti Kokeilu" in consulting and code not in consulting
    assert "Näytä henkilötunnus" not in consulting and "Pyydä tunnistautumista" not in consulting
    assert (await outsider.post(code_path)).status_code == 403
    assert (await outsider.post(code_path, reason=reason)).status_code == 403
    # Taken into the resident's chat as a visible participant, they open it as the holder does.
    assert (await agent.post(f"{page}/konsultaatio/mukaan", username="pekka")).status_code == 200
    participating = (await outsider.http.get(panel_path)).text
    assert "Näytä henkilötunnus" in participating and "Pyydä tunnistautumista" not in participating
    as_participant = await outsider.post(code_path)
    assert as_participant.status_code == 200 and code in as_participant.text
    no_csrf = await colleague.http.post(code_path, data={"reason": reason})
    assert no_csrf.status_code == 403 and code not in no_csrf.text

    with live.db.reading() as session:
        views = session.execute(
            select(AuditEntry.actor, AuditEntry.object_id, AuditEntry.details)
            .where(AuditEntry.action == "identity.code.view")
            .order_by(AuditEntry.id)
        ).all()
    assert [tuple(view) for view in views] == [
        ("maija", conversation_id, {"basis": "holder", "reason": None}),
        ("liisa", conversation_id, {"basis": "stated_reason", "reason": reason}),
        ("pekka", conversation_id, {"basis": "participant", "reason": None}),
    ]
    assert code not in database_text(live.db)  # stored encrypted; the audit names no code
    for desk in (colleague, outsider, agent):
        await desk.close()


def choice_token(page: httpx.Response) -> str:
    found = re.search(r'name="token" value="([^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1)


async def choose(live: Chat, token: str, subject: str) -> httpx.Response:
    """Send the guardian's choice from the result page (its own browser)."""
    async with httpx.AsyncClient(base_url=live.url) as browser:
        return await browser.post(service.CHOICE_PATH, data={"token": token, "subject": subject})


async def test_a_guardian_acts_for_a_child_and_the_professional_assesses_an_older_ones_maturity(
    live: Chat, resident: Resident
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    at_agent = DeskEvents(agent)
    add_agent(live.db, "liisa", ["neuvola"])
    colleague = Agent(live.url)
    await colleague.login("liisa")
    panel_path = f"/desk/conversations/{conversation_id}/tunnistautuminen"
    maturity_path = f"/desk/conversations/{conversation_id}/kypsyysarvio"
    assert (await agent.post(panel_path)).status_code == 200
    page = await identify(live, await button(resident), AINO)
    # The register's children, each with the age on the day, and "own matters" chosen by default.
    assert page.status_code == 200 and "Kenen asioita hoidat tässä keskustelussa?" in page.text
    assert 'value="self" checked> Omia asioitani' in page.text
    assert "Lapseni Veeti Testinen, 8 v</label>" in page.text
    assert "Lapseni Ella Testinen, 13 v (ammattilainen arvioi ensin" in page.text
    assert "050517" not in page.text and "170812" not in page.text
    token = choice_token(page)
    assert [(await at_agent.next())["state"] for _ in range(2)] == ["requested", "identified"]

    chosen = await choose(live, token, "0")
    assert chosen.status_code == 200 and "lapsesi puolesta: Veeti Testinen" in chosen.text
    told = await resident.until(lambda message: "lapsesi puolesta" in str(message.get("text")))
    assert told["text"] == "Asioit nyt lapsesi puolesta: Veeti Testinen."
    assert await at_agent.next() == {"conversation_id": conversation_id, "state": "acting_for"}
    held = (await agent.http.get(panel_path)).text
    assert "Asioi lapsensa puolesta: Veeti Testinen, 8 v" in held and "Kypsyysarvio" not in held
    assert "Huoltaja voi asioida" not in held  # under 12: no assessment
    theirs = (await colleague.http.get(panel_path)).text
    assert "Asioi lapsensa puolesta" in theirs and "Veeti" not in theirs

    # Ella is 13: the desk asks the professional holding the chat to assess her maturity.
    assert (await choose(live, token, "1")).status_code == 200
    await resident.until(lambda message: "Ella Testinen" in str(message.get("text")))
    held = (await agent.http.get(panel_path)).text
    assert "Lapsi on täyttänyt 12 vuotta" in held and "Huoltaja voi asioida lapsen puolesta" in held
    assert (await colleague.post(maturity_path, decision="allowed")).status_code == 403
    assert (await agent.post(maturity_path, decision="perhaps")).status_code == 400
    assert (await agent.post(maturity_path, decision="allowed")).status_code == 200
    held = (await agent.http.get(panel_path)).text
    assert "Kypsyysarvio: huoltaja voi asioida lapsen puolesta (arvioi maija)." in held

    # Opening the codes: the guardian's and the child's, one audited view.
    opened = (await agent.post(f"/desk/conversations/{conversation_id}/henkilotunnus")).text
    assert AINO["personal_identity_code"] in opened and "170812A967P" in opened
    # A forged, a foreign or an out-of-list choice changes nothing.
    assert (await choose(live, token[:-3] + "abc", "0")).status_code == 400
    assert (await choose(live, token, "5")).status_code == 400
    assert "Ella Testinen" in (await agent.http.get(panel_path)).text
    stored = database_text(live.db)
    assert "170812" not in stored and "050517" not in stored and "140385" not in stored
    await colleague.close()
    await agent.close()


async def test_a_person_who_is_nobodys_guardian_gets_no_choice(live: Chat, resident: Resident) -> None:
    conversation_id, agent = await live_chat(live, resident)
    assert (await agent.post(f"/desk/conversations/{conversation_id}/tunnistautuminen")).status_code == 200
    page = await identify(live, await button(resident), MATTI)
    assert page.status_code == 200 and "Kenen asioita" not in page.text and 'name="token"' not in page.text
    await agent.close()


async def test_a_cancelled_identification_is_told_to_both_and_the_chat_goes_on(
    live: Chat, resident: Resident
) -> None:
    conversation_id, agent = await live_chat(live, resident)
    at_agent = DeskEvents(agent)
    panel_path = f"/desk/conversations/{conversation_id}/tunnistautuminen"
    assert (await agent.post(panel_path)).status_code == 200
    link = await button(resident)
    assert (await at_agent.next())["state"] == "requested"

    page = await identify(live, link, None)
    assert page.status_code == 200 and "Keskeytit tunnistautumisen" in page.text
    told = await resident.until(lambda message: sender_of(message) == "system")
    assert told["text"] == "Tunnistautuminen keskeytettiin. Voit jatkaa keskustelua tunnistautumatta."
    assert await at_agent.next() == {"conversation_id": conversation_id, "state": "cancelled"}
    shown = (await agent.http.get(panel_path)).text
    assert "Asukas keskeytti tunnistautumisen – keskustelu jatkuu tunnistamattomana" in shown
    assert "Pyydä tunnistautumista uudelleen" in shown
    # The chat goes on anonymously.
    await resident.say("Jatketaan ilman")
    assert (await agent.next_message())["text"] == "Jatketaan ilman"
    await agent.close()


async def test_a_different_person_is_refused_and_the_desk_warned(live: Chat, resident: Resident) -> None:
    conversation_id, agent = await live_chat(live, resident)
    at_agent = DeskEvents(agent)
    panel_path = f"/desk/conversations/{conversation_id}/tunnistautuminen"
    assert (await agent.post(panel_path)).status_code == 200
    assert (await identify(live, await button(resident), MATTI)).status_code == 200
    assert (await at_agent.next())["state"] == "requested"
    assert (await at_agent.next())["state"] == "identified"
    assert (await agent.post(panel_path)).status_code == 200
    other = {"personal_identity_code": "140385-911S", "given_name": "Aino", "family_name": "Testinen"}
    assert (await identify(live, await button(resident), other)).status_code == 409
    assert (await at_agent.next())["state"] == "requested"
    assert await at_agent.next() == {"conversation_id": conversation_id, "state": "different_person"}
    told = await resident.until(
        lambda message: message.get("text") == messages.text("gateway.identification.different_person")
    )
    assert "Aino" not in str(told)
    shown = (await agent.http.get(panel_path)).text
    assert 'role="alert"' in shown and "eri henkilö" in shown and "Aino" not in shown
    await agent.close()


async def test_only_the_agent_holding_the_chat_may_ask(live: Chat, resident: Resident) -> None:
    conversation_id, agent = await live_chat(live, resident)
    add_agent(live.db, "liisa", ["neuvola"])
    colleague = Agent(live.url)
    await colleague.login("liisa")
    refused = await colleague.post(f"/desk/conversations/{conversation_id}/tunnistautuminen")
    assert refused.status_code == 403
    no_csrf = await agent.http.post(
        f"/desk/conversations/{conversation_id}/tunnistautuminen", headers={"Accept": "application/json"}
    )
    assert no_csrf.status_code == 403
    with live.db.reading() as session:
        assert session.execute(select(IdentificationAttempt)).first() is None
    await colleague.close()
    await agent.close()


async def test_ending_the_chat_ends_every_ticket_and_login_of_it(live: Chat, resident: Resident) -> None:
    conversation_id, agent = await live_chat(live, resident)
    panel_path = f"/desk/conversations/{conversation_id}/tunnistautuminen"
    assert (await agent.post(panel_path)).status_code == 200
    unused = await button(resident)
    assert (await agent.post(panel_path)).status_code == 200
    started = await button(resident)
    async with httpx.AsyncClient(base_url=live.url) as browser:
        start = await browser.get(started)  # a login under way, its cookie in this browser
        assert start.status_code == 303
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        await resident.sio.emit("session_end")  # "Lopeta keskustelu"
        for _ in range(100):
            with live.db.reading() as session:
                outcomes = set(
                    session.execute(
                        select(IdentificationAttempt.outcome).where(
                            IdentificationAttempt.conversation_id == conversation_id
                        )
                    ).scalars()
                )
            if outcomes == {service.ENDED}:
                break
            await asyncio.sleep(0.02)
        assert outcomes == {service.ENDED}
        with_cookie = await browser.get(service.CALLBACK_PATH, params={"code": "c", "state": state})
        assert with_cookie.status_code == 400 and "Linkki on vanhentunut" in with_cookie.text
        assert (await browser.get(unused)).status_code == 400
    assert live.provider is not None and live.provider.token_requests == []
    await agent.close()


@pytest.fixture
def optional_teams(teams_file: Path) -> Path:
    """neuvola required (as in data/teams.yml), terveysneuvo made optional (before the app reads it)."""
    import yaml

    document = yaml.safe_load(teams_file.read_text("utf-8"))
    document["teams"]["terveysneuvo"]["identification"] = "optional"
    teams_file.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return teams_file


@pytest.mark.parametrize(("team", "offered"), [("neuvola", True), ("terveysneuvo", False)])
async def test_a_team_that_requires_identification_offers_the_button_in_the_queue(
    optional_teams: Path, live: Chat, resident: Resident, clock: FakeClock, team: str, offered: bool
) -> None:
    add_agent(live.db, "maija", [team])
    conversation_id = await conversation_of(resident, live)
    secret = resident.secret
    catalogue = load_teams(optional_teams)

    def queue_and_answer(sender: str, said: str) -> list[dict[str, Any]]:
        with live.db.writing() as session:  # as the action server does during the bot's turn
            enqueue(session, catalogue.get(team), sender, "Kysyy.", [], clock.now)  # type: ignore[arg-type]
        return [{"recipient_id": sender, "text": "Olet jonossa."}]

    live.rasa.answer = queue_and_answer
    await resident.say("haluan jonoon")
    await resident.until(lambda message: message.get("text") == "Olet jonossa.")
    if not offered:
        await asyncio.sleep(0.3)
        assert not [message for message in resident.drain() if route_of(message)]
        return
    link = await button(resident)
    with live.db.reading() as session:
        assert service.chat_state(session, conversation_id, clock.now).state == "requested"
    # Once: another bot turn while waiting brings no second button.
    live.rasa.answer = None
    await resident.say("odotan")
    await asyncio.sleep(0.3)
    assert not [message for message in resident.drain() if route_of(message)]
    # A resumed page (its button was live only) gets a new one; the history keeps the text once.
    await resident.close()
    resident = Resident(live.url)
    await resident.connect(secret)
    spent, link = link, await button(resident)
    assert link != spent
    required = messages.text("gateway.identification.required")
    with live.db.reading() as session:
        texts = session.execute(text("SELECT text FROM session_messages")).scalars().all()
    assert texts.count(required) == 1
    # The queued resident identifies: the team's desks refresh; the name goes to nobody there.
    agent = Agent(live.url)
    await agent.login("maija")
    await agent.connect_socket()
    queue_view = (await agent.http.get("/desk/fragments/overview")).text
    assert 'data-identified="0">Ei tunnistettu' in queue_view
    assert (await identify(live, link, MATTI)).status_code == 200
    told = await resident.until(
        lambda message: sender_of(message) == "system" and "Tunnistettu" in message["text"]
    )
    assert told["text"] == "Tunnistettu: Matti Kokeilu"
    panel = (await agent.http.get(f"/desk/conversations/{conversation_id}/tunnistautuminen")).text
    assert "Tunnistettu" in panel and "Matti" not in panel and "edellyttää" not in panel
    queue_view = (await agent.http.get("/desk/fragments/overview")).text
    assert 'data-identified="1">Tunnistettu' in queue_view and "Matti" not in queue_view
    # Taken from the queue: the holder sees the name.
    assert await agent.accept(team, conversation_id) == conversation_id
    panel = (await agent.http.get(f"/desk/conversations/{conversation_id}/tunnistautuminen")).text
    assert "Tunnistettu: Matti Kokeilu" in panel
    await resident.close()
    await agent.close()


async def test_without_a_provider_there_is_nothing_of_identification(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    async for live in served(settings, clock, db, None):
        resident = Resident(live.url)
        await resident.connect()
        conversation_id, agent = await live_chat(live, resident)
        path = f"/desk/conversations/{conversation_id}/tunnistautuminen"
        assert (await agent.http.get(path)).status_code == 404
        assert (await agent.post(path)).status_code == 404
        page = await agent.http.get(f"/desk/conversations/{conversation_id}")
        assert "data-identification" in page.text  # the script finds a 404 and keeps it hidden
        await resident.close()
        await agent.close()

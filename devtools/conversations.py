"""Replay multi-turn conversations against the running bot and judge every turn (issue 15).

A conversation file (``tests/heldout/conversations/BRIEF.md`` describes the
format) gives, for each resident message, what the assistant should do: a
route, an answer, a form step, staying with the need, an honest person offer...
Rasa's test stories do not run custom actions, so they cannot judge this; the
runner sends each message over the REST channel to the real Rasa, action
server and handoff service, with the service's and actions' clock set to the
conversation's ``clock`` (``OPASTIN_CLOCK_START``) and one professional present
in every team, then reads from Rasa's tracker what the turn did: the route
payloads (``custom.route``), the responses and actions, the form's slot.

Two invariants are checked on every turn whatever the label: no bot message
repeats one of the previous turn, and no offer names a team whose chat is
closed at that moment.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.request
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from devtools.stack import Rasa, action_server, create_agents, handoff_cli, handoff_server, post_message
from opastin.clock import CLOCK_START_VARIABLE
from opastin.hours import is_open
from opastin.places import DEFAULT_TEAMS_FILE
from opastin.processes import free_port
from opastin.teams import Teams, load_teams

# The conversations' clocks: a Tuesday and the following night and Saturday, away from holidays.
CLOCKS = {
    "weekday_10": "2027-01-12T10:00:00+02:00",
    "weekday_13": "2027-01-12T13:00:00+02:00",
    "weekday_17": "2027-01-12T17:00:00+02:00",
    "night": "2027-01-13T03:00:00+02:00",
    "weekend": "2027-01-16T11:00:00+02:00",
}
# Thanks beside the news that help was called are answered with the acknowledgement ("Ole hyvä, ja hyvä,
# että olet jo soittanut").
SMALLTALK = {
    "greet": ("utter_greet",),
    "thanks": (
        "utter_you_are_welcome",
        "utter_you_are_welcome_short",
        "utter_emergency_called_thanks",
        "utter_emergency_thanks",
    ),
    "goodbye": ("utter_goodbye",),
}
# The form step a label means, as the slot the form asks for after the turn.
FORM_ASKS = {
    "asks_team": ("contact_team",),
    "asks_message": ("contact_message",),
    "asks_contact": ("contact_method", "contact_value"),
    "asks_consent": ("contact_consent",),
}
CONTACT_FORM = "contact_request_form"
ASKS_WHAT = ("utter_clarify", "utter_ask_how_can_help")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
_TEAM_IN_PAYLOAD = re.compile(r'"team"\s*:\s*"([a-z][a-z0-9_]*)"')


@dataclass(frozen=True)
class Turn:
    """One resident message and what the assistant should do with it."""

    user: str
    expect: Mapping[str, Any]


@dataclass(frozen=True)
class Conversation:
    """A conversation of a set, with the clock it happens at."""

    id: str
    clock: str
    turns: tuple[Turn, ...]
    situation: str = ""


@dataclass(frozen=True)
class Observed:
    """What one bot turn did, read from the tracker events after the resident's message."""

    texts: tuple[str, ...]
    routes: tuple[tuple[str, str], ...]
    names: frozenset[str]
    button_payloads: tuple[str, ...]
    requested_slot: str | None
    active_loop: str | None
    team_offers: tuple[tuple[str, bool, bool], ...] = ()


@dataclass
class TurnResult:
    """A judged turn."""

    user: str
    expect: Mapping[str, Any]
    observed: Observed
    right: bool
    repeated: list[str] = field(default_factory=list)
    closed_offers: list[str] = field(default_factory=list)


@dataclass
class ConversationResult:
    """A judged conversation: right only when every turn is."""

    conversation: Conversation
    turns: list[TurnResult]

    @property
    def right(self) -> bool:
        """Whether every turn did what the author intended."""
        return all(turn.right for turn in self.turns)


def load_conversations(path: Path) -> list[Conversation]:
    """The conversations of one set file; ``ValueError`` names a malformed one."""
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = []
    for raw in document.get("conversations") or []:
        if raw.get("clock") not in CLOCKS:
            raise ValueError(
                f"{path}: conversation {raw.get('id')} has an unknown clock {raw.get('clock')!r}"
            )
        turns = tuple(Turn(str(turn["user"]), dict(turn["expect"])) for turn in raw["turns"])
        found.append(Conversation(str(raw["id"]), raw["clock"], turns, str(raw.get("situation") or "")))
    return found


def _route_key(route: Mapping[str, Any]) -> tuple[str, str]:
    kind = str(route.get("type"))
    if kind == "omaolo":
        return kind, str(route.get("symptom"))
    if kind == "webpage":
        return kind, str(route.get("page"))
    return kind, str(route.get("target"))


def observe(events: Sequence[Mapping[str, Any]], before: Observed | None) -> Observed:
    """What the events after the latest user message did; slot and loop carry on from ``before``."""
    start = max((i for i, event in enumerate(events) if event.get("event") == "user"), default=-1)
    texts, routes, names, payloads, offers = [], [], set(), [], []
    requested = before.requested_slot if before else None
    loop = before.active_loop if before else None
    for event in events[start + 1 :]:
        kind = event.get("event")
        if kind == "bot":
            data = event.get("data") or {}
            if event.get("text"):
                texts.append(str(event["text"]))
            route = (data.get("custom") or {}).get("route")
            if isinstance(route, dict):
                routes.append(_route_key(route))
                if route.get("type") == "team" and "open" in route:
                    offers.append((str(route["target"]), bool(route["open"]), bool(route.get("accepting"))))
            payloads += [str(button.get("payload")) for button in data.get("buttons") or []]
            names.add(str((event.get("metadata") or {}).get("utter_action") or ""))
        elif kind == "action":
            names.add(str(event.get("name")))
        elif kind == "slot" and event.get("name") == "requested_slot":
            requested = event.get("value")
        elif kind == "active_loop":
            loop = event.get("name")
    names.discard("")
    return Observed(
        tuple(texts), tuple(routes), frozenset(names), tuple(payloads), requested, loop, tuple(offers)
    )


def _has_name(observed: Observed, *prefixes: str) -> bool:
    return any(name.startswith(prefix) for name in observed.names for prefix in prefixes)


def asks(observed: Observed) -> str | None:
    """The contact form's slot the bot asks for at the end of the turn, if the form is on."""
    return observed.requested_slot if observed.active_loop == CONTACT_FORM else None


def _form_step_right(step: str, observed: Observed, consent_asked_before: bool) -> bool:
    if step in FORM_ASKS:
        return asks(observed) in FORM_ASKS[step]
    if step == "corrected":
        asks_again = consent_asked_before and asks(observed) == "contact_consent"
        return asks_again or _has_name(observed, "utter_contact_corrected")
    if step == "sent":
        return _has_name(observed, "utter_contact_sent", "utter_contact_queued")
    if step == "cancelled":
        return _has_name(observed, "utter_contact_cancelled", "utter_contact_not_sent")
    return False


def _person_offer_right(kind: str, observed: Observed) -> bool:
    """A person offer (``offered``, ``none_open``): the bot's own person payload, or the team the
    conversation is about offered with its live state (its queue when it takes chats; closed, with
    the next opening, the form and the phone, when it does not)."""
    if ("person", kind) in observed.routes:
        return True
    if kind == "offered":
        return any(accepting for _, _, accepting in observed.team_offers)
    return kind == "none_open" and any(not is_open for _, is_open, _ in observed.team_offers)


def judge(expect: Mapping[str, Any], observed: Observed, consent_asked_before: bool = False) -> bool:
    """Whether the turn did what ``expect`` says (one label, see the brief)."""
    routes = set(observed.routes)
    if "route" in expect:
        kind = str(expect["route"])
        if kind == "form":
            return any(r[0] == "form" for r in routes) or observed.active_loop == CONTACT_FORM
        return (kind, str(expect.get("target"))) in routes
    if "emergency" in expect:
        return ("emergency", str(expect["emergency"])) in routes
    if "answer" in expect:
        return ("answer", str(expect["answer"])) in routes
    if "stay" in expect:
        target = str(expect["stay"])
        return not _has_name(observed, *ASKS_WHAT) and any(r[1] == target for r in routes)
    if "human" in expect:
        return _person_offer_right(str(expect["human"]), observed)
    if "form" in expect:
        return _form_step_right(str(expect["form"]), observed, consent_asked_before)
    if "identity" in expect:
        return _has_name(observed, "utter_bot_identity", "utter_capabilities")
    if "feedback" in expect:
        return _has_name(observed, "utter_ask_feedback_rating")
    if "clarify" in expect:
        return _has_name(observed, *ASKS_WHAT)
    if "smalltalk" in expect:
        return _has_name(observed, *SMALLTALK.get(str(expect["smalltalk"]), ("?",)))
    if "language" in expect:
        return _has_name(observed, "utter_other_language")
    raise ValueError(f"unknown expectation {dict(expect)}")


def offered_teams(observed: Observed, routes_teams: Mapping[str, str]) -> list[str]:
    """The teams whose chat the turn offers: person buttons, queue buttons, topic buttons of a person offer.

    ``routes_teams`` maps an intent to the team it routes to (topic buttons are ``/<intent>``).
    """
    teams = []
    person_offer = any(kind == "person" for kind, _ in observed.routes)
    team_route = next((target for kind, target in observed.routes if kind == "team"), None)
    for payload in observed.button_payloads:
        named = _TEAM_IN_PAYLOAD.search(payload)
        if named:
            teams.append(named.group(1))
        elif payload.startswith("/join_queue") and team_route:
            teams.append(team_route)
        elif person_offer and payload.lstrip("/") in routes_teams:
            teams.append(routes_teams[payload.lstrip("/")])
    return list(dict.fromkeys(teams))


def closed_offers(
    observed: Observed, catalogue: Teams, now: datetime, routes_teams: Mapping[str, str]
) -> list[str]:
    """The offered teams whose chat is closed at ``now``."""
    return [
        team_id
        for team_id in offered_teams(observed, routes_teams)
        if (team := catalogue.get(team_id)) is None or not is_open(team.schedule, now)
    ]


def tracker_events(rasa_url: str, sender: str) -> list[dict[str, Any]]:
    """The conversation's events from Rasa's HTTP API (``rasa run --enable-api``)."""
    with urllib.request.urlopen(
        f"{rasa_url}/conversations/{sender}/tracker?include_events=ALL", timeout=30
    ) as r:
        events: list[dict[str, Any]] = json.load(r).get("events") or []
        return events


def replay(
    conversation: Conversation,
    rasa_url: str,
    sender: str,
    check_closed: Callable[[Observed], list[str]],
) -> ConversationResult:
    """Send the conversation's messages one by one and judge every turn."""
    results: list[TurnResult] = []
    before: Observed | None = None
    consent_asked = False
    for turn in conversation.turns:
        post_message(rasa_url, sender, turn.user, timeout=60)
        observed = observe(tracker_events(rasa_url, sender), before)
        right = judge(turn.expect, observed, consent_asked)
        repeated = [text for text in observed.texts if before is not None and text in before.texts]
        results.append(TurnResult(turn.user, turn.expect, observed, right, repeated, check_closed(observed)))
        if observed.active_loop != CONTACT_FORM:
            consent_asked = False
        elif asks(observed) == "contact_consent":
            consent_asked = True
        before = observed
    return ConversationResult(conversation, results)


def _login_present(url: str, username: str, password: str, team: str) -> None:
    with httpx.Client(base_url=url, timeout=15) as client:
        form = client.get("/desk/login")
        token = CSRF_FIELD.search(form.text)
        login = client.post(
            "/desk/login",
            data={"username": username, "password": password, "csrf_token": token[1] if token else ""},
        )
        desk = client.get(login.headers.get("location", "/desk"))
        csrf = CSRF_FIELD.search(desk.text)
        client.post(
            "/desk/presence",
            data={"csrf_token": csrf[1] if csrf else "", "team": team, "present": "1"},
            headers={"Accept": "application/json"},
        )


@contextmanager
def stack_at(rasa: Rasa, clock: str, tmp: Path) -> Iterator[None]:
    """The handoff service and the action server with their clock at ``CLOCKS[clock]``.

    One professional is present in every team (marking presence in a closed team's
    chat does not open it), so that an open team is an accepting one.
    """
    folder = tmp / clock
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": f"sqlite:///{folder / 'handoff.db'}",
        "HANDOFF_VAR_DIR": str(folder),
        "HANDOFF_API_TOKEN": "conversation-runner-token-0123456789",
        "RASA_URL": rasa.url,
        CLOCK_START_VARIABLE: CLOCKS[clock],
    }
    handoff_cli(env, "migrate")
    catalogue = load_teams(DEFAULT_TEAMS_FILE)
    agents = {f"agent_{team_id}": team_id for team_id in catalogue.ids}
    passwords = create_agents(env["DATABASE_URL"], agents)
    with ExitStack() as stack:
        log = stack.enter_context((folder / "handoff.log").open("wb"))
        stack.enter_context(handoff_server(env, port, log))
        for username, team_id in agents.items():
            _login_present(url, username, passwords[username], team_id)
        actions_env = {**env, "HANDOFF_URL": url, "OPASTIN_OUTBOX_DIR": str(folder / "outbox")}
        stack.enter_context(action_server(rasa, actions_env))
        yield


def run_sets(
    rasa: Rasa,
    sets: Iterable[Path],
    tmp: Path,
    progress: Callable[[str], None] = lambda _: None,
    workers: int = 1,
    alone: Collection[Path] = (),
) -> dict[Path, list[ConversationResult]]:
    """Replay every conversation of ``sets``, grouped by clock; the results in file order.

    With ``workers`` above one, conversations are replayed that many at a time, each with its own
    sender: Rasa, the action server and the service then work side by side. A turn's answer can
    then depend on what the others did (a queue filled meanwhile), so the sets ``alone`` are
    replayed first in each clock, one conversation at a time, as a measurement is.
    """
    from opastin.routes import default_routes

    routes = default_routes()
    routes_teams = {name: entry.target for name, entry in routes.intents.items() if entry.type == "team"}
    catalogue = load_teams(DEFAULT_TEAMS_FILE)
    loaded = {path: load_conversations(path) for path in sets}
    results: dict[tuple[Path, str], ConversationResult] = {}

    def run_one(clock: str, check: Callable[[Observed], list[str]], item: tuple[Path, Conversation]) -> None:
        path, conversation = item
        result = replay(conversation, rasa.url, f"{path.stem}-{conversation.id}-{clock}", check)
        results[(path, conversation.id)] = result
        progress(f"{conversation.id} {'ok' if result.right else 'MISS'}")

    for clock, start in CLOCKS.items():
        todo = [
            (path, c) for path, conversations in loaded.items() for c in conversations if c.clock == clock
        ]
        if not todo:
            continue
        now = datetime.fromisoformat(start)
        check = functools.partial(closed_offers, catalogue=catalogue, now=now, routes_teams=routes_teams)
        replay_one = functools.partial(run_one, clock, check)
        with stack_at(rasa, clock, tmp):
            for item in [item for item in todo if item[0] in alone]:
                replay_one(item)
            with ThreadPoolExecutor(max(1, workers)) as pool:
                list(pool.map(replay_one, [item for item in todo if item[0] not in alone]))
    return {path: [results[(path, c.id)] for c in conversations] for path, conversations in loaded.items()}


def describe(observed: Observed) -> str:
    """A short line of what a turn did, for the report."""
    routes = ", ".join(f"{kind}:{target}" for kind, target in observed.routes) or "-"
    names = ", ".join(
        sorted(n for n in observed.names if n.startswith(("utter_", "action_")) and n != "action_listen")
    )
    return f"routes [{routes}]; {names}"

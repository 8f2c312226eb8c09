"""Load and validate the content editors' route table, ``data/routes.yml``.

The route table maps intents and symptoms to team ids (of the team catalogue,
:mod:`opastin.teams`), Omaolo and web pages, and nothing else: a team's name,
hours and keywords come from the catalogue.

Every problem is reported as a :class:`RoutesConfigError` whose message names
the file and the key, e.g. ``data/routes.yml: intents.dental_care.target: unknown team 'hammas'``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from opastin import places
from opastin.content import ContentError, display_path, read_mapping
from opastin.finnish_text import normalise as normalise  # re-exported for the action server
from opastin.teams import CustomerService, Team, Teams, join_url, load_teams

ROUTE_TYPES = frozenset({"team", "omaolo", "webpage", "form"})
FORMS = frozenset({"contact_request"})
OMAOLO_TARGET = "symptom"
KNOWN_KEYS = frozenset(
    {"intents", "general_teams", "human_topics", "social_emergency", "pages", "omaolo", "answers",
     "form_phrases", "emergency_follow_ups", "vague_request", "another_matter_phrases", "new_need_phrases",
     "follow_up_words", "urgency_doubt_phrases", "page_request_phrases", "contact_form_words",
     "anonymity_phrases", "leave_taking_phrases", "declining_phrases", "farewells", "contact_timing_phrases"}
)  # fmt: skip
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class RoutesConfigError(ContentError):
    """The route table is missing a key or holds a value that cannot work."""


@dataclass(frozen=True)
class IntentRoute:
    """Where one intent goes: ``type`` and ``target`` as in the route payload, and a topic label."""

    type: str
    target: str
    label: str
    answer: str | None = None


@dataclass(frozen=True)
class Answer:
    """A short factual answer (``utter_faq/<topic>``) and the team offered after it, if any."""

    topic: str
    team: str | None = None
    keywords: tuple[str, ...] = ()
    page: str | None = None
    # Stems that give the answer in a longer account of what happened, even without a question
    # ("ja sit vielä palautetta: odotin päivystyksessä 7 tuntia…").
    account_keywords: tuple[str, ...] = ()
    # Stems that give this answer when the message also names another person (``follow_up_words``
    # ``another_person``: "entä iskän reseptit"), given instead of the answers in ``instead_of``.
    for_another: tuple[str, ...] = ()
    instead_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class Page:
    """A web page of the wellbeing services county."""

    id: str
    url: str
    label: str
    # Asked right after a team was offered, this page's question is about that team
    # ("miten sinne varataan aika?"): the team is offered again, with its own phone and page.
    of_team: bool = False


@dataclass(frozen=True)
class Symptom:
    """An Omaolo symptom assessment and the normalised keywords that point to it.

    ``weak_keywords`` point to it only when no symptom's ``keywords`` match ("kuume" alone is a
    respiratory infection; with a sore throat, a sore throat).
    """

    id: str
    name: str
    url: str
    keywords: tuple[str, ...]
    weak_keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Omaolo:
    """The Omaolo symptom checker: front page, age limit and symptom assessments in priority order."""

    front_page: str
    min_age: int
    child_team: str
    symptoms: tuple[Symptom, ...]
    child_stays_with: frozenset[str] = frozenset()
    person_team: str | None = None
    instead_phrases: tuple[str, ...] = ()
    child_health_teams: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ContactFormWords:
    """The words the contact form reads answers by (``contact_form_words``; see the file's comments)."""

    yes: frozenset[str] = frozenset()
    no: frozenset[str] = frozenset()
    fillers: frozenset[str] = frozenset()
    correction_stems: tuple[str, ...] = ()
    correction_cues: tuple[str, ...] = ()
    message_words: tuple[str, ...] = ()
    adding_stems: tuple[str, ...] = ()
    consent_stems: tuple[str, ...] = ()
    stop_words: frozenset[str] = frozenset()
    stop_phrases: tuple[str, ...] = ()
    maybe_stop_phrases: tuple[str, ...] = ()
    appointment_stems: tuple[str, ...] = ()
    phone_words: tuple[str, ...] = ()
    email_words: tuple[str, ...] = ()
    announcing_words: frozenset[str] = frozenset()


# ``contact_form_words`` keys whose entries are single words (looked up as whole words or stems).
_FORM_SINGLE_WORDS = frozenset(
    {
        "yes",
        "no",
        "fillers",
        "correction_stems",
        "message_words",
        "adding_stems",
        "consent_stems",
        "stop_words",
        "appointment_stems",
        "announcing_words",
    }
)


@dataclass(frozen=True)
class RouteTable:
    """Everything in ``data/routes.yml``, validated, with the catalogue's teams it points to."""

    intents: Mapping[str, IntentRoute]
    teams: Mapping[str, Team]
    general_teams: tuple[str, ...]
    human_topics: tuple[str, ...]
    pages: Mapping[str, Page]
    omaolo: Omaolo
    social_emergency: str = "hätänumeron 112 kautta"
    answers: Mapping[str, Answer] = field(default_factory=dict)
    customer_service: CustomerService | None = None
    form_phrases: tuple[str, ...] = ()
    # Phrases that open another matter outright ("toinen juttu"), and after a team was talked about,
    # phrases that ask where to get help for something else or turn to the writer's own need.
    another_matter_phrases: tuple[str, ...] = ()
    new_need_phrases: tuple[str, ...] = ()
    # Asking whether one could wait, manage or go by oneself, right after an emergency answer.
    urgency_doubt_phrases: tuple[str, ...] = ()
    page_request_phrases: tuple[str, ...] = ()
    # Asking, after a contact request was sent, when the professional gets in touch.
    contact_timing_phrases: tuple[str, ...] = ()
    # Asking whether one can stay anonymous ("voiko sinne soittaa nimettömänä?").
    anonymity_phrases: tuple[str, ...] = ()
    # Thanks that also take leave ("ok palaan huomenna. kiitti", "kiitti, yritetään nukkua").
    leave_taking_phrases: tuple[str, ...] = ()
    # Turning down the service an emergency answer named ("en mä halua mihinkään päivystykseen").
    declining_phrases: tuple[str, ...] = ()
    # Words that shape how a follow-up is read (``follow_up_words``; see the file's comments).
    back_references: frozenset[str] = frozenset()
    pronouns: frozenset[str] = frozenset()
    it_words: frozenset[str] = frozenset()
    place_words: frozenset[str] = frozenset()
    service_words: frozenset[str] = frozenset()
    new_topic_words: frozenset[str] = frozenset()
    later_words: frozenset[str] = frozenset()
    later_today_words: frozenset[str] = frozenset()
    morning_words: frozenset[str] = frozenset()
    address_words: frozenset[str] = frozenset()
    this_chat_words: frozenset[str] = frozenset()
    reaching_words: frozenset[str] = frozenset()
    today_words: frozenset[str] = frozenset()
    message_words: frozenset[str] = frozenset()
    self_words: frozenset[str] = frozenset()
    third_person_words: frozenset[str] = frozenset()
    first_person_words: frozenset[str] = frozenset()
    adult_words: frozenset[str] = frozenset()
    child_words: frozenset[str] = frozenset()
    greeting_words: frozenset[str] = frozenset()
    leave_taking_greetings: frozenset[str] = frozenset()
    anybody_words: frozenset[str] = frozenset()
    another_person_words: frozenset[str] = frozenset()
    # Per emergency level, the intents whose messages right after that answer are still about it.
    emergency_follow_ups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Words that name no matter by themselves, and the words that may stand beside them.
    vague_words: frozenset[str] = frozenset()
    vague_fillers: frozenset[str] = frozenset()
    form_words: ContactFormWords = field(default_factory=ContactFormWords)
    # The wish a goodbye ends with, from each hour of the day on (``farewells``), sorted by hour.
    farewells: tuple[tuple[int, str], ...] = ((0, "Hyvää päivänjatkoa!"),)

    def farewell(self, hour: int) -> str:
        """The goodbye's wish at ``hour`` (0–23): the last one that starts at or before it, or
        the day's last one before the first start ("Hyvää yötä!" at 3 a.m.)."""
        started = [text for start, text in self.farewells if start <= hour]
        return started[-1] if started else self.farewells[-1][1]


class _Reader:
    """Typed access to the parsed YAML that names the file and key in every error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, problem: str) -> RoutesConfigError:
        return RoutesConfigError(f"{self.source}: {key}: {problem}")

    def mapping(self, node: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
        value = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(value, Mapping) or not value:
            raise self.fail(path, "missing, or not a non-empty mapping")
        return value

    def text(self, node: Mapping[str, Any], key: str, path: str) -> str:
        value = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, "missing, or not a non-empty text")
        return value.strip()

    def url(self, node: Mapping[str, Any], key: str, path: str) -> str:
        value = self.text(node, key, path)
        if not value.startswith("https://"):
            raise self.fail(path, f"'{value}' must start with https://")
        return value

    def ids(self, node: Mapping[str, Any], key: str, allowed: Mapping[str, Any]) -> tuple[str, ...]:
        value = node.get(key)
        if not isinstance(value, list) or not value:
            raise self.fail(key, "missing, or not a non-empty list")
        for item in value:
            if item not in allowed:
                raise self.fail(key, f"unknown id '{item}'")
        return tuple(value)


def _keywords(reader: _Reader, node: Mapping[str, Any], path: str, key: str = "keywords") -> tuple[str, ...]:
    keywords = node.get(key) if isinstance(node, Mapping) else None
    if not isinstance(keywords, list) or not keywords or not all(isinstance(k, str) for k in keywords):
        raise reader.fail(path, "missing, or not a non-empty list of texts")
    normalised = tuple(normalise(k) for k in keywords)
    if not all(normalised):
        raise reader.fail(path, "a keyword has no letters")
    return normalised


def _optional_keywords(
    reader: _Reader, node: Mapping[str, Any] | None, path: str, key: str
) -> tuple[str, ...]:
    """The keywords under ``key`` of an optional mapping, or none."""
    return _keywords(reader, node, path, key) if node and node.get(key) else ()


def _pages(reader: _Reader, raw: Mapping[str, Any], base_url: str) -> dict[str, Page]:
    pages = {}
    for page_id, node in reader.mapping(raw, "pages", "pages").items():
        path = f"pages.{page_id}"
        url = reader.text(node, "url", f"{path}.url")
        if not url.startswith(("/", "https://")):
            raise reader.fail(f"{path}.url", f"'{url}' must be a path starting with / or an https:// URL")
        of_team = node.get("of_team", False)
        if not isinstance(of_team, bool):
            raise reader.fail(f"{path}.of_team", "must be true or false")
        label = reader.text(node, "label", f"{path}.label")
        pages[page_id] = Page(page_id, join_url(base_url, url), label, of_team)
    return pages


def _omaolo(reader: _Reader, raw: Mapping[str, Any], teams: Mapping[str, Team]) -> Omaolo:
    node = reader.mapping(raw, "omaolo", "omaolo")
    min_age = node.get("min_age")
    if not isinstance(min_age, int) or isinstance(min_age, bool) or not 0 <= min_age <= 120:
        raise reader.fail("omaolo.min_age", "must be a whole number of years")
    child_team = reader.text(node, "child_team", "omaolo.child_team")
    if child_team not in teams:
        raise reader.fail("omaolo.child_team", f"unknown team '{child_team}'")
    symptoms = []
    for symptom_id, item in reader.mapping(node, "symptoms", "omaolo.symptoms").items():
        path = f"omaolo.symptoms.{symptom_id}"
        normalised = _keywords(reader, item, f"{path}.keywords")
        weak: tuple[str, ...] = ()
        if "weak_keywords" in item:
            weak = _keywords(reader, item, f"{path}.weak_keywords", "weak_keywords")
        symptoms.append(
            Symptom(
                symptom_id,
                reader.text(item, "name", f"{path}.name"),
                reader.url(item, "url", f"{path}.url"),
                normalised,
                weak,
            )
        )
    stays_with = _team_ids(reader, node, "child_stays_with", teams)
    health_teams = _team_ids(reader, node, "child_health_teams", teams)
    front_page = reader.url(node, "front_page", "omaolo.front_page")
    person_team = node.get("person_team")
    if person_team is not None and person_team not in teams:
        raise reader.fail("omaolo.person_team", f"unknown team '{person_team}'")
    instead = _phrases(reader, node, "instead_phrases", "omaolo.instead_phrases")
    return Omaolo(
        front_page, min_age, child_team, tuple(symptoms), stays_with, person_team, instead, health_teams
    )


def _team_ids(reader: _Reader, node: Mapping[str, Any], key: str, teams: Mapping[str, Any]) -> frozenset[str]:
    value = node.get(key) or []
    if not isinstance(value, list) or any(team not in teams for team in value):
        raise reader.fail(f"omaolo.{key}", "must list team ids")
    return frozenset(value)


def _phrases(reader: _Reader, raw: Mapping[str, Any], key: str, path: str = "") -> tuple[str, ...]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) and normalise(item) for item in value):
        raise reader.fail(path or key, "must be a list of phrases with letters")
    return tuple(normalise(item) for item in value)


def _answers(
    reader: _Reader, raw: Mapping[str, Any], teams: Mapping[str, Any], pages: Mapping[str, Any]
) -> dict[str, Answer]:
    answers = {}
    for topic, node in (raw.get("answers") or {}).items():
        path = f"answers.{topic}"
        if not isinstance(topic, str) or not _TOPIC_ID.match(topic):
            raise reader.fail(path, "a topic id is 2-40 characters a-z, 0-9 and _, starting with a letter")
        if node is not None and not isinstance(node, Mapping):
            raise reader.fail(path, "must be a mapping, e.g. {team: terveysneuvo}, or {}")
        team = (node or {}).get("team")
        if team is not None and team not in teams:
            raise reader.fail(f"{path}.team", f"unknown team '{team}'")
        keywords = _optional_keywords(reader, node, path, "keywords")
        account_keywords = _optional_keywords(reader, node, f"{path}.account_keywords", "account_keywords")
        page = (node or {}).get("page")
        if page is not None and page not in pages:
            raise reader.fail(f"{path}.page", f"unknown page '{page}'")
        for_another = _optional_keywords(reader, node, f"{path}.for_another", "for_another")
        instead_of = tuple((node or {}).get("instead_of") or ())
        answers[topic] = Answer(topic, team, keywords, page, account_keywords, for_another, instead_of)
    for topic, answer in answers.items():
        unknown = [str(other) for other in answer.instead_of if other not in answers or other == topic]
        if unknown:
            raise reader.fail(
                f"answers.{topic}.instead_of", f"unknown or own topic: {', '.join(map(str, unknown))}"
            )
    return answers


def _intents(
    reader: _Reader,
    raw: Mapping[str, Any],
    teams: Mapping[str, Any],
    pages: Mapping[str, Any],
    answers: Mapping[str, Answer],
) -> dict[str, IntentRoute]:
    targets = {"team": teams, "webpage": pages, "form": FORMS, "omaolo": {OMAOLO_TARGET}}
    intents = {}
    for intent, node in reader.mapping(raw, "intents", "intents").items():
        path = f"intents.{intent}"
        route_type = reader.text(node, "type", f"{path}.type")
        if route_type not in ROUTE_TYPES:
            raise reader.fail(
                f"{path}.type", f"'{route_type}' is not one of {', '.join(sorted(ROUTE_TYPES))}"
            )
        target = reader.text(node, "target", f"{path}.target")
        if target not in targets[route_type]:
            raise reader.fail(f"{path}.target", f"unknown {route_type} '{target}'")
        answer = node.get("answer")
        if answer is not None and answer not in answers:
            raise reader.fail(f"{path}.answer", f"unknown answer topic '{answer}' (list it under answers)")
        label = reader.text(node, "label", f"{path}.label")
        intents[intent] = IntentRoute(route_type, target, label, answer)
    return intents


EMERGENCY_LEVELS = frozenset({"112", "116117", "crisis", "social"})


def _emergency_follow_ups(
    reader: _Reader, raw: Mapping[str, Any], intents: Mapping[str, IntentRoute]
) -> dict[str, tuple[str, ...]]:
    node = raw.get("emergency_follow_ups") or {}
    if not isinstance(node, Mapping):
        raise reader.fail("emergency_follow_ups", "must map emergency levels to lists of intents")
    follow_ups = {}
    for level in node:
        if str(level) not in EMERGENCY_LEVELS:
            known = ", ".join(sorted(EMERGENCY_LEVELS))
            raise reader.fail(f"emergency_follow_ups.{level}", f"unknown level (one of {known})")
        follow_ups[str(level)] = reader.ids(node, level, intents)
    return follow_ups


def _word_set(reader: _Reader, raw: Mapping[str, Any], key: str) -> frozenset[str]:
    node = raw.get("vague_request")
    if node is None:
        return frozenset()
    return frozenset(word for word in _keywords(reader, node, f"vague_request.{key}", key) if " " not in word)


def _follow_up_words(reader: _Reader, raw: Mapping[str, Any], key: str) -> frozenset[str]:
    node = raw.get("follow_up_words")
    if node is None:
        return frozenset()
    words = _keywords(reader, node, f"follow_up_words.{key}", key)
    if any(" " in word for word in words):
        raise reader.fail(f"follow_up_words.{key}", "must list single words")
    return frozenset(words)


def _contact_form_words(reader: _Reader, raw: Mapping[str, Any]) -> ContactFormWords:
    node = raw.get("contact_form_words")
    if node is None:
        return ContactFormWords()
    if not isinstance(node, Mapping):
        raise reader.fail("contact_form_words", "must be a mapping of word lists")
    fields = ContactFormWords.__dataclass_fields__
    unknown = sorted(set(node) - set(fields))
    if unknown:
        raise reader.fail(f"contact_form_words.{unknown[0]}", f"unknown key (one of {', '.join(fields)})")
    found: dict[str, Any] = {}
    for key in node:
        words = _keywords(reader, node, f"contact_form_words.{key}", key)
        if key in _FORM_SINGLE_WORDS and any(" " in word for word in words):
            raise reader.fail(f"contact_form_words.{key}", "must list single words")
        found[key] = frozenset(words) if isinstance(fields[key].default, frozenset) else words
    return ContactFormWords(**found)


def _farewells(reader: _Reader, raw: Mapping[str, Any]) -> tuple[tuple[int, str], ...]:
    node = reader.mapping(raw, "farewells", "farewells")
    found: list[tuple[int, str]] = []
    for hour in node:
        if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
            raise reader.fail(f"farewells.{hour}", "must be an hour from 0 to 23")
        found.append((hour, reader.text(node, hour, f"farewells.{hour}")))
    return tuple(sorted(found))


def parse_routes(raw: Any, source: str, catalogue: Teams) -> RouteTable:
    """Validate the parsed YAML of a route table against ``catalogue``; ``source`` names it in errors."""
    reader = _Reader(source)
    if not isinstance(raw, Mapping):
        raise reader.fail("(top level)", "must be a mapping")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise reader.fail(
            ", ".join(unknown), "unknown key (teams and the site address live in the team catalogue)"
        )
    teams = dict(catalogue.by_id)
    pages = _pages(reader, raw, catalogue.web_base_url)
    answers = _answers(reader, raw, teams, pages)
    intents = _intents(reader, raw, teams, pages, answers)
    return RouteTable(
        intents=intents,
        teams=teams,
        general_teams=reader.ids(raw, "general_teams", teams),
        human_topics=reader.ids(raw, "human_topics", intents),
        pages=pages,
        omaolo=_omaolo(reader, raw, teams),
        social_emergency=reader.text(raw, "social_emergency", "social_emergency"),
        answers=answers,
        customer_service=catalogue.customer_service,
        form_phrases=_phrases(reader, raw, "form_phrases"),
        another_matter_phrases=_phrases(reader, raw, "another_matter_phrases"),
        new_need_phrases=_phrases(reader, raw, "new_need_phrases"),
        urgency_doubt_phrases=_phrases(reader, raw, "urgency_doubt_phrases"),
        page_request_phrases=_phrases(reader, raw, "page_request_phrases"),
        contact_timing_phrases=_phrases(reader, raw, "contact_timing_phrases"),
        anonymity_phrases=_phrases(reader, raw, "anonymity_phrases"),
        leave_taking_phrases=_phrases(reader, raw, "leave_taking_phrases"),
        declining_phrases=_phrases(reader, raw, "declining_phrases"),
        back_references=_follow_up_words(reader, raw, "back_references"),
        pronouns=_follow_up_words(reader, raw, "pronouns"),
        it_words=_follow_up_words(reader, raw, "it"),
        place_words=_follow_up_words(reader, raw, "place"),
        service_words=_follow_up_words(reader, raw, "service"),
        new_topic_words=_follow_up_words(reader, raw, "new_topic"),
        later_words=_follow_up_words(reader, raw, "later"),
        later_today_words=_follow_up_words(reader, raw, "later_today"),
        morning_words=_follow_up_words(reader, raw, "morning"),
        address_words=_follow_up_words(reader, raw, "address"),
        this_chat_words=_follow_up_words(reader, raw, "this_chat"),
        reaching_words=_follow_up_words(reader, raw, "reaching"),
        today_words=_follow_up_words(reader, raw, "today"),
        message_words=_follow_up_words(reader, raw, "message"),
        self_words=_follow_up_words(reader, raw, "self"),
        third_person_words=_follow_up_words(reader, raw, "third_person"),
        first_person_words=_follow_up_words(reader, raw, "first_person"),
        adult_words=_follow_up_words(reader, raw, "adult"),
        child_words=_follow_up_words(reader, raw, "child"),
        greeting_words=_follow_up_words(reader, raw, "greeting"),
        leave_taking_greetings=_follow_up_words(reader, raw, "leave_taking"),
        anybody_words=_follow_up_words(reader, raw, "anybody"),
        another_person_words=_follow_up_words(reader, raw, "another_person"),
        emergency_follow_ups=_emergency_follow_ups(reader, raw, intents),
        vague_words=_word_set(reader, raw, "words"),
        vague_fillers=_word_set(reader, raw, "fillers"),
        form_words=_contact_form_words(reader, raw),
        farewells=_farewells(reader, raw),
    )


def load_routes(path: Path | str | None = None, catalogue: Teams | None = None) -> RouteTable:
    """Read and validate a route table file (default: the one in use) against a team catalogue."""
    path = places.routes_file() if path is None else Path(path)
    raw = read_mapping(path, RoutesConfigError)
    return parse_routes(raw, display_path(path), catalogue or load_teams(places.teams_file()))


@lru_cache(maxsize=1)
def default_routes() -> RouteTable:
    """The route table and team catalogue in use, loaded once per process."""
    return load_routes()

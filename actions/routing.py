"""Decide where a resident's message belongs, and what the bot says about it.

Pure functions over the validated route table (:mod:`opastin.routes`);
the Rasa actions in :mod:`actions.actions_routing` only call them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from opastin import messages
from opastin.finnish_text import chat_sentences, clause_words
from opastin.routes import Answer, Page, RouteTable, Symptom, normalise

# Most serious first: danger to life, suicidal thoughts, urgent care, an urgent social
# situation tonight; "confirm" is a suspicion, answered with one safety question.
EMERGENCY_LEVELS = ("112", "crisis", "116117", "social", "confirm")
DEFAULT_EMERGENCY_LEVEL = "112"
CONFIRM_LEVEL = "confirm"
# The safety net's ``emergency_help`` for danger from violence: the answer also names Nollalinja.
VIOLENCE_HELP = "violence"
# Emergencies written in these languages are answered in them (utter_emergency_<level>_<language>).
OTHER_LANGUAGES = ("en", "sv")
GENERAL_SYMPTOM = "general"
# The reason of a team route for a child's symptom (Omaolo is for residents from min_age on).
CHILD_SYMPTOM = "child_symptom"
HUMAN_INTENT = "request_human"
EMERGENCY_INTENT = "emergency"
FALLBACK_INTENT = "nlu_fallback"
CALLED_INTENT = "emergency_called"
MAX_CLARIFY_OPTIONS = 3
MAX_COMPOUND_PARTS = 3  # "pään särky", "ala selkä kipu": a compound written apart
SAME_ROUTE_THRESHOLD = 0.5
# The ``understanding`` key of a reply's payload, which the statistics count: the bot asked which
# topic was meant (``clarify``), or did not understand twice and offered a person or the form
# (``fallback``).
CLARIFY = "clarify"
NOT_UNDERSTOOD = "fallback"

# A symptom word the resident denies does not pick an assessment ("ripulia, ei kuumetta"):
# negation words, the words that may stand between one and the symptom ("ei oo ollut kuumetta"),
# "eikä" after a symptom (it starts a clause of its own: "kurkku kipeä eikä nielu"), and the words
# that end a denial's clause after it ("kuumetta ei ole ja juon hyvin").
_NEGATIONS = frozenset({"ei", "en", "eika", "enka", "ilman", "no", "not", "without", "inte", "ingen", "utan"})
_COORDINATING_NEGATIONS = frozenset({"eika", "enka"})
_NEGATION_FILLERS = frozenset(
    {"ole", "oo", "ollut", "ollu", "ollenkaan", "mitaan", "yhtaan", "juuri", "kovin", "mulla", "minulla"}
)
_CLAUSE_JOINERS = frozenset({"ja", "eika", "enka", "mut", "mutta", "vaan", "eli", "tai"})
# "päänsärkyä tai näköhäiriöitä ei oo": a word joined by these shares the denial after it.
_LIST_JOINERS = frozenset({"tai", "taikka", "eika", "ja"})
_AGE_NUMBER = re.compile(r"\d{1,3}")
_AGE_IN_MONTHS = re.compile(r"kk|kuuk|viik|vrk|paiva")
# Longest first, so "kaksitoista" is read before "kaksi".
_AGE_WORDS = {
    "neljatoista": 14,
    "kolmetoista": 13,
    "kaksitoista": 12,
    "yksitoista": 11,
    "puolitoista": 1,
    "kymmenen": 10,
    "yhdeksan": 9,
    "kahdeksan": 8,
    "seitseman": 7,
    "seitteman": 7,
    "kaheksan": 8,
    "yheksan": 9,
    "kuusi": 6,
    "viisi": 5,
    "nelja": 4,
    "kolme": 3,
    "kaksi": 2,
    "yksi": 1,
    # Spoken forms ("kaksvuotias", "viisvuotiaalla"), after the written ones they begin.
    "kuus": 6,
    "viis": 5,
    "kaks": 2,
    "yks": 1,
    "vastasyntyn": 0,
    "vauva": 0,
    "taapero": 1,
}


@dataclass(frozen=True)
class Route:
    """A routing decision: ``type`` and ``target`` as in the route payload, plus extra payload keys."""

    type: str
    target: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The ``custom`` payload of the bot message that states the decision."""
        return {"route": {"type": self.type, "target": self.target, **self.extra}}


def understanding(kind: str) -> dict[str, str]:
    """The payload that marks a reply as a clarifying question or a fallback (:data:`CLARIFY`,
    :data:`NOT_UNDERSTOOD`)."""
    return {"understanding": kind}


@dataclass(frozen=True)
class Reply:
    """A domain response name and the values of its ``{placeholders}``."""

    response: str
    values: Mapping[str, Any] = field(default_factory=dict)


def entity_values(entities: Iterable[Mapping[str, Any]], name: str) -> list[str]:
    """The values of every entity called ``name``, in message order."""
    return [str(e.get("value")) for e in entities if e.get("entity") == name and e.get("value") is not None]


def emergency_level(entities: Iterable[Mapping[str, Any]]) -> str:
    """The most serious ``emergency_level`` found (112, crisis, 116117, social, confirm); 112 when none."""
    found = set(entity_values(entities, "emergency_level"))
    return next((level for level in EMERGENCY_LEVELS if level in found), DEFAULT_EMERGENCY_LEVEL)


def age_in_years(value: str) -> int | None:
    """Read an age such as "3-vuotias", "kuusivuotiaalla", "6 kk ikäinen", "vauvalla" as whole years.

    Returns None when ``value`` holds no age.
    """
    text = normalise(value)
    number = _AGE_NUMBER.search(text)
    if number is not None:
        return int(number.group()) // 12 if _AGE_IN_MONTHS.search(text) else int(number.group())
    return next((years for word, years in _AGE_WORDS.items() if word in text), None)


def youngest_age(entities: Iterable[Mapping[str, Any]]) -> int | None:
    """The youngest age mentioned in the ``age`` entities, or None."""
    ages = [age for age in map(age_in_years, entity_values(entities, "age")) if age is not None]
    return min(ages) if ages else None


def mentions(keyword: str, text: str) -> bool:
    """Whether the normalised ``text`` contains the normalised ``keyword``.

    A one-word keyword matches inside a word ("korva" in "korvakipu") or from
    the start of a compound written apart ("paansar" in "pään särky"); a keyword
    of several words is a phrase that starts at a word. So "paa on kipea" does
    not match "kantapää on kipeä", nor "silma" "ylös ilman".
    """
    if " " in keyword:
        return f" {keyword}" in f" {text}"
    if keyword in text:
        return True
    return any(joined.startswith(keyword) for joined in _joined_from_each_word(text))


def mentions_any(keywords: Iterable[str], text: str) -> bool:
    """Whether the normalised ``text`` mentions any of ``keywords`` (see :func:`mentions`)."""
    return any(mentions(keyword, text) for keyword in keywords)


@lru_cache(maxsize=16)
def _joined_from_each_word(text: str) -> tuple[str, ...]:
    """From each word on, the next MAX_COMPOUND_PARTS words written together (computed once per text)."""
    words = text.split()
    return tuple("".join(words[i : i + MAX_COMPOUND_PARTS]) for i in range(len(words)))


def find_symptom(text: str, symptoms: Sequence[Symptom]) -> Symptom | None:
    """The first symptom (in the editors' order) that ``text`` affirms by a keyword; failing that,
    the first it affirms by a weak keyword; else None. A keyword matches as :func:`mentions` says,
    but not where the resident denies it ("ei kuumetta", "kuumetta ei ole")."""
    clauses = clause_words(text)
    for strength in ("keywords", "weak_keywords"):
        for symptom in symptoms:
            if any(affirmed(keyword, clauses) for keyword in getattr(symptom, strength)):
                return symptom
    return None


def denies_a_symptom(text: str, symptoms: Sequence[Symptom]) -> bool:
    """Whether ``text`` names a symptom only to deny it ("ei oo kuumetta eikä turvotusta")."""
    normalised = normalise(text)
    clauses = clause_words(text)
    return any(
        mentions(keyword, normalised) and not affirmed(keyword, clauses)
        for symptom in symptoms
        for keyword in (*symptom.keywords, *symptom.weak_keywords)
    )


# Stems that ask for the Omaolo assessment itself ("pitäiskö mun tehä se oirearvio"), normalised.
_ASSESSMENT_STEMS = ("oirearvi", "omaolo")


def asks_for_assessment(text: str) -> bool:
    """Whether a message asks for the symptom assessment itself (not only describes a symptom)."""
    return any(stem in normalise(text) for stem in _ASSESSMENT_STEMS)


def affirmed(keyword: str, clauses: Sequence[Sequence[str]]) -> bool:
    """Whether a normalised ``keyword`` occurs in ``clauses`` (:func:`clause_words`) without a denial."""
    for words in clauses:
        for start, end in _keyword_spans(keyword, words):
            if not _denied(words, start, end):
                return True
    return False


def _keyword_spans(keyword: str, words: Sequence[str]) -> Iterable[tuple[int, int]]:
    """The first and last word of each match of ``keyword`` in one clause (as :func:`mentions`)."""
    parts = keyword.split()
    for start in range(len(words)):
        if len(parts) > 1:
            if " ".join(words[start : start + len(parts)]).startswith(keyword):
                yield start, start + len(parts) - 1
        elif keyword in words[start]:
            yield start, start
        else:
            joined = words[start]
            for end in range(start + 1, min(start + MAX_COMPOUND_PARTS, len(words))):
                joined += words[end]
                if joined.startswith(keyword):
                    yield start, end
                    break


def _denied(words: Sequence[str], start: int, end: int) -> bool:
    """A denial governs the match: a negation before it, with at most two fillers between ("ei oo
    kuumetta"), or after it, then only fillers to the clause's end ("kuumetta ei ole (ollut)"), also
    after other words listed with it ("päänsärkyä tai näköhäiriöitä ei oo")."""
    before = start - 1
    while before >= 0 and start - before <= 3:
        if words[before] in _NEGATIONS and not (words[before] == "no" and before == 0):
            # A clause's first "no" is the Finnish particle ("no selkä on kipee"), not English "no".
            return True
        if words[before] not in _NEGATION_FILLERS:
            break
        before -= 1
    after = words[end + 1 :]
    while len(after) > 2 and after[0] in _LIST_JOINERS:
        after = after[2:]
    if not after or after[0] not in _NEGATIONS or after[0] in _COORDINATING_NEGATIONS:
        return False
    rest = list(itertools.takewhile(lambda word: word not in _CLAUSE_JOINERS, after[1:]))
    return bool(rest) and all(word in _NEGATION_FILLERS for word in rest)


def _symptom_route(text: str, entities: Sequence[Mapping[str, Any]], routes: RouteTable) -> Route:
    omaolo = routes.omaolo
    age = youngest_age(entities)
    if age is not None and age < omaolo.min_age:
        return child_symptom_route(routes, age=age)
    if age is None and has_any_word(routes.child_words, text):
        # "mun lapsi on valittanu korvaa": a child with no age is taken to be under Omaolo's limit.
        return child_symptom_route(routes)
    symptom = find_symptom(text, omaolo.symptoms)
    if symptom is None:
        return Route("omaolo", omaolo.front_page, {"symptom": GENERAL_SYMPTOM, "label": "Omaolo"})
    return symptom_route(symptom)


# The first words where "se" or "hän" names whose symptom a message tells ("ja sit tänään se on…").
_SUBJECT_WORDS = 5


def child_symptom_in_context(
    route: Route | None, text: str, earlier_ages: Sequence[str], routes: RouteTable
) -> Route | None:
    """A symptom told of "se" or "hän" with no age of its own, after the conversation gave a child's
    age ("ja sit tänään se on valittanu korvaa" after "meidän 6v tytöllä…"): the child's symptom, for
    the team that sees children, unless the writer speaks of themself ("mulla on sama") or of an
    adult ("entäs mummo, sille alko nyt kans ripuli")."""
    if route is None or route.type != "omaolo":
        return None
    ages = [age for age in map(age_in_years, earlier_ages) if age is not None]
    if not ages or min(ages) >= routes.omaolo.min_age:
        return None
    words = normalise(text).split()
    if not set(words[:_SUBJECT_WORDS]) & routes.third_person_words:
        return None
    if set(words) & (routes.first_person_words | routes.adult_words):
        return None  # "mulla on sama", "entäs mummo, sille alko nyt kans ripuli"
    return child_symptom_route(routes, age=min(ages), age_told="earlier")


def child_symptom_route(routes: RouteTable, **whose: Any) -> Route:
    """A child's symptom, for ``omaolo.child_team``; ``whose`` says how the child was told of (its
    ``age``, and ``age_told="earlier"`` when an earlier message gave it)."""
    team = routes.teams[routes.omaolo.child_team]
    return Route("team", team.id, {"label": team.name, "reason": CHILD_SYMPTOM, **whose})


def page_route(page: Page) -> Route:
    """The route to a page of the county's site."""
    return Route("webpage", page.url, {"page": page.id, "label": page.label})


def symptom_route(symptom: Symptom) -> Route:
    """The route to a symptom's Omaolo assessment."""
    return Route("omaolo", symptom.url, {"symptom": symptom.id, "label": symptom.name})


def emergency_route(entities: Sequence[Mapping[str, Any]]) -> Route:
    """The emergency route of the safety net's entities: its level, a suspicion's level, the language."""
    level = emergency_level(entities)
    extra: dict[str, Any] = {}
    language = next(iter(entity_values(entities, "language")), None)
    if language in OTHER_LANGUAGES:
        extra["language"] = language
    if level == CONFIRM_LEVEL:
        extra["suspected"] = next(
            iter(entity_values(entities, "emergency_suspected")), DEFAULT_EMERGENCY_LEVEL
        )
    help_kind = next(iter(entity_values(entities, "emergency_help")), None)
    if help_kind == VIOLENCE_HELP:
        extra["help"] = help_kind
    return Route("emergency", level, extra)


def names_violence_help(route: Route) -> bool:
    """Whether an emergency answer names the help for people facing violence (answers in Finnish only:
    one in English or Swedish stays in that language alone)."""
    return route.extra.get("help") == VIOLENCE_HELP and "language" not in route.extra


def decide_route(
    intent: str | None, text: str, entities: Sequence[Mapping[str, Any]], routes: RouteTable
) -> Route | None:
    """Where a message with this intent, text and entities belongs; None when it needs no route.

    Emergencies win over everything; a request for a person names a team only
    through its ``team`` entity (a button); other intents follow the route table.
    """
    if intent == EMERGENCY_INTENT:
        return emergency_route(entities)
    if intent == HUMAN_INTENT:
        team_id = next((t for t in entity_values(entities, "team") if t in routes.teams), None)
        team_id = find_team(text, routes) or team_id
        return Route("team", team_id, {"label": routes.teams[team_id].name}) if team_id else None
    if intent is None or intent not in routes.intents:
        return None
    entry = routes.intents[intent]
    if entry.type == "team":
        return Route("team", entry.target, {"label": routes.teams[entry.target].name})
    if entry.type == "webpage":
        return page_route(routes.pages[entry.target])
    if entry.type == "form":
        return Route("form", entry.target)
    return _symptom_route(text, entities, routes)


def language_suffix(language: Any) -> str:
    """``_en`` or ``_sv`` for a message in English or Swedish (the response and button names of that
    language end so), else nothing."""
    return f"_{language}" if language in OTHER_LANGUAGES else ""


def route_reply(route: Route, routes: RouteTable) -> Reply:
    """The response that tells the resident the next step of ``route``."""
    if route.type == "emergency":
        language = route.extra.get("language")
        suffix = language_suffix(language)
        values = {"social_phone": routes.social_emergency} if route.target == "social" else {}
        if route.target == "social" and names_violence_help(route):
            return Reply("utter_emergency_social_violence", values)
        return Reply(f"utter_emergency_{route.target}{suffix}", values)
    if route.type == "form":
        return Reply(f"utter_route_form_{route.target}")
    if route.type == "webpage":
        return Reply(
            f"utter_page_{route.extra['page']}", {"url": route.target, "label": route.extra["label"]}
        )
    if route.type == "omaolo":
        if route.extra["symptom"] == GENERAL_SYMPTOM:
            return Reply("utter_route_omaolo_general", {"url": route.target})
        return Reply(
            "utter_route_omaolo_symptom", {"url": route.target, "symptom_name": route.extra["label"]}
        )
    team = routes.teams[route.target]
    helps = messages.text("bot.helps_many" if team.plural else "bot.helps_one")
    values = {"team_name": team.name, "hours": team.hours_text, "helps": helps}
    if route.extra.get("reason") == CHILD_SYMPTOM:
        return Reply("utter_route_child_symptom", {**values, "min_age": routes.omaolo.min_age})
    return Reply("utter_route_team", values)


def resolve_fallback(
    intent: str | None,
    intent_ranking: Sequence[Mapping[str, Any]],
    routes: RouteTable,
    text: str = "",
    threshold: float = SAME_ROUTE_THRESHOLD,
) -> str | None:
    """The intent to route when the classifier's doubt does not change where the message goes.

    Two doubts are no real doubt. (1) The two best intents share a route, e.g.
    lab_results 0.35 / health_centre_appointment 0.30, both Terveysneuvo, and
    their confidences add up to ``threshold``: the best one is returned.
    (2) One of the two best is routed to Omaolo (``report_symptom``) and
    ``text`` names a symptom of the editors' keyword list ("kuiva ärsytysyskä
    ei lopu"): a symptom it is. Otherwise ``intent`` unchanged.
    """
    if intent != FALLBACK_INTENT:
        return intent
    best = [item for item in intent_ranking if item.get("name") != FALLBACK_INTENT][:2]
    symptom_intent = next((str(i["name"]) for i in best if _routes_to_omaolo(i.get("name"), routes)), None)
    if symptom_intent and find_symptom(text, routes.omaolo.symptoms):
        return symptom_intent
    if len(best) < 2 or sum(float(item.get("confidence") or 0.0) for item in best) < threshold:
        return intent
    first, second = (routes.intents.get(str(item.get("name"))) for item in best)
    if first is None or second is None or (first.type, first.target) != (second.type, second.target):
        return intent
    return str(best[0]["name"])


def _routes_to_omaolo(intent: object, routes: RouteTable) -> bool:
    route = routes.intents.get(str(intent))
    return route is not None and route.type == "omaolo"


def clarify_options(
    intent_ranking: Iterable[Mapping[str, Any]], routes: RouteTable, limit: int = MAX_CLARIFY_OPTIONS
) -> list[tuple[str, str]]:
    """The ``limit`` most likely routed topics as (label, intent) pairs, best first.

    Topics come from the classifier's ranking; when it names fewer than two
    routed intents, common topics fill in so the resident always has a choice.
    """
    ranked = [str(item.get("name")) for item in intent_ranking]
    chosen = [name for name in ranked if name in routes.intents]
    if len(chosen) < 2:
        chosen += [name for name in routes.human_topics if name not in chosen]
    return [(routes.intents[name].label, name) for name in chosen[:limit]]


def consecutive_misses(user_intents: Sequence[str | None]) -> int:
    """How many of the latest user messages in a row the assistant did not understand."""
    misses = 0
    for intent in reversed(user_intents):
        if intent != FALLBACK_INTENT:
            break
        misses += 1
    return misses


def talk_options(routes: RouteTable, team_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(title, payload) buttons to chat with a person in each of ``team_ids``."""
    return [
        (
            messages.text("bot.buttons.talk_to", team=routes.teams[team_id].name),
            f'/{HUMAN_INTENT}{{"team":"{team_id}"}}',
        )
        for team_id in team_ids
    ]


def topic_options(routes: RouteTable, team_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(title, payload) buttons of the topics offered to someone who wants a person, in ``team_ids``."""
    return [
        (routes.intents[name].label, f"/{name}")
        for name in routes.human_topics
        if routes.intents[name].type == "team" and routes.intents[name].target in team_ids
    ]


def topic_teams(routes: RouteTable) -> list[str]:
    """The teams the person topics lead to, in the order of the topics."""
    targets = [
        routes.intents[name].target for name in routes.human_topics if routes.intents[name].type == "team"
    ]
    return list(dict.fromkeys(targets))


# "pitääkö odottaa, että lääkäri soittaa": waiting for a call already promised, not asking for one.
_WAITING_FOR_A_CALL = re.compile(
    r"\b(odottaa|oottaa|odotan|ootan|odotella|ootella|odotetaan|ootetaan) (etta|et)( \w+){1,3}"
)


def asks_to_be_contacted(text: str, routes: RouteTable) -> bool:
    """Whether a message asks for a call back or to leave a message (routes.yml ``form_phrases``),
    not whether to wait for a call already promised ("pitääkö odottaa, että lääkäri soittaa")."""
    normalised = _WAITING_FOR_A_CALL.sub("", normalise(text))
    return mentions_any(routes.form_phrases, normalised)


# How a call is asked for ("soittaa", "soittais", "soitettais"), normalised, at a word's start; not the
# call-back request itself ("soittopyyntö"), which is the form's.
_CALL_STEMS = ("soitta", "soitett")


def wants_a_call_today(text: str, routes: RouteTable) -> bool:
    """Whether a request to be contacted asks for a call today or now ("voiko joku soittaa mulle viel
    tänään": routes.yml ``follow_up_words.today``), not a message or a call-back request to leave
    ("voinko jättää soittopyynnön nyt") nor a call later."""
    words = normalise(text).split()
    calls = any(word.startswith(_CALL_STEMS) for word in words)
    leaves = has_any_word(routes.message_words, text)
    later = speaks_of_later(text, routes) or has_any_word(routes.morning_words, text)
    return calls and not leaves and has_any_word(routes.today_words, text) and not later


# Words that make a message a question ("miten", "tarviiko", "voiko"), normalised, at a word's start.
_QUESTION_WORDS = (
    "miten", "mista", "mihin", "minne", "mita", "milloin", "kauanko", "kuinka", "tarviiko", "tarviik",
    "tarvitseeko", "tarvitsenko", "tarviinko", "tarvinko", "tarvitaanko", "tarvitaanks", "pitaako",
    "pitaaks", "voiko", "voiks", "voinko", "voinks", "onko", "onks", "saako", "saaks", "lasketaanko",
    "lasketaanks", "eiko", "eiks", "kuka", "kenelle", "mistas", "meneeko", "missa", "mitka", "miksi", "miks",
    "kehen", "keneen", "paljonko", "mika", "maksaako", "maksaaks", "tuleeko", "tuleeks", "kannattaako",
    "pystynko", "pystynks", "pystyyko", "pystyyks", "paasenko", "paasenks", "paasisinko", "paasisinks",
    "paasisko", "paasiskohan", "saanko", "saanks", "voisko", "voisiko", "voisinko", "voisinks",
)  # fmt: skip


# A wish or a need is a question too when it names an answer's topic ("haluun tehdä valituksen",
# "pitäis siirtää labra-aika").
_WISH_WORDS = frozenset({"haluan", "haluun", "haluaisin", "haluisin", "haluamme", "aion", "aiomme", "pitais",
                         "pitaisi", "pitas", "tarttis", "tarvis", "tarvitsisin", "tarviisin"})  # fmt: skip
# Words from which a message is an account of what happened (``account_keywords``), not a mention.
MIN_ACCOUNT_WORDS = 8


# A call asked about, not told of ("soitan", "soitin", "soitettu"): the infinitive and question forms.
_CALL_QUESTIONS = frozenset(
    {"soittaa", "soittaako", "soittaaks", "soitanko", "soitanks", "soitetaanko", "soitetaanks",
     "soittaisko", "soittaisiko", "soittamaan"}
)  # fmt: skip


def asks_about_calling(text: str) -> bool:
    """Whether a message asks who should call or whether to ("voiks se ite soittaa johonki vai
    pitääks mun"), not that a call was made or will be ("ok soitan sinne. ja sit vielä…")."""
    return not _CALL_QUESTIONS.isdisjoint(normalise(text).split()) and is_question(text)


def asks_where(text: str) -> bool:
    """Whether a message asks where something is or is seen ("mistä mä nään ne chatin aukioloajat")."""
    return not {"mista", "missa", "mistas"}.isdisjoint(normalise(text).split())


def is_question(text: str) -> bool:
    """Whether a message asks something: a question mark or a question word."""
    return "?" in text or any(word.startswith(_QUESTION_WORDS) for word in normalise(text).split())


def asks_with_a_clitic(text: str) -> bool:
    """Whether a message asks something, also by a verb's question clitic alone ("ehinkö ensin ite",
    "lähenks"): :func:`is_question`, or a word of five letters or more ending in -ko/-kö/-ks."""
    return is_question(text) or any(
        len(word) >= 5 and word.endswith(("ko", "ks", "kohan")) for word in normalise(text).split()
    )


# A message of at least this many words, opening with neither a pronoun nor a question word, in which
# the classifier is at least this sure of another team, tells a matter of its own.
OWN_MATTER_WORDS = 7
OWN_MATTER_CONFIDENCE = 0.97
# The first words where a pronoun points back at the matter talked about ("no rehellisesti se…").
_OPENING_WORDS = 3


def tells_its_own_matter(text: str, route: Route, confidence: float, routes: RouteTable) -> bool:
    """Whether a message routed to another team with ``confidence`` tells a matter of its own rather
    than more of the one talked about ("ero tuli ja pitäis sopia lasten asumisesta" after a health
    centre offer): long enough, sure, not a child's symptom by an age it gives ("vauva on 3kk, erkauma
    on…" names whom, not what), and opening with neither a pronoun for that matter ("se on myös alkanu
    juomaan") nor a question about it ("pitääkö hakemus tehdä ennen…")."""
    words = normalise(text).split()
    if len(words) < OWN_MATTER_WORDS or confidence < OWN_MATTER_CONFIDENCE:
        return False
    aged_here = route.extra.get("reason") == CHILD_SYMPTOM and "age_told" not in route.extra
    if aged_here or words[0].startswith(_QUESTION_WORDS):
        return False
    return not any(word in routes.pronouns for word in words[:_OPENING_WORDS])


def asks_or_wishes(text: str) -> bool:
    """Whether a message asks or wishes something ("pääsisinkö sinne…", "voisko jollekin…", "haluaisin…")."""
    words = normalise(text).split()
    return (
        is_question(text) or bool(_WISH_WORDS & set(words)) or any(word.startswith("vois") for word in words)
    )


def answer_asked(text: str, routes: RouteTable) -> str | None:
    """The answer topic a question or a wish names by its keywords (routes.yml ``answers``), or
    that a longer account names by its ``account_keywords``, if any."""
    normalised = normalise(text)
    words = normalised.split()
    asked = is_question(text) or bool(_WISH_WORDS & set(words))
    told = len(words) >= MIN_ACCOUNT_WORDS
    named = next(
        (
            topic
            for topic, answer in routes.answers.items()
            if mentions_any(
                (*(answer.keywords if asked else ()), *(answer.account_keywords if told else ())), normalised
            )
        ),
        None,
    )
    if asked:
        for_another = next(
            (t for t, a in routes.answers.items() if _asked_for_another(a, normalised, routes)), None
        )
        # Another's matter wins over the answers it stands in for, not over a topic of its own
        # ("äidin iltalääkkeet jäi ottamatta… haluan tehdä tästä valituksen": the complaint).
        if for_another is not None and (named is None or named in routes.answers[for_another].instead_of):
            return for_another
    return named


def answer_for(topic: str, text: str, routes: RouteTable) -> str:
    """``topic``, or the answer about another person's matter given instead of it ("entä iskän
    reseptit, se ei osaa nettiä" reads like the prescription answer's question)."""
    normalised = normalise(text)
    for other, answer in routes.answers.items():
        if topic in answer.instead_of and _asked_for_another(answer, normalised, routes):
            return other
    return topic


def _asked_for_another(answer: Answer, normalised: str, routes: RouteTable) -> bool:
    """Whether a message names another person and one of ``answer``'s ``for_another`` stems."""
    return has_any_word(routes.another_person_words, normalised) and mentions_any(
        answer.for_another, normalised
    )


def has_any_word(words: frozenset[str], text: str) -> bool:
    """Whether the normalised ``text`` has one of ``words`` as a whole word."""
    return not words.isdisjoint(normalise(text).split())


def addresses_the_service(text: str, routes: RouteTable) -> bool:
    """Whether a message speaks to the county's service as a whole ("teidän chatit", "teiän numero")."""
    return has_any_word(routes.service_words, text)


def points_to_a_team(text: str, routes: RouteTable) -> bool:
    """Whether a message points at a place or team talked about ("sinne", "niille")."""
    return has_any_word(routes.place_words, text)


# "soitin, ambulanssi on tulossa. kiitos": thanks beside the news that help was called.
_THANKS_STEMS = ("kiit", "thank", "tack")


def thanks_in(text: str) -> bool:
    """Whether a message thanks ("joo kiitti", "kiitos, soitin jo", "kiitos, jään jonoon")."""
    return any(word.startswith(_THANKS_STEMS) for word in normalise(text).split())


# Words beside thanks that leave a message only thanks ("kiitos tosi paljon").
_THANKS_FILLERS = frozenset(
    {"paljon", "tosi", "kovasti", "ok", "okei", "joo", "juu", "no", "hei", "vaan", "vain"}
)


def ends_with_thanks_and_goodbye(text: str, routes: RouteTable) -> bool:
    """Whether a message of several sentences ends with one that only thanks and takes leave
    ("Hän pärjää kyllä viikonlopun, käyn katsomassa häntä. Kiitos, hei.")."""
    sentences = chat_sentences(text)
    if len(sentences) < 2 or not thanks_in(sentences[-1]):
        return False
    words = normalise(sentences[-1]).split()
    leaving = routes.leave_taking_greetings | routes.greeting_words
    return any(word in leaving for word in words) and all(
        word in leaving or word.startswith(_THANKS_STEMS) for word in words
    )


def only_thanks(text: str) -> bool:
    """Whether a message does nothing but thank ("kiitos", "okei kiitti paljon")."""
    words = normalise(text).split()
    return thanks_in(text) and all(
        word.startswith(_THANKS_STEMS) or word in _THANKS_FILLERS for word in words
    )


def opens_another_matter(text: str, routes: RouteTable) -> bool:
    """Whether a message says outright that another matter follows (routes.yml
    ``another_matter_phrases``: "ja sit toinen juttu", "sitten kysyisin vielä")."""
    return mentions_any(routes.another_matter_phrases, normalise(text))


def announces_a_new_need(text: str, route: Route, routes: RouteTable) -> bool:
    """Whether a message routed to another team than the one talked about is a new need: it opens
    another matter, turns to one ("entäs…"), names that team, or asks where to get help or speaks of
    the writer's own need (routes.yml ``new_need_phrases``)."""
    return (
        opens_another_matter(text, routes)
        or turns_to_another_matter(text, routes)
        or find_team(text, routes) == route.target
        or asks_for_new_help(text, routes)
    )


def asks_for_new_help(text: str, routes: RouteTable) -> bool:
    """Whether a message asks where to get help or speaks of the writer's own need (routes.yml
    ``new_need_phrases``: "mistä saa apua", "mä tarttisin itellekin apua")."""
    return mentions_any(routes.new_need_phrases, normalise(text))


def speaks_of_oneself(text: str, routes: RouteTable) -> bool:
    """Whether a message turns to the writer's own matter ("ja mulla itellä on sama yskä"):
    routes.yml ``follow_up_words.self``, whole words."""
    return has_any_word(routes.self_words, text)


def asks_for_a_page(text: str, routes: RouteTable) -> bool:
    """Whether a message asks where to see or find something (routes.yml ``page_request_phrases``:
    "mistä näkee sen hinnaston"): the page itself, not the answer again."""
    return mentions_any(routes.page_request_phrases, normalise(text))


def doubts_urgency(text: str, routes: RouteTable) -> bool:
    """Whether a message asks whether one could wait, manage or go by oneself (routes.yml
    ``urgency_doubt_phrases``: "voiko oottaa aamuun?", "should we drive her ourselves?")."""
    return mentions_any(routes.urgency_doubt_phrases, normalise(text))


def asks_about_a_later_hour(text: str, routes: RouteTable) -> bool:
    """Whether a message asks whom or how to reach in the morning or the day, without doubting the
    urgency ("jos se ei aamulla oo parempi ni kenelle sit soitan?" after 116 117 at night, "ja
    päivällä voisko sinne mielenterveyspuolelle jutella"; routes.yml ``follow_up_words.reaching``):
    the service of those hours, not the emergency's."""
    hours = routes.morning_words | routes.later_today_words
    reaching = has_any_word(routes.reaching_words, text)
    return has_any_word(hours, text) and reaching and is_question(text) and not doubts_urgency(text, routes)


def opens_with_a_new_topic(text: str, routes: RouteTable) -> bool:
    """Whether a message opens by turning to another matter ("entä paljonko…"), not "entä jos…"."""
    words = normalise(text).split()
    return bool(words) and words[0] in routes.new_topic_words and words[1:2] != ["jos"]


def turns_to_another_matter(text: str, routes: RouteTable) -> bool:
    """Whether a message turns to another matter ("okei soitan. entäs se muistitesti…", "onks
    muuten…"); "entä jos…" supposes more of the same matter."""
    words = normalise(text).split()
    supposing = {word for word, following in zip(words, words[1:], strict=False) if following == "jos"}
    return bool(routes.new_topic_words & (set(words) - supposing))


def declines_the_assessment(text: str, routes: RouteTable) -> bool:
    """Whether a message would rather reach a person than do the Omaolo assessment just offered
    (routes.yml ``omaolo.instead_phrases``: "en halua tehdä sitä testiä, voinko soittaa jonnekin")."""
    return mentions_any(routes.omaolo.instead_phrases, normalise(text))


def asks_about_anonymity(text: str, routes: RouteTable) -> bool:
    """Whether a message asks whether one can stay anonymous (routes.yml ``anonymity_phrases``)."""
    return mentions_any(routes.anonymity_phrases, normalise(text))


def without_anonymity_words(text: str, routes: RouteTable) -> str:
    """``text`` normalised, without the words of ``anonymity_phrases`` ("voiko täällä kysyä jotain
    nimettömänä" → "voiko täällä kysyä jotain"): what else the message says."""
    stems = tuple({stem for phrase in routes.anonymity_phrases for stem in phrase.split()})
    return " ".join(word for word in normalise(text).split() if not word.startswith(stems))


def speaks_of_later(text: str, routes: RouteTable) -> bool:
    """Whether a message is about another day ("ja maanantaina pitäis hakea toimeentulotukea"):
    routes.yml ``follow_up_words.later``."""
    return has_any_word(routes.later_words, text)


# An age alone ("tytär 15v", "poika 9"): who the matter is about, not what it is.
_AGE = re.compile(r"\d+(v|vee|vuotias|vuotta|kk)?")


def asks_vaguely(text: str, routes: RouteTable) -> bool:
    """Whether a message names no matter yet: only ``vague_request`` words ("hakemus", "apua"),
    greetings and fillers ("hei, mul ois kysymys hakemuksesta")."""
    return bool(_content_words(text, routes)) and names_no_matter(text, routes)


def names_no_matter(text: str, routes: RouteTable) -> bool:
    """Whether a message holds nothing but ``vague_request`` words, greetings and fillers (also
    when it holds no such word at all: "voiko täällä kysyä jotain")."""
    return all(word in routes.vague_words for word in _content_words(text, routes))


def _content_words(text: str, routes: RouteTable) -> list[str]:
    return [
        word
        for word in normalise(text).split()
        if word not in routes.vague_fillers and not _AGE.fullmatch(word)
    ]


def find_team(text: str, routes: RouteTable) -> str | None:
    """The team a message names ("milloin neuvolan chat on auki?"), by its longest matching keyword."""
    normalised = normalise(text)
    matches = [
        (len(keyword), team.id)
        for team in routes.teams.values()
        for keyword in team.keywords
        if mentions(keyword, normalised)
    ]
    return max(matches)[1] if matches else None

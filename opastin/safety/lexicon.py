"""Rule-based emergency detection over an editors' lexicon (no Rasa imports).

The lexicon (``data/emergency_lexicon.yml``) lists, for each level, rules made
of word patterns and regular expressions. A message is an emergency when any
rule matches it; the most urgent level wins:

* ``112``    danger to life (call the emergency number now),
* ``crisis`` suicidal thoughts or self-harm (crisis line; 112 if in danger now),
* ``116117`` urgent but not life-threatening (the medical helpline 116 117).

A rule pattern is a sequence of *slots* separated by spaces; a slot lists
alternatives separated by ``|``. An alternative is a word (compared with the
folded surface form and the Voikko base forms of a token), or a stem with
``*`` at the end (prefix), at the start (suffix) or at both ends (infix)::

    "rinta|rinnassa|rintaan kipu*|kivu*|sattu*|puristaa"

Slots match tokens in order with at most ``max_gap`` words between them, or in
any order within ``window`` words when the rule says ``any_order: true``.
Matches never cross a sentence end. A match is dropped when a negation word
(``ei``, ``en``, ``ilman`` ...) that is not itself part of the match stands
right before one of its words (only fillers such as ``ole``/``mitään`` may
come in between) or when ``ei ole`` follows it, unless the rule says
``negatable: false``. ``unless`` patterns veto a rule for the sentence they
occur in.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz.distance import OSA

from opastin.content import PROJECT_ROOT, ContentError, read_mapping
from opastin.finnish_text import Lemmatizer, Token, fold, fold_letters, tokenize

DEFAULT_LEXICON = "data/emergency_lexicon.yml"
# An escape in a rule's regular expression (left out when reading its words).
_REGEX_ESCAPE = re.compile(r"\\[a-zA-Z]")
# In a rule's regular expression: ``\w*`` or ``\w+`` after a word makes it a stem, and a
# word (with the mark of a stem) once the other escapes are gone.
_REGEX_OPEN_END = re.compile(r"\\w[*+]")
# A group of plain alternatives with an open end ("(parasetamol|panadol)\w*"): each is a stem.
_REGEX_OPEN_GROUP = re.compile(r"\((?:\?:)?([a-z |]+)\)\\w[*+]")
_REGEX_TERM = re.compile(r"([a-z]+)(~?)")
# The words of a folded English or Swedish message.
_FOREIGN_TEXT_WORD = re.compile(r"[a-z]+")

LEVEL_112 = "112"
LEVEL_CRISIS = "crisis"
LEVEL_116117 = "116117"
LEVEL_SOCIAL = "social"
# Most urgent first. An overdose that is also a suicide attempt is 112; the
# match still lists every level that matched (``levels``) so that the answer
# can add the crisis line. ``social`` is an urgent social situation tonight
# (nowhere to sleep, no food): the county's social emergency service.
LEVEL_PRIORITY: tuple[str, ...] = (LEVEL_112, LEVEL_CRISIS, LEVEL_116117, LEVEL_SOCIAL)
LANGUAGES = ("fi", "en", "sv")
# Tolerant matching allows one edit (a swapped, dropped, doubled or wrong
# letter) towards lexicon words and stems at least this long; the typed word
# may be a letter shorter (a dropped letter).
TOLERANT_MIN_LENGTH = 5
TYPED_MIN_LENGTH = TOLERANT_MIN_LENGTH - 1
# An English or Swedish message is read in at most this many ways when its typos are ambiguous.
MAX_FOREIGN_READINGS = 4
# A Finnish sentence is read in at most this many ways by the regular expressions (ambiguous typos).
MAX_READINGS = 4

_RULE_KEYS = frozenset(
    {
        "id",
        "patterns",
        "regex",
        "any_order",
        "window",
        "max_gap",
        "unless",
        "negatable",
        "language",
        "across_sentences",
        "unless_anywhere",
        "always_now",
        "overrides",
        "help",
    }
)
# What a rule's ``help`` may add to the answer.
HELP_KINDS = frozenset({"violence"})
_TOP_KEYS = frozenset(
    {
        "aliases",
        "negations",
        "foreign_negations",
        "negation_fillers",
        "levels",
        "already_called",
        "situation_resolved",
        "not_now",
    }
)
# "eikä" after a match starts a clause of its own ("lähti eilen eikä oo palannu").
_COORDINATING = frozenset({"eika", "enka", "etka", "eivatka"})
# Words after which a denial's clause goes on about something else ("... ei oo, mut ...").
_JOINERS = _COORDINATING | {"ja", "mut", "mutta", "vaan", "eli", "tai"}
# Words that list what one negation denies ("kuumetta tai selkäkipua ei ole").
_LISTING = frozenset({"tai", "ja"})
# A partitive ending (folded): a word so ending before a negation is what it denies ("kuumetta ei ole").
_PARTITIVE_ENDINGS = ("a", "ä")
# A rule's match that itself names the present ("veli jäi nyt yksin kotiin") is about now, whatever
# else its sentence says of the past ("äiti vietiin sairaalaan").
_NOW_WORDS = frozenset({"nyt", "tanaan", "parhaillaan"})
_SLOT_ALTERNATIVE = re.compile(r"^\*?[0-9a-z]+\*?$")


_Positions = Callable[["_Slot"], list[int]]  # a _TokenPositions
# Marks a correction that is only the start (``stem~``) or end (``~stem``) of a lexicon word: it
# matches ``stem*`` or ``*stem`` slots and no whole word.
STEM_MARK = "~"


class LexiconError(ContentError):
    """The emergency lexicon file is missing or invalid; the message names the file and entry."""


@dataclass(frozen=True)
class EmergencyMatch:
    """The outcome of a positive emergency check.

    Attributes:
        level: ``"112"``, ``"crisis"`` or ``"116117"`` (the most urgent that matched).
        rule: id of the lexicon rule that decided the level (safe to log).
        matched: the folded words that matched (may contain the resident's words;
            do not log it in production).
        levels: every level that matched, most urgent first.
        language: ``fi``, ``en`` or ``sv``: the language of the rule that decided.
        tolerant: whether the match needed a spelling correction (one edit in
            a word); such a match is a suspicion, not a certainty.
        tempered: whether the sentence of the match also speaks of the past,
            asks for information or supposes (``not_now`` patterns: "vuosia
            sitten", "miten tunnistaa", "jos"); also a suspicion.
        help: further help the answer names (``violence``: the helpline for
            people facing violence), from the deciding rule; empty when none.
    """

    level: str
    rule: str
    matched: str
    levels: tuple[str, ...] = ()
    language: str = "fi"
    tolerant: bool = False
    tempered: bool = False
    help: str = ""

    @property
    def certain(self) -> bool:
        """A match as written, in a sentence about danger now."""
        return not (self.tolerant or self.tempered)


@dataclass(frozen=True)
class _Slot:
    """One position of a pattern: a set of alternatives for a single word."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    infixes: tuple[str, ...]
    source: str

    def matches(self, keys: frozenset[str]) -> bool:
        if not self.exact.isdisjoint(keys):
            return True
        for key in keys:
            if self.prefixes and key.startswith(self.prefixes):
                return True
            if self.suffixes and key.endswith(self.suffixes):
                return True
            if self.infixes and any(infix in key for infix in self.infixes):
                return True
        return False


@dataclass(frozen=True)
class _Rule:
    """A compiled lexicon rule."""

    id: str
    level: str
    patterns: tuple[tuple[_Slot, ...], ...]
    regexes: tuple[re.Pattern[str], ...]
    unless: tuple[tuple[_Slot, ...], ...]
    any_order: bool
    window: int
    max_gap: int
    negatable: bool
    language: str = "fi"
    across_sentences: bool = False
    unless_anywhere: bool = False  # the vetoes read the whole message, not only the match's sentences
    always_now: bool = False
    overrides: frozenset[str] = frozenset()
    help: str = ""


@dataclass
class _Sentence:
    """Tokens of one sentence with their character offsets in ``text``."""

    index: int = 0  # the sentence's number in the message
    tokens: list[int] = field(default_factory=list)  # indexes into the message's token list
    starts: list[int] = field(default_factory=list)
    text: str = ""


def parse_slot(source: str) -> _Slot:
    """Compile one slot (``"kipu*|kivu*|sattuu"``); raise ``ValueError`` if malformed."""
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    infixes: list[str] = []
    for raw in source.split("|"):
        alternative = fold(raw.strip())
        if not _SLOT_ALTERNATIVE.match(alternative) or alternative.strip("*") == "":
            raise ValueError(f"bad word alternative {raw!r} in slot {source!r}")
        core = alternative.strip("*")
        if alternative.startswith("*") and alternative.endswith("*"):
            infixes.append(core)
        elif alternative.endswith("*"):
            prefixes.append(core)
        elif alternative.startswith("*"):
            suffixes.append(core)
        else:
            exact.add(core)
    return _Slot(frozenset(exact), tuple(prefixes), tuple(suffixes), tuple(infixes), source)


def parse_pattern(source: str) -> tuple[_Slot, ...]:
    """Compile a pattern of space-separated slots; raise ``ValueError`` if malformed."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"pattern must be a non-empty string, got {source!r}")
    return tuple(parse_slot(slot) for slot in source.split())


def _word_list(value: Any, what: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"'{what}' must be a list of words")
    return frozenset(fold(item.strip()) for item in value)


def _negations_by_language(finnish: frozenset[str], foreign: Any) -> dict[str, frozenset[str]]:
    """The negation words that govern a rule of each language: an English or Swedish rule only
    its own language's ("en" is a Swedish article), a Finnish rule every one of them."""
    if not isinstance(foreign, dict) or set(foreign) - (set(LANGUAGES) - {"fi"}):
        raise ValueError("'foreign_negations' must map 'en' and/or 'sv' to a list of words")
    by_language = {
        str(language): _word_list(words, f"foreign_negations.{language}")
        for language, words in foreign.items()
    }
    every = finnish.union(*by_language.values())
    foreign_rules = {language: by_language.get(language, every) for language in LANGUAGES if language != "fi"}
    return {"fi": every, **foreign_rules}


def _compile_rule(level: str, entry: Any, position: int, seen: set[str]) -> _Rule:
    label = f"levels.{level}[{position}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{label}: a rule must be a mapping with 'id' and 'patterns' and/or 'regex'")
    rule_id = entry.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise ValueError(f"{label}: missing 'id'")
    label = f"levels.{level}[{position}] (id {rule_id!r})"
    if rule_id in seen:
        raise ValueError(f"{label}: duplicate id")
    seen.add(rule_id)
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise ValueError(f"{label}: unknown key(s) {sorted(unknown)}; allowed: {sorted(_RULE_KEYS)}")
    try:
        if any(not isinstance(r, str) for r in _as_list(entry.get("regex"), "regex")):
            raise ValueError("every 'regex' entry must be a string")
        patterns = tuple(parse_pattern(p) for p in _as_list(entry.get("patterns"), "patterns"))
        unless = tuple(parse_pattern(p) for p in _as_list(entry.get("unless"), "unless"))
        regexes = tuple(re.compile(fold_letters(r)) for r in _as_list(entry.get("regex"), "regex"))
    except re.error as error:
        raise ValueError(f"{label}: invalid regular expression: {error}") from error
    except ValueError as error:
        raise ValueError(f"{label}: {error}") from error
    if not patterns and not regexes:
        raise ValueError(f"{label}: needs at least one entry in 'patterns' or 'regex'")
    language = entry.get("language", "fi")
    if language not in LANGUAGES:
        raise ValueError(f"{label}: 'language' must be one of {', '.join(LANGUAGES)}")
    flags = {}
    flag_defaults = (
        ("any_order", False),
        ("negatable", True),
        ("across_sentences", False),
        ("unless_anywhere", False),
        ("always_now", False),
    )
    for key, default in flag_defaults:
        flags[key] = entry.get(key, default)
        if not isinstance(flags[key], bool):
            raise ValueError(f"{label}: '{key}' must be true or false")
    help_kind = entry.get("help", "")
    if help_kind and help_kind not in HELP_KINDS:
        raise ValueError(f"{label}: 'help' must be one of {', '.join(sorted(HELP_KINDS))}")
    overrides = _as_list(entry.get("overrides"), "overrides")
    if not all(isinstance(other, str) for other in overrides):
        raise ValueError(f"{label}: 'overrides' must list rule ids")
    numbers = {}
    for key, default_number, low, high in (("window", 6, 1, 30), ("max_gap", 2, 0, 10)):
        numbers[key] = entry.get(key, default_number)
        value = numbers[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ValueError(f"{label}: '{key}' must be a whole number from {low} to {high}")
    return _Rule(
        id=rule_id,
        level=level,
        patterns=patterns,
        regexes=regexes,
        unless=unless,
        any_order=flags["any_order"],
        window=numbers["window"],
        max_gap=numbers["max_gap"],
        negatable=flags["negatable"],
        language=language,
        across_sentences=flags["across_sentences"],
        unless_anywhere=flags["unless_anywhere"],
        always_now=flags["always_now"],
        overrides=frozenset(overrides),
        help=help_kind,
    )


def _as_list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"'{what}' must be a list")
    return value


class EmergencyMatcher:
    """Detects emergencies in free text with the rules of one lexicon file."""

    def __init__(
        self, lexicon: dict[str, Any], *, use_voikko: bool = True, source: str = "<lexicon>"
    ) -> None:
        """Compile ``lexicon`` (the parsed YAML); raise ``LexiconError`` naming ``source`` if invalid."""
        try:
            self._compile(lexicon)
        except ValueError as error:
            raise LexiconError(f"{source}: {error}") from error
        self.source = source
        self._foreign_vocabulary = _Vocabulary.of_regexes(
            [regex for rule in self._rules if rule.language != "fi" for regex in rule.regexes]
        )
        self.lemmatizer = Lemmatizer(use_voikko=use_voikko)
        self._correction_cache = lru_cache(maxsize=50_000)(self._find_corrections)
        self._respellings_cache = lru_cache(maxsize=50_000)(self._find_respellings)
        self._token_cache = lru_cache(maxsize=16)(self._tokens_uncached)
        self._letters_kept = lru_cache(maxsize=16)(self._letters_kept_uncached)

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_LEXICON, *, use_voikko: bool = True) -> EmergencyMatcher:
        """Load and validate a lexicon file.

        A relative path is looked up in the working directory first, then in
        the project root.
        """
        data = read_mapping(resolve_lexicon_path(path), LexiconError)
        return cls(data, use_voikko=use_voikko, source=str(path))

    def clear_caches(self) -> None:
        """Forget cached word analyses, corrections and tokens (to measure cold-start cost)."""
        self.lemmatizer.clear_cache()
        self._correction_cache.cache_clear()
        self._respellings_cache.cache_clear()
        self._token_cache.cache_clear()
        self._letters_kept.cache_clear()
        self._vocabulary.clear_cache()

    @property
    def rule_count(self) -> int:
        """How many rules the lexicon defines."""
        return len(self._rules)

    def _compile(self, lexicon: Any) -> None:
        if not isinstance(lexicon, dict):
            raise ValueError("the file must be a mapping with 'levels' (and optional aliases/negations)")
        unknown = set(lexicon) - _TOP_KEYS
        if unknown:
            raise ValueError(f"unknown top-level key(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}")
        aliases = lexicon.get("aliases") or {}
        if not isinstance(aliases, dict):
            raise ValueError("'aliases' must map a spoken form to a base form (or a list of them)")
        self._aliases: dict[str, frozenset[str]] = {}
        for spoken, bases in aliases.items():
            base_list = bases if isinstance(bases, list) else [bases]
            if not isinstance(spoken, str) or not all(isinstance(b, str) and b for b in base_list):
                raise ValueError(f"aliases.{spoken}: must map a word to a word or a list of words")
            self._aliases[fold(spoken)] = frozenset(fold(b) for b in base_list)
        negations = _word_list(lexicon.get("negations", []), "negations")
        self._negations_for = _negations_by_language(negations, lexicon.get("foreign_negations") or {})
        self._fillers = _word_list(lexicon.get("negation_fillers", []), "negation_fillers")
        levels = lexicon.get("levels")
        if not isinstance(levels, dict) or not levels:
            raise ValueError("'levels' must map each level (112, crisis, 116117) to a list of rules")
        self._rules: list[_Rule] = []
        seen: set[str] = set()
        for raw_level, entries in levels.items():
            level = str(raw_level)
            if level not in LEVEL_PRIORITY:
                raise ValueError(f"levels.{level}: unknown level; use one of {', '.join(LEVEL_PRIORITY)}")
            if not isinstance(entries, list) or not entries:
                raise ValueError(f"levels.{level}: must be a non-empty list of rules")
            for position, entry in enumerate(entries):
                self._rules.append(_compile_rule(level, entry, position, seen))
        self._rules.sort(key=lambda rule: LEVEL_PRIORITY.index(rule.level))
        known = {rule.id for rule in self._rules}
        for rule in self._rules:
            if rule.overrides - known:
                unknown_ids = sorted(rule.overrides - known)
                raise ValueError(f"{rule.id}: 'overrides' names unknown rule(s) {unknown_ids}")
        self._overriding = [rule for rule in self._rules if rule.overrides]
        self._statements = {
            name: _compile_rule(LEVEL_112, {"id": name, **lexicon[name]}, 0, seen)
            for name in ("already_called", "situation_resolved")
            if lexicon.get(name)
        }
        not_now = lexicon.get("not_now")
        self._not_now = (
            _compile_rule(LEVEL_112, {"id": "not_now", "patterns": not_now}, 0, seen) if not_now else None
        )
        context = [self._not_now] if self._not_now else []
        self._vocabulary = _Vocabulary.of(
            [*self._rules, *context], self._aliases, self._fillers | self._negations_for["fi"]
        )
        self._regex_vocabulary = _Vocabulary.of_regexes(
            [regex for rule in self._rules if rule.language == "fi" for regex in rule.regexes]
        )
        # The rules in their order of trying first: ``possible`` answers for them by position.
        self._index = _SlotIndex([*self._rules, *context, *self._statements.values()])

    # -- matching -----------------------------------------------------------------

    def detect(
        self,
        text: str,
        *,
        tolerant: bool = False,
        negation: bool = True,
        vetoes: bool = True,
        left_out: bool = False,
    ) -> EmergencyMatch | None:
        """Return the most urgent emergency in ``text``, or ``None``.

        Args:
            text: the message as typed.
            tolerant: also let words match with one edit (a swapped, dropped,
                doubled or wrong letter) in words of 5+ letters, and through
                Voikko's spelling suggestions. Call without it first: a match
                found only this way is marked ``tolerant`` (a suspicion).
            negation: drop matches governed by a negation word ("ei ole
                rintakipua"); ``False`` finds what the resident negated.
            vetoes: drop matches in a sentence a rule's ``unless`` vetoes; ``False``
                also finds what the editors declared everyday ("olisi parempi jos
                tätä palvelua ei olisi").
            left_out: with ``tolerant``, also read a word the speller knows as a lexicon
                word with one letter left out ("vasaa" for "vatsaa", "pukin" for
                "purkin"). Real words one letter apart are often different words, so
                the safety net weighs such a match with the learned detector.
        """
        if not text or not text.strip():
            return None
        tokens = self._tokens(text, tolerant, left_out and tolerant)
        if not tokens:
            return None
        positions = self._index.position_finder(tokens)
        sentences = self._respelled_sentences(text) if tolerant else _sentences(tokens)
        # Vetoes read only the typos that keep the letters, and only once a rule has a candidate.
        as_typed = (lambda: self._letters_kept(text)) if tolerant else None
        first: _Rule | None = None
        first_span: tuple[int, ...] = ()
        levels: list[str] = []
        possible = self._index.possible(positions)
        for rule, may_match in zip(self._rules, possible, strict=False):
            if rule.level in levels or not may_match:
                continue
            span = self._match_rule(rule, tokens, sentences, positions, negation, vetoes, as_typed)
            if span is None:
                continue
            levels.append(rule.level)
            if first is None:
                first, first_span = rule, span
        if first is None:
            return None
        tempered = self._tempered(first, first_span, text, tokens, positions, tolerant, negation)
        if tempered:  # another rule of the same level may be about now ("... pitäiskö lähteä päivystykseen")
            for rule in self._rules[self._rules.index(first) + 1 :]:
                span = (
                    self._match_rule(rule, tokens, sentences, positions, negation, as_typed=as_typed)
                    if rule.level == first.level
                    else None
                )
                if span is not None and not self._tempered(
                    rule, span, text, tokens, positions, tolerant, negation
                ):
                    first, first_span, tempered = rule, span, False
                    break
        help_kind = first.help
        # "mies löi … ei ole paikkaa mihin mennä tänään": a rule that overrides the first may win,
        # and the help the first names (violence) still comes with the answer.
        for rule in (rule for rule in self._overriding if first.id in rule.overrides):
            span = self._match_rule(rule, tokens, sentences, positions, negation, as_typed=as_typed)
            if span is None:
                continue
            rule_tempered = self._tempered(rule, span, text, tokens, positions, tolerant, negation)
            if tempered or not rule_tempered:
                help_kind = rule.help or first.help
                first, first_span, tempered = rule, span, rule_tempered
                break
        matched = " ".join(tokens[i].surface for i in first_span)
        return EmergencyMatch(
            first.level, first.id, matched, tuple(levels), first.language, tolerant, tempered, help_kind
        )

    def _letters_kept_uncached(self, text: str) -> tuple[list[Token], _Positions]:
        """The tokens of ``text`` with only the typos that keep the letters corrected (swapped, doubled,
        one left out: "nukahttaisin" is "nukahtaisin"), and their positions."""
        tokens = self._tokens(text, tolerant=True, strict=True)
        return tokens, self._index.position_finder(tokens)

    def _tempered(
        self,
        rule: _Rule,
        span: tuple[int, ...],
        text: str,
        tokens: list[Token],
        positions: _Positions,
        tolerant: bool,
        negation: bool,
    ) -> bool:
        """Whether ``rule``'s match is a suspicion: about another time, or only as the resident
        typed it (:meth:`_context_misspelt`)."""
        if not rule.always_now and self._about_another_time(span, tokens, positions):
            return True
        # Finnish spelling corrections read English or Swedish words as other words ("her" as "herää").
        finnish = rule.language == "fi"
        return finnish and not tolerant and self._context_misspelt(rule, text, negation)

    def _context_misspelt(self, rule: _Rule, text: str, negation: bool) -> bool:
        """Whether the match would be vetoed, negated or about another time had the resident's typos
        been corrected ("ruokmyrkytystä" is "ruokamyrkytystä", "elvytskurssi" a course): then it is a
        suspicion rather than a certainty. Only typos that keep the letters (swapped, doubled, one
        left out) are read here: a changed letter would read "koulunu" as "koulutu*", a course.
        """
        tokens, positions = self._letters_kept(text)
        span = self._match_rule(rule, tokens, self._respelled_sentences(text), positions, negation)
        return span is None or (not rule.always_now and self._about_another_time(span, tokens, positions))

    def _about_another_time(self, span: tuple[int, ...], tokens: list[Token], positions: _Positions) -> bool:
        """Whether a ``not_now`` pattern is in a sentence of ``span`` (past, question, supposition)
        and the match itself does not name the present."""
        if self._not_now is None or any(tokens[i].surface in _NOW_WORDS for i in span):
            return False
        sentences = {tokens[i].sentence for i in span}
        if any(token.sentence in sentences and _past_year(token.surface) for token in tokens):
            return True
        for pattern in self._not_now.patterns:
            for found in self._spans(pattern, tokens, positions, ordered=True, window=0, max_gap=1):
                if tokens[found[0]].sentence in sentences:
                    return True
        return False

    def spelled_foreign(self, text: str) -> list[str]:
        """English or Swedish ``text`` folded, each typo read against the words and stems of the
        lexicon's English and Swedish rules ("answeirng" → "answering", "breeathing" → "breathing"):
        a few readings when a typo is near several of them ("feberr": "feber", "febern")."""
        folded = fold(text)
        words = list(_FOREIGN_TEXT_WORD.finditer(folded))
        choices = [self._foreign_readings(found.group(0)) for found in words]
        readings = []
        for chosen in itertools.islice(itertools.product(*choices), MAX_FOREIGN_READINGS):
            reading, end = [], 0
            for found, word in zip(words, chosen, strict=True):
                reading += [folded[end : found.start()], word]
                end = found.end()
            readings.append("".join([*reading, folded[end:]]))
        return readings

    def _foreign_readings(self, word: str) -> list[str]:
        """The word respelled by each English or Swedish rule word or stem within one edit of it."""
        if self._foreign_vocabulary.contains(word):
            return [word]
        return sorted({form for _, form in self._foreign_vocabulary.respellings(word)}) or [word]

    def has_corrections(self, text: str) -> bool:
        """Whether any word of ``text`` has a spelling correction (else tolerant matching adds nothing)."""
        plain = self._tokens(text, tolerant=False)
        corrected = self._tokens(text, tolerant=True)
        return any(
            a.lemmas != b.lemmas or self._respellings_cache(a.surface, a.lemmas) != (a.surface,)
            for a, b in zip(plain, corrected, strict=True)
        )

    def has_left_out_readings(self, text: str) -> bool:
        """Whether a word of ``text`` the speller knows reads as a lexicon word with a letter left out
        (else ``detect(..., left_out=True)`` finds nothing new)."""
        corrected = self._tokens(text, tolerant=True)
        left_out = self._tokens(text, tolerant=True, left_out=True)
        return any(a.lemmas != b.lemmas for a, b in zip(corrected, left_out, strict=True))

    def already_called(self, text: str) -> bool:
        """Whether the resident says that 112 has been called or help is on its way."""
        return self._states("already_called", text)

    def situation_resolved(self, text: str) -> bool:
        """Whether the resident says the emergency is over: the person found and well, the ambulance
        or police come and gone ("se löyty, nyt se on kotona ja kunnossa", "ambulanssi ja poliisi kävi")."""
        return self._states("situation_resolved", text)

    def _states(self, statement: str, text: str) -> bool:
        rule = self._statements.get(statement)
        if rule is None or not text or not text.strip():
            return False
        tokens = self._tokens(text, tolerant=True)
        if not tokens:
            return False
        span = self._match_rule(rule, tokens, _sentences(tokens), self._index.position_finder(tokens), True)
        return span is not None

    def _tokens(self, text: str, tolerant: bool, left_out: bool = False, strict: bool = False) -> list[Token]:
        """The message's tokens; with ``tolerant``, each also carries its spelling corrections (with
        ``strict``, of an unknown word only those with its letters swapped, doubled or one left out).

        The last few messages' tokens are kept: the safety net asks about the same
        message several times (as written, tolerantly, negations ignored).
        """
        return self._token_cache(text, tolerant, left_out, strict)

    def _tokens_uncached(self, text: str, tolerant: bool, left_out: bool, strict: bool) -> list[Token]:
        tokens = tokenize(text, self.lemmatizer, self._aliases)
        if not tolerant:
            return tokens
        return [
            Token(
                t.surface,
                t.lemmas | self._corrections(t.surface, t.lemmas, left_out, strict),
                t.sentence,
                t.clause,
            )
            if len(t.surface) >= TYPED_MIN_LENGTH
            else t
            for t in tokens
        ]

    def _corrections(
        self, surface: str, lemmas: frozenset[str], left_out: bool = False, strict: bool = False
    ) -> frozenset[str]:
        """Cached :meth:`_find_corrections` (the vocabulary never changes)."""
        return self._correction_cache(surface, lemmas, left_out, strict)

    def _find_corrections(
        self, surface: str, lemmas: frozenset[str], left_out: bool = False, strict: bool = False
    ) -> frozenset[str]:
        """Lexicon words and stems one edit away from the word, and base forms of Voikko's suggestions.

        A word that Voikko knows may still be a typo of another ("tapaa" for "tappaa"), but
        rarely by a changed, added or lost letter: real words one letter apart ("tulehtunut",
        "tukehtunut"; "kämppää", "kramppaa") are different words. Such a word gets
        corrections by a swap of neighbours or a doubled or undoubled letter only (with
        ``left_out``, also a letter left out: "pukin" for "purkin"), and no spelling suggestions.
        """
        if fold(surface) in self._vocabulary.word_set:
            # A word the editors wrote ("lahtee") is meant as written, not as a typo of another
            # ("lahete*", a referral, in an ``unless``).
            return frozenset()
        known = bool(lemmas) and self.lemmatizer.available
        substitution = not known and not strict
        letter_left_out = left_out or (strict and not known)
        found = set(self._vocabulary.near(surface, substitution=substitution, left_out=letter_left_out))
        if not known and self.lemmatizer.available:
            found |= self.lemmatizer.suggested_lemmas(surface)
        for word in list(found):
            found |= self._aliases.get(word, frozenset())
        return frozenset(found)

    def _respelled_sentences(self, text: str) -> list[_Sentence]:
        """The sentences of ``text`` as the Finnish rules' regular expressions would read them: each
        typo as a word or stem of theirs within one edit of it ("kkuaan" is "kukaan", "parasetmaolia"
        "parasetamolia"). A typo near several ("kuum": "kuume", "kuuma") gives a sentence for each, up
        to :data:`MAX_READINGS` per sentence."""
        tokens = self._tokens(text, tolerant=False)
        readings = [self._respellings_cache(token.surface, token.lemmas) for token in tokens]
        sentences = []
        for sentence in _sentences(tokens):
            choices = [readings[index] for index in sentence.tokens]
            for chosen in itertools.islice(itertools.product(*choices), MAX_READINGS):
                words = dict(zip(sentence.tokens, chosen, strict=True))
                sentences.append(_sentence_of(tokens, sentence, words))
        return sentences

    def _find_respellings(self, surface: str, lemmas: frozenset[str]) -> tuple[str, ...]:
        """The word as typed, or respelled by each regular-expression word or stem within one edit."""
        vocabulary = self._regex_vocabulary
        if surface in self._vocabulary.word_set or vocabulary.contains(surface):
            return (surface,)
        known = bool(lemmas) and self.lemmatizer.available
        by_term: dict[str, list[str]] = defaultdict(list)
        for term, form in vocabulary.respellings(surface, known):
            by_term[term].append(form)
        # One stem read at several cuts ("huomaiis": "huomais", "huomaiss"): the form nearest in length.
        forms = {
            min(found, key=lambda form: (abs(len(form) - len(surface)), form)) for found in by_term.values()
        }
        return tuple(sorted(forms)) or (surface,)

    def _match_rule(
        self,
        rule: _Rule,
        tokens: list[Token],
        sentences: list[_Sentence],
        positions: _Positions,
        negation: bool = True,
        vetoes: bool = True,
        as_typed: Callable[[], tuple[list[Token], _Positions]] | None = None,
    ) -> tuple[int, ...] | None:
        """The first non-negated, non-vetoed span of ``rule`` in the message, if any.

        ``as_typed``: gives the message's tokens with only the typos that keep the letters corrected
        (:meth:`_letters_kept`), for the vetoes: a changed letter may correct a word to match a rule,
        not to veto one ("lähit" is "lähti", not "lasit").
        """
        vetoed_cache: list[set[int]] = [] if vetoes else [set()]

        def vetoed() -> set[int]:
            # Computed only once a candidate match exists: most rules never get that far.
            if not vetoed_cache:
                veto_tokens, veto_positions = as_typed() if as_typed is not None else (tokens, positions)
                found = {
                    veto_tokens[span[0]].sentence
                    for pattern in rule.unless
                    for span in self._spans(
                        pattern, veto_tokens, veto_positions, ordered=True, window=0, max_gap=rule.max_gap
                    )
                }
                if found and rule.unless_anywhere:
                    found = {token.sentence for token in veto_tokens}
                vetoed_cache.append(found)
            return vetoed_cache[0]

        ordered = not rule.any_order
        for pattern in rule.patterns:
            for span in self._spans(
                pattern,
                tokens,
                positions,
                ordered=ordered,
                window=rule.window,
                max_gap=rule.max_gap,
                one_sentence=not rule.across_sentences,
            ):
                if any(tokens[i].sentence in vetoed() for i in span):
                    continue
                if negation and rule.negatable and self._negated(span, tokens, rule.language):
                    continue
                return span
        for regex in rule.regexes:
            for sentence in sentences:
                if sentence.index in vetoed():
                    continue
                for found in regex.finditer(sentence.text):
                    span = _regex_span(sentence, found.start(), found.end())
                    if not span:
                        continue
                    if negation and rule.negatable and self._negated(span, tokens, rule.language):
                        continue
                    return span
        return None

    @staticmethod
    def _spans(
        pattern: Sequence[_Slot],
        tokens: list[Token],
        positions: _Positions,
        *,
        ordered: bool,
        window: int,
        max_gap: int,
        one_sentence: bool = True,
    ) -> Iterable[tuple[int, ...]]:
        """Every way the slots of ``pattern`` match tokens (of one sentence unless told otherwise)."""
        candidates: list[list[int]] = []
        for slot in pattern:
            found = positions(slot)
            if not found:
                return
            candidates.append(found)
        if ordered:
            yield from _ordered_spans(candidates, tokens, max_gap)
            return
        for combination in itertools.product(*candidates):
            if len(set(combination)) != len(combination):
                continue
            if max(combination) - min(combination) >= window:
                continue
            if one_sentence and len({tokens[i].sentence for i in combination}) != 1:
                continue
            yield tuple(sorted(combination))

    def _negated(self, span: tuple[int, ...], tokens: list[Token], language: str) -> bool:
        """Whether a negation (of a rule in ``language``) outside ``span`` governs one of its words."""
        negations = self._negations_for[language]
        inside = set(span)
        for position in span:
            index = position - 1
            skipped = 0
            while index >= 0 and index not in inside and tokens[index].clause == tokens[position].clause:
                # The negation word as typed ("et" is "että", though Voikko reads "ei"); fillers by any key,
                # so that a misspelt filler still counts ("jatellut" is "ajatellut").
                if tokens[index].surface in negations:
                    return True
                if self._fillers.isdisjoint(tokens[index].keys) or skipped >= 3:
                    break
                skipped += 1
                index -= 1
        # "rintakipua ei ole (ollut)", "itsetuhoisia ajatuksia ei ole": one word may come between,
        # and only fillers may follow to the clause's end ("viiltelin taas, ei oo syvä" is no denial).
        # Any word of the span may be denied so ("kuumetta ei oo eikä rinta punota, … kun vauva imee").
        return any(self._denied_after(position, inside, tokens, negations) for position in span)

    def _denied_after(
        self, position: int, inside: set[int], tokens: list[Token], negations: frozenset[str]
    ) -> bool:
        """Whether a negation after ``position`` denies its word: one word may come between, and
        words listed with "tai" or "ja" ("kuumetta tai selkäkipua ei ole")."""
        after, free = position + 1, 1
        while after + 1 < len(tokens) and after not in inside:
            if tokens[after].clause != tokens[position].clause:
                break
            word = tokens[after].surface
            if (
                word in negations
                and word not in _COORDINATING
                and tokens[after + 1].surface in self._fillers
                and self._only_fillers_after(after + 1, tokens)
            ):
                return True
            if word in _LISTING and after + 2 < len(tokens):
                after += 2
                continue
            if free == 0 or self._owns_the_denial(tokens[after]):
                break
            free -= 1
            after += 1
        return False

    def _owns_the_denial(self, token: Token) -> bool:
        """Whether a word between a match and a negation is the thing denied itself: a partitive
        that is no filler ("sekavampi, kuumetta ei ole" denies the fever, not the confusion)."""
        return token.surface.endswith(_PARTITIVE_ENDINGS) and self._fillers.isdisjoint(token.keys)

    def _only_fillers_after(self, position: int, tokens: list[Token]) -> bool:
        """Whether only negation fillers follow ``position`` in its clause, up to a word that joins
        another ("rintakipua ei oo eikä hengenahdistusta": the denial ends at "eikä")."""
        clause = tokens[position].clause
        rest = itertools.takewhile(
            lambda token: token.clause == clause and token.surface not in _JOINERS, tokens[position:]
        )
        return all(not self._fillers.isdisjoint(token.keys) for token in rest)


class _SlotIndex:
    """Which slots of the lexicon a word matches, found by lookups instead of trying every slot.

    Each key of a word (its surface form, base forms and corrections) is looked up whole, and
    by its prefixes, suffixes and substrings of the lengths the lexicon's slots use: a few
    dozen dictionary lookups per word instead of a test of each of the lexicon's thousands of
    slots. The result is the same as :meth:`_Slot.matches` for every slot. Knowing which slots
    a message matches at all, the rules none of whose patterns can match are skipped whole.
    """

    def __init__(self, rules: Sequence[_Rule]) -> None:
        self._numbers: dict[int, int] = {}  # id(slot) → its number (compiled slots live as long as this)
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._prefixes: dict[str, list[int]] = defaultdict(list)
        self._suffixes: dict[str, list[int]] = defaultdict(list)
        self._infixes: dict[str, list[int]] = defaultdict(list)
        # Per rule (in the order given): the slot numbers each pattern needs; None: it has regexes.
        self._needs: list[tuple[frozenset[int], ...] | None] = []
        for rule in rules:
            for pattern in rule.unless:
                for slot in pattern:
                    self._add(slot)
            needs = tuple(frozenset(self._add(slot) for slot in pattern) for pattern in rule.patterns)
            self._needs.append(None if rule.regexes else needs)
        self._prefix_lengths = sorted({len(prefix) for prefix in self._prefixes})
        self._suffix_lengths = sorted({len(suffix) for suffix in self._suffixes})
        self._infix_lengths = sorted({len(infix) for infix in self._infixes})

    def _add(self, slot: _Slot) -> int:
        number = self._numbers.get(id(slot))
        if number is not None:
            return number
        number = self._numbers[id(slot)] = len(self._numbers)
        for words, index in (
            (slot.exact, self._exact),
            (slot.prefixes, self._prefixes),
            (slot.suffixes, self._suffixes),
            (slot.infixes, self._infixes),
        ):
            for word in words:
                index[word].append(number)
        return number

    def possible(self, found: _TokenPositions) -> list[bool]:
        """Per rule (in the order given): whether one of its patterns (or a regex) may match."""
        present = found.slot_numbers
        return [needs is None or any(need <= present for need in needs) for needs in self._needs]

    def _matched(self, keys: frozenset[str]) -> set[int]:
        """The numbers of the slots any of ``keys`` matches."""
        found: set[int] = set()
        for key in keys:
            found.update(self._exact.get(key, ()))
            size = len(key)
            for length in self._prefix_lengths:
                if length > size:
                    break
                found.update(self._prefixes.get(key[:length], ()))
            for length in self._suffix_lengths:
                if length > size:
                    break
                found.update(self._suffixes.get(key[size - length :], ()))
            for length in self._infix_lengths:
                if length > size:
                    break
                for start in range(size - length + 1):
                    found.update(self._infixes.get(key[start : start + length], ()))
        return found

    def position_finder(self, tokens: list[Token]) -> _TokenPositions:
        """The tokens each slot matches."""
        by_slot: dict[int, list[int]] = defaultdict(list)
        for position, token in enumerate(tokens):
            for number in self._matched(token.keys):
                by_slot[number].append(position)
        return _TokenPositions(self._numbers, by_slot, tokens)


class _TokenPositions:
    """``positions(slot)``: the indexes of the message's tokens a slot matches, in order."""

    __slots__ = ("_numbers", "_by_slot", "_tokens", "slot_numbers")
    _NONE: list[int] = []

    def __init__(self, numbers: dict[int, int], by_slot: dict[int, list[int]], tokens: list[Token]) -> None:
        self._numbers, self._by_slot, self._tokens = numbers, by_slot, tokens
        self.slot_numbers = frozenset(by_slot)  # the slots that match some token

    def __call__(self, slot: _Slot) -> list[int]:
        number = self._numbers.get(id(slot))
        if number is None:  # not a slot of this lexicon's rules
            return [i for i, token in enumerate(self._tokens) if slot.matches(token.keys)]
        return self._by_slot.get(number, self._NONE)


@dataclass(frozen=True)
class _Vocabulary:
    """The lexicon's words and stems, for finding those one edit away from a typed word."""

    words: tuple[str, ...]
    prefixes: dict[int, tuple[str, ...]]
    suffixes: dict[int, tuple[str, ...]]
    word_set: frozenset[str] = frozenset()  # ``words`` as a set, asked per typed word
    _candidates: Callable[[str], tuple[tuple[str, str, str], ...]] = field(
        init=False, repr=False, compare=False
    )
    _word_index: _OneEditIndex = field(init=False, repr=False, compare=False)
    _prefix_index: dict[int, _OneEditIndex] = field(init=False, repr=False, compare=False)
    _suffix_index: dict[int, _OneEditIndex] = field(init=False, repr=False, compare=False)

    @classmethod
    def of(
        cls, rules: Sequence[_Rule], aliases: dict[str, frozenset[str]], extra: frozenset[str] = frozenset()
    ) -> _Vocabulary:
        slots = [slot for rule in rules for pattern in (*rule.patterns, *rule.unless) for slot in pattern]
        words = {w for slot in slots for w in slot.exact} | set(aliases) | set(extra)
        prefixes: dict[int, set[str]] = {}
        suffixes: dict[int, set[str]] = {}
        for slot in slots:
            for stem in slot.prefixes:
                prefixes.setdefault(len(stem), set()).add(stem)
            for stem in slot.suffixes:
                suffixes.setdefault(len(stem), set()).add(stem)
        long_enough = TOLERANT_MIN_LENGTH
        kept = tuple(sorted(w for w in words if len(w) >= long_enough))
        return cls(
            kept,
            {n: tuple(sorted(s)) for n, s in prefixes.items() if n >= long_enough + 1},
            {n: tuple(sorted(s)) for n, s in suffixes.items() if n >= long_enough},
            frozenset(kept),
        )

    @classmethod
    def of_regexes(cls, regexes: Sequence[re.Pattern[str]]) -> _Vocabulary:
        """The words and stems (a word followed by ``\\w*``) of regular expressions."""
        words: set[str] = set()
        prefixes: dict[int, set[str]] = {}
        for regex in regexes:
            source = _REGEX_OPEN_GROUP.sub(lambda group: group[1].replace("|", "~|") + "~", regex.pattern)
            source = _REGEX_ESCAPE.sub(" ", _REGEX_OPEN_END.sub("~", source))
            for word, open_end in _REGEX_TERM.findall(source):
                if len(word) < TOLERANT_MIN_LENGTH:
                    continue
                if open_end:
                    prefixes.setdefault(len(word), set()).add(word)
                else:
                    words.add(word)
        kept = tuple(sorted(words))
        return cls(kept, {n: tuple(sorted(s)) for n, s in prefixes.items()}, {}, frozenset(kept))

    def contains(self, word: str) -> bool:
        """Whether ``word`` is one of the words or begins with one of the stems."""
        return word in self.word_set or any(word[:length] in stems for length, stems in self.prefixes.items())

    def respellings(self, word: str, known: bool = False) -> set[tuple[str, str]]:
        """Each word within one edit of ``word``, and each stem within one edit of its start, with
        ``word`` respelled by it: ``("parasetamol", "parasetamolia")`` for "parasetmaolia". For a
        ``known`` word only a swapped, doubled or undoubled letter, or a letter left out ("miss" for
        "missä"), as a changed or added letter turns one real word into another."""
        if len(word) < TYPED_MIN_LENGTH:
            return set()
        keep = _typo_of_known_word if known else None
        found = {(term, term) for term in self._word_index.near(word, keep)}
        for cut, stems in _cuts(word, self._prefix_index):
            found.update((stem, stem + word[cut:]) for stem in stems.near(word[:cut], keep))
        return found

    def __post_init__(self) -> None:
        # A word is looked up again for each reading of it (as typed, with a letter left out).
        object.__setattr__(self, "_candidates", lru_cache(maxsize=50_000)(self._find_candidates))
        object.__setattr__(self, "_word_index", _OneEditIndex(self.words))
        object.__setattr__(self, "_prefix_index", {n: _OneEditIndex(s) for n, s in self.prefixes.items()})
        object.__setattr__(self, "_suffix_index", {n: _OneEditIndex(s) for n, s in self.suffixes.items()})

    def clear_cache(self) -> None:
        """Forget the words looked up."""
        self._candidates.cache_clear()  # type: ignore[attr-defined]

    def near(self, word: str, substitution: bool = True, left_out: bool = False) -> set[str]:
        """Words, prefixes and suffixes of the lexicon within one edit of ``word`` (or of its start/end).

        A prefix comes back as ``stem~`` and a suffix as ``~stem`` (:data:`STEM_MARK`): they match
        the slots ``stem*`` and ``*stem``, never the whole word ``stem`` ("muisitsairaus" begins
        like "muisti*" but is no "muisti", a word an ``unless`` names).
        ``substitution=False`` leaves out choices that differ by one changed letter, and by one added
        letter too unless ``left_out``.
        """
        keep = None if substitution else _typo_of_known_word if left_out else _swapped_or_doubled
        return {
            marked for typed, choice, marked in self._candidates(word) if keep is None or keep(typed, choice)
        }

    def _find_candidates(self, word: str) -> tuple[tuple[str, str, str], ...]:
        """Each word, prefix and suffix within one edit of ``word`` (or of its start or end), with the
        part of ``word`` it was compared with, and as :meth:`near` gives it."""
        if len(word) < TYPED_MIN_LENGTH:
            return ()
        found = [(word, choice, choice) for choice in self._word_index.near(word)]
        for cut, stems in _cuts(word, self._prefix_index):
            found += [(word[:cut], stem, stem + STEM_MARK) for stem in stems.near(word[:cut])]
        for cut, stems in _cuts(word, self._suffix_index):
            found += [(word[-cut:], stem, STEM_MARK + stem) for stem in stems.near(word[-cut:])]
        return tuple(found)


def _past_year(word: str) -> bool:
    """Whether ``word`` is a year before this one ("sain anafylaksian 2020")."""
    return len(word) == 4 and word.isdigit() and 1900 <= int(word) < datetime.date.today().year


def _cuts(word: str, stems_by_length: dict[int, _OneEditIndex]) -> Iterable[tuple[int, _OneEditIndex]]:
    """Each length at which ``word``'s start or end is compared with stems of a length: the stems'
    own length and one letter more or less (a typo adds or drops one), never shorter than a typed word."""
    for length, stems in stems_by_length.items():
        for cut in (length - 1, length, length + 1):
            if TYPED_MIN_LENGTH <= cut <= len(word):
                yield cut, stems


class _OneEditIndex:
    """Strings by their one-letter deletions (a symmetric-deletion index): the strings one edit from a
    word are found in a few lookups instead of a comparison with each."""

    __slots__ = ("_by_deletion",)

    def __init__(self, choices: Iterable[str]) -> None:
        by_deletion: dict[str, set[str]] = defaultdict(set)
        for choice in choices:
            for variant in _deletions(choice):
                by_deletion[variant].add(choice)
        self._by_deletion = {variant: tuple(found) for variant, found in by_deletion.items()}

    def near(self, word: str, keep: Callable[[str, str], bool] | None = None) -> list[str]:
        """The choices at most one insertion, deletion, substitution or swap of neighbours from
        ``word``, sorted; with ``keep``, only those for which ``keep(word, choice)`` holds.

        Two strings one edit apart share a one-letter deletion (or one is the other's), so only the
        strings filed under ``word``'s deletions are compared with it."""
        shared = {choice for variant in _deletions(word) for choice in self._by_deletion.get(variant, ())}
        near = sorted(choice for choice in shared if OSA.distance(word, choice, score_cutoff=1) <= 1)
        return near if keep is None else [choice for choice in near if keep(word, choice)]


def _deletions(word: str) -> set[str]:
    """``word`` and each string made by leaving out one of its letters."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def _typo_of_known_word(typed: str, choice: str) -> bool:
    """Whether a word the speller knows may still be a typo of ``choice``: two neighbours swapped, a
    letter doubled or undoubled, or one left out; a changed or added letter makes another real word."""
    return _swapped_or_doubled(typed, choice) or _letter_left_out(typed, choice)


def _letter_left_out(typed: str, choice: str) -> bool:
    """Whether ``typed`` is ``choice`` with one letter left out."""
    return len(choice) == len(typed) + 1 and any(
        choice[:i] + choice[i + 1 :] == typed for i in range(len(choice))
    )


def _swapped_or_doubled(typed: str, choice: str) -> bool:
    """Whether ``typed`` is ``choice`` with two neighbours swapped, or with a double letter made single
    or a single one double ("tapaa" for "tappaa") — the typos that turn one real word into another.
    """
    if len(typed) == len(choice):
        return sorted(typed) == sorted(choice) and typed != choice
    longer, shorter = (typed, choice) if len(typed) > len(choice) else (choice, typed)
    if len(longer) != len(shorter) + 1:
        return False
    return any(
        longer[:i] + longer[i + 1 :] == shorter and longer[i] == longer[i - 1] for i in range(1, len(longer))
    )


def _ordered_spans(
    candidates: list[list[int]], tokens: list[Token], max_gap: int
) -> Iterable[tuple[int, ...]]:
    def extend(prefix: tuple[int, ...], depth: int) -> Iterable[tuple[int, ...]]:
        if depth == len(candidates):
            yield prefix
            return
        last = prefix[-1]
        for position in candidates[depth]:
            if position <= last:
                continue
            if position - last - 1 > max_gap:
                break
            if tokens[position].sentence != tokens[last].sentence:
                break
            yield from extend(prefix + (position,), depth + 1)

    for start in candidates[0]:
        yield from extend((start,), 1)


def _sentences(tokens: list[Token]) -> list[_Sentence]:
    """The message's sentences, their words as typed."""
    indexes: dict[int, list[int]] = {}
    for index, token in enumerate(tokens):
        indexes.setdefault(token.sentence, []).append(index)
    return [_sentence_of(tokens, _Sentence(number, members), {}) for number, members in indexes.items()]


def _sentence_of(tokens: list[Token], sentence: _Sentence, words: dict[int, str]) -> _Sentence:
    """``sentence`` with its text and offsets, each token written as in ``words`` or as typed."""
    built = _Sentence(sentence.index, list(sentence.tokens))
    for index in sentence.tokens:
        if built.text:
            built.text += " "
        built.starts.append(len(built.text))
        built.text += words.get(index, tokens[index].surface)
    return built


def _regex_span(sentence: _Sentence, start: int, end: int) -> tuple[int, ...]:
    """Token indexes overlapped by the character range ``[start, end)`` of a sentence."""
    span = []
    for token_index, token_start in zip(sentence.tokens, sentence.starts, strict=True):
        token_end = sentence.text.find(" ", token_start)
        token_end = len(sentence.text) if token_end < 0 else token_end
        if token_start < end and token_end > start:
            span.append(token_index)
    return tuple(span)


def resolve_lexicon_path(path: str | Path) -> Path:
    """Find ``path`` as given, or relative to the project root when relative."""
    candidate = Path(path)
    if candidate.is_absolute() or candidate.exists():
        return candidate
    in_project = PROJECT_ROOT / candidate
    return in_project if in_project.exists() else candidate


_DEFAULT_MATCHER: EmergencyMatcher | None = None


def default_matcher() -> EmergencyMatcher:
    """The matcher for the project's lexicon, loaded on first use."""
    global _DEFAULT_MATCHER
    if _DEFAULT_MATCHER is None:
        _DEFAULT_MATCHER = EmergencyMatcher.from_file(DEFAULT_LEXICON)
    return _DEFAULT_MATCHER


def detect_emergency(text: str, matcher: EmergencyMatcher | None = None) -> EmergencyMatch | None:
    """Check one message against the emergency lexicon (the project's by default)."""
    return (matcher or default_matcher()).detect(text)


# -- test and training lists -------------------------------------------------------


def read_emergency_list(path: Path) -> list[tuple[str, str]]:
    """Read ``level<TAB>message`` lines (``#`` comments and blank lines skipped)."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        level, separator, message = line.partition("\t")
        if not separator or level not in LEVEL_PRIORITY or not message.strip():
            raise ValueError(
                f"{path}:{number}: expected '<level>\\t<message>' with level in {LEVEL_PRIORITY}"
            )
        items.append((level, message.strip()))
    return items


def read_message_list(path: Path) -> list[str]:
    """Read one message per line (``#`` comments and blank lines skipped)."""
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]

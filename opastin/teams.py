"""The team catalogue, ``data/teams.yml``: every team's one place.

A team's id, name, chat name, the words residents call it by, opening hours
and dated exceptions, phone, web page, identification policy and retention
are written here and nowhere else: the handoff service, the action server and
the validator all read this file through :func:`load_teams`. A county adds a
team by adding it here (and pointing intents at it in ``data/routes.yml``).

The file is validated completely. Every mistake is reported with the file,
the team and the field, e.g.::

    data/teams.yml: team 'neuvola', field 'hours.mon': '12-14' is not of the form 'HH:MM-HH:MM'

and the processes refuse to start until all of them are fixed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
    conint,
    constr,
    root_validator,
    validator,
)

from opastin.content import ContentError, display_path, read_mapping
from opastin.finnish_text import normalise
from opastin.finnish_time import weekly_hours_phrase
from opastin.hours import DayHours, Schedule, holiday_name

TEAM_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED_WORDS = {"closed", "suljettu"}
PHONE_PATTERN = r"^(?:(?:\+358 ?|0)[1-9](?: ?\d){5,11}|1\d{2} ?\d{3})$"
HTTPS_URL_PATTERN = r"^https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:/[^\s]*)?$"
WEB_PAGE_PATTERN = r"^(?:/[^\s]*|https://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:/[^\s]*)?)$"
MAX_EXCEPTION_DAYS = 366
MAX_TEAMS = 100

if TYPE_CHECKING:  # pydantic's constrained types are plain str and int to a type checker
    Name = str
    Description = str
    Note = str
    Phone = str
    WebPage = str
    HttpsUrl = str
    AgentChats = int
    Workdays = int
    RetentionDays = int
    AuditDays = int
    LogDays = int
    AnswerTitle = str
    AnswerText = str
else:
    Name = constr(strict=True, min_length=1, max_length=100)
    Description = constr(strict=True, min_length=1, max_length=500)
    Note = constr(strict=True, max_length=200)
    Phone = constr(strict=True, regex=PHONE_PATTERN)
    WebPage = constr(strict=True, regex=WEB_PAGE_PATTERN)
    HttpsUrl = constr(strict=True, regex=HTTPS_URL_PATTERN)
    AgentChats = conint(strict=True, ge=1, le=20)
    Workdays = conint(strict=True, ge=1, le=30)
    RetentionDays = conint(strict=True, ge=1, le=3650)
    AuditDays = conint(strict=True, ge=30, le=3650)
    LogDays = conint(strict=True, ge=1, le=365)
    AnswerTitle = constr(strict=True, min_length=1, max_length=60)
    AnswerText = constr(strict=True, min_length=1, max_length=1000)


class TeamsConfigError(ContentError):
    """The team catalogue is missing, unreadable or invalid; the message lists every problem."""


def _parse_day_hours(value: Any) -> DayHours | None:
    """Turn ``"HH:MM-HH:MM"``, ``closed`` or an empty value into ``DayHours``/``None``."""
    if value is None or isinstance(value, DayHours):
        return value
    if not isinstance(value, str):
        raise ValueError("expected 'HH:MM-HH:MM' in quotes, or 'closed'")
    if value.strip().lower() in CLOSED_WORDS:
        return None
    return DayHours.parse(value)


class _Strict(BaseModel):
    class Config:
        extra = "forbid"
        arbitrary_types_allowed = True
        allow_population_by_field_name = True


class WeeklyHoursConfig(_Strict):
    """Opening hours per weekday; a day left out is closed."""

    mon: DayHours | None = None
    tue: DayHours | None = None
    wed: DayHours | None = None
    thu: DayHours | None = None
    fri: DayHours | None = None
    sat: DayHours | None = None
    sun: DayHours | None = None

    _parse = validator("*", pre=True, allow_reuse=True)(_parse_day_hours)

    def as_tuple(self) -> tuple[DayHours | None, ...]:
        """The seven days, Monday first."""
        return tuple(getattr(self, day) for day in WEEKDAYS)


class ExceptionConfig(_Strict):
    """A dated exception: one ``date`` or a ``from``–``to`` range, ``closed`` or other ``hours``."""

    date: dt.date | None = None
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    closed: bool = False
    hours: DayHours | None = None
    note: Note = ""

    _parse = validator("hours", pre=True, allow_reuse=True)(_parse_day_hours)

    @root_validator(skip_on_failure=True)
    def _check(cls, values: dict[str, Any]) -> dict[str, Any]:
        single, start, end = values.get("date"), values.get("from_"), values.get("to")
        if (single is None) == (start is None and end is None):
            raise ValueError("give either 'date' or both 'from' and 'to'")
        if single is None and (start is None or end is None):
            raise ValueError("a range needs both 'from' and 'to'")
        if start is not None and end is not None:
            if end < start:
                raise ValueError("'to' is before 'from'")
            if (end - start).days >= MAX_EXCEPTION_DAYS:
                raise ValueError(f"a range may span at most {MAX_EXCEPTION_DAYS} days")
        if values.get("closed") == (values.get("hours") is not None):
            raise ValueError("give either 'closed: true' or 'hours'")
        return values

    def days(self) -> Iterator[dt.date]:
        """Every date the exception covers."""
        first = self.date or self.from_
        last = self.date or self.to
        assert first is not None and last is not None
        for offset in range((last - first).days + 1):
            yield first + dt.timedelta(days=offset)


class CannedAnswerConfig(_Strict):
    """A ready answer professionals insert into a reply and edit before sending."""

    title: AnswerTitle
    text: AnswerText

    @validator("text")
    def _no_placeholders(cls, text: str) -> str:
        if "{" in text or "}" in text:
            raise ValueError("no {placeholders}: the resident's name is not known in the chat")
        return text


class TeamConfig(_Strict):
    """One team as written in the teams file."""

    name: Name
    plural: StrictBool = False
    chat: Name
    keywords: list[StrictStr] = Field(..., min_items=1, max_items=30)
    description: Description
    hours: WeeklyHoursConfig
    exceptions: list[ExceptionConfig] = []
    identification: Literal["optional", "required"]
    max_chats_per_agent: AgentChats
    phone: Phone
    web_page: WebPage
    reply_within_workdays: Workdays
    retention_days: RetentionDays
    canned_answers: list[CannedAnswerConfig] = Field([], max_items=30)

    @validator("keywords", each_item=True)
    def _has_letters(cls, keyword: str) -> str:
        if not normalise(keyword):
            raise ValueError("a keyword needs letters")
        return keyword

    @validator("exceptions")
    def _no_overlap(cls, exceptions: list[ExceptionConfig]) -> list[ExceptionConfig]:
        seen: set[dt.date] = set()
        for exception in exceptions:
            for day in exception.days():
                if day in seen:
                    raise ValueError(f"{day.isoformat()} is covered by more than one exception")
                seen.add(day)
        return exceptions


class RetentionConfig(_Strict):
    """How long what is not a team's own is kept (the teams' own: ``retention_days``)."""

    unrouted_days: RetentionDays = 30
    audit_days: AuditDays = 730
    log_days: LogDays = 30


class CustomerServiceConfig(_Strict):
    """The county's customer service phone line, which also serves in other languages."""

    phone: Phone
    hours: WeeklyHoursConfig


class OrganisationConfig(_Strict):
    """The wellbeing services county: its name, the base of relative web pages, its customer service."""

    name: Name
    web_base_url: HttpsUrl
    customer_service: CustomerServiceConfig | None = None


@dataclass(frozen=True)
class Team:
    """A validated team.

    ``chat`` is the chat's name as a sentence starts with it ("Neuvolan chat");
    ``keywords`` are the normalised stems that name the team in a question.
    """

    id: str
    name: str
    chat: str
    keywords: tuple[str, ...]
    description: str
    schedule: Schedule
    identification: str
    max_chats_per_agent: int
    phone: str
    web_url: str
    reply_within_workdays: int
    retention_days: int
    plural: bool = False
    # (title, text) of the ready answers the team's professionals insert into a reply.
    canned_answers: tuple[tuple[str, str], ...] = ()

    @property
    def hours_text(self) -> str:
        """The weekly hours as residents read them, e.g. ``ma–pe klo 8–15``."""
        return weekly_hours_phrase(
            [None if day is None else (day.start, day.end) for day in self.schedule.weekly]
        )


@dataclass(frozen=True)
class Retention:
    """Days to keep conversations never routed to a team, the audit log and rotated logs."""

    unrouted_days: int = 30
    audit_days: int = 730
    log_days: int = 30


@dataclass(frozen=True)
class CustomerService:
    """The customer service phone line and its weekly hours (holidays closed)."""

    phone: str
    schedule: Schedule


@dataclass(frozen=True)
class Teams:
    """All teams, in the order of the file."""

    organisation: str
    by_id: Mapping[str, Team]
    retention: Retention = Retention()
    web_base_url: str = ""
    customer_service: CustomerService | None = None

    def __iter__(self) -> Iterator[Team]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)

    @property
    def ids(self) -> tuple[str, ...]:
        """The team ids in the order of the file."""
        return tuple(self.by_id)

    def web_url(self, page: str) -> str:
        """A full address for ``page``: a path under the organisation's site, or a full https URL."""
        return join_url(self.web_base_url, page)

    def __contains__(self, team_id: object) -> bool:
        return team_id in self.by_id

    def get(self, team_id: str) -> Team | None:
        """The team with ``team_id``, or ``None``."""
        return self.by_id.get(team_id)

    def retention_days(self, team_id: str | None) -> int:
        """How long a conversation routed to ``team_id`` is kept; never routed (``None``): the default."""
        team = self.by_id.get(team_id) if team_id else None
        return team.retention_days if team is not None else self.retention.unrouted_days


def _errors(prefix: str, error: ValidationError) -> list[str]:
    """One line per pydantic error, naming the field with dots."""
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"] if part != "__root__")
        loc = loc.replace("from_", "from")
        where = f"{prefix}, field '{loc}'" if loc else prefix
        lines.append(f"{where}: {item['msg']}")
    return lines


def join_url(base: str, page: str) -> str:
    """``page`` when it is a full URL, else ``page`` under ``base``."""
    return page if page.startswith("https://") else base.rstrip("/") + page


def _exception_days(config: TeamConfig) -> dict[dt.date, DayHours | None]:
    """Dated exceptions per day.

    A single ``date`` applies as written (it may even open a weekend day). A
    ``from``–``to`` range with ``hours`` changes only the days that would
    otherwise be open, so weekends and holidays inside it stay closed.
    """
    weekly = config.hours.as_tuple()
    days: dict[dt.date, DayHours | None] = {}
    for exception in config.exceptions:
        for day in exception.days():
            if exception.closed:
                days[day] = None
            elif exception.date is not None or (weekly[day.weekday()] and holiday_name(day) is None):
                days[day] = exception.hours
    return days


def _build_team(team_id: str, config: TeamConfig, base_url: str) -> Team:
    exceptions = _exception_days(config)
    return Team(
        id=team_id,
        name=config.name,
        chat=config.chat,
        keywords=tuple(normalise(keyword) for keyword in config.keywords),
        description=config.description,
        schedule=Schedule(weekly=config.hours.as_tuple(), exceptions=exceptions),
        identification=config.identification,
        max_chats_per_agent=config.max_chats_per_agent,
        phone=config.phone,
        web_url=join_url(base_url, config.web_page),
        reply_within_workdays=config.reply_within_workdays,
        retention_days=config.retention_days,
        plural=config.plural,
        canned_answers=tuple((answer.title, answer.text) for answer in config.canned_answers),
    )


def _team_configs(raw_teams: Mapping[Any, Any], shown: str, problems: list[str]) -> dict[str, TeamConfig]:
    """Each team's validated fields; a problem per bad id or field goes to ``problems``."""
    if len(raw_teams) > MAX_TEAMS:
        problems.append(f"{shown}: at most {MAX_TEAMS} teams")
    configs: dict[str, TeamConfig] = {}
    for team_id, raw in raw_teams.items():
        if not isinstance(team_id, str) or not TEAM_ID_PATTERN.match(team_id):
            problems.append(
                f"{shown}: team id {team_id!r}: use 2-40 of a-z, 0-9 and _, starting with a letter"
            )
            continue
        if not isinstance(raw, dict):
            problems.append(f"{shown}: team {team_id!r}: expected a mapping of fields")
            continue
        try:
            configs[team_id] = TeamConfig.parse_obj(raw)
        except ValidationError as error:
            problems.extend(_errors(f"{shown}: team {team_id!r}", error))
    return configs


def load_teams(path: Path) -> Teams:
    """Read and validate the team catalogue; raise :class:`TeamsConfigError` listing every problem."""
    shown = display_path(path)
    document = read_mapping(path, TeamsConfigError)
    problems: list[str] = []
    unknown_keys = sorted(set(document) - {"organisation", "teams", "retention"})
    if unknown_keys:
        problems.append(f"{shown}: unknown top-level keys {unknown_keys}")
    organisation: OrganisationConfig | None = None
    try:
        organisation = OrganisationConfig.parse_obj(document.get("organisation") or {})
    except ValidationError as error:
        problems.extend(_errors(f"{shown}: organisation", error))
    retention = RetentionConfig()
    try:
        retention = RetentionConfig.parse_obj(document.get("retention") or {})
    except ValidationError as error:
        problems.extend(_errors(f"{shown}: retention", error))
    raw_teams = document.get("teams")
    if not isinstance(raw_teams, dict) or not raw_teams:
        raise TeamsConfigError("\n".join(problems + [f"{shown}: 'teams' must map team ids to teams"]))
    configs = _team_configs(raw_teams, shown, problems)
    if problems or organisation is None:
        raise TeamsConfigError("\n".join(problems))
    by_id = {
        team_id: _build_team(team_id, config, organisation.web_base_url)
        for team_id, config in configs.items()
    }
    return Teams(
        organisation=organisation.name,
        by_id=by_id,
        retention=Retention(**retention.dict()),
        web_base_url=organisation.web_base_url,
        customer_service=_customer_service(organisation.customer_service),
    )


def _customer_service(config: CustomerServiceConfig | None) -> CustomerService | None:
    if config is None:
        return None
    return CustomerService(config.phone, Schedule(weekly=config.hours.as_tuple(), exceptions={}))

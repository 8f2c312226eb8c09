"""The statistics page: a period's report (:mod:`handoff.stats`) as the desk shows it.

Every figure comes from :func:`handoff.stats.build_report`, which has already
hidden the counts under five and left out what would be computed from them.
This module only names things (teams from the catalogue, routes from the route
table), writes numbers the Finnish way and lays out the bar charts; it
computes no figure of its own, so the page shows nothing the report does not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any, TypeVar

from markupsafe import Markup
from sqlalchemy.orm import Session

from handoff import stats
from handoff.desk.periods import Period
from handoff.desk.views import label, text
from opastin.content import ContentError
from opastin.hours import HELSINKI
from opastin.routes import default_routes
from opastin.teams import Teams

logger = logging.getLogger(__name__)
T = TypeVar("T")
NBSP = "\u00a0"


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: what it stands for, its value as shown, and its length (0–1 of the scale)."""

    label: str
    value: str
    length: float


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart; a hidden or missing value has no bar, only its text."""

    id: str
    title: str
    bars: tuple[Bar, ...]

    @property
    def description(self) -> str:
        """The chart's values in words, for screen readers."""
        return "; ".join(f"{bar.label}: {bar.value}" for bar in self.bars)


@dataclass(frozen=True)
class Section:
    """One team's figures (or all teams', or those of no team), named for the page."""

    anchor: str
    name: str
    figures: stats.Figures
    routes: list[tuple[str, stats.Cell]]
    emergencies: list[tuple[str, stats.Cell]]
    routes_chart: Chart
    feedback_chart: Chart


@dataclass(frozen=True)
class StatsView:
    """The statistics of one period, and of one team or all of them."""

    period_name: str
    team: str | None
    team_name: str | None
    query: str
    previous: str | None
    following: str | None
    month: str
    empty: bool
    sections: list[Section]
    comparison: list[Section]
    volume_chart: Chart | None
    rate_chart: Chart | None


def load_report(session: Session, period: Period, team: str | None, teams: Teams) -> stats.Report:
    """The report of ``period`` for ``team`` (``None``: every team), teams in the catalogue's order."""
    rows = stats.load_rows(session, period.first, period.last, team)
    return stats.build_report(rows, period.first, period.last, teams.ids)


def view_of(report: stats.Report, period: Period, team: str | None, teams: Teams) -> StatsView:
    """What the page shows of ``report``: every team and the total, or the one team asked for."""
    if team is not None:
        sections = [section(report.total, team_name(team, teams), anchor(team), teams)]
        comparison: list[Section] = []
    else:
        comparison = [
            section(figures, team_name(figures.team, teams), anchor(figures.team), teams)
            for figures in report.teams
        ]
        sections = [section(report.total, text("desk.stats.total"), "stats-total", teams), *comparison]
    previous, following = period.previous(), period.following()
    return StatsView(
        period_name=period_name(period),
        team=team,
        team_name=team_name(team, teams) if team else None,
        query=period.query(team),
        previous=previous.query(team) if previous else None,
        following=following.query(team) if following else None,
        month=f"{period.first:%Y-%m}",
        empty=not report.teams,
        sections=sections,
        comparison=comparison,
        volume_chart=_volume_chart(comparison) if len(comparison) > 1 else None,
        rate_chart=_rate_chart(comparison) if len(comparison) > 1 else None,
    )


def section(figures: stats.Figures, name: str, anchor_id: str, teams: Teams) -> Section:
    """The page's view of one set of figures."""
    routes = [(route_name(route, teams), count) for route, count in figures.top_routes.items()]
    emergencies = [
        (label("stats.emergency", level, level), count) for level, count in figures.emergencies.items()
    ]
    ratings = [
        (text("desk.stats.feedback.stars", rating=rating), count)
        for rating, count in figures.feedback.distribution.items()
    ]
    return Section(
        anchor=anchor_id,
        name=name,
        figures=figures,
        routes=routes,
        emergencies=emergencies,
        routes_chart=count_chart(f"{anchor_id}-routes", text("desk.stats.routes.chart"), routes),
        feedback_chart=count_chart(f"{anchor_id}-feedback", text("desk.stats.feedback.chart"), ratings),
    )


def anchor(team: str) -> str:
    """The id of a team's section on the page."""
    if team == stats.NO_TEAM_NAME:
        return "stats-no-team"
    return f"stats-team-{team}"


def team_name(team: str, teams: Teams) -> str:
    """A team's name in the catalogue (its id if it is no longer there); "no team" for the report's none."""
    if team == stats.NO_TEAM_NAME:
        return text("desk.stats.no_team")
    found = teams.get(team)
    return found.name if found is not None else team


def csv_filename(period: Period, team: str | None) -> str:
    """The name of the CSV download: ``opastin-tilastot-<first>-<last>[-<team>].csv``."""
    return f"opastin-tilastot-{period.first}-{period.last}{f'-{team}' if team else ''}.csv"


# Route names ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _route_table_names() -> dict[tuple[str, str], str]:
    """Names of the targets in the route table in use: Omaolo assessments, pages and short answers."""
    try:
        table = default_routes()
    except ContentError as error:
        logger.warning("the statistics show route targets unnamed: %s", error)
        return {}
    names = {("omaolo", table.omaolo.front_page): text("desk.stats.route.omaolo_front")}
    for symptom in table.omaolo.symptoms:
        names[("omaolo", symptom.url)] = text("desk.stats.route.omaolo", name=symptom.name)
    for page in table.pages.values():
        names[("webpage", page.url)] = text("desk.stats.route.webpage", name=page.label)
    for intent in table.intents.values():
        if intent.answer:
            names.setdefault(("answer", intent.answer), text("desk.stats.route.answer", name=intent.label))
    return names


def route_name(route: str, teams: Teams) -> str:
    """A readable name of a counted route ``type:target``: the team's name, the page's title, the
    emergency's level …; the target itself where nothing better is known."""
    kind, _, target = route.partition(":")
    named = _route_table_names().get((kind, target))
    if named is not None:
        return named
    if kind == "team":
        return text("desk.stats.route.team", name=team_name(target, teams))
    if kind in ("emergency", "person", "form"):
        return text(f"desk.stats.route.{kind}", name=label(f"stats.{kind}", target, target))
    if kind in ("omaolo", "webpage", "answer"):
        return text(f"desk.stats.route.{kind}", name=target)
    return text("desk.stats.route.other", kind=kind, target=target)


# Charts -----------------------------------------------------------------------------------------


def count_chart(chart_id: str, title: str, items: Sequence[tuple[str, stats.Cell]]) -> Chart:
    """Bars of counts scaled to the largest shown; a hidden count gets no bar."""
    top = max((count for _, count in items if isinstance(count, int)), default=0)
    bars = tuple(
        Bar(name, number(count), count / top if isinstance(count, int) and top else 0.0)
        for name, count in items
    )
    return Chart(chart_id, title, bars)


def share_chart(chart_id: str, title: str, items: Sequence[tuple[str, float | None]]) -> Chart:
    """Bars of shares on a scale of 0–100 %; a share not computed gets no bar."""
    bars = tuple(
        Bar(name, percent(share) or text("desk.stats.not_shown"), share or 0.0) for name, share in items
    )
    return Chart(chart_id, title, bars)


def _volume_chart(teams: list[Section]) -> Chart:
    items = [(team.name, team.figures.conversations) for team in teams]
    return count_chart("stats-volume", text("desk.stats.overview.volume_chart"), items)


def _rate_chart(teams: list[Section]) -> Chart:
    items = [(team.name, team.figures.handover_rate) for team in teams]
    return share_chart("stats-rate", text("desk.stats.overview.rate_chart"), items)


# Finnish formats --------------------------------------------------------------------------------


def number(value: stats.Cell) -> str:
    """A count with spaces between thousands (``1 234``), or the report's ``< 5``."""
    return f"{value:,}".replace(",", NBSP) if isinstance(value, int) else value


def percent(value: float | None) -> str | None:
    """A share as ``40,5 %``; ``None`` for a share not computed."""
    return None if value is None else f"{value * 100:.1f}".replace(".", ",") + f"{NBSP}%"


def decimal(value: float | None) -> str | None:
    """A mean as ``4,73``; ``None`` for a mean not computed."""
    return None if value is None else f"{value:.2f}".replace(".", ",")


def span(bucket: stats.Bucket | None) -> str | None:
    """A percentile's bucket: ``alle 30 s``, ``2–3 min``, ``vähintään 120 min``; ``None`` if not computed."""
    if bucket is None:
        return None
    if bucket.to_s is None:
        return text("desk.stats.duration.over", amount=_length(bucket.from_s, bucket.from_s))
    if bucket.from_s == 0:
        return text("desk.stats.duration.under", amount=_length(bucket.to_s, bucket.to_s))
    low = _amount(bucket.from_s, bucket.to_s)
    return text("desk.stats.duration.range", low=low, high=_length(bucket.to_s, bucket.to_s))


def _amount(seconds: int, scale: int) -> str:
    """``seconds`` in seconds up to a minute's scale, in minutes beyond."""
    return str(seconds) if scale <= 60 else f"{seconds / 60:g}".replace(".", ",")


def _length(seconds: int, scale: int) -> str:
    unit = "seconds" if scale <= 60 else "minutes"
    return text(f"desk.stats.duration.{unit}", amount=_amount(seconds, scale))


def day_text(day: date) -> str:
    """``10.3.2026``."""
    return f"{day.day}.{day.month}.{day.year}"


def period_name(period: Period) -> str:
    """``10.3.2026``, ``viikko 11/2026 (9.3.–15.3.2026)``, ``maaliskuu 2026`` or ``1.1.2026–31.3.2026``."""
    if period.kind == "day":
        return day_text(period.first)
    if period.kind == "month":
        return month_name(period.first)
    if period.kind == "week":
        week = period.first.isocalendar()
        first = f"{period.first.day}.{period.first.month}."
        return text(
            "desk.stats.period.week", week=week.week, year=week.year, first=first, last=day_text(period.last)
        )
    return text("desk.stats.period.range", first=day_text(period.first), last=day_text(period.last))


def month_name(day: date) -> str:
    """``maaliskuu 2026``."""
    return text("desk.stats.period.month", month=text(f"desk.stats.months.m{day.month:02d}"), year=day.year)


def moment_text(moment: datetime) -> str:
    """``10.3.2026 klo 12.30`` in Helsinki time."""
    local = moment.astimezone(HELSINKI)
    return text(
        "desk.stats.period.moment", day=day_text(local.date()), time=f"{local.hour}.{local.minute:02d}"
    )


def _or_missing(format_value: Callable[[T], str | None]) -> Callable[[T], str | Markup]:
    """``format_value``, with a dash (read out as "ei laskettu") where it gives nothing."""

    def shown(value: T) -> str | Markup:
        formatted = format_value(value)
        if formatted is not None:
            return formatted
        return Markup('<span aria-hidden="true">–</span><span class="visually-hidden">{}</span>').format(
            text("desk.stats.not_shown")
        )

    return shown


def template_filters() -> dict[str, Callable[[Any], str | Markup]]:
    """The filters that write the figures in the templates: ``count``, ``percent``, ``decimal``, ``span``."""
    return {
        "count": number,
        "percent": _or_missing(percent),
        "decimal": _or_missing(decimal),
        "span": _or_missing(span),
    }

"""The statistics report: a period's daily counts per team and in total, small counts hidden.

:func:`load_rows` sums the daily counts (:mod:`handoff.counting`) of a period;
:func:`build_report` turns the sums into a :class:`Report`, and is where the
small-cell rule lives: a count under :data:`SMALL_CELL` (zero included) is
shown as :data:`HIDDEN` ("< 5"), and a share, mean or percentile computed from
such a count is ``None``. The command line (``python -m handoff stats``) and
any later page show a report through :func:`as_dict` or :func:`csv_text`, so
they cannot show more than it does.

Percentiles come from fixed-bucket histograms: the report names the bucket
that holds the percentile (nearest rank), which is exact to its edges.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import date
from itertools import accumulate
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff.counting import (
    BUCKETS_S,
    CHAT_DURATION,
    CONTACT_HANDLED,
    CONTACT_REQUEST,
    CONVERSATIONS,
    EMERGENCY,
    EMERGENCY_LEVELS,
    FEEDBACK,
    HANDED_OFF,
    NO_TEAM,
    ROUTE,
    TRANSFER,
    UNDERSTANDING,
    wait_metric,
)
from handoff.models import DailyCount

SMALL_CELL = 5
HIDDEN = "< 5"
TOP_ROUTES = 5
RATINGS = ("1", "2", "3", "4", "5")
NO_TEAM_NAME = "(no team)"
TOTAL_NAME = "(total)"

Cell = int | str  # a count of at least SMALL_CELL, or HIDDEN
Counts = Mapping[str, Mapping[str, int]]  # metric -> label -> count


@dataclass(frozen=True)
class Row:
    """One summed count of a period: team (empty: none), measure, label."""

    team_id: str
    metric: str
    label: str
    value: int


@dataclass(frozen=True)
class Bucket:
    """A histogram bucket in seconds, ``[from_s, to_s)``; ``to_s`` is ``None`` for the last one."""

    from_s: int
    to_s: int | None

    def __str__(self) -> str:
        return f"{self.from_s}-{'' if self.to_s is None else self.to_s}"


@dataclass(frozen=True)
class Waits:
    """Waits in the queue: answered by an agent, left by the resident, cut by the closing time."""

    answered: Cell
    p50: Bucket | None
    p90: Bucket | None
    abandoned: Cell
    abandoned_p50: Bucket | None
    closed: Cell


@dataclass(frozen=True)
class Chats:
    """Agents' chats and how long they lasted."""

    count: Cell
    p50: Bucket | None
    p90: Bucket | None


@dataclass(frozen=True)
class Ratings:
    """Feedback: how many, the mean rating, and how many of each rating."""

    count: Cell
    mean: float | None
    distribution: dict[str, Cell]


@dataclass(frozen=True)
class Figures:
    """The figures of one team (or of none, or of all) over the period."""

    team: str
    conversations: Cell
    handed_off: Cell
    bot_only: Cell
    handover_rate: float | None
    bot_only_share: float | None
    clarified: Cell
    clarified_share: float | None
    not_understood: Cell
    not_understood_share: float | None
    top_routes: dict[str, Cell]
    queue_wait: Waits
    chat_duration: Chats
    contact_requests: Cell
    contacts_handled: Cell
    contacts_on_time_share: float | None
    feedback: Ratings
    emergencies: dict[str, Cell]
    transfers: Cell


@dataclass(frozen=True)
class Report:
    """The figures of a period (both days included) per team, and in total."""

    first: date
    last: date
    teams: list[Figures]
    total: Figures


def cell(count: int) -> Cell:
    """``count``, or :data:`HIDDEN` when it is under :data:`SMALL_CELL`."""
    return count if count >= SMALL_CELL else HIDDEN


def share(part: int, whole: int) -> float | None:
    """``part / whole`` to three decimals; ``None`` when the part or the rest is under :data:`SMALL_CELL`.

    The rest counts too: a share shown next to a hidden complement would give the complement away.
    """
    if min(part, whole - part) < SMALL_CELL:
        return None
    return round(part / whole, 3)


def percentile(histogram: Mapping[str, int], percent: int) -> Bucket | None:
    """The bucket holding the ``percent`` percentile (nearest rank); ``None`` under :data:`SMALL_CELL`."""
    total = sum(histogram.values())
    if total < SMALL_CELL:
        return None
    rank = -(-percent * total // 100)
    edges = sorted(int(label) for label in histogram)
    seen = accumulate(histogram[str(edge)] for edge in edges)
    edge = next(edge for edge, counted in zip(edges, seen, strict=True) if counted >= rank)
    return Bucket(edge, next((upper for upper in BUCKETS_S if upper > edge), None))


def mean_rating(ratings: Mapping[str, int]) -> float | None:
    """The mean of the ratings to two decimals; ``None`` under :data:`SMALL_CELL` ratings."""
    count = sum(ratings.values())
    if count < SMALL_CELL:
        return None
    return round(sum(int(rating) * n for rating, n in ratings.items()) / count, 2)


def load_rows(session: Session, first: date, last: date, team_id: str | None = None) -> list[Row]:
    """The daily counts from ``first`` to ``last`` (both included) summed per team, measure and label."""
    columns = (DailyCount.team_id, DailyCount.metric, DailyCount.label)
    statement = (
        select(*columns, func.sum(DailyCount.value))
        .where(DailyCount.day >= first, DailyCount.day <= last)
        .group_by(*columns)
    )
    if team_id is not None:
        statement = statement.where(DailyCount.team_id == team_id)
    return [Row(team, metric, label, int(value)) for team, metric, label, value in session.execute(statement)]


def build_report(rows: Iterable[Row], first: date, last: date, team_order: Sequence[str] = ()) -> Report:
    """The report of ``rows``: every team with counts (in ``team_order``, then by id; none last), and all."""
    per_team: dict[str, dict[str, dict[str, int]]] = defaultdict(_counts)
    total = _counts()
    for row in rows:
        per_team[row.team_id][row.metric][row.label] += row.value
        total[row.metric][row.label] += row.value
    rank = {team_id: index for index, team_id in enumerate(team_order)}
    ordered = sorted(per_team, key=lambda team: (team == NO_TEAM, rank.get(team, len(rank)), team))
    teams = [figures(team or NO_TEAM_NAME, per_team[team]) for team in ordered]
    return Report(first, last, teams, figures(TOTAL_NAME, total))


def _counts() -> dict[str, dict[str, int]]:
    return defaultdict(lambda: defaultdict(int))


def figures(name: str, counts: Counts) -> Figures:
    """The figures of one set of summed counts, small counts hidden."""

    def count(metric: str) -> int:
        return sum(counts.get(metric, {}).values())

    conversations, handed_off = count(CONVERSATIONS), count(HANDED_OFF)
    routes = sorted(counts.get(ROUTE, {}).items(), key=lambda item: (-item[1], item[0]))
    ratings = counts.get(FEEDBACK, {})
    emergencies = counts.get(EMERGENCY, {})
    understanding = counts.get(UNDERSTANDING, {})
    handled = counts.get(CONTACT_HANDLED, {})
    clarified, not_understood = understanding.get("clarify", 0), understanding.get("fallback", 0)
    return Figures(
        team=name,
        conversations=cell(conversations),
        handed_off=cell(handed_off),
        bot_only=cell(conversations - handed_off),
        handover_rate=share(handed_off, conversations),
        bot_only_share=share(conversations - handed_off, conversations),
        clarified=cell(clarified),
        clarified_share=share(clarified, conversations),
        not_understood=cell(not_understood),
        not_understood_share=share(not_understood, conversations),
        top_routes={route: cell(n) for route, n in routes[:TOP_ROUTES]},
        queue_wait=_waits(counts),
        chat_duration=Chats(
            cell(count(CHAT_DURATION)),
            percentile(counts.get(CHAT_DURATION, {}), 50),
            percentile(counts.get(CHAT_DURATION, {}), 90),
        ),
        contact_requests=cell(count(CONTACT_REQUEST)),
        contacts_handled=cell(count(CONTACT_HANDLED)),
        contacts_on_time_share=share(
            handled.get("on_time", 0), handled.get("on_time", 0) + handled.get("late", 0)
        ),
        feedback=Ratings(
            cell(count(FEEDBACK)),
            mean_rating(ratings),
            {rating: cell(ratings.get(rating, 0)) for rating in RATINGS},
        ),
        emergencies={level: cell(emergencies.get(level, 0)) for level in EMERGENCY_LEVELS},
        transfers=cell(count(TRANSFER)),
    )


def _waits(counts: Counts) -> Waits:
    answered = counts.get(wait_metric("accepted"), {})
    abandoned = counts.get(wait_metric("cancelled"), {})
    return Waits(
        answered=cell(sum(answered.values())),
        p50=percentile(answered, 50),
        p90=percentile(answered, 90),
        abandoned=cell(sum(abandoned.values())),
        abandoned_p50=percentile(abandoned, 50),
        closed=cell(sum(counts.get(wait_metric("closed"), {}).values())),
    )


def as_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data."""
    return {
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "teams": [asdict(team) for team in report.teams],
        "total": asdict(report.total),
    }


def csv_text(report: Report) -> str:
    """The report as CSV: ``team,measure,value``, one line per figure (hidden: ``< 5``, none: empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["team", "measure", "value"])
    for team in [*report.teams, report.total]:
        for measure, value in _flat(team):
            if measure != "team":
                writer.writerow([team.team, measure, "" if value is None else str(value)])
    return out.getvalue()


def _flat(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted name, value)`` of every figure; a bucket is one value."""
    if is_dataclass(value) and not isinstance(value, Bucket):
        for field in fields(value):
            yield from _flat(getattr(value, field.name), f"{prefix}{field.name}.")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _flat(item, f"{prefix}{key}.")
    else:
        yield prefix[:-1], value

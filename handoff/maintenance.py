"""Periodic housekeeping: close the queues of teams that have closed, count the conversations
that are over, and purge once a day.

:func:`run_once` is what the app's background task calls every
``HANDOFF_MAINTENANCE_INTERVAL_S`` seconds; the retention purge
(:mod:`handoff.retention`) runs on the first call and then every
:data:`PURGE_EVERY`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff import counting, retention
from handoff.db import Database
from handoff.queue import close_queues_of_closed_teams
from handoff.settings import Settings
from opastin.teams import Teams

PURGE_EVERY = timedelta(days=1)
RESUME_WITHIN = timedelta(minutes=Settings.resume_minutes)


@dataclass(frozen=True)
class MaintenanceResult:
    """What one maintenance run did (``purged`` is ``None`` when the purge was not due)."""

    closed_conversations: list[str]
    purged: retention.PurgeReport | None = None


def purge_due(last_purge: datetime | None, now: datetime) -> bool:
    """Whether the daily purge should run at ``now``."""
    return last_purge is None or now - last_purge >= PURGE_EVERY


def run_once(
    database: Database,
    teams: Teams,
    now: datetime,
    places: retention.Places | None = None,
    last_purge: datetime | None = None,
    resume_within: timedelta = RESUME_WITHIN,
) -> MaintenanceResult:
    """Close the queues of teams closed at ``now``; count the conversations that can no longer be
    resumed (idle longer than ``resume_within``); purge expired data when a day has passed."""
    with database.writing() as session:
        closed = close_queues_of_closed_teams(session, teams, now)
        counting.count_idle_sessions(session, now - resume_within, now)
    purged = None
    if places is not None and purge_due(last_purge, now):
        purged = retention.purge(database, teams, places, now)
    return MaintenanceResult(closed, purged)

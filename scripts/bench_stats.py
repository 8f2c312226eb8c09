"""Time the statistics report of a year of simulated traffic, on SQLite and on PostgreSQL.

Builds a year with scripts/simulate_history.py (or reuses ``--database`` when it
holds counts already), then times the report of every day that has counts:
``load_rows``, ``build_report``, ``csv_text`` and ``as_dict`` (with the JSON the
command line prints), each ``--runs`` times, and prints the median and the
slowest run. ``--postgres`` does the same in a schema of its own in
``$TEST_DATABASE_URL`` (run it under scripts/with_postgres.sh). When the desk
serves its statistics page (``/desk/tilastot``), the page and its CSV for the
year are timed over HTTP too, logged in as a manager. Target: one second for
the year's page and CSV.

Usage: .venv/bin/python scripts/bench_stats.py [--database URL] [--conversations 100000]
       [--runs 7] [--postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

import httpx  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.exc import DBAPIError  # noqa: E402

from devtools.stack import handoff_server  # noqa: E402
from handoff import agents, stats  # noqa: E402
from handoff.db import Database  # noqa: E402
from handoff.models import DailyCount  # noqa: E402
from handoff.settings import normalise_database_url  # noqa: E402
from opastin.places import DEFAULT_TEAMS_FILE  # noqa: E402
from opastin.teams import load_teams  # noqa: E402
from scripts.simulate_history import describe, shown, simulate  # noqa: E402

STATISTICS_PAGE = "/desk/tilastot"
TARGET_S = 1.0


@dataclass(frozen=True)
class Timing:
    """How long one step took over several runs, in seconds."""

    backend: str
    step: str
    runs: list[float]

    @property
    def median(self) -> float:
        """The median run."""
        return statistics.median(self.runs)

    @property
    def slowest(self) -> float:
        """The slowest run."""
        return max(self.runs)


def holds_counts(url: str) -> bool:
    """Whether the database at ``url`` has statistics already (its tables may be missing)."""
    database = Database(url)
    try:
        with database.reading() as session:
            return session.execute(select(DailyCount.day).limit(1)).first() is not None
    except DBAPIError:  # no tables yet: an empty database to simulate into
        return False
    finally:
        database.dispose()


def prepare(url: str, conversations: int, seed: int, start: date) -> None:
    """Simulate a year into ``url`` unless it holds counts already."""
    if holds_counts(url):
        print(f"Reusing the counts in {shown(url)}")
        return
    print(f"Simulating {conversations:,} conversations into {shown(url)} ...", flush=True)
    truth = simulate(url, conversations, seed, start)
    print("\n".join(describe(truth.summary())), flush=True)


def period(database: Database) -> tuple[date, date]:
    """The first and the last day with counts."""
    with database.reading() as session:
        first, last = session.execute(select(func.min(DailyCount.day), func.max(DailyCount.day))).one()
    return first, last


def time_report(url: str, backend: str, runs: int) -> tuple[list[Timing], str]:
    """Time each step of the whole period's report ``runs`` times; also returns its CSV."""
    teams = load_teams(DEFAULT_TEAMS_FILE)
    database = Database(url)
    steps: dict[str, list[float]] = {"load_rows": [], "build_report": [], "csv_text": [], "as_dict": []}
    try:
        first, last = period(database)
        for _ in range(runs):
            started = time.perf_counter()
            with database.reading() as session:
                rows = stats.load_rows(session, first, last)
            loaded = time.perf_counter()
            report = stats.build_report(rows, first, last, teams.ids)
            built = time.perf_counter()
            csv = stats.csv_text(report)
            written = time.perf_counter()
            json.dumps(stats.as_dict(report), ensure_ascii=False)
            done = time.perf_counter()
            moments = (started, loaded, built, written, done)
            for values, before, after in zip(steps.values(), moments, moments[1:], strict=False):
                values.append(after - before)
    finally:
        database.dispose()
    totals = [sum(parts) for parts in zip(*steps.values(), strict=True)]
    print(f"{backend}: {len(rows):,} summed rows, {first} - {last}")
    timings = [Timing(backend, step, values) for step, values in steps.items()]
    return [*timings, Timing(backend, "report total", totals)], csv


def create_manager(url: str) -> tuple[str, str]:
    """A new manager account (the service's function ``create-manager`` uses); its username and password."""
    username, password = f"bench-manager-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    database = Database(url)
    try:
        with database.writing() as session:
            agents.create_agent(session, username, password, datetime.now(UTC), role="manager")
    finally:
        database.dispose()
    return username, password


def log_in(client: httpx.Client, username: str, password: str) -> None:
    """Log in through the desk's form, as a browser does."""
    form = client.get("/desk/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("the login page has no CSRF token")
    answer = client.post(
        "/desk/login", data={"username": username, "password": password, "csrf_token": token.group(1)}
    )
    if answer.status_code != 303:
        raise RuntimeError(f"login failed: {answer.status_code}")


def csv_link(page: str) -> str | None:
    """The address of the page's CSV download, if it links one."""
    found = re.search(r'href="([^"]*(?:[./]csv\b|format=csv)[^"]*)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def time_desk_page(url: str, backend: str, runs: int, csv: str) -> list[Timing]:
    """Time GET of the desk's statistics page and its CSV for the whole period, over HTTP.

    Returns nothing when the desk does not serve the page (yet): it answers 404. The CSV must be
    ``csv``, the report's own.
    """
    database = Database(url)
    try:
        first, last = period(database)
    finally:
        database.dispose()
    query = {"period": "custom", "from": finnish(first), "to": finnish(last)}
    env = {
        "DATABASE_URL": url,
        "HANDOFF_API_TOKEN": secrets.token_urlsafe(24),
        "HANDOFF_MAINTENANCE_INTERVAL_S": "0",  # no purge of the simulated year by today's clock
    }
    username, password = create_manager(url)
    with tempfile.TemporaryDirectory(prefix="opastin-bench-") as var_dir:
        with handoff_server({**env, "HANDOFF_VAR_DIR": var_dir}) as (base, _server):
            with httpx.Client(base_url=base, timeout=60) as client:
                log_in(client, username, password)
                page = client.get(STATISTICS_PAGE, params=query)
                if page.status_code == 404:
                    print(f"{backend}: the desk has no {STATISTICS_PAGE} yet; not timed")
                    return []
                page.raise_for_status()
                timings = [Timing(backend, f"GET {STATISTICS_PAGE}", timed(runs, client, page.url))]
                link = csv_link(page.text)
                if link is not None:
                    address = page.url.join(link)
                    timings.append(Timing(backend, "GET its CSV", timed(runs, client, address)))
                    if client.get(address).text != csv:
                        raise RuntimeError(f"the desk's CSV is not the report's: {address}")
                return timings


def finnish(day: date) -> str:
    """A date as the desk's form takes it: ``31.12.2026``."""
    return f"{day.day}.{day.month}.{day.year}"


def timed(runs: int, client: httpx.Client, address: httpx.URL) -> list[float]:
    """Seconds of ``runs`` GETs of ``address`` (each must answer 200)."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(address).raise_for_status()
        seconds.append(time.perf_counter() - started)
    return seconds


@contextlib.contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema in ``$TEST_DATABASE_URL``, dropped afterwards; yields its URL."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        raise SystemExit("--postgres needs TEST_DATABASE_URL: run under scripts/with_postgres.sh")
    base = normalise_database_url(base)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, future=True)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def bench(url: str, backend: str, args: argparse.Namespace) -> list[Timing]:
    """Prepare a year in ``url`` and time its report and, if served, its desk page."""
    prepare(url, args.conversations, args.seed, args.start)
    timings, csv = time_report(url, backend, args.runs)
    return timings + time_desk_page(url, backend, args.runs, csv)


def table(timings: list[Timing]) -> list[str]:
    """The figures as a small table, in milliseconds."""
    lines = [f"{'database':<11}{'step':<22}{'median ms':>10}{'max ms':>9}", "-" * 52]
    for timing in timings:
        lines.append(
            f"{timing.backend:<11}{timing.step:<22}{timing.median * 1000:>10.1f}{timing.slowest * 1000:>9.1f}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="reuse (or build into) this database; default: a temporary SQLite")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL ($TEST_DATABASE_URL)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="opastin-bench-") as workdir:
        url = args.database or f"sqlite:///{Path(workdir) / 'history.db'}"
        timings = bench(url, make_url(url).get_backend_name(), args)
        if args.postgres:
            with postgres_schema() as postgres_url:
                timings += bench(postgres_url, "postgresql", args)
    print("\n".join(table(timings)))
    slow = [t for t in timings if t.step in ("report total", f"GET {STATISTICS_PAGE}", "GET its CSV")]
    print(
        f"target: {TARGET_S:.0f} s for the year's page and CSV; slowest measured: "
        f"{max(t.slowest for t in slow):.3f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

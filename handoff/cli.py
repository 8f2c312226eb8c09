"""Command line of the handoff service: ``python -m handoff COMMAND``.

Commands: ``migrate``, ``bootstrap``, ``create-admin``, ``create-agent``,
``create-manager``, ``create-editor``, ``teams``, ``purge``, ``subject``,
``stats``, ``export-training`` and ``serve``. See docs/handoff.md and docs/statistics.md.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from handoff import agents, learning, retention, stats, subject
from handoff.clock import system_clock
from handoff.db import Database, migrate
from handoff.errors import Conflict, NotFound
from handoff.queue import team_states
from handoff.settings import Settings, load_api_token
from opastin.hours import HELSINKI
from opastin.teams import TeamsConfigError, load_teams

FIRST_ADMIN = "admin"
# The role each account-creating command gives.
CREATED_ROLES = {
    "create-admin": "admin",
    "create-agent": "agent",
    "create-manager": "manager",
    "create-editor": "editor",
}
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m handoff", description="Opastin handoff service")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("migrate", help="upgrade the database to the newest schema")
    commands.add_parser(
        "bootstrap", help="first-run setup: migrate, create the API token and the first admin (idempotent)"
    )
    for name, help_text in (
        ("create-admin", "create an administrator"),
        ("create-agent", "create an agent"),
        ("create-manager", "create a manager: sees the statistics on the desk, no team, no conversation"),
        ("create-editor", "create a content editor: reviews the learning queue, no team, no conversation"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("username")
        command.add_argument("--display-name", help="name shown to colleagues (default: the username)")
        command.add_argument(
            "--generate-password", action="store_true", help="do not prompt; generate and print a password"
        )
        if name == "create-agent":
            command.add_argument(
                "--team", action="append", required=True, help="team id of data/teams.yml (repeatable)"
            )
    reset = commands.add_parser("set-password", help="set a new password, to be changed at the next login")
    reset.add_argument("username")
    reset.add_argument("--generate-password", action="store_true", help="generate and print one")
    for name, help_text in (("deactivate", "lock an account: its sessions end"), ("activate", "unlock it")):
        commands.add_parser(name, help=help_text).add_argument("username")
    set_teams = commands.add_parser("set-teams", help="replace an agent's teams")
    set_teams.add_argument("username")
    set_teams.add_argument("--team", action="append", default=[], help="team id (repeatable)")
    commands.add_parser("teams", help="list the teams and their status now")
    commands.add_parser("purge", help="delete what is past its retention from every store, print the counts")
    subject_request = commands.add_parser(
        "subject", help="a data subject request: export or erase a conversation"
    )
    subject_request.add_argument("action", choices=("export", "erase"))
    subject_request.add_argument(
        "--reference", required=True, help="KS-XXXX-XXXX (chat) or YP-… (contact request)"
    )
    subject_request.add_argument(
        "--actor",
        default=os.environ.get("USER") or "registry",
        help="who handles the request, for the audit log (default: $USER)",
    )
    subject_request.add_argument("--out", type=Path, help="export: write the JSON here (default: stdout)")
    subject_request.add_argument("--yes", action="store_true", help="erase: do not ask for confirmation")
    report = commands.add_parser(
        "stats", help="statistics of a period per team and in total (counts under 5 shown as '< 5')"
    )
    report.add_argument(
        "--from",
        dest="first",
        type=date.fromisoformat,
        required=True,
        help="first day, YYYY-MM-DD (Helsinki)",
    )
    report.add_argument(
        "--to", dest="last", type=date.fromisoformat, required=True, help="last day, included"
    )
    report.add_argument("--team", help="only this team id")
    report.add_argument("--format", choices=("csv", "json"), default="csv")
    export = commands.add_parser(
        "export-training",
        help="add the learning queue's approved examples to a Rasa NLU file, for review in git",
    )
    export.add_argument(
        "--out",
        type=Path,
        default=learning.EXPORT_FILE,
        help="the NLU file (default: data/nlu/learned.yml; examples already in it are kept)",
    )
    serve = commands.add_parser("serve", help="run the service with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info", choices=LOG_LEVELS)
    serve.add_argument(
        "--forwarded-allow-ips",
        default=os.environ.get("HANDOFF_FORWARDED_ALLOW_IPS", "127.0.0.1"),
        help="proxies whose X-Forwarded-For/-Proto are trusted (comma-separated; default 127.0.0.1)",
    )
    return parser


def _ask_password(generate: bool) -> tuple[str, bool]:
    """Prompt twice on a terminal; otherwise (or if left empty) generate. Returns (password, generated)."""
    if generate or not sys.stdin.isatty():
        return agents.generate_password(), True
    password = getpass.getpass("Password (empty = generate one): ")
    if not password:
        return agents.generate_password(), True
    if getpass.getpass("Repeat the password: ") != password:
        raise ValueError("the passwords differ")
    return password, False


def _create_account(settings: Settings, args: argparse.Namespace, role: str) -> int:
    password, generated = _ask_password(args.generate_password)
    database = Database(settings.database_url)
    try:
        with database.writing() as session:
            agents.create_agent(
                session,
                args.username,
                password,
                system_clock(),
                display_name=args.display_name,
                role=role,
                team_ids=getattr(args, "team", None) or (),
                must_change_password=generated,
                known_teams=load_teams(settings.teams_file).ids,
            )
    finally:
        database.dispose()
    print(f"Created {role} {args.username!r}.")
    if generated:
        print(f"Password (shown only once): {password}")
    return 0


def _manage_account(settings: Settings, args: argparse.Namespace) -> int:
    actor = f"cli:{os.environ.get('USER') or 'operator'}"
    password = None
    database = Database(settings.database_url)
    try:
        with database.writing() as session:
            now = system_clock()
            if args.command == "set-password":
                password, generated = _ask_password(args.generate_password)
                agents.reset_password(session, args.username, password, now, actor)
                password = password if generated else None
            elif args.command == "set-teams":
                known = load_teams(settings.teams_file).ids
                agents.set_teams(session, args.username, args.team, now, actor, known)
            else:
                agents.set_active(session, args.username, args.command == "activate", now, actor)
    finally:
        database.dispose()
    print(f"{args.command} {args.username}: done.")
    if password:
        print(f"Password (shown only once; to be changed at the next login): {password}")
    return 0


def _bootstrap(settings: Settings) -> int:
    load_teams(settings.teams_file)
    migrate(settings.database_url)
    load_api_token(settings)
    password = agents.generate_password()
    database = Database(settings.database_url)
    try:
        with database.writing() as session:
            if agents.admin_exists(session):
                return 0
            agents.create_agent(
                session,
                FIRST_ADMIN,
                password,
                system_clock(),
                display_name="Ylläpitäjä",
                role="admin",
                must_change_password=True,
            )
    except Conflict:
        return 0
    finally:
        database.dispose()
    print("==> Created the first admin account / Ensimmäinen ylläpitäjätunnus luotiin:")
    print(f"    username / käyttäjätunnus: {FIRST_ADMIN}")
    print(f"    password / salasana:       {password}")
    print("    Shown only once; the desk asks for a new one at the first login.")
    print("    Näytetään vain kerran; työpöytä pyytää uuden salasanan ensimmäisellä kirjautumisella.")
    return 0


def _describe(opening_open: bool, opens_at: datetime | None, closes_at: datetime | None) -> str:
    def local(moment: datetime) -> str:
        return moment.astimezone(HELSINKI).strftime("%a %Y-%m-%d %H:%M")

    if opening_open and closes_at is not None:
        return f"open until {local(closes_at)}"
    if opens_at is not None:
        return f"closed, opens {local(opens_at)}"
    return "closed, no opening within 30 days"


def _teams(settings: Settings) -> int:
    teams = load_teams(settings.teams_file)
    database = Database(settings.database_url)
    try:
        with database.reading() as session:
            states = team_states(session, teams, system_clock())
    finally:
        database.dispose()
    print(f"{'TEAM':<25} {'STATUS':<40} {'PRESENT':>7} {'QUEUE':>5} {'WAIT':>6}")
    for state in states.values():
        opening = state.opening
        status = _describe(opening.open, opening.opens_at, opening.closes_at)
        wait = "-" if state.estimated_wait_s is None else f"{round(state.estimated_wait_s / 60)} min"
        print(f"{state.team.id:<25} {status:<40} {state.agents_present:>7} {state.queue_length:>5} {wait:>6}")
    return 0


def _purge(settings: Settings) -> int:
    teams = load_teams(settings.teams_file)
    database = Database(settings.database_url)
    try:
        report = retention.purge(database, teams, retention.Places.from_settings(settings), system_clock())
    finally:
        database.dispose()
    print("Removed past their retention:")
    for line in report.lines():
        print(f"    {line}")
    return 0


def _subject(settings: Settings, args: argparse.Namespace) -> int:
    places = retention.Places.from_settings(settings)
    database = Database(settings.database_url)
    try:
        if args.action == "export":
            data = subject.export(database, places, args.reference, args.actor, system_clock())
            text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
            if args.out:
                args.out.write_text(text + "\n", encoding="utf-8")
                args.out.chmod(0o600)
                print(f"Exported {args.reference} to {args.out}.")
            else:
                print(text)
            return 0
        if not args.yes and input(f"Erase everything of {args.reference}? Type yes: ").strip() != "yes":
            print("Nothing erased.")
            return 1
        counts = subject.erase(database, places, args.reference, args.actor, system_clock())
        print(f"Erased {args.reference}: " + ", ".join(f"{name} {count}" for name, count in counts.items()))
        return 0
    except subject.UnknownReference:
        print(f"error: nothing has the reference {args.reference}", file=sys.stderr)
        return 2
    finally:
        database.dispose()


def _stats(settings: Settings, args: argparse.Namespace) -> int:
    if args.first > args.last:
        raise ValueError("--from is after --to")
    teams = load_teams(settings.teams_file)
    database = Database(settings.database_url)
    try:
        with database.reading() as session:
            rows = stats.load_rows(session, args.first, args.last, args.team)
    finally:
        database.dispose()
    report = stats.build_report(rows, args.first, args.last, teams.ids)
    if args.format == "json":
        print(json.dumps(stats.as_dict(report), ensure_ascii=False, indent=2))
    else:
        print(stats.csv_text(report), end="")
    return 0


def _export_training(settings: Settings, args: argparse.Namespace) -> int:
    database = Database(settings.database_url)
    try:
        with database.writing() as session:
            added = learning.export_training(session, args.out, system_clock())
    finally:
        database.dispose()
    print(f"Added {added} approved examples to {args.out}." if added else "No new approved examples.")
    if added:
        print("Review the file in git, then train: make train")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    load_teams(settings.teams_file)
    uvicorn.run(
        "handoff.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "migrate":
            migrate(settings.database_url)
            print("Database is at the newest revision.")
            return 0
        if args.command == "bootstrap":
            return _bootstrap(settings)
        if args.command in CREATED_ROLES:
            return _create_account(settings, args, CREATED_ROLES[args.command])
        if args.command in ("set-password", "deactivate", "activate", "set-teams"):
            return _manage_account(settings, args)
        if args.command == "teams":
            return _teams(settings)
        if args.command == "purge":
            return _purge(settings)
        if args.command == "subject":
            return _subject(settings, args)
        if args.command == "stats":
            return _stats(settings, args)
        if args.command == "export-training":
            return _export_training(settings, args)
        return _serve(settings, args)
    except TeamsConfigError as error:
        print(f"The teams file is not valid:\n{error}", file=sys.stderr)
        return 2
    except (ValueError, Conflict, NotFound) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except DBAPIError as error:
        print(
            f"database error: {error.orig}\n(is it migrated? run: python -m handoff migrate)", file=sys.stderr
        )
        return 2

"""Back up Opastin's PostgreSQL database and restore it: what an operator runs (docs/operations.md).

    .venv/bin/python scripts/backup.py dump DATABASE_URL DIR [--keep-days N]
    .venv/bin/python scripts/backup.py prune DIR [--keep-days N]
    .venv/bin/python scripts/backup.py restore DUMP DATABASE_URL [--force] [--no-migrate]
    .venv/bin/python scripts/backup.py keep-days

``dump`` writes ``DIR/opastin-YYYYMMDDTHHMMSSZ.dump`` (``pg_dump --format=custom``, UTC,
mode 0600, checked with ``pg_restore --list``), then deletes the dumps in DIR that are
older than the backups may be kept (``prune`` does only that). ``restore`` restores a dump
into an empty database (a database with tables is refused unless ``--force``), analyses
it and upgrades it to this release's schema (``python -m handoff migrate``).

**How long backups are kept.** A backup holds copies of conversations, contact requests
and the audit log, and the privacy page promises each of them a retention period
(``data/teams.yml``: each team's ``retention_days``, ``retention.unrouted_days`` and
``retention.audit_days``). A backup may not outlive any of the data it holds, so it is
deleted after the SHORTEST of those periods (30 days with the project's catalogue:
``retention.unrouted_days``). ``--keep-days`` may shorten that, never lengthen it. A
dump's age is counted from the older of its name's timestamp and its modification time,
so a copy with a fresh mtime does not live longer. Prune looks only at files named like
the dumps (``opastin-<UTC timestamp>.dump``, also ``.dump.gpg`` and an interrupted
``.dump.partial``).

Passwords never reach the command line of a child or the output: a password in the URL
is handed to ``pg_dump``/``pg_restore``/``psql`` as ``PGPASSWORD`` and shown as ``***``
(or keep it in ``~/.pgpass`` and leave it out of the URL). The PostgreSQL client
programs come from ``PG_BIN`` (default ``/usr/lib/postgresql/15/bin``, the server's
major version: a newer ``pg_restore`` reads older dumps, an older one cannot read newer
ones). The team catalogue is ``HANDOFF_TEAMS_FILE`` or ``data/teams.yml``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from opastin.places import teams_file  # noqa: E402
from opastin.teams import Teams, TeamsConfigError, load_teams  # noqa: E402

PG_BIN = Path(os.environ.get("PG_BIN") or "/usr/lib/postgresql/15/bin")
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
DUMP_NAME = re.compile(r"^opastin-(?P<stamp>\d{8}T\d{6}Z)\.dump(?:\.gpg|\.partial)?$")
SCHEMES = ("postgresql", "postgres")
PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
# Tables, sequences, views, schemas and functions of anyone but PostgreSQL itself: a database
# with none of them is empty (a fresh CREATE DATABASE has only the empty schema 'public').
USER_OBJECTS = """
SELECT (SELECT count(*) FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
     + (SELECT count(*) FROM pg_catalog.pg_namespace n
         WHERE n.nspname NOT IN ('public', 'information_schema') AND n.nspname !~ '^pg_')
     + (SELECT count(*) FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_')
"""


class BackupError(Exception):
    """What went wrong, for the operator (never with a password)."""


@dataclass(frozen=True)
class Target:
    """A PostgreSQL database: its libpq URL without the password, the password, and how to show it."""

    libpq_url: str
    password: str | None
    shown: str

    def environment(self) -> dict[str, str]:
        """This process's environment for a PostgreSQL client program, with the password if any."""
        env = dict(os.environ)
        if self.password is not None:
            env["PGPASSWORD"] = self.password
        return env


def parse_database_url(url: str) -> Target:
    """Split a ``postgresql://`` URL (SQLAlchemy's ``postgresql+driver://`` too) for libpq.

    The password (in the user part or a ``password=`` parameter) is taken out; the URL
    shown has ``***`` in its place.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in SCHEMES:
        raise BackupError(f"not a PostgreSQL URL (postgresql://…): {parts.scheme or '?'}://…")
    userinfo, at, hostport = parts.netloc.rpartition("@")
    user, colon, raw_password = userinfo.partition(":")
    password = unquote(raw_password) if colon else None
    query, shown_query = [], []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password":
            password = value
            shown_query.append((key, "***"))
        else:
            query.append((key, value))
            shown_query.append((key, value))
    netloc = f"{user}{at}{hostport}"
    shown_netloc = f"{user}:***{at}{hostport}" if colon else netloc
    libpq_url = urlunsplit(("postgresql", netloc, parts.path, urlencode(query), ""))
    shown = urlunsplit(("postgresql", shown_netloc, parts.path, urlencode(shown_query, safe="*"), ""))
    return Target(libpq_url, password, shown)


def mask(text: str) -> str:
    """``text`` with the password of any URL in it shown as ``***``."""
    return PASSWORD_IN_URL.sub(r"\1***@", text)


def backup_period(teams: Teams) -> tuple[int, str]:
    """How many days a backup may be kept: the SHORTEST retention of anything in the database.

    Returns the days and the setting they come from (e.g. ``retention.unrouted_days``).
    """
    periods = {f"retention_days of team {team.id}": team.retention_days for team in teams}
    periods["retention.unrouted_days"] = teams.retention.unrouted_days
    periods["retention.audit_days"] = teams.retention.audit_days
    source = min(periods, key=lambda name: periods[name])
    return periods[source], source


def keep_days(requested: int | None, environ: Mapping[str, str] | None = None) -> tuple[int, str]:
    """The days dumps are kept, and why: ``requested`` if given and allowed, else :func:`backup_period`."""
    path = teams_file(environ)
    try:
        allowed, source = backup_period(load_teams(path))
    except TeamsConfigError as error:
        raise BackupError(str(error)) from None
    if requested is None:
        return allowed, f"{source} of {path}"
    if not 1 <= requested <= allowed:
        raise BackupError(
            f"--keep-days {requested}: backups may be kept 1–{allowed} days ({source} of {path})"
        )
    return requested, "--keep-days"


def dump_time(path: Path) -> float | None:
    """When the data in a dump file is from (epoch seconds), or ``None`` if it is no dump of ours.

    The older of the timestamp in its name and its modification time.
    """
    found = DUMP_NAME.match(path.name)
    if found is None or not path.is_file():
        return None
    named = datetime.strptime(found["stamp"], STAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    return min(named, path.stat().st_mtime)


def prune(directory: Path, days: int, now: float | None = None) -> list[Path]:
    """Delete the dumps in ``directory`` older than ``days`` days; returns the deleted files."""
    cutoff = (now if now is not None else time.time()) - timedelta(days=days).total_seconds()
    removed = []
    for path in sorted(directory.iterdir()):
        taken = dump_time(path)
        if taken is not None and taken < cutoff:
            path.unlink()
            removed.append(path)
    return removed


def pg_program(name: str) -> str:
    """The path of a PostgreSQL client program in ``PG_BIN``."""
    program = PG_BIN / name
    if not os.access(program, os.X_OK):
        raise BackupError(f"no {name} in {PG_BIN} (apt-get install postgresql-client-15, or set PG_BIN)")
    return str(program)


def run(command: Sequence[str], target: Target, what: str) -> str:
    """Run a PostgreSQL client program against ``target``; its output, or :class:`BackupError`."""
    done = subprocess.run(command, env=target.environment(), capture_output=True, text=True)
    if done.returncode:
        message = done.stderr.strip()
        if target.password:
            message = message.replace(target.password, "***")
        raise BackupError(f"{what} failed ({target.shown}): {message[-2000:]}")
    return done.stdout


def dump(url: str, directory: Path, now: datetime | None = None) -> Path:
    """Dump the database at ``url`` into ``directory``; returns the new file."""
    target = parse_database_url(url)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime(STAMP_FORMAT)
    final = directory / f"opastin-{stamp}.dump"
    if final.exists():
        raise BackupError(f"{final} exists already")
    partial = final.with_name(final.name + ".partial")
    previous = os.umask(0o077)
    try:
        command = [pg_program("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
        run([*command, f"--file={partial}", f"--dbname={target.libpq_url}"], target, "pg_dump")
        partial.chmod(0o600)
        run([pg_program("pg_restore"), "--list", str(partial)], target, "reading the dump back")
        partial.replace(final)
    finally:
        os.umask(previous)
        partial.unlink(missing_ok=True)
    return final


def user_objects(target: Target) -> int:
    """How many tables, sequences, views, schemas and functions the database has."""
    psql = [pg_program("psql"), "--no-psqlrc", "--tuples-only", "--no-align", "--set=ON_ERROR_STOP=1"]
    output = run([*psql, f"--dbname={target.libpq_url}", "--command", USER_OBJECTS], target, "psql")
    return int(output.strip())


def restore(dump_file: Path, url: str, force: bool = False, migrate: bool = True) -> None:
    """Restore ``dump_file`` into the (empty) database at ``url``, then migrate it to this release."""
    target = parse_database_url(url)
    if not dump_file.is_file():
        raise BackupError(f"no dump {dump_file}")
    run([pg_program("pg_restore"), "--list", str(dump_file)], target, "reading the dump")
    found = user_objects(target)
    if found and not force:
        raise BackupError(
            f"{target.shown} is not empty ({found} tables, sequences, schemas or functions): "
            "restore into a new database (createdb), or add --force to replace what the dump holds"
        )
    command = [pg_program("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    command += ["--single-transaction"] + (["--clean", "--if-exists"] if force else [])
    run([*command, f"--dbname={target.libpq_url}", str(dump_file)], target, "pg_restore")
    psql = [pg_program("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"]
    run([*psql, f"--dbname={target.libpq_url}", "--command", "ANALYZE"], target, "ANALYZE")
    if migrate:
        env = target.environment()
        env["DATABASE_URL"] = url
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
        command = [sys.executable, "-m", "handoff", "migrate"]
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        if done.returncode:
            message = done.stderr.strip()
            if target.password:
                message = message.replace(target.password, "***")
            raise BackupError(f"python -m handoff migrate failed ({target.shown}): {message[-2000:]}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scripts/backup.py", description="Back up and restore Opastin's PostgreSQL database."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dumping = commands.add_parser("dump", help="dump the database into DIR, then prune DIR")
    dumping.add_argument("url", metavar="DATABASE_URL")
    dumping.add_argument("directory", metavar="DIR", type=Path)
    pruning = commands.add_parser("prune", help="delete the dumps in DIR older than they may be kept")
    pruning.add_argument("directory", metavar="DIR", type=Path)
    for command in (dumping, pruning):
        command.add_argument(
            "--keep-days", type=int, help="keep dumps this many days (at most the shortest retention)"
        )
    restoring = commands.add_parser("restore", help="restore a dump into an empty database and migrate it")
    restoring.add_argument("dump", metavar="DUMP", type=Path)
    restoring.add_argument("url", metavar="DATABASE_URL")
    restoring.add_argument("--force", action="store_true", help="restore into a database that is not empty")
    restoring.add_argument(
        "--no-migrate",
        dest="migrate",
        action="store_false",
        help="do not run python -m handoff migrate (run the migration Job instead)",
    )
    commands.add_parser("keep-days", help="print how many days dumps are kept, and why")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; exit status 0, or 1 with a message on standard error."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "restore":
            target = parse_database_url(args.url)
            print(f"Restoring {args.dump} into {target.shown} ...", flush=True)
            restore(args.dump, args.url, force=args.force, migrate=args.migrate)
            print("Restored" + (" and migrated to this release's schema." if args.migrate else "."))
            return 0
        days, source = keep_days(getattr(args, "keep_days", None))
        if args.command == "keep-days":
            print(f"{days} ({source})")
            return 0
        if args.command == "dump":
            print(f"Dumping {parse_database_url(args.url).shown} ...", flush=True)
            try:
                path = dump(args.url, args.directory)
                print(f"Wrote {path} ({path.stat().st_size} bytes, mode 0600).")
            finally:
                removed = prune(args.directory, days) if args.directory.is_dir() else []
                print(f"Deleted {len(removed)} dumps older than {days} days ({source}).")
            return 0
        removed = prune(args.directory, days)
        for path in removed:
            print(f"Deleted {path}")
        print(f"Deleted {len(removed)} dumps older than {days} days ({source}).")
        return 0
    except (BackupError, OSError) as error:
        print(f"backup: {mask(str(error))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

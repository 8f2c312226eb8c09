"""Run Opastin as a county would, on one machine: replicas behind a load balancer.

``make run-cluster`` (after the install and training steps) starts, on loopback:

* PostgreSQL 15 for every store: the handoff service's database ``opastin`` and
  Rasa's tracker store ``opastin_tracker`` (data kept in ``var/cluster/postgres``);
* Redis: socket.io's message queue between the service replicas, Rasa's lock
  store (``RedisLockStore``: one conversation is processed by one Rasa server at a
  time) and the shared flood limits;
* two handoff services, two Rasa servers and two action servers;
* HAProxy in front: residents and professionals on port 8000 (sticky sessions by
  a cookie, so that socket.io's polling requests reach the replica that holds the
  socket), Rasa on 5005 (the services' ``RASA_URL``) and the action servers on
  5055 (Rasa's action endpoint). It checks each replica's health every second and
  stops sending to one that fails twice; its statistics page is on 8404.

Missing Debian packages (PostgreSQL, Redis, HAProxy) are installed first, saying
so. ``make stop`` (or Ctrl-C) stops everything: the applications first, then the
stores. Each process's output is in ``var/cluster/log/`` and its PID file in
``var/cluster/run/``; ``--state-dir`` and ``--base-port`` put the whole cluster
elsewhere (the tests run one on free ports in a temporary folder).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as single  # noqa: E402  (scripts/run.py: the one-process-of-each launcher)

ROOT = single.ROOT
VENV_BIN = single.VENV_BIN
DEFAULT_STATE_DIR = ROOT / "var" / "cluster"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
HANDOFF_DATABASE = "opastin"
TRACKER_DATABASE = "opastin_tracker"
DATABASE_ROLE = "opastin"
RESTART_WINDOW_S = 60
MAX_RESTARTS = 5


@dataclass(frozen=True)
class Ports:
    """Where each part of the cluster listens (all on 127.0.0.1)."""

    front: int = 8000  # HAProxy: resident page, desk, APIs
    rasa: int = 5005  # HAProxy → Rasa servers
    actions: int = 5055  # HAProxy → action servers
    stats: int = 8404  # HAProxy's statistics page
    redis: int = 6380
    postgres: int = 5440
    handoff_replicas: tuple[int, ...] = (8001, 8002)
    rasa_replicas: tuple[int, ...] = (5006, 5007)
    action_replicas: tuple[int, ...] = (5056, 5057)

    @classmethod
    def from_base(cls, base: int) -> Ports:
        """Twelve consecutive ports from ``base``."""
        return cls(
            front=base, rasa=base + 1, actions=base + 2, stats=base + 3, redis=base + 4,
            postgres=base + 5, handoff_replicas=(base + 6, base + 7),
            rasa_replicas=(base + 8, base + 9), action_replicas=(base + 10, base + 11),
        )  # fmt: skip


@dataclass(frozen=True)
class Cluster:
    """One cluster's ports and state folder, and the URLs its processes are given."""

    ports: Ports
    state_dir: Path

    @property
    def handoff_database_url(self) -> str:
        """The handoff service's PostgreSQL database."""
        return self._database_url(HANDOFF_DATABASE)

    @property
    def tracker_database_url(self) -> str:
        """Rasa's tracker store."""
        return self._database_url(TRACKER_DATABASE)

    @property
    def redis_url(self) -> str:
        """Redis, database 0."""
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    @property
    def front_url(self) -> str:
        """Where residents and professionals reach the service."""
        return f"http://127.0.0.1:{self.ports.front}"

    @property
    def postgres_dir(self) -> Path:
        """PostgreSQL's data folder."""
        return self.state_dir / "postgres"

    def _database_url(self, name: str) -> str:
        return f"postgresql://{DATABASE_ROLE}@127.0.0.1:{self.ports.postgres}/{name}"


# -- probes and configuration files ---------------------------------------------------------------


def tcp_answers(port: int, greeting: bytes = b"", expected: bytes = b"") -> bool:
    """Whether something on ``port`` accepts a connection (and answers ``greeting`` with ``expected``)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
            if greeting:
                connection.sendall(greeting)
                return connection.recv(64).startswith(expected)
            return True
    except OSError:
        return False


def redis_pings(port: int) -> bool:
    """Whether Redis on ``port`` answers PING."""
    return tcp_answers(port, b"PING\r\n", b"+PONG")


def postgres_ready(port: int) -> bool:
    """Whether PostgreSQL on ``port`` accepts connections (``pg_isready``)."""
    command = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
    return subprocess.run(command, check=False).returncode == 0


def replica_status(stats_port: int) -> dict[str, str]:
    """HAProxy's view of each replica: ``backend/server`` → ``UP``, ``DOWN``…; empty if it is not there."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{stats_port}/;csv", timeout=2) as response:
            table = response.read().decode().removeprefix("# ")
    except OSError:
        return {}
    return {
        f"{row['pxname']}/{row['svname']}": row["status"]
        for row in csv.DictReader(io.StringIO(table))
        if row["svname"] not in {"FRONTEND", "BACKEND"}
    }


def haproxy_config(ports: Ports) -> str:
    """HAProxy's configuration: three load-balanced front ends and the statistics page."""

    def servers(prefix: str, replica_ports: tuple[int, ...], cookie: bool = False) -> str:
        return "\n".join(
            f"    server {prefix}{number} 127.0.0.1:{port} check inter 1s fall 2 rise 1"
            + (f" cookie {prefix}{number}" if cookie else "")
            for number, port in enumerate(replica_ports, start=1)
        )

    return f"""# Written by scripts/cluster.py on every start; edit that file instead.
global
    maxconn 4096
    # Replicas going down and up; no request lines (they would hold residents' addresses).
    log stderr format short local0 notice

defaults
    mode http
    log global
    option forwardfor
    option redispatch
    retries 2
    retry-on conn-failure  # only a request no replica received: never one answered twice
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h

frontend residents_and_desk
    bind 127.0.0.1:{ports.front}
    default_backend handoff

backend handoff
    balance roundrobin
    option httpchk GET /readyz
    cookie opastin_node insert indirect nocache httponly attr "SameSite=Lax"
{servers("handoff", ports.handoff_replicas, cookie=True)}

frontend rasa
    bind 127.0.0.1:{ports.rasa}
    default_backend rasa

backend rasa
    balance roundrobin
    option httpchk GET /
{servers("rasa", ports.rasa_replicas)}

frontend actions
    bind 127.0.0.1:{ports.actions}
    default_backend actions

backend actions
    balance roundrobin
    option httpchk GET /health
{servers("actions", ports.action_replicas)}

frontend statistics
    bind 127.0.0.1:{ports.stats}
    stats enable
    stats uri /
    stats refresh 5s
"""


def rasa_endpoints(cluster: Cluster) -> dict[str, object]:
    """The project's ``endpoints.yml`` with the action servers behind HAProxy (its lock store is in
    Redis, as ``REDIS_URL`` is set: rasa_addons/lock_store.py)."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    endpoints["action_endpoint"]["url"] = f"http://127.0.0.1:{cluster.ports.actions}/webhook"
    return endpoints


# -- the processes ---------------------------------------------------------------------------------


def as_postgres_owner() -> tuple[str, ...]:
    """PostgreSQL refuses to run as root: run its programs as ``postgres`` then."""
    return ("runuser", "-u", "postgres", "--") if os.geteuid() == 0 else ()


def prepare_postgres(cluster: Cluster) -> None:
    """Create the data folder on the first start (a local, password-less role on loopback only)."""
    data = cluster.postgres_dir
    if (data / "PG_VERSION").exists():
        return
    print("==> Creating the cluster's PostgreSQL data folder (first start)", flush=True)
    data.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for folder in data.parents:  # the postgres user may pass through them (not list or read)
            folder.chmod(folder.stat().st_mode | 0o111)
        subprocess.run(["chown", "postgres:", str(data)], check=True)
    data.chmod(0o700)
    command = [str(PG_BIN / "initdb"), "-D", str(data), "-U", DATABASE_ROLE, "--auth=trust", "-E", "UTF8"]
    command += ["--locale=C.UTF-8"]
    initdb = subprocess.run([*as_postgres_owner(), *command], capture_output=True, text=True)
    if initdb.returncode != 0:
        raise SystemExit(f"initdb could not create {data}:\n{initdb.stdout}{initdb.stderr}")


def create_databases(cluster: Cluster) -> None:
    """Create the two databases unless they exist."""
    for name in (HANDOFF_DATABASE, TRACKER_DATABASE):
        query = ["-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"]
        connection = ["-h", "127.0.0.1", "-p", str(cluster.ports.postgres), "-U", DATABASE_ROLE]
        found = subprocess.run(
            [str(PG_BIN / "psql"), *connection, "-d", "postgres", *query], capture_output=True, text=True
        )
        if found.stdout.strip() != "1":
            subprocess.run([str(PG_BIN / "createdb"), *connection, name], check=True)


def store_services(cluster: Cluster) -> list[single.Service]:
    """PostgreSQL and Redis, in the foreground under the launcher's supervision."""
    ports, state = cluster.ports, cluster.state_dir
    postgres = (
        *as_postgres_owner(), str(PG_BIN / "postgres"), "-D", str(cluster.postgres_dir),
        "-p", str(ports.postgres), "-c", "listen_addresses=127.0.0.1",
        "-c", f"unix_socket_directories={cluster.postgres_dir}", "-c", "max_connections=200",
    )  # fmt: skip
    redis = (
        "redis-server", "--port", str(ports.redis), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(state / "redis"),
    )  # fmt: skip
    return [
        single.Service("postgres", postgres, ports.postgres, "", "PostgreSQL", postgres_ready, state),
        single.Service("redis", redis, ports.redis, "", "Redis", redis_pings, state),
    ]


def application_services(cluster: Cluster) -> list[single.Service]:
    """The replicas of the action server, the handoff service and Rasa, and HAProxy in front."""
    python, ports, state = str(VENV_BIN / "python"), cluster.ports, cluster.state_dir

    def replicas(name: str, what: str, ready: str, at: tuple[int, ...], command: tuple[str, ...]) -> list:
        """``command`` followed by each replica's port."""
        return [
            single.Service(f"{name}-{n}", (*command, str(port)), port, ready, f"{what} {n}", state_dir=state)
            for n, port in enumerate(at, start=1)
        ]

    actions = (python, "-m", "actions", "--port")
    handoff = (python, "-m", "handoff", "serve", "--host", "127.0.0.1", "--port")
    rasa = (
        str(VENV_BIN / "rasa"), "run", "--interface", "127.0.0.1", "--model", str(single.MODEL),
        "--endpoints", str(state / "endpoints.yml"), "--credentials", "credentials.yml", "--port",
    )  # fmt: skip
    haproxy = ("haproxy", "-db", "-f", str(state / "haproxy.cfg"))

    def every_replica_up(_port: int) -> bool:
        status = replica_status(ports.stats)
        return bool(status) and set(status.values()) == {"UP"}

    return [
        *replicas("actions", "action server", "/health", ports.action_replicas, actions),
        *replicas("handoff", "handoff service", "/readyz", ports.handoff_replicas, handoff),
        *replicas("rasa", "Rasa server", "/", ports.rasa_replicas, rasa),
        single.Service("haproxy", haproxy, ports.front, "", "HAProxy", every_replica_up, state),
    ]


def identity_provider(cluster: Cluster) -> list[single.Service]:
    """The test identity provider in development (``make run``'s), its files in the cluster's folder."""
    return [replace(service, state_dir=cluster.state_dir) for service in single.development_services()]


def cluster_environment(cluster: Cluster) -> dict[str, str]:
    """The launcher's environment plus the shared stores and the front ends' URLs."""
    env = single.child_environment()
    env.update(
        DATABASE_URL=cluster.handoff_database_url,
        TRACKER_DATABASE_URL=cluster.tracker_database_url,
        REDIS_URL=cluster.redis_url,
        RASA_URL=f"http://127.0.0.1:{cluster.ports.rasa}",
        HANDOFF_URL=cluster.front_url,
    )
    return env


def process_environment(service: single.Service, env: dict[str, str], cluster: Cluster) -> dict[str, str]:
    """One process's environment: Rasa's tracker store; the contact outbox the action servers share
    (and the handoff services purge)."""
    if service.name.startswith("rasa-"):
        return {**env, "DATABASE_URL": cluster.tracker_database_url}
    return {**env, "OPASTIN_OUTBOX_DIR": str(cluster.state_dir / "outbox")}


# -- running and stopping --------------------------------------------------------------------------


def write_configuration(cluster: Cluster) -> None:
    """HAProxy's configuration and Rasa's endpoints, from this cluster's ports."""
    (cluster.state_dir / "haproxy.cfg").write_text(haproxy_config(cluster.ports))
    endpoints = yaml.safe_dump(rasa_endpoints(cluster), sort_keys=False, allow_unicode=True)
    (cluster.state_dir / "endpoints.yml").write_text("# Written by scripts/cluster.py.\n" + endpoints)


def start_all(
    services: list[single.Service], env_of: Callable[[single.Service], dict[str, str]]
) -> dict[single.Service, subprocess.Popen[bytes]]:
    """Start each service with its environment."""
    return {service: single.start(service, env_of(service)) for service in services}


def supervise(
    groups: list[dict[single.Service, subprocess.Popen[bytes]]],
    env_of: Callable[[single.Service], dict[str, str]],
    stopping: Callable[[], bool],
) -> int:
    """Start again any process that stops, as an orchestrator would, until Ctrl-C/SIGTERM (0).

    ``groups`` are updated in place with the new processes, so that they are stopped in the end.
    A process that stops :data:`MAX_RESTARTS` times within :data:`RESTART_WINDOW_S` is
    not started again: the cluster stops (1) and its log's end is shown.
    """
    restarts: dict[str, deque[float]] = defaultdict(deque)
    while not stopping():
        for group, service, process in [(g, s, p) for g in groups for s, p in g.items()]:
            if process.poll() is None:
                continue
            recent, now = restarts[service.name], time.monotonic()
            while recent and recent[0] < now - RESTART_WINDOW_S:
                recent.popleft()
            if len(recent) >= MAX_RESTARTS:
                single.report_failure(service, f"stopped {MAX_RESTARTS} times within {RESTART_WINDOW_S} s")
                return 1
            recent.append(now)
            print(f"    {service.description} stopped (status {process.returncode}); starting it again",
                  flush=True)  # fmt: skip
            group[service] = single.start(service, env_of(service))
        time.sleep(0.5)
    return 0


def run_cluster(cluster: Cluster) -> int:
    """Start the stores, migrate, start the replicas and HAProxy; stop everything on a signal."""
    if not single.MODEL.exists():
        print("No trained model in models/: run `make run-cluster` (it trains first).", file=sys.stderr)
        return 1
    subprocess.run([str(ROOT / "scripts" / "system_packages.sh"), "cluster"], check=True)
    os.umask(0o077)
    for folder in ("run", "log", "redis"):
        (cluster.state_dir / folder).mkdir(parents=True, exist_ok=True)
    stores = store_services(cluster)
    apps = [*identity_provider(cluster), *application_services(cluster)]
    problems = [problem for problem in map(single.check_can_start, stores + apps) if problem]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    launcher_pid_file(cluster).write_text(f"{os.getpid()}\n")

    prepare_postgres(cluster)
    write_configuration(cluster)
    env = cluster_environment(cluster)

    def environment_of(service: single.Service) -> dict[str, str]:
        return process_environment(service, env, cluster)

    running_stores: dict[single.Service, subprocess.Popen[bytes]] = {}
    running_apps: dict[single.Service, subprocess.Popen[bytes]] = {}
    try:
        print("==> Starting PostgreSQL and Redis", flush=True)
        running_stores = start_all(stores, environment_of)
        failed = single.wait_ready(running_stores, lambda: stopping)
        if failed is not None or stopping:
            return report(failed, stopping)
        create_databases(cluster)
        single.bootstrap(env)
        print("==> Starting two of each: action server, handoff service, Rasa server (about a minute)",
              flush=True)  # fmt: skip
        running_apps = start_all(apps, environment_of)
        failed = single.wait_ready(running_apps, lambda: stopping)
        if failed is not None or stopping:
            return report(failed, stopping)
        print_banner(cluster)
        return supervise([running_stores, running_apps], environment_of, lambda: stopping)
    finally:
        print("\n==> Stopping the cluster", flush=True)
        single.stop(running_apps)
        single.stop(running_stores)
        launcher_pid_file(cluster).unlink(missing_ok=True)
        print("    stopped", flush=True)


def report(failed: single.Service | None, stopping: bool) -> int:
    """Exit status after the start was cut short: 0 when asked to stop, else the failure's."""
    if stopping or failed is None:
        return 0
    single.report_failure(failed, "did not start")
    return 1


def print_banner(cluster: Cluster) -> None:
    """Tell the user where the cluster answers."""
    print(
        "\nOpastin is running as a cluster (two of each behind HAProxy):\n"
        f"    resident page:  http://localhost:{cluster.ports.front}/\n"
        f"    agent desk:     http://localhost:{cluster.ports.front}/desk\n"
        f"    HAProxy status: http://localhost:{cluster.ports.stats}/\n"
        f"Logs are in {cluster.state_dir / 'log'}. Press Ctrl-C to stop everything.\n",
        flush=True,
    )


def launcher_pid_file(cluster: Cluster) -> Path:
    """Where the running launcher's own process id is kept."""
    return cluster.state_dir / "run" / "cluster.pid"


def stop_recorded(cluster: Cluster) -> int:
    """``make stop``: ask the launcher to stop the cluster, or stop what a dead launcher left."""
    launcher = single.read_pid(launcher_pid_file(cluster))
    if launcher is not None and single.process_alive(launcher):
        os.kill(launcher, signal.SIGTERM)  # it stops the applications, then the stores
        deadline = time.monotonic() + 3 * single.STOP_TIMEOUT_S
        while single.process_alive(launcher) and time.monotonic() < deadline:
            time.sleep(0.2)
        print("Stopped the cluster.")
        return 0
    stopped = 0
    for group in (identity_provider(cluster) + application_services(cluster), store_services(cluster)):
        pids = [pid for pid in (single.read_pid(service.pid_file) for service in group) if pid]
        for pid in filter(single.process_alive, pids):
            os.killpg(pid, signal.SIGTERM)
            stopped += 1
        deadline = time.monotonic() + single.STOP_TIMEOUT_S
        while any(map(single.process_alive, pids)) and time.monotonic() < deadline:
            time.sleep(0.2)
        for service in group:
            service.pid_file.unlink(missing_ok=True)
    print(f"Stopped {stopped} cluster process(es)." if stopped else "The cluster was not running.")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``cluster.py [stop] [--state-dir DIR] [--base-port N]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", nargs="?", choices=["run", "stop"], default="run")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--base-port", type=int, help="twelve consecutive ports from this one")
    args = parser.parse_args(argv)
    ports = Ports.from_base(args.base_port) if args.base_port else Ports()
    cluster = Cluster(ports, args.state_dir.resolve())
    return stop_recorded(cluster) if args.action == "stop" else run_cluster(cluster)


if __name__ == "__main__":
    sys.exit(main())

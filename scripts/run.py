"""Start Opastin's processes, wait until each answers, and stop them all on Ctrl-C.

Used by ``make run`` after the install and training steps. Each process runs in
its own process group and has a PID file under ``var/run/``; a PID file left by
a crash is detected and removed, so it never blocks the next start. Its output
goes to ``var/log/<name>.log``, rotated by size (``OPASTIN_LOG_MAX_BYTES``,
default 10 MB, five old files kept).

Rasa and the action server listen on loopback only (``RASA_HOST``,
``ACTION_SERVER_HOST`` to change it); Rasa calls the action server with the
shared secret ``ACTION_SERVER_TOKEN``, generated once into
``var/action-server-token`` unless it is set.

In development (``OPASTIN_ENV`` is not ``production``) it also starts the
test identity provider of ``idp/`` on 127.0.0.1:8100 and points the service at
it (``OIDC_ISSUER`` and the rest, unless ``OIDC_ISSUER`` names another
provider) and at the test population register ``idp/population_register.yml``;
the client keys both read are generated once into ``var/oidc-client-keys.json``.
See docs/identification.md.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from opastin.processes import POLL_S, answers  # noqa: E402
from opastin.tokens import shared_token  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
RUN_DIR = ROOT / "var" / "run"
LOG_DIR = ROOT / "var" / "log"
MODEL = ROOT / "models" / "opastin.tar.gz"
ACTION_TOKEN_FILE = ROOT / "var" / "action-server-token"
LOG_BACKUPS = 5
DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024
READY_TIMEOUT_S = 240
STOP_TIMEOUT_S = 15
IDP_PORT = 8100
IDP_ISSUER = f"http://127.0.0.1:{IDP_PORT}"
OIDC_CLIENT_KEY_FILE = ROOT / "var" / "oidc-client-keys.json"


@dataclass(frozen=True)
class Service:
    """One process of Opastin: how to start it and how to tell it is ready."""

    name: str
    command: tuple[str, ...]
    port: int
    ready_path: str
    description: str
    probe: Callable[[int], bool] | None = None  # readiness of a process that speaks no HTTP
    state_dir: Path | None = None  # its run/ and log/ folders; default var/

    @property
    def ready_url(self) -> str:
        """The URL that answers 200 once the process is ready."""
        return f"http://127.0.0.1:{self.port}{self.ready_path}"

    def is_ready(self) -> bool:
        """Whether the process answers: ``probe(port)``, or 200 at :attr:`ready_url`."""
        return self.probe(self.port) if self.probe else answers(self.ready_url)

    @property
    def pid_file(self) -> Path:
        """Where the process id of the running process is kept."""
        return (self.state_dir / "run" if self.state_dir else RUN_DIR) / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        """Where the process writes its output."""
        return (self.state_dir / "log" if self.state_dir else LOG_DIR) / f"{self.name}.log"


def services() -> list[Service]:
    """The processes ``make run`` starts, in start order."""
    rasa = str(VENV_BIN / "rasa")
    python = str(VENV_BIN / "python")
    return [
        Service(
            "actions",
            (python, "-m", "actions", "--port", "5055"),
            5055,
            "/health",
            "action server",
        ),
        Service(
            "handoff",
            (python, "-m", "handoff", "serve", "--host", "127.0.0.1", "--port", "8000"),
            8000,
            "/healthz",
            "handoff service (resident page, agent desk, APIs)",
        ),
        Service(
            "rasa",
            (
                rasa,
                "run",
                "--port",
                "5005",
                "--interface",
                os.environ.get("RASA_HOST", "127.0.0.1"),
                "--model",
                str(MODEL),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ),
            5005,
            "/",
            "Rasa server",
        ),
    ]


def uses_test_provider(env: dict[str, str] | os._Environ[str] = os.environ) -> bool:
    """Whether to start the test identity provider: development, and no other provider configured."""
    development = (env.get("OPASTIN_ENV") or "").strip().lower() != "production"
    return development and (env.get("OIDC_ISSUER") or IDP_ISSUER).rstrip("/") == IDP_ISSUER


def development_services(env: dict[str, str] | os._Environ[str] = os.environ) -> list[Service]:
    """Processes started in development only: the test identity provider (``idp/``, node from PATH)."""
    if not uses_test_provider(env):
        return []
    return [
        Service(
            "idp",
            ("node", str(ROOT / "idp" / "server.js")),
            IDP_PORT,
            "/.well-known/openid-configuration",
            "test identity provider (made-up persons)",
        )
    ]


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid(pid_file: Path) -> int | None:
    """The process id stored in ``pid_file``, or None when absent or unreadable."""
    try:
        return int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def port_free(port: int) -> bool:
    """Whether nothing listens on ``port`` on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def check_can_start(service: Service) -> str | None:
    """Why ``service`` cannot start (already running, port taken), or None."""
    pid = read_pid(service.pid_file)
    if pid is not None and process_alive(pid):
        return (
            f"The {service.description} is already running (pid {pid}). "
            "Stop it with `make stop` or Ctrl-C in the terminal that started it."
        )
    service.pid_file.unlink(missing_ok=True)  # stale: its process is gone
    if not port_free(service.port):
        return f"Port {service.port} is in use by another program; the {service.description} needs it."
    return None


def rotating_log(path: Path, max_bytes: int) -> logging.Logger:
    """A logger that writes raw lines to ``path``, rotated at ``max_bytes`` with five old files."""
    handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=LOG_BACKUPS, encoding="utf-8")
    handler.terminator = ""
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger(f"opastin.run.{path.stem}")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


def pump(output: IO[bytes], log: logging.Logger) -> None:
    """Copy a process's output, line by line, into its rotating log until the process closes it."""
    for line in iter(output.readline, b""):
        log.info(line.decode("utf-8", errors="replace"))
    output.close()


def start(service: Service, env: dict[str, str]) -> subprocess.Popen:
    """Start ``service`` in its own process group, pump its output into its log, record its PID."""
    process = subprocess.Popen(
        service.command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    max_bytes = int(env.get("OPASTIN_LOG_MAX_BYTES") or DEFAULT_LOG_MAX_BYTES)
    log = rotating_log(service.log_file, max_bytes)
    threading.Thread(target=pump, args=(process.stdout, log), name=f"log-{service.name}", daemon=True).start()
    service.pid_file.write_text(f"{process.pid}\n")
    return process


def wait_ready(
    running: dict[Service, subprocess.Popen], stop_requested: Callable[[], bool]
) -> Service | None:
    """Wait until every service answers; return the first that died or timed out."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(running)
    while pending and not stop_requested():
        for service in list(pending):
            if running[service].poll() is not None:
                return service
            if service.is_ready():
                print(f"    {service.description} is ready on port {service.port}", flush=True)
                pending.remove(service)
        if time.monotonic() > deadline:
            return pending[0]
        time.sleep(POLL_S)
    return None


def stop(running: dict[Service, subprocess.Popen]) -> None:
    """Terminate every process group, kill what does not stop, remove PID files."""
    for process in running.values():
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for service, process in running.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        service.pid_file.unlink(missing_ok=True)


def report_failure(service: Service, what: str, lines: int = 25) -> None:
    """Tell the user that ``service`` failed and show the end of its log."""
    try:
        tail = "\n".join(service.log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        tail = "(no log)"
    print(f"The {service.description} {what}. Last lines of {service.log_file}:\n{tail}", file=sys.stderr)


def child_environment() -> dict[str, str]:
    """The environment for Opastin's processes: the caller's plus project defaults."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env["PATH"] = os.pathsep.join([str(VENV_BIN), env.get("PATH", "")])
    env["ACTION_SERVER_TOKEN"] = shared_token(env.get("ACTION_SERVER_TOKEN"), ACTION_TOKEN_FILE)
    if uses_test_provider(env):
        from handoff.identification.keys import ensure_dev_key_file

        key_file = env.setdefault("OIDC_CLIENT_KEY_FILE", str(OIDC_CLIENT_KEY_FILE))
        ensure_dev_key_file(Path(key_file))
        env.setdefault("OIDC_ISSUER", IDP_ISSUER)
        env.setdefault("OIDC_CLIENT_ID", "opastin")
        env.setdefault("OIDC_ENCRYPTED_ID_TOKENS", "1")  # as the Finnish identity brokers send them
        env.setdefault("POPULATION_REGISTER_FILE", str(ROOT / "idp" / "population_register.yml"))
        env.update(
            IDP_HOST="127.0.0.1",
            IDP_PORT=str(IDP_PORT),
            IDP_ISSUER=IDP_ISSUER,
            IDP_CLIENT_ID=env["OIDC_CLIENT_ID"],
            IDP_CLIENT_JWKS=key_file,
            IDP_ENCRYPT_ID_TOKENS=env["OIDC_ENCRYPTED_ID_TOKENS"],
        )
    return env


def bootstrap(env: dict[str, str]) -> None:
    """Run the handoff service's idempotent first-run setup (migrations, first admin)."""
    subprocess.run([str(VENV_BIN / "python"), "-m", "handoff", "bootstrap"], cwd=ROOT, env=env, check=True)


def print_banner() -> None:
    """Tell the user where Opastin answers."""
    identity = f"    test identity:  {IDP_ISSUER} (made-up persons)\n" if uses_test_provider() else ""
    print(
        "\nOpastin is running. Talk to the bot:\n"
        "    resident page:  http://localhost:8000/\n"
        "    agent desk:     http://localhost:8000/desk\n"
        "    team status:    http://localhost:8000/api/public/teams\n"
        f"{identity}"
        "    REST channel:   curl -s -XPOST localhost:5005/webhooks/rest/webhook \\\n"
        "                      -H 'Content-Type: application/json' \\\n"
        '                      -d \'{"sender":"t1","message":"hei"}\'\n'
        f"Logs are in {LOG_DIR.relative_to(ROOT)}/. Press Ctrl-C to stop everything.\n",
        flush=True,
    )


def stop_recorded() -> int:
    """Stop the processes recorded in PID files (``make stop``)."""
    stopped = 0
    for service in [*development_services(), *services()]:
        pid = read_pid(service.pid_file)
        if pid is not None and process_alive(pid):
            os.killpg(pid, signal.SIGTERM)
            stopped += 1
        service.pid_file.unlink(missing_ok=True)
    print(f"Stopped {stopped} Opastin process(es)." if stopped else "Opastin was not running.")
    return 0


def main() -> int:
    """Start all services, wait for Ctrl-C or a crash, then stop them all."""
    if not MODEL.exists():
        print("No trained model in models/: run `make run` (it trains first).", file=sys.stderr)
        return 1
    os.umask(0o077)  # databases, tokens and logs under var/ hold personal data: owner only
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    all_services = [*development_services(), *services()]
    problems = [problem for problem in map(check_can_start, all_services) if problem]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    env = child_environment()
    bootstrap(env)
    print("==> Starting Opastin (the Rasa server loads its model in about 20-40 s)", flush=True)
    running = {service: start(service, env) for service in all_services}
    try:
        failed = wait_ready(running, lambda: stopping)
        if failed is not None and not stopping:
            report_failure(failed, "did not start")
            return 1
        if not stopping:
            print_banner()
        while not stopping:
            crashed = next((s for s, p in running.items() if p.poll() is not None), None)
            if crashed is not None:
                report_failure(crashed, "stopped unexpectedly")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        print("\n==> Stopping Opastin", flush=True)
        stop(running)
        print("    stopped", flush=True)


if __name__ == "__main__":
    sys.exit(stop_recorded() if sys.argv[1:] == ["stop"] else main())

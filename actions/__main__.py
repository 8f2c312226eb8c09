"""The action server, bound to loopback and answering only Rasa: ``python -m actions``.

rasa-sdk's own server (``rasa run actions``) listens on every interface and
runs any action for anyone who can reach it, and the actions call the handoff
service with its real API token. This entry point serves the same actions with
two defences:

* it binds to ``ACTION_SERVER_HOST`` (default ``127.0.0.1``);
* ``/webhook`` and ``/actions`` need the shared secret that Rasa sends as the
  ``token`` query parameter (``action_endpoint.token`` in ``endpoints.yml``,
  from ``ACTION_SERVER_TOKEN``). When the variable is unset, the secret is
  generated once into ``var/action-server-token`` (``make run`` hands it to Rasa).

``/health`` stays open for readiness checks. ``/metrics`` (Prometheus) has a
guard of its own: a scrape from this machine, or ``Authorization: Bearer
<ACTION_SERVER_METRICS_TOKEN>`` (:mod:`actions.monitoring`, docs/monitoring.md).
``OPASTIN_LOG_FORMAT=json`` writes the log as one JSON object a line. The
contact outbox's courier starts with the server (:mod:`actions.outbox`).
"""

from __future__ import annotations

import argparse
import logging
import os
import traceback
from pathlib import Path

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import monitoring
from actions.actions_contact import start_outbox_courier
from opastin.logformat import configure_logging
from opastin.logsafe import withhold_exception_messages
from opastin.tokens import same_token, shared_token

logger = logging.getLogger(__name__)

HOST_ENV = "ACTION_SERVER_HOST"
TOKEN_ENV = "ACTION_SERVER_TOKEN"
TOKEN_FILE = Path(__file__).resolve().parent.parent / "var" / "action-server-token"
OPEN_PATHS = frozenset({"/health", monitoring.METRICS_PATH})  # /metrics is guarded by its own rule
DEFAULT_PORT = 5055


def action_server_token(env: dict[str, str] | None = None) -> str:
    """The shared secret Rasa must send: ``ACTION_SERVER_TOKEN`` or the generated file."""
    return shared_token((env if env is not None else os.environ).get(TOKEN_ENV), TOKEN_FILE)


def create_guarded_app(token: str, metrics_token: str | None = None) -> Sanic:
    """rasa-sdk's action server app, refusing every call without ``token``.

    ``/metrics`` answers local scrapes, and scrapes with ``metrics_token`` when one is given.
    """
    app: Sanic = create_app("actions", cors_origins=None)

    @app.middleware("request")  # type: ignore[no-untyped-call, untyped-decorator]  # untyped in Sanic 21
    async def require_token(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS or same_token(request.args.get("token"), token):
            return None
        return response.json({"error": "A valid token is required."}, status=401)

    @app.exception(Exception)  # type: ignore[no-untyped-call, untyped-decorator]  # untyped in Sanic 21
    async def error_without_content(request: Request, exception: Exception) -> HTTPResponse:
        # rasa-sdk's handler logs and returns the request body: the resident's messages.
        frames = "".join(traceback.format_tb(exception.__traceback__))
        logger.error("action server error %s at\n%s", type(exception).__name__, frames)
        return response.json({"error": type(exception).__name__}, status=500)

    monitoring.install(app, metrics_token)  # after the token check: only Rasa's calls are timed
    return app


def main() -> None:
    """Parse ``--port``/``--host`` and serve the actions until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get(HOST_ENV, "127.0.0.1"))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    configure_logging(logging.WARNING)  # text as always, or JSON lines with OPASTIN_LOG_FORMAT=json
    withhold_exception_messages()
    app = create_guarded_app(action_server_token(), monitoring.metrics_token(os.environ))
    app.register_listener(lambda _app, _loop: start_outbox_courier(), "after_server_start")
    app.run(args.host, args.port, workers=1, access_log=False)


if __name__ == "__main__":
    main()

"""Operators' endpoints: liveness, readiness, who may read /metrics, and what it holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from handoff import app as app_module
from handoff import metrics, queue
from handoff.app import create_app
from handoff.db import Database
from handoff.maintenance import MaintenanceResult
from handoff.retention import PurgeReport
from handoff.settings import PROJECT_ROOT, Settings
from opastin.processes import free_port, wait_until_answering
from opastin.teams import Teams
from tests.handoff.conftest import AUTH, FakeClock, add_agent

LOCAL = ("127.0.0.1", 50123)
METRICS_TOKEN = "metrics-token-0123456789"
SECRET_ID = "w-0123456789abcdef0123456789abcdef"


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition, or ``None`` if absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


def counted(name: str, **labels: str) -> float:
    """A process-wide metric's current value (0 before its first count)."""
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
def local(db: Database, settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """The app, asked from a loopback address (as Prometheus on the same machine)."""
    with TestClient(create_app(settings, clock), client=LOCAL) as test_client:
        yield test_client


def handoff_body(conversation_id: str, team: str = "terveysneuvo") -> dict[str, object]:
    return {
        "conversation_id": conversation_id,
        "team": team,
        "summary": "Reseptin uusiminen",
        "transcript": [],
    }


def test_liveness_and_readiness(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}
    assert client.get("/healthz").json() == {"status": "ok"}  # the older name, used by scripts/run.py


def test_readiness_fails_with_503_while_the_database_does_not_answer(
    tmp_path: Path, teams_file: Path, clock: FakeClock
) -> None:
    unreachable = Settings(
        var_dir=tmp_path / "var",
        database_url=f"sqlite:///{tmp_path}",  # a directory: SQLite cannot open it
        teams_file=teams_file,
        api_token="test-token-0123456789",
        maintenance_interval_s=0,
    )
    client = TestClient(create_app(unreachable, clock), client=LOCAL)  # no lifespan: it reads the database
    assert client.get("/livez").status_code == 200
    for path in ("/readyz", "/healthz"):
        answer = client.get(path)
        assert answer.status_code == 503
        assert answer.json() == {"status": "unavailable", "database": "unreachable"}
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    assert sample(scraped.text, "opastin_database_up") == 0
    assert sample(scraped.text, "opastin_queue_length", team="neuvola") is None


def test_metrics_are_a_missing_page_for_other_hosts(client: TestClient) -> None:
    refused = client.get("/metrics")  # TestClient's address is not loopback
    missing = client.get("/no-such-page")
    assert (refused.status_code, refused.json()) == (404, missing.json())
    assert "opastin_" not in refused.text


def test_a_local_scrape_gets_the_metrics_unless_a_proxy_forwarded_it(local: TestClient) -> None:
    scraped = local.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    for name in ("opastin_bot_reply_seconds_count", "opastin_queue_length", "process_resident_memory_bytes"):
        assert name in scraped.text
    assert sample(scraped.text, "opastin_database_up") == 1
    assert local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 404


def test_with_the_metrics_token_any_host_may_scrape(
    db: Database, settings: Settings, clock: FakeClock
) -> None:
    app = create_app(replace(settings, metrics_token=METRICS_TOKEN), clock)
    with TestClient(app) as remote:
        assert remote.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 200
        assert (
            remote.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"}).status_code == 404
        )
        assert remote.get("/metrics", headers=AUTH).status_code == 404  # the service API token is not it
        assert remote.get("/metrics").status_code == 404


def test_the_token_setting_is_read_from_the_environment() -> None:
    assert Settings.from_env({"HANDOFF_METRICS_TOKEN": f" {METRICS_TOKEN} "}).metrics_token == METRICS_TOKEN
    assert Settings.from_env({}).metrics_token is None


def test_requests_are_counted_by_route_template_never_by_path(local: TestClient) -> None:
    route = "/api/service/handoffs/{conversation_id}"
    before = counted("opastin_http_requests_total", method="GET", route=route, status="4xx")
    assert local.get(f"/api/service/handoffs/{SECRET_ID}", headers=AUTH).status_code == 404
    assert local.get(f"/{SECRET_ID}").status_code == 404
    assert local.get("/static/desk/desk.css").status_code == 200
    text = local.get("/metrics").text
    assert sample(text, "opastin_http_requests_total", method="GET", route=route, status="4xx") == before + 1
    assert sample(text, "opastin_http_requests_total", method="GET", route="unmatched", status="4xx")
    assert sample(
        text, "opastin_http_requests_total", method="GET", route="/static/desk/{path}", status="2xx"
    )
    assert SECRET_ID not in text and "desk.css" not in text


def test_queues_live_chats_and_ended_waits(
    local: TestClient, db: Database, teams: Teams, clock: FakeClock
) -> None:
    agent = add_agent(db, "maija", ["terveysneuvo"])
    first, second = SECRET_ID, SECRET_ID.replace("0123", "4567")
    for conversation_id in (first, second):
        assert (
            local.post("/api/service/handoffs", json=handoff_body(conversation_id), headers=AUTH).status_code
            == 201
        )
    text = local.get("/metrics").text
    assert sample(text, "opastin_queue_length", team="terveysneuvo") == 2
    assert sample(text, "opastin_agents_present", team="terveysneuvo") == 1
    assert {
        sample(text, "opastin_queue_length", team=team_id)
        for team_id in teams.ids
        if team_id != "terveysneuvo"
    } == {0}

    cancelled = counted("opastin_queue_wait_seconds_count", outcome="cancelled")
    accepted = counted("opastin_queue_wait_seconds_count", outcome="accepted")
    within = {
        le: counted("opastin_queue_wait_seconds_bucket", outcome="accepted", le=le)
        for le in ("60.0", "120.0")
    }
    clock.advance(minutes=2)
    assert local.delete(f"/api/service/handoffs/{first}", headers=AUTH).status_code == 200
    with db.writing() as session:
        queue.accept_next(session, "terveysneuvo", agent, clock())
    text = local.get("/metrics").text
    assert sample(text, "opastin_queue_wait_seconds_count", outcome="cancelled") == cancelled + 1
    assert sample(text, "opastin_queue_wait_seconds_count", outcome="accepted") == accepted + 1
    for le, added in (("60.0", 0), ("120.0", 1)):  # waited two minutes
        assert (
            sample(text, "opastin_queue_wait_seconds_bucket", outcome="accepted", le=le) == within[le] + added
        )
    assert sample(text, "opastin_queue_length", team="terveysneuvo") == 0
    assert sample(text, "opastin_live_chats", team="terveysneuvo") == 1
    assert first not in text and second not in text and "maija" not in text


def test_the_maintenance_task_counts_purges_and_failures(
    db: Database, settings: Settings, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []

    def run_once(*_args: object) -> MaintenanceResult:
        runs.append("run")
        if len(runs) > 1:
            raise RuntimeError("the database went away")
        return MaintenanceResult([], PurgeReport(removed={"conversations": 3, "feedback": 0}))

    monkeypatch.setattr(app_module.maintenance, "run_once", run_once)
    removed = counted("opastin_purge_removed_total", store="conversations")
    failures = counted("opastin_maintenance_failures_total")
    started = time.time()
    with TestClient(create_app(replace(settings, maintenance_interval_s=0.05), clock)):
        deadline = time.monotonic() + 5
        while len(runs) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert counted("opastin_purge_removed_total", store="conversations") == removed + 3
    assert counted("opastin_purge_last_success_timestamp_seconds") >= int(started)
    assert counted("opastin_maintenance_failures_total") >= failures + 1


def test_the_real_server_writes_json_log_lines(tmp_path: Path, teams_file: Path) -> None:
    port = free_port()
    environment = {
        **os.environ,
        "HANDOFF_VAR_DIR": str(tmp_path / "var"),
        "HANDOFF_TEAMS_FILE": str(teams_file),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'handoff.db'}",
        "HANDOFF_API_TOKEN": "subprocess-token-0123456789",
        "HANDOFF_MAINTENANCE_INTERVAL_S": "0",
        "OPASTIN_LOG_FORMAT": "json",
    }
    subprocess.run(
        [sys.executable, "-m", "handoff", "migrate"], env=environment, cwd=PROJECT_ROOT, check=True
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "handoff", "serve", "--port", str(port)],
        env=environment,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/readyz", [server], timeout_s=20)
        assert httpx.get(f"{base}/livez").status_code == 200
        assert httpx.get(f"{base}/metrics").status_code == 200  # from loopback
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    entries = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert entries and all({"time", "level", "logger", "message"} <= set(entry) for entry in entries)
    assert any(entry["message"].startswith("Application startup complete") for entry in entries)

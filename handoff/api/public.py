"""The public status endpoint: ``GET /api/public/teams`` (no login)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from handoff.api.deps import get_services
from handoff.api.schemas import PublicTeam
from handoff.queue import team_states
from handoff.runtime import Services

router = APIRouter(prefix="/api/public", tags=["public"])


@router.get("/teams", response_model=list[PublicTeam])
async def list_teams(services: Annotated[Services, Depends(get_services)]) -> Response:
    """Every team with open/closed now, opening and closing times, and the queue.

    ``opens_at`` is today's opening while open, otherwise the next opening;
    ``closes_at`` is set only while open. Served from a short-lived cache
    (:class:`handoff.runtime.RenderedCache`); only a miss touches the database, in a worker
    thread.
    """
    now = services.now()
    body = services.public_cache.fresh(now)
    if body is None:
        body = await run_in_threadpool(_render, services, now)
        services.public_cache.store(now, body)
    return Response(body, media_type="application/json")


def _render(services: Services, now: datetime) -> bytes:
    with services.database.reading() as session:
        states = team_states(session, services.teams, now)
    teams = [
        PublicTeam(
            id=state.team.id,
            name=state.team.name,
            open=state.opening.open,
            opens_at=state.opening.opens_at,
            closes_at=state.opening.closes_at,
            accepting=state.accepting,
            queue_length=state.queue_length,
            estimated_wait_s=state.estimated_wait_s,
            identification=state.team.identification,
        )
        for state in states.values()
    ]
    return ("[" + ",".join(team.json() for team in teams) + "]").encode()

"""The service API for the action server, under ``/api/service`` (bearer token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from handoff.api.deps import get_services, require_service_token
from handoff.api.schemas import (
    CONVERSATION_ID_PATTERN,
    ContactReceiptOut,
    ContactRequestCreate,
    FeedbackCreate,
    FeedbackStored,
    HandoffCreate,
    HandoffCreated,
    QueueStatusOut,
    TeamStatus,
)
from handoff.contact import create_contact_request
from handoff.errors import UnknownTeam
from handoff.feedback import store_feedback
from handoff.queue import QueueStatus, enqueue, leave_queue, queue_status, team_state
from handoff.runtime import Services
from opastin.hours import closes_at, next_opening
from opastin.teams import Team

router = APIRouter(prefix="/api/service", tags=["service"], dependencies=[Depends(require_service_token)])

ServicesDep = Annotated[Services, Depends(get_services)]
ConversationPath = Annotated[str, Path(max_length=128, pattern=CONVERSATION_ID_PATTERN)]


def _team(services: Services, team_id: str) -> Team:
    team = services.teams.get(team_id)
    if team is None:
        raise UnknownTeam(f"unknown team {team_id!r}")
    return team


def _queue_out(status: QueueStatus) -> QueueStatusOut:
    return QueueStatusOut(
        conversation_id=status.conversation_id,
        team=status.team_id,
        status=status.status,
        position=status.position,
        queue_length=status.queue_length,
        estimated_wait_s=status.estimated_wait_s,
    )


@router.get("/teams/{team_id}", response_model=TeamStatus)
def get_team_status(team_id: Annotated[str, Path(max_length=64)], services: ServicesDep) -> TeamStatus:
    """One team's opening, presence, queue and contact details."""
    team = _team(services, team_id)
    now = services.now()
    with services.database.reading() as session:
        state = team_state(session, team, now)
    upcoming = next_opening(team.schedule, now)
    return TeamStatus(
        id=team.id,
        name=team.name,
        description=team.description,
        open=state.opening.open,
        opens_at=state.opening.opens_at,
        closes_at=state.opening.closes_at,
        next_opening=upcoming,
        next_opening_closes_at=closes_at(team.schedule, upcoming) if upcoming else None,
        accepting=state.accepting,
        identification=team.identification,
        phone=team.phone,
        web_page=team.web_url,
        agents_present=state.agents_present,
        active_chats=state.active_chats,
        capacity=state.capacity,
        queue_length=state.queue_length,
        estimated_wait_s=state.estimated_wait_s,
        reply_within_workdays=team.reply_within_workdays,
    )


@router.post("/handoffs", response_model=HandoffCreated, status_code=201)
def create_handoff(body: HandoffCreate, services: ServicesDep) -> HandoffCreated:
    """Queue a conversation for a team; 409 if it is already queued or the team cannot take it."""
    team = _team(services, body.team)
    transcript = [turn.dict() for turn in body.transcript]
    for turn in transcript:
        if turn["timestamp"] is not None:
            turn["timestamp"] = turn["timestamp"].isoformat()
    with services.database.writing() as session:
        status = enqueue(session, team, body.conversation_id, body.summary, transcript, services.now())
    services.public_cache.invalidate()
    services.events.queue_changed(team.id)
    return HandoffCreated(**_queue_out(status).dict(), identification=team.identification)


@router.get("/handoffs/{conversation_id}", response_model=QueueStatusOut)
def get_handoff(conversation_id: ConversationPath, services: ServicesDep) -> QueueStatusOut:
    """A conversation's handoff status and queue position."""
    with services.database.reading() as session:
        status = queue_status(session, services.teams, conversation_id, services.now())
    return _queue_out(status)


@router.delete("/handoffs/{conversation_id}", response_model=QueueStatusOut)
def cancel_handoff(conversation_id: ConversationPath, services: ServicesDep) -> QueueStatusOut:
    """The resident leaves the queue; 409 if the conversation is not waiting."""
    with services.database.writing() as session:
        status = leave_queue(session, conversation_id, services.now())
    services.public_cache.invalidate()
    services.events.queue_changed(status.team_id)
    return _queue_out(status)


@router.post("/contact-requests", response_model=ContactReceiptOut, status_code=201)
def create_contact(body: ContactRequestCreate, services: ServicesDep) -> ContactReceiptOut:
    """Store a non-urgent contact request; returns the reference and the promised reply time."""
    team = _team(services, body.team)
    with services.database.writing() as session:
        receipt = create_contact_request(
            session,
            team,
            topic=body.topic,
            message=body.message,
            contact_method=body.contact_method,
            contact_value=body.contact_value,
            consent=body.consent,
            conversation_id=body.conversation_id,
            now=services.now(),
            request_id=body.request_id,
        )
    return ContactReceiptOut(
        reference=receipt.reference,
        team=receipt.team_id,
        reply_within_workdays=receipt.reply_within_workdays,
        reply_by=receipt.reply_by,
        reply_promise=receipt.reply_promise,
    )


@router.post("/feedback", response_model=FeedbackStored, status_code=201)
def create_feedback(body: FeedbackCreate, services: ServicesDep) -> FeedbackStored:
    """Store a rating 1–5 and an optional comment."""
    with services.database.writing() as session:
        feedback_id = store_feedback(
            session,
            rating=body.rating,
            comment=body.comment,
            conversation_id=body.conversation_id,
            now=services.now(),
        )
    return FeedbackStored(id=feedback_id)

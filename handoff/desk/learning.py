"""The learning queue's page for content editors: ``/desk/opetus`` (roles editor and admin).

The queue itself (collection, masking, review, export) is :mod:`handoff.learning`;
this module turns it into what the page shows and adds the page's routes to
the desk's router.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from handoff import learning
from handoff.desk.auth import EDITOR_ROLES, DeskUser
from handoff.desk.statistics import route_name, team_name
from handoff.desk.views import local_time, text
from handoff.errors import InvalidInput
from handoff.runtime import Services
from opastin.routes import default_routes
from opastin.teams import Teams

PAGE = "/desk/opetus"
SOURCE_PARAMETER = "lahde"
# What an editor typed for an item that was refused: the example, the reason, the intent chosen.
Typed = tuple[str, str, str]


@dataclass(frozen=True)
class DeskTools:
    """What the desk's router gives its page modules: database access, the logged-in user, pages."""

    read: Callable[..., Awaitable[Any]]
    write: Callable[..., Awaitable[Any]]
    require_user: Callable[..., Awaitable[DeskUser]]
    checked_form: Callable[..., Awaitable[tuple[DeskUser, Any]]]
    page: Callable[..., Response]
    guarded: Callable[[Any], Any]
    done: Callable[..., Response]


@dataclass(frozen=True)
class IntentOption:
    """An intent an editor may choose, with the topic's name where the routes give one."""

    name: str
    label: str


@dataclass(frozen=True)
class ItemView:
    """One message as the page shows it."""

    id: int
    source: str
    text: str
    received: str
    outcome: tuple[str, ...]
    suggested: str | None
    chosen_topic: str | None
    example: str
    error: str | None = None


@dataclass(frozen=True)
class QueueView:
    """The page: groups of similar messages, the counts, the filter."""

    groups: tuple[tuple[ItemView, ...], ...]
    counts: Mapping[str, int]
    source: str | None
    shown: int
    intents: tuple[IntentOption, ...]
    sources: tuple[str, ...] = field(default=learning.SOURCES)

    @property
    def full(self) -> bool:
        """Whether more messages wait than are shown."""
        return self.shown >= learning.SHOWN_ITEMS


@lru_cache(maxsize=1)
def intent_options() -> tuple[IntentOption, ...]:
    """The intents of the domain, labelled with their topic where ``data/routes.yml`` names one."""
    routed = default_routes().intents
    options = []
    for name in learning.labelled_intents():
        topic = routed.get(name)
        options.append(IntentOption(name, f"{topic.label} ({name})" if topic else name))
    return tuple(options)


def outcome_lines(outcome: Mapping[str, Any], teams: Teams) -> tuple[str, ...]:
    """What became of the message's conversation, in words."""
    route = outcome.get("route")
    lines = [text("desk.learning.outcome_route", route=route_name(route, teams)) if route else ""]
    lines[0] = lines[0] or text("desk.learning.outcome_none")
    if outcome.get("handed_off"):
        lines.append(text("desk.learning.outcome_handed_off"))
    if outcome.get("transferred_to"):
        team = team_name(str(outcome["transferred_to"]), teams)
        lines.append(text("desk.learning.outcome_transferred", team=team))
    return tuple(lines)


def item_view(item: learning.ItemRow, teams: Teams, typed: Mapping[int, Typed]) -> ItemView:
    """An item with its outcome in words; what the editor typed, and why it was refused, are kept."""
    options = {option.name: option.label for option in intent_options()}
    example, error, intent = typed.get(item.id, (item.text, "", item.suggested_intent or ""))
    chosen = options.get(item.suggested_intent or "") if item.source == learning.CLARIFIED else None
    return ItemView(
        item.id,
        item.source,
        item.text,
        local_time(item.created_at),
        outcome_lines(item.outcome, teams),
        intent or None,
        chosen,
        example,
        error or None,
    )


def queue_view(
    session: Session, teams: Teams, source: str | None, typed: Mapping[int, Typed] | None = None
) -> QueueView:
    """The page's content: the waiting messages grouped by similar wording."""
    items = learning.waiting(session, source)
    groups = learning.grouped(items)
    views = tuple(tuple(item_view(item, teams, typed or {}) for item in group) for group in groups)
    return QueueView(views, learning.status_counts(session), source, len(items), intent_options())


def refusal(error: InvalidInput) -> str:
    """What the editor is told when an example cannot be approved."""
    if isinstance(error, learning.ExampleRefused):
        kinds = ", ".join(text(f"desk.learning.kinds.{kind}") for kind in error.kinds)
        return text("desk.learning.refused", kinds=kinds)
    return text("desk.learning.no_intent" if "intent" in error.message else "desk.learning.no_example")


def add_learning_routes(router: APIRouter, tools: DeskTools, services: Services) -> None:
    """``GET /desk/opetus`` (the queue) and ``POST /desk/opetus/{id}`` (approve or reject)."""

    async def show(
        request: Request, user: DeskUser, source: str | None, typed: Mapping[int, Typed]
    ) -> Response:
        view = await tools.read(queue_view, services.teams, source, typed)
        return tools.page(request, "learning.html", 400 if typed else 200, user=user, view=view)

    @router.get("/opetus", response_class=HTMLResponse)
    @tools.guarded
    async def learning_queue(request: Request) -> Response:
        user = await tools.require_user(request, roles=EDITOR_ROLES)
        source = request.query_params.get(SOURCE_PARAMETER)
        return await show(request, user, source if source in learning.SOURCES else None, {})

    @router.post("/opetus/{item_id}", response_class=HTMLResponse)
    @tools.guarded
    async def review(request: Request, item_id: int) -> Response:
        user, form = await tools.checked_form(request, roles=EDITOR_ROLES)
        source = form.get(SOURCE_PARAMETER)
        back = f"{PAGE}?{SOURCE_PARAMETER}={source}&" if source in learning.SOURCES else f"{PAGE}?"
        if form.get("decision") == "reject":
            await tools.write(learning.reject, item_id, user.username, services.now())
            return tools.done(request, f"{back}notice=learning_rejected")
        intent, example = str(form.get("intent") or ""), str(form.get("example") or "")
        names = [option.name for option in intent_options()]
        now = services.now()
        try:
            await tools.write(learning.approve, item_id, intent, example, user.username, now, names)
        except InvalidInput as error:
            shown = source if source in learning.SOURCES else None
            return await show(request, user, shown, {item_id: (example, refusal(error), intent)})
        return tools.done(request, f"{back}notice=learning_approved")

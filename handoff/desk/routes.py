"""The agent desk at ``/desk``: login, presence, queues, live chats, transfers, contact requests,
the statistics (``/desk/tilastot``) and the administrators' page.

Pages are rendered on the server (Jinja2 escapes every text) and work
without scripts; ``desk.js`` adds live updates over the ``/desk`` socket.io
namespace. Every POST needs the session's CSRF token (form field
``csrf_token`` or header ``X-CSRF-Token``). A request that asks for
``application/json`` gets JSON instead of a redirect (the desk script, tests).

Each page names the roles that may use it (:mod:`handoff.desk.auth`): agents
and administrators work with residents, managers and administrators see the
statistics, and a manager's front page is the statistics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from handoff import agents, audit, live, notes, stats
from handoff.api.errors import error_response, status_of
from handoff.counting import local_day
from handoff.desk import learning, periods, situation, statistics, views
from handoff.desk.attachments import add_attachment_routes
from handoff.desk.auth import (
    ADMIN_ROLES,
    ANY_ROLE,
    CHAT_ROLES,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    STATISTICS_ROLES,
    DeskUser,
    end_session,
    load_user,
    login_throttle,
    new_token,
    start_session,
    tokens_match,
)
from handoff.desk.consultation import add_consultation_routes
from handoff.desk.identification import add_identification_routes
from handoff.desk.rooms import add_room_routes, presence_changed
from handoff.desk.socket import MAX_REPLY_CHARS, DeskNamespace
from handoff.errors import Conflict, Forbidden, HandoffError, InvalidInput, NotFound, Unauthorized
from handoff.gateway.hub import Gateway
from handoff.models import Agent
from handoff.runtime import Services
from handoff.web import SECURITY_HEADERS
from opastin import messages

T = TypeVar("T")
Handler = Callable[..., Awaitable[Response]]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
TEMPLATES.env.globals.update(views.template_globals())
TEMPLATES.env.filters.update(statistics.template_filters())
# Argon2 costs ~64 MiB and tens of milliseconds per check: at most this many at once,
# and at most this many more waiting; beyond that a login is refused politely.
HASH_CONCURRENCY = 2
MAX_WAITING_LOGINS = 16
PASSWORD_PAGE = "/desk/password"
CREATABLE_ROLES = ("agent", "manager", "editor")
# Who sees the situation now (/desk/tilanne): agents their teams, managers and administrators all.
SITUATION_ROLES = CHAT_ROLES | STATISTICS_ROLES  # what the administrators' page creates
pause = asyncio.sleep  # the login throttle's wait (replaced in tests)


class PasswordChangeRequired(Forbidden):
    """A generated or reset password must be changed before anything else."""

    code = "password_change_required"


class WrongRole(Forbidden):
    """The page is not for the account's role (e.g. a manager's request for a conversation)."""

    code = "wrong_role"


def wants_json(request: Request) -> bool:
    """True if the client asked for JSON (the desk script and API clients)."""
    return "application/json" in request.headers.get("accept", "")


def _secure(request: Request, services: Services) -> bool:
    return services.settings.secure_cookies or request.url.scheme == "https"


def _with_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _redirect(url: str) -> Response:
    return _with_headers(RedirectResponse(url, status_code=303))


def _done(request: Request, url: str, body: dict[str, Any] | None = None) -> Response:
    """JSON for scripts, otherwise a redirect (POST/redirect/GET)."""
    if wants_json(request):
        return _with_headers(JSONResponse(body or {"ok": True}))
    return _redirect(url)


def create_router(services: Services, gateway: Gateway, sockets: DeskNamespace) -> APIRouter:
    """The desk's routes, bound to the app's services, gateway and desk sockets."""
    router = APIRouter(prefix="/desk", include_in_schema=False)
    limiter = login_throttle(services.settings.redis_url)
    hash_slots = asyncio.Semaphore(HASH_CONCURRENCY)
    waiting_logins = 0

    async def read(operation: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with services.database.reading() as session:
                return operation(session, *args)

        return await run_in_threadpool(run)

    async def write(operation: Callable[..., T], *args: Any) -> T:
        def run() -> T:
            with services.database.writing() as session:
                return operation(session, *args)

        return await run_in_threadpool(run)

    async def current_user(request: Request) -> DeskUser | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        return await read(load_user, token, services.now())

    async def require_user(
        request: Request, pending_password: bool = False, roles: frozenset[str] = CHAT_ROLES
    ) -> DeskUser:
        user = await current_user(request)
        if user is None:
            raise Unauthorized("log in to the desk first")
        if user.must_change_password and not pending_password:
            raise PasswordChangeRequired("change the generated password first")
        if user.role not in roles:
            raise WrongRole(f"not for the role {user.role!r}")
        return user

    async def checked_form(
        request: Request, pending_password: bool = False, roles: frozenset[str] = CHAT_ROLES
    ) -> tuple[DeskUser, FormData]:
        user = await require_user(request, pending_password, roles)
        form = await request.form()
        given = form.get("csrf_token") or request.headers.get("x-csrf-token")
        if not tokens_match(user.csrf_token, given if isinstance(given, str) else None):
            raise Forbidden("the CSRF token is missing or wrong")
        return user, form

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        notice = views.label("notices", request.query_params.get("notice", ""), "") or None
        values = {"notice": notice, **context}
        return _with_headers(TEMPLATES.TemplateResponse(request, name, values, status_code=status))

    def failure(request: Request, error: HandoffError, user: DeskUser | None = None) -> Response:
        if wants_json(request):
            return _with_headers(error_response(status_of(error), error.code, error.message))
        if isinstance(error, Unauthorized):
            return _redirect("/desk/login")
        if isinstance(error, PasswordChangeRequired):
            return _redirect(PASSWORD_PAGE)
        text = views.label("errors", error.code, messages.text("desk.errors.other"))
        return page(request, "error.html", status_of(error), user=user, error=text)

    def guarded(handler: Handler) -> Handler:
        @wraps(handler)
        async def run(request: Request, *args: Any, **kwargs: Any) -> Response:
            try:
                return await handler(request, *args, **kwargs)
            except HandoffError as error:
                return failure(request, error)

        return run

    def form_text(form: FormData, name: str, max_length: int = 200) -> str:
        value = form.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            raise InvalidInput(f"field {name!r} is missing or too long")
        return value.strip()

    @router.get("", response_class=HTMLResponse)
    @guarded
    async def front(request: Request) -> Response:
        user = await require_user(request, roles=ANY_ROLE)
        if not user.sees_chats:
            query = request.url.query
            return _redirect(f"{user.home}?{query}" if query else user.home)
        data = await read(views.overview, services.teams, user, services.now())
        return page(request, "desk.html", user=user, overview=data)

    @router.get("/fragments/overview", response_class=HTMLResponse)
    @guarded
    async def overview_fragment(request: Request) -> Response:
        user = await require_user(request)
        data = await read(views.overview, services.teams, user, services.now())
        if request.query_params.get("osa") == "sivu":  # beside an open conversation
            current = request.query_params.get("nyt", "")
            return page(request, "_side.html", user=user, overview=data, current=current)
        return page(request, "_overview.html", user=user, overview=data)

    @router.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        if await current_user(request) is not None:
            return _redirect("/desk")
        return _login_page(request, None, 200)

    def _login_page(request: Request, error: str | None, status: int) -> Response:
        token = new_token()
        response = page(request, "login.html", status, csrf_token=token, error=error, user=None)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=_secure(request, services),
            path="/desk",
        )
        return response

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        nonlocal waiting_logins
        form = await request.form()
        username = str(form.get("username") or "").strip().lower()[:64]
        password = str(form.get("password") or "")[: agents.MAX_PASSWORD_LENGTH]
        if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), str(form.get("csrf_token") or "")):
            return _login_page(request, messages.text("desk.login.expired"), 403)
        address = request.client.host if request.client else "unknown"
        if waiting_logins >= MAX_WAITING_LOGINS:
            return _login_page(request, messages.text("desk.login.busy"), 429)
        waiting_logins += 1
        try:
            delay = await limiter.before_check(username, address)  # parallel guesses count too
            await pause(delay)
            async with hash_slots:
                verified = await read(_verify, username, password)
        finally:
            waiting_logins -= 1
        if verified is None:
            return _login_page(request, messages.text("desk.login.wrong"), 401)
        token = await write(_log_in, verified, services.now())
        await limiter.after_success(username, address)
        user = await read(load_user, token, services.now())
        home = "/desk" if user is None else user.home
        response = _redirect(PASSWORD_PAGE if user and user.must_change_password else home)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=_secure(request, services),
            path="/",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/desk")
        return response

    @router.get("/password", response_class=HTMLResponse)
    @guarded
    async def password_form(request: Request) -> Response:
        user = await require_user(request, pending_password=True, roles=ANY_ROLE)
        return _password_page(request, user, None, 200)

    def _password_page(request: Request, user: DeskUser, error: str | None, status: int) -> Response:
        return page(
            request,
            "password.html",
            status,
            user=user,
            error=error,
            required=user.must_change_password,
            min_length=agents.MIN_PASSWORD_LENGTH,
        )

    @router.post("/password", response_class=HTMLResponse)
    @guarded
    async def change_password(request: Request) -> Response:
        user, form = await checked_form(request, pending_password=True, roles=ANY_ROLE)
        current, new, repeat = (str(form.get(name) or "") for name in ("current", "new", "repeat"))
        if new != repeat:
            return _password_page(request, user, messages.text("desk.password.differ"), 400)
        try:
            async with hash_slots:
                await write(_change_password, user, current, new, services.now())
        except ValueError as error:
            return _password_page(request, user, str(error), 400)
        await sockets.drop_other_sessions(user.agent_id, user.session_hash)
        return _done(request, "/desk?notice=password")

    @router.post("/logout")
    @guarded
    async def logout(request: Request) -> Response:
        user, _form = await checked_form(request, pending_password=True, roles=ANY_ROLE)
        await write(_log_out, user, request.cookies.get(SESSION_COOKIE), services.now())
        await sockets.drop_session(user.session_hash)
        response = _redirect("/desk/login?notice=loggedout")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @router.post("/presence")
    @guarded
    async def presence(request: Request) -> Response:
        user, form = await checked_form(request)
        team_id = form_text(form, "team")
        present = form.get("present") == "1"
        await write(_set_presence, user.agent_id, team_id, present, services.now())
        services.public_cache.invalidate()
        gateway.queue_changed(team_id)
        await presence_changed(gateway, team_id)  # the consultation rooms' presence lists
        return _done(request, "/desk", {"team": team_id, "present": present})

    @router.post("/accept")
    @guarded
    async def accept(request: Request) -> Response:
        user, form = await checked_form(request)
        team_id = form_text(form, "team")
        chosen = form.get("conversation_id")
        conversation_id = chosen if isinstance(chosen, str) and chosen else None
        conversation = await gateway.accept(user.agent_id, team_id, conversation_id)
        services.public_cache.invalidate()
        if conversation is None:
            return _done(request, "/desk?notice=empty", {"conversation_id": None})
        url = f"/desk/conversations/{conversation.id}"
        return _done(request, url, {"conversation_id": conversation.id})

    @router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
    @guarded
    async def conversation(request: Request, conversation_id: str) -> Response:
        user = await require_user(request)
        view = await write(views.conversation_view, services.teams, user, conversation_id, services.now())
        side = await read(views.overview, services.teams, user, services.now())
        return page(request, "conversation.html", user=user, chat=view, overview=side, current=view.id)

    @router.post("/conversations/{conversation_id}/messages")
    @guarded
    async def reply(request: Request, conversation_id: str) -> Response:
        user, form = await checked_form(request)
        text = form_text(form, "text", MAX_REPLY_CHARS)
        message = await gateway.agent_says(user.agent_id, conversation_id, text)
        return _done(request, f"/desk/conversations/{conversation_id}", {"message": message})

    @router.post("/conversations/{conversation_id}/notes")
    @guarded
    async def add_note(request: Request, conversation_id: str) -> Response:
        user, form = await checked_form(request)
        text = form_text(form, "note", notes.MAX_NOTE_LENGTH)
        note = await write(views.add_note, user, conversation_id, text, services.now())
        url = f"/desk/conversations/{conversation_id}?notice=note#notes-heading"
        return _done(request, url, {"note": {"who": note.who, "at": note.at, "text": note.text}})

    @router.post("/conversations/{conversation_id}/end")
    @guarded
    async def end(request: Request, conversation_id: str) -> Response:
        user, _form = await checked_form(request)
        await gateway.end(user.agent_id, conversation_id)
        return _done(request, "/desk?notice=ended")

    @router.post("/conversations/{conversation_id}/transfer")
    @guarded
    async def transfer(request: Request, conversation_id: str) -> Response:
        user, form = await checked_form(request)
        await gateway.propose_transfer(user.agent_id, conversation_id, form_text(form, "team"))
        return _done(request, f"/desk/conversations/{conversation_id}?notice=transfer")

    @router.get("/teams/{team_id}/contact-requests", response_class=HTMLResponse)
    @guarded
    async def contact_requests(request: Request, team_id: str) -> Response:
        user = await require_user(request)
        rows = await read(views.inbox, user, team_id, services.now())
        team = services.teams.get(team_id)
        team_name = team.name if team is not None else team_id
        return page(request, "inbox.html", user=user, team_id=team_id, team_name=team_name, requests=rows)

    @router.get("/tilanne", response_class=HTMLResponse)
    @guarded
    async def situation_now(request: Request) -> Response:
        user = await require_user(request, roles=SITUATION_ROLES)
        teams_now = await read(situation.situation, services.teams, user, services.now())
        fragment = request.query_params.get("osa") == "taulukko"
        name = "_situation.html" if fragment else "situation.html"
        return page(request, name, user=user, teams_now=teams_now, made=views.local_time(services.now()))

    @router.get("/teams/{team_id}/ended", response_class=HTMLResponse)
    @guarded
    async def ended(request: Request, team_id: str) -> Response:
        user = await require_user(request)
        query = request.query_params.get("q", "")[: views.MAX_QUERY_LENGTH]
        rows = await read(views.ended_chats, user, team_id, query)
        team = services.teams.get(team_id)
        team_name = team.name if team is not None else team_id
        return page(
            request, "ended.html", user=user, team_name=team_name, team_id=team_id, rows=rows, query=query
        )

    @router.post("/contact-requests/{request_id}/handled")
    @guarded
    async def handled(request: Request, request_id: int) -> Response:
        user, form = await checked_form(request)
        note = form.get("note")
        text = note if isinstance(note, str) else ""
        team_id = await write(views.mark_handled, user, request_id, text, services.now())
        await gateway.desk_changed(team_id)
        return _done(request, f"/desk/teams/{team_id}/contact-requests?notice=handled")

    def statistics_form(
        request: Request, user: DeskUser, choice: periods.Choice, error: periods.InvalidChoice
    ) -> Response:
        """The statistics page with only its form and what to fix."""
        message = views.text(error.key, **error.values)
        return statistics_page(request, user, choice, None, message, 400)

    def statistics_page(
        request: Request,
        user: DeskUser,
        choice: periods.Choice,
        view: statistics.StatsView | None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        return page(
            request,
            "statistics.html",
            status,
            user=user,
            choice=choice,
            view=view,
            error=error,
            teams=list(services.teams),
            periods=periods.PERIODS,
            max_days=periods.MAX_DAYS,
            month=view.month if view else f"{local_day(services.now()):%Y-%m}",
        )

    async def report_for(period: periods.Period, team: str | None) -> stats.Report:
        return await read(statistics.load_report, period, team, services.teams)

    def asked(choice: periods.Choice) -> tuple[periods.Period, str | None]:
        today = local_day(services.now())
        return periods.period_of(choice, today), periods.team_of(choice, services.teams.ids)

    @router.get("/tilastot", response_class=HTMLResponse)
    @guarded
    async def statistics_view(request: Request) -> Response:
        user = await require_user(request, roles=STATISTICS_ROLES)
        choice = periods.Choice.from_query(request.query_params)
        try:
            period, team = asked(choice)
        except periods.InvalidChoice as error:
            return statistics_form(request, user, choice, error)
        view = statistics.view_of(await report_for(period, team), period, team, services.teams)
        return statistics_page(request, user, choice, view)

    @router.get("/tilastot/csv")
    @guarded
    async def statistics_csv(request: Request) -> Response:
        user = await require_user(request, roles=STATISTICS_ROLES)
        choice = periods.Choice.from_query(request.query_params)
        try:
            period, team = asked(choice)
        except periods.InvalidChoice as error:
            return statistics_form(request, user, choice, error)
        body = stats.csv_text(await report_for(period, team))
        headers = {"Content-Disposition": f'attachment; filename="{statistics.csv_filename(period, team)}"'}
        return _with_headers(Response(body, media_type="text/csv; charset=utf-8", headers=headers))

    @router.get("/tilastot/kuukausiraportti", response_class=HTMLResponse)
    @guarded
    async def monthly_report(request: Request) -> Response:
        user = await require_user(request, roles=STATISTICS_ROLES)
        choice = periods.Choice.from_query(request.query_params)
        try:
            period = periods.read_month(request.query_params.get("month", ""), local_day(services.now()))
            team = periods.team_of(choice, services.teams.ids)
        except periods.InvalidChoice as error:
            return statistics_form(request, user, choice, error)
        view = statistics.view_of(await report_for(period, team), period, team, services.teams)
        made = statistics.moment_text(services.now())
        return page(request, "statistics_print.html", user=user, view=view, made=made)

    async def admin_page(
        request: Request,
        user: DeskUser,
        shown: dict[str, str] | None = None,
        error: str | None = None,
        status: int = 200,
    ) -> Response:
        accounts = await read(views.accounts)
        teams = list(services.teams)
        return page(
            request,
            "admin.html",
            status,
            user=user,
            accounts=accounts,
            teams=teams,
            shown_password=shown,
            error=error,
        )

    @router.get("/admin", response_class=HTMLResponse)
    @guarded
    async def admin(request: Request) -> Response:
        return await admin_page(request, await require_user(request, roles=ADMIN_ROLES))

    @router.post("/admin/accounts", response_class=HTMLResponse)
    @guarded
    async def create_account(request: Request) -> Response:
        user, form = await checked_form(request, roles=ADMIN_ROLES)
        username = form_text(form, "username", 64).strip().lower()
        display_name = form_text(form, "display_name", 128).strip()
        role = str(form.get("role") or "agent")
        if role not in CREATABLE_ROLES:
            raise InvalidInput(f"role: one of {', '.join(CREATABLE_ROLES)}")
        team_ids = [str(team) for team in form.getlist("team")]
        password = agents.generate_password()
        try:
            await write(
                _create_account,
                username,
                display_name,
                role,
                team_ids,
                password,
                user.username,
                services.now(),
                services.teams.ids,
            )
        except Conflict:
            return await admin_page(request, user, error=messages.text("desk.accounts.taken"), status=409)
        except agents.TeamsNotAllowed:
            error = views.text(f"desk.accounts.{role}_teams")
            return await admin_page(request, user, error=error, status=400)
        except ValueError:
            return await admin_page(request, user, error=messages.text("desk.accounts.rules"), status=400)
        return await admin_page(request, user, {"username": username, "password": password})

    @router.post("/admin/accounts/{username}/password", response_class=HTMLResponse)
    @guarded
    async def reset_password(request: Request, username: str) -> Response:
        user, _form = await checked_form(request, roles=ADMIN_ROLES)
        password = agents.generate_password()
        await write(agents.reset_password, username, password, services.now(), user.username)
        await sockets.revalidate()
        return await admin_page(request, user, {"username": username, "password": password})

    @router.post("/admin/accounts/{username}/{change}")
    @guarded
    async def set_active(request: Request, username: str, change: str) -> Response:
        user, form = await checked_form(request, roles=ADMIN_ROLES)
        if change == "teams":
            team_ids = [str(team) for team in form.getlist("team")]
            try:
                await write(
                    agents.set_teams, username, team_ids, services.now(), user.username, services.teams.ids
                )
            except ValueError as error:
                raise InvalidInput(str(error)) from None
        elif change in ("activate", "deactivate"):
            if username == user.username:
                raise Forbidden("administrators do not lock themselves out")
            await write(agents.set_active, username, change == "activate", services.now(), user.username)
        else:
            raise NotFound(f"no such change: {change}")
        await sockets.revalidate()
        for team in services.teams:
            gateway.queue_changed(team.id)
        return _done(request, "/desk/admin?notice=account", {"username": username, "change": change})

    tools = learning.DeskTools(read, write, require_user, checked_form, page, guarded, _done)
    learning.add_learning_routes(router, tools, services)
    add_identification_routes(router, tools, services, gateway)  # "Pyydä tunnistautumista"
    add_attachment_routes(router, tools, services, gateway)  # "Lataa liite"
    add_consultation_routes(router, tools, services, gateway)  # "Pyydä kollegaa konsultoimaan"
    add_room_routes(router, tools, services, gateway)  # "Huoneet": consultation rooms
    return router


def _create_account(
    session: Any,
    username: str,
    display_name: str,
    role: str,
    team_ids: list[str],
    password: str,
    actor: str,
    now: Any,
    known_teams: tuple[str, ...],
) -> None:
    agents.create_agent(
        session,
        username,
        password,
        now,
        display_name=display_name,
        role=role,
        team_ids=team_ids,
        actor=actor,
        must_change_password=True,
        known_teams=known_teams,
    )


def _verify(session: Any, username: str, password: str) -> tuple[int, str | None] | None:
    return agents.verify_credentials(session, username, password)


def _log_in(session: Any, verified: tuple[int, str | None], now: Any) -> str:
    agent_id, new_hash = verified
    agent = session.get(Agent, agent_id)
    if new_hash is not None:
        agent.password_hash = new_hash
    audit.record(session, agent.username, "agent.login", agent.username, now)
    return start_session(session, agent, now)


def _change_password(session: Any, user: DeskUser, current: str, new: str, now: Any) -> None:
    agent = views.agent_of(session, user.agent_id)
    agents.change_password(session, agent, current, new, now, keep_session=user.session_hash)


def _log_out(session: Any, user: DeskUser, token: str | None, now: Any) -> None:
    end_session(session, token)
    audit.record(session, user.username, "agent.logout", user.username, now)


def _set_presence(session: Any, agent_id: int, team_id: str, present: bool, now: Any) -> None:
    agent = views.agent_of(session, agent_id)
    live.check_member(agent, team_id)
    if present:
        agents.set_presence(session, agent, team_id, now)
    else:
        agents.clear_presence(session, agent, now, team_id)

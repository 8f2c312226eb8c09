"""Domain errors of the handoff service.

Each error carries a machine-readable ``code``; :mod:`handoff.api.errors` maps
the classes to HTTP statuses in one place.
"""

from __future__ import annotations


class HandoffError(Exception):
    """Base class of expected, explainable failures."""

    code = "handoff_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(HandoffError):
    """An unknown team, conversation or other object."""

    code = "not_found"


class UnknownTeam(NotFound):
    """The team id is not one of the configured teams."""

    code = "unknown_team"


class UnknownConversation(NotFound):
    """No handoff exists for the conversation id."""

    code = "unknown_conversation"


class Conflict(HandoffError):
    """The request is valid but the current state does not allow it."""

    code = "conflict"


class TeamClosed(Conflict):
    """The team's chat is closed now."""

    code = "team_closed"


class NobodyPresent(Conflict):
    """The team is open but no professional is present."""

    code = "nobody_present"


class QueueFull(Conflict):
    """The team's queue is as long as its capacity."""

    code = "queue_full"


class AlreadyQueued(Conflict):
    """The conversation already has a handoff that is queued or active."""

    code = "already_queued"


class NotQueued(Conflict):
    """The conversation is not waiting in a queue."""

    code = "not_queued"


class Unauthorized(HandoffError):
    """Missing or wrong credentials."""

    code = "unauthorized"


class Forbidden(HandoffError):
    """The caller is known but not allowed to do this."""

    code = "forbidden"


class NotActive(Conflict):
    """The conversation is not in a live chat with this agent (not accepted, or already ended)."""

    code = "not_active"


class AgentBusy(Conflict):
    """The agent already has as many live chats as the team allows per agent."""

    code = "agent_busy"


class BotUnavailable(HandoffError):
    """The Rasa server did not answer in time or answered with an error."""

    code = "bot_unavailable"


class ServiceUnavailable(HandoffError):
    """The database is out of reach: nothing was stored; the same request may be sent again."""

    code = "unavailable"


class InvalidInput(HandoffError):
    """A form field is missing, empty or too long."""

    code = "invalid_request"

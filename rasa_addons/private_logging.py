"""Rasa's logs without the residents' words.

Rasa logs through structlog. When its output is not a terminal (always, under
``make run``) it renders exceptions with :func:`structlog.processors.dict_tracebacks`,
whose frames carry every local variable: the message, the tracker, slot values.
Several of its events also carry the message text as a field (for example
``rest.message.received.failure``), and its own anonymiser only works with a
commercial plugin.

:func:`keep_logs_private` rewrites Rasa's structlog processor chain in place
(loggers already in use keep a reference to the same list): fields that may
hold what a resident wrote are replaced by ``[redacted]``, and tracebacks keep
their frames but lose the locals and the exception messages (a database
error's message may quote the row). Standard-library records get the same
treatment (:mod:`opastin.logsafe`).
"""

from __future__ import annotations

from typing import Any

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from opastin.logsafe import withhold_exception_messages

REDACTED = "[redacted]"
# Rasa's own list of anonymisable keys (rasa.utils.log_utils) and a few more.
PRIVATE_KEYS = frozenset(
    """
    text response_text user_text slot_values parse_data_text parse_data_entities prediction_events
    tracker_latest_message prefilled_slots message response slot_candidates rasa_event rasa_events
    tracker_states current_states old_states successes current_entity next_entity states entity
    token_text user_message json_message metadata events tracker slots value slot_value utter_action
    """.split()
)


def redact_private_fields(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Replace every field that may hold a resident's words by :data:`REDACTED`."""
    for key in PRIVATE_KEYS.intersection(event_dict):
        event_dict[key] = REDACTED
    return event_dict


_TRACEBACKS_WITHOUT_LOCALS = structlog.processors.ExceptionRenderer(
    ExceptionDictTransformer(show_locals=False)
)


def withhold_exception_values(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Keep a rendered traceback's types and frames, not its exception messages."""
    for exception in event_dict.get("exception") or ():
        if isinstance(exception, dict) and "exc_value" in exception:
            exception["exc_value"] = REDACTED
    return event_dict


def keep_logs_private() -> None:
    """Make Rasa's structlog chain redact private fields and drop traceback locals (idempotent)."""
    processors: list[Any] = structlog.get_config()["processors"]
    rewritten: list[Any] = []
    for processor in processors:
        if processor in (redact_private_fields, withhold_exception_values):
            continue
        if processor is structlog.processors.dict_tracebacks or processor is _TRACEBACKS_WITHOUT_LOCALS:
            rewritten += [_TRACEBACKS_WITHOUT_LOCALS, withhold_exception_values]
        else:
            rewritten.append(processor)
    processors[:] = [redact_private_fields, *rewritten]
    withhold_exception_messages()

"""Action server responses are checked by one compiled validator, as strictly as Rasa's own check."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import rasa_addons  # noqa: F401  (importing the package installs the check)
from rasa_addons.action_validation import INVALID_RESPONSE_HINT, response_validator, validate_action_result

VALID_RESPONSES: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {
        "events": [
            {"event": "slot", "name": "route_type", "value": "team", "timestamp": None},
            {"event": "active_loop", "name": "contact_request_form"},
            {"event": "followup", "name": "action_listen"},
        ],
        "responses": [{"text": "Ohjaan sinut Terveysneuvoon.", "custom": {"route": {"type": "team"}}}],
    },
    {"responses": [{"response": "utter_emergency_112"}]},
]

INVALID_RESPONSES: list[dict[str, Any]] = [
    {"events": "slot"},
    {"events": [{"name": "route_type", "value": "team"}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [], "responses": ["Ohjaan sinut"]},
]


def rasa_verdict(response: dict[str, Any]) -> bool:
    """What Rasa's one-shot ``jsonschema.validate`` says of a response."""
    try:
        jsonschema.validate(response, RemoteAction.action_response_format_spec())
    except jsonschema.ValidationError:
        return False
    return True


def test_importing_rasa_addons_installs_the_check_on_every_remote_action() -> None:
    assert RemoteAction._validate_action_result is validate_action_result


@pytest.mark.parametrize("response", VALID_RESPONSES)
def test_a_valid_response_is_accepted_as_by_rasa(response: dict[str, Any]) -> None:
    assert rasa_verdict(response)
    assert RemoteAction("action_route", None)._validate_action_result(response) is True


@pytest.mark.parametrize("response", INVALID_RESPONSES)
def test_an_invalid_response_is_rejected_as_by_rasa_with_its_hint(response: dict[str, Any]) -> None:
    assert not rasa_verdict(response)
    with pytest.raises(jsonschema.ValidationError) as raised:
        RemoteAction("action_route", None)._validate_action_result(response)
    assert raised.value.message.endswith(INVALID_RESPONSE_HINT)


def test_the_schema_is_compiled_once() -> None:
    assert response_validator() is response_validator()

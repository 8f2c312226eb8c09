"""Check action server responses with one compiled JSON Schema validator.

Rasa 3.6's ``RemoteAction`` checks every action server response with
``jsonschema.validate(result, schema)``. That helper first validates the
*schema itself* against the JSON Schema meta-schema, on every call, and throws
the work away; with Rasa's large events schema this was half of the Rasa
server's CPU time per message (py-spy over ``scripts/bench_nlu.py``, see
docs/nlu.md "Latency"). The schema never changes, so it is checked once and
the validator reused. Responses are validated exactly as strictly as before
and an invalid one raises the same ``ValidationError`` with Rasa's hint.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

INVALID_RESPONSE_HINT = (
    ". Failed to validate Action server response from API, make sure your response from the Action "
    f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
)


@cache
def response_validator() -> Validator:
    """The validator of action server responses, its schema checked once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result``: True or ``ValidationError``."""
    try:
        response_validator().validate(result)
    except ValidationError as error:
        error.message += INVALID_RESPONSE_HINT
        raise
    return True


def install() -> None:
    """Make every ``RemoteAction`` use the compiled validator (idempotent)."""
    RemoteAction._validate_action_result = validate_action_result

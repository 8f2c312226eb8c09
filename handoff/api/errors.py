"""JSON error responses, and the one place that maps domain errors to HTTP.

Every error has the shape ``{"error": {"code": "...", "message": "..."}}``;
validation errors add ``"details"``: a list of ``{"field", "message"}``.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from handoff.errors import Conflict, Forbidden, HandoffError, NotFound, ServiceUnavailable, Unauthorized

logger = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[HandoffError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    ServiceUnavailable: 503,
}
JSON_DECODE_ERRORS = {"json_invalid", "value_error.jsondecode"}
CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int, code: str, message: str, details: list[dict[str, str]] | None = None
) -> JSONResponse:
    """A JSON error response of the common shape."""
    body: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def status_of(error: HandoffError) -> int:
    """HTTP status of a domain error (the most specific mapped base class wins)."""
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


# Starlette types every handler as taking any ``Exception``; each is registered for one class only.


async def _handoff_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HandoffError)
    return error_response(status_of(error), error.code, error.message)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = error.errors()
    if any(problem.get("type") in JSON_DECODE_ERRORS for problem in problems):
        return error_response(422, "malformed_json", "The request body is not valid JSON.")
    details = [
        {
            "field": ".".join(str(part) for part in problem.get("loc", ()) if part != "body"),
            "message": str(problem.get("msg", "")),
        }
        for problem in problems
    ]
    return error_response(422, "invalid_request", "The request is not valid; see details.", details)


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    code = CODE_BY_STATUS.get(error.status_code, "http_error")
    response = error_response(error.status_code, code, str(error.detail))
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _unexpected_error(_request: Request, error: Exception) -> JSONResponse:
    logger.exception("unexpected error", exc_info=error)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""
    app.add_exception_handler(HandoffError, _handoff_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

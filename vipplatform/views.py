"""Views every app stands on: health probes and the JSON error pages of the API paths."""

import logging
import sys
from http import HTTPStatus

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from .api import (
    ENVELOPE_MESSAGES,
    error_body,
    error_status,
    is_api_path,
    is_envelope_path,
    mark_server_error,
)

logger = logging.getLogger(__name__)


def healthz(request) -> JsonResponse:
    """The process is up (no database work)."""
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    """The database answers (else 503: take this server out of rotation). The cache's state is
    reported too, but a cache that is down keeps the server in rotation: it serves from the
    database meanwhile."""
    body = {"status": "ok", "database": "up", "cache": _cache_state()}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.error("readiness check failed: %s", exc)
        body.update(status="unavailable", database="down")
        return JsonResponse(body, status=HTTPStatus.SERVICE_UNAVAILABLE)
    return JsonResponse(body)


def _cache_state() -> str:
    available = getattr(cache, "available", None)
    if available is None:
        return "local"  # the per-process memory cache: nothing to reach
    return "up" if available() else "down"


def json_error(request, status: int, message: str) -> JsonResponse:
    """An error of an API path outside DRF, in that path's format and HTTP status."""
    if is_envelope_path(request.path):
        message = ENVELOPE_MESSAGES.get(status, message)
    response = JsonResponse(
        error_body(path=request.path, status=status, message=message),
        status=error_status(request.path, status),
        json_dumps_params={"ensure_ascii": False},
    )
    return mark_server_error(response, status)


def page_not_found(request, exception):
    # An unknown path answers HTTP 404 on every API family: no view is there to speak its
    # protocol, and the old front end shows 请求的资源不存在 for it.
    if is_api_path(request.path):
        return JsonResponse(
            error_body(path=request.path, status=HTTPStatus.NOT_FOUND, message="资源不存在"),
            status=HTTPStatus.NOT_FOUND,
            json_dumps_params={"ensure_ascii": False},
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    """An unexpected exception (a bug). Django logs it by the answer's status, and an envelope
    path answers HTTP 200 (code 500): so it is logged here, at ERROR with its traceback (this
    runs inside Django's `except`), and Django's own line is skipped."""
    if not is_api_path(request.path):
        return defaults.server_error(request)
    logger.error("unexpected error on %s %s", request.method, request.path, exc_info=sys.exc_info())
    response = json_error(request, HTTPStatus.INTERNAL_SERVER_ERROR, "服务器内部错误")
    response._has_been_logged = True  # Django's log_response: this one already is
    return response


@csrf_exempt  # an answer that changes nothing needs no CSRF check (it would answer HTML)
def api_not_found(request, path: str = ""):
    """Every unknown path under /api/ answers JSON in its family's format, DEBUG or not."""
    return page_not_found(request, None)

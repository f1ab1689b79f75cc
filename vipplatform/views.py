"""Views of the project itself: health probes and the JSON error pages of the API paths."""

import logging
from http import HTTPStatus

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views import defaults

from .api import ENVELOPE_MESSAGES, error_body, error_status, is_envelope_path

logger = logging.getLogger(__name__)


def healthz(request) -> JsonResponse:
    """The process is up (no database work)."""
    return JsonResponse({"status": "ok"})


def readyz(request) -> JsonResponse:
    """The database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.error("readiness check failed: %s", exc)
        return JsonResponse(
            {"status": "unavailable", "database": "down"}, status=HTTPStatus.SERVICE_UNAVAILABLE
        )
    return JsonResponse({"status": "ok", "database": "up"})


def json_error(request, status: int, message: str) -> JsonResponse:
    """An error of an API path outside DRF, in that path's format and HTTP status."""
    if is_envelope_path(request.path):
        message = ENVELOPE_MESSAGES.get(status, message)
    return JsonResponse(
        error_body(path=request.path, status=status, message=message),
        status=error_status(request.path, status),
        json_dumps_params={"ensure_ascii": False},
    )


def page_not_found(request, exception):
    # An unknown path answers HTTP 404 on every API family: no view is there to speak its
    # protocol, and the old front end shows 请求的资源不存在 for it.
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(path=request.path, status=HTTPStatus.NOT_FOUND, message="资源不存在"),
            status=HTTPStatus.NOT_FOUND,
            json_dumps_params={"ensure_ascii": False},
        )
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return json_error(request, HTTPStatus.INTERNAL_SERVER_ERROR, "服务器内部错误")
    return defaults.server_error(request)

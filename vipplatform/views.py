"""Views of the project itself: health probes and the JSON error pages of the API paths."""

import logging
from http import HTTPStatus

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views import defaults

from .api import error_body

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


def _json_error(request, status: int, message: str) -> JsonResponse:
    return JsonResponse(
        error_body(path=request.path, status=status, message=message),
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def page_not_found(request, exception):
    if request.path.startswith("/api/"):
        return _json_error(request, HTTPStatus.NOT_FOUND, "资源不存在")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return _json_error(request, HTTPStatus.INTERNAL_SERVER_ERROR, "服务器内部错误")
    return defaults.server_error(request)

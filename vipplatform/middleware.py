import logging
from http import HTTPStatus

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

from .api import error_body

logger = logging.getLogger(__name__)


class DatabaseUnavailableMiddleware:
    """A database that does not answer is a 503 with Retry-After, not a 500: in the API's error
    format on API paths, plain text elsewhere. (DRF views answer the same through the API's
    exception handler; this covers the pages and whatever runs before a view.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable on %s: %s", request.path, exception)
        message = "服务暂时不可用，请稍后重试"
        status = HTTPStatus.SERVICE_UNAVAILABLE
        if request.path.startswith("/api/"):
            response = JsonResponse(
                error_body(path=request.path, status=status, message=message),
                status=status,
                json_dumps_params={"ensure_ascii": False},
            )
        else:
            response = HttpResponse(
                message, status=status, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = "5"
        return response

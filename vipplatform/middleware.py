from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from django_prometheus import middleware as prometheus

from .api import database_unavailable, is_api_path
from .views import json_error


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
        status, message, headers = database_unavailable(request.path, exception)
        if is_api_path(request.path):
            response = json_error(request, status, message)
        else:
            response = HttpResponse(
                message, status=status, content_type="text/plain; charset=utf-8"
            )
        response.headers.update(headers)
        return response


class PrivateApiAnswersMiddleware:
    """API answers carry personal data (orders, profiles), and so does every page a logged-in
    user is shown: no cache along the way may keep them (`Cache-Control: private, no-store`).
    An answer that set its own caching (the QR code image) keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        if is_api_path(request.path) or (user is not None and user.is_authenticated):
            add_never_cache_headers(response)
        return response


class PrometheusAfterMiddleware(prometheus.PrometheusAfterMiddleware):
    """django-prometheus's request metrics, where an envelope answer (always HTTP 200) whose
    code is a server error counts as that status (`vipplatform.api.mark_server_error`)."""

    def label_metric(self, metric, request, response=None, **labels):
        if "status" in labels and hasattr(response, "counted_status"):
            labels["status"] = str(response.counted_status)
        return super().label_metric(metric, request, response, **labels)

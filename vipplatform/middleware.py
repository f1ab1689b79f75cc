import logging
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers

from users.backends import cache_key as user_cache_key

from .api import is_api_path
from .views import json_error

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
        if is_api_path(request.path):
            response = json_error(request, status, message)
        else:
            response = HttpResponse(
                message, status=status, content_type="text/plain; charset=utf-8"
            )
        response["Retry-After"] = "5"
        return response


class PrivateApiAnswersMiddleware:
    """API answers carry personal data (orders, profiles): no cache along the way may keep
    them (`Cache-Control: no-store`). An answer that set its own caching (the public QR code
    image) keeps it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api_path(request.path) and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class CacheReadAheadMiddleware:
    """Before a view runs, fetch the cache entries it will read in one round trip (see
    `vipplatform.cache`): the session, the session's user, and what the view names with a
    `cache_reads(**view_kwargs)` (a static method, or an attribute of a function view).

    The user's id is inside the session, unknown until it is read, so each process remembers
    which user a session key had last time. That is only a guess at a key to fetch: a wrong or
    missing guess costs the round trip it would have cost anyway, and nothing is taken from it.
    """

    MAX_REMEMBERED = 10_000

    def __init__(self, get_response):
        self.get_response = get_response
        self._session_users: dict[str, str] = {}

    def __call__(self, request):
        cache = caches[DEFAULT_CACHE_ALIAS]
        if not hasattr(cache, "read_ahead"):
            return self.get_response(request)
        try:
            response = self.get_response(request)
        finally:
            cache.end_read_ahead()
        self._remember_session_user(request)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        cache = caches[DEFAULT_CACHE_ALIAS]
        if not settings.READ_CACHE or not hasattr(cache, "read_ahead"):
            return None
        keys = self._session_keys(request)
        view = getattr(view_func, "view_class", view_func)  # class-based or a function
        cache_reads = getattr(view, "cache_reads", None)
        if cache_reads is not None:
            keys += cache_reads(**view_kwargs)
        if keys:
            cache.read_ahead(keys)
        return None

    def _session_keys(self, request) -> list[str]:
        session = getattr(request, "session", None)
        prefix = getattr(session, "cache_key_prefix", None)  # a session kept in the cache
        if prefix is None or settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS:
            return []
        session_key = session.session_key
        if not session_key:
            return []
        keys = [prefix + session_key]
        user_id = self._session_users.get(session_key)
        if user_id is not None:
            keys.append(user_cache_key(user_id))
        return keys

    def _remember_session_user(self, request) -> None:
        session = getattr(request, "session", None)
        if session is None or not session.accessed or not session.session_key:
            return
        user_id = session.get(SESSION_KEY)
        if user_id is None:
            self._session_users.pop(session.session_key, None)
            return
        if len(self._session_users) >= self.MAX_REMEMBERED:
            self._session_users.clear()
        self._session_users[session.session_key] = user_id

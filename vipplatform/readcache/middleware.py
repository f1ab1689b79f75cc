"""Read-ahead: one Redis round trip for what a request will read."""

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import DEFAULT_CACHE_ALIAS, caches

from .keys import order_key, user_key

# What a view reads from the cache besides the session and its user, by URL name.
READS = {
    "payments:status": lambda order_number: [order_key(order_number)],
    "floor-status": lambda order_number: [order_key(order_number)],  # bench/floor.py
}


class ReadAheadMiddleware:
    """Before a view runs, fetch the cache entries it will read in one round trip (see
    `backend.py`): the session, the session's user, and for the views in `READS` what they
    read (the status poll: its order). Installed only with `READ_CACHE` on.

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
        match = request.resolver_match
        reads = READS.get(match.view_name) if match is not None else None
        if reads is not None:
            keys += reads(**view_kwargs)
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
            keys.append(user_key(user_id))
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

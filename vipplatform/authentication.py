from rest_framework import authentication
from rest_framework.permissions import SAFE_METHODS


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session cookie, answering 401 (not DRF's 403) when it is missing."""

    def authenticate_header(self, request) -> str:
        return "Session"

    def enforce_csrf(self, request) -> None:
        # Django's CSRF check accepts every safe method before it looks at a token; DRF runs the
        # whole check anyway (parsing the CSRF cookie), 16 µs of a 0.55 ms status poll.
        if request.method not in SAFE_METHODS:
            super().enforce_csrf(request)

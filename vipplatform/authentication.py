from rest_framework import authentication


class SessionAuthentication(authentication.SessionAuthentication):
    """Django's session cookie, answering 401 (not DRF's 403) when it is missing."""

    def authenticate_header(self, request) -> str:
        return "Session"

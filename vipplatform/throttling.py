"""Limits on abuse (DRF throttles; counts live in the default cache: use Redis in production
so that every worker shares them). The gateway callback is never throttled: a gateway's resends
must not be dropped."""

import hashlib

from rest_framework.throttling import SimpleRateThrottle


class OrderCreateThrottle(SimpleRateThrottle):
    """Orders created per user."""

    scope = "order_create"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class LoginAddressThrottle(SimpleRateThrottle):
    """Login attempts per client address (REMOTE_ADDR, or X-Forwarded-For behind
    `DJANGO_NUM_PROXIES` trusted proxies)."""

    scope = "login_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(SimpleRateThrottle):
    """Login attempts per username, from wherever they come (password guessing spread over
    many addresses)."""

    scope = "login_username"

    def get_cache_key(self, request, view):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username:
            return None  # nothing to count; validation answers 400
        # Hashed: a username may hold any character, a cache key may not.
        ident = hashlib.sha256(username.lower().encode("utf-8", "replace")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}

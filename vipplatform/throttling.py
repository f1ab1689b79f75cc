"""Limits on abuse (DRF throttles). The counts live in `caches["throttle"]`, which every
process and host shares: the shared Redis cache when `CACHE_URL` is set, else the database
(config/settings/base.py). The gateway callback is never throttled: a gateway's resends
must not be dropped."""

import hashlib
import unicodedata

from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.utils.connection import ConnectionProxy
from rest_framework import throttling

from .exceptions import TooManyRequests

shared_counts = ConnectionProxy(caches, "throttle")


class SimpleRateThrottle(throttling.SimpleRateThrottle):
    """DRF's throttle, counting in the shared store."""

    cache = shared_counts


class ScopedRateThrottle(throttling.ScopedRateThrottle):
    """DRF's per-view scope (`throttle_scope`), counting in the shared store."""

    cache = shared_counts


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


class LoginAccountThrottle(SimpleRateThrottle):
    """Login attempts per account, from wherever they come (password guessing spread over many
    addresses). Keyed on the account the database matches the username to: its collation takes
    "bob", "Bob ", "böb" and a full-width "bob" for one name, so no spelling of it gets an
    allowance of its own. A name that matches no account is keyed on its case-folded NFKC
    form."""

    scope = "login_username"

    def __init__(self, username: str):
        super().__init__()
        self.username = username

    def get_cache_key(self, request, view):
        account = (
            get_user_model()
            ._default_manager.filter(**{get_user_model().USERNAME_FIELD: self.username[:150]})
            .values_list("pk", flat=True)
            .first()
        )
        if account is not None:
            ident = f"account-{account}"
        else:
            name = unicodedata.normalize("NFKC", self.username).casefold().strip()
            ident = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


def login_wait(request, username: str) -> float | None:
    """Count a login attempt; the seconds to wait when it is one too many, else None.

    Every way to log in goes through this (the authentication backend calls it): the API, the
    site's form, the browsable API's form and the admin's share one allowance."""
    for throttle in (LoginAddressThrottle(), LoginAccountThrottle(username)):
        if not throttle.allow_request(request, None):
            return throttle.wait() or 1.0
    return None


class RegistrationThrottle(SimpleRateThrottle):
    """Sign-ups per client address (each costs a password hash: a loop of them is a denial
    of service), for the API and the sign-up page alike."""

    scope = "register"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class EmailChangeAccountThrottle(SimpleRateThrottle):
    """Attempts to change an account's email: each answer tells whether an address is
    registered, so they are limited as sign-ups are (per account here, per address below)."""

    scope = "email_change"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class EmailChangeAddressThrottle(SimpleRateThrottle):
    scope = "email_change"

    def get_cache_key(self, request, view):
        return self.cache_format % {
            "scope": "email_change_address",
            "ident": self.get_ident(request),
        }


def check_email_change(request) -> None:
    """Count an attempt to change the requester's email; `TooManyRequests` past the limit."""
    for throttle in (EmailChangeAccountThrottle(), EmailChangeAddressThrottle()):
        if not throttle.allow_request(request, None):
            raise TooManyRequests(throttle.wait() or 1.0)


class RefusedNotificationThrottle(SimpleRateThrottle):
    """Refused gateway notifications recorded per sender address. It never refuses a request
    (a real gateway's verified notifications are not counted): past the rate, a refusal is
    answered and logged but not stored."""

    scope = "notification_refused"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

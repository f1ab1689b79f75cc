"""Authentication: every login attempt counted against one throttle (whichever page or API it
comes through), and the session's user read from the shared cache when
`settings.READ_CACHE` is on (one database query less on every authenticated request).

Like the order-status cache: readers `add`; every save of a user (and every batch update of
the VIP columns) re-reads the committed rows after commit and `set`s them, so a new expiry, a
new password hash or a disabled account is what the next request sees. The VIP services, which
hold the user's row lock, `set` the user they changed without reading it again.
"""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction

from vipplatform.throttling import login_wait

from .models import User

TTL_SECONDS = 300


def cache_key(user_id) -> str:
    return f"user:v1:{user_id}"


class LoginThrottled(PermissionDenied):
    """Raised by the backend: Django's `authenticate` then tries no other backend and answers
    None; the views read `request.login_throttled` to say why."""


class CachedModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and isinstance(username, str):
            wait = login_wait(request, username)
            if wait is not None:
                request.login_throttled = wait
                raise LoginThrottled()
        return super().authenticate(request, username, password, **kwargs)

    def get_user(self, user_id):
        if not settings.READ_CACHE:
            return super().get_user(user_id)
        user = cache.get(cache_key(user_id))
        if user is None:
            user = User._default_manager.filter(pk=user_id).first()
            if user is None:
                return None
            cache.add(cache_key(user_id), user, TTL_SECONDS)
        return user if self.user_can_authenticate(user) else None


def users_changed(user_ids: Iterable[int]) -> None:
    """Call inside the transaction that changes the users."""
    if settings.READ_CACHE:
        ids = list(user_ids)
        transaction.on_commit(lambda: _refresh(ids))


def user_changed(user: User) -> None:
    """Call inside the transaction that changes `user`, holding its row lock (so the instance
    is what commits)."""
    if settings.READ_CACHE:
        transaction.on_commit(lambda: cache.set(cache_key(user.pk), user, TTL_SECONDS))


def _refresh(user_ids: list[int]) -> None:
    fresh = User._default_manager.in_bulk(user_ids)
    cache.set_many({cache_key(pk): user for pk, user in fresh.items()}, TTL_SECONDS)
    cache.delete_many([cache_key(pk) for pk in user_ids if pk not in fresh])


def refresh_cached_user(sender, instance: User, **kwargs) -> None:
    """post_save / post_delete of a user."""
    users_changed([instance.pk])

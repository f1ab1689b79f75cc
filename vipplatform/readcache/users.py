"""The session's user, read from the cache when `settings.READ_CACHE` is on (one database
query less on every authenticated request).

Like the order status: readers `add`; every save of a user (and every batch update of the VIP
columns) re-reads the committed rows after commit and `set`s them, so a new expiry, a new
password hash or a disabled account is what the next request sees. The VIP services, which
hold the user's row lock, `set` the user they changed without reading it again.
"""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction

from .keys import TTL_SECONDS, user_key


def cached_user(user_id, *, load: Callable):
    """The user `user_id`, from the cache or else `load()`; None when there is none."""
    if not settings.READ_CACHE:
        return load()
    user = cache.get(user_key(user_id))
    if user is None:
        user = load()
        if user is not None:
            cache.add(user_key(user_id), user, TTL_SECONDS)
    return user


def users_changed(user_ids: Iterable[int]) -> None:
    """Call inside the transaction that changes the users."""
    if settings.READ_CACHE:
        ids = list(user_ids)
        transaction.on_commit(lambda: _refresh(ids))


def user_changed(user) -> None:
    """Call inside the transaction that changes `user`, holding its row lock (so the instance
    is what commits)."""
    if settings.READ_CACHE:
        transaction.on_commit(lambda: cache.set(user_key(user.pk), user, TTL_SECONDS))


def _refresh(user_ids: list[int]) -> None:
    fresh = get_user_model()._default_manager.in_bulk(user_ids)
    cache.set_many({user_key(pk): user for pk, user in fresh.items()}, TTL_SECONDS)
    cache.delete_many([user_key(pk) for pk in user_ids if pk not in fresh])


def user_saved(sender, instance, **kwargs) -> None:
    """post_save / post_delete of a user (connected by `ReadCacheConfig`)."""
    users_changed([instance.pk])

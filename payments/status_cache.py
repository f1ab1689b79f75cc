"""The order-status read (the status poll's), cached when `settings.READ_CACHE` is on
(`vipplatform.readcache`: the cache, its keys and the read-ahead).

Readers fill the cache with `add` (never overwriting); every change of an order's status `set`s
the order after commit, so a reader that fetched the row just before a payment cannot put the
old status back over the new one. The changes are made holding the order's row lock, so the
order as the change left it is what committed: it is cached without being read again. Expiry
needs no write: the effective status is computed from the cached deadline at read time.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from vipplatform.readcache.keys import TTL_SECONDS, order_key

from .models import VipOrder, effective_status

FIELDS = ("order_number", "user_id", "status", "amount", "expire_time")


@dataclass(frozen=True, slots=True)
class CachedOrderStatus:
    order_number: str
    user_id: int
    status: int
    amount: Decimal
    expire_time: datetime | None

    def effective_status(self) -> int:
        return effective_status(self.status, self.expire_time)


def load(order_number: str) -> CachedOrderStatus | None:
    row = VipOrder.objects.filter(order_number=order_number).values(*FIELDS).first()
    return CachedOrderStatus(**row) if row else None


def order_status(order_number: str) -> CachedOrderStatus | None:
    if settings.READ_CACHE:
        cached = cache.get(order_key(order_number))
        if cached is not None:
            return cached
    status = load(order_number)
    if status is not None and settings.READ_CACHE:
        cache.add(order_key(order_number), status, TTL_SECONDS)
    return status


def order_changed(order) -> None:
    """Call inside the transaction that changes the order's status, holding its row lock."""
    if settings.READ_CACHE:
        status = CachedOrderStatus(**{field: getattr(order, field) for field in FIELDS})
        transaction.on_commit(
            lambda: cache.set(order_key(status.order_number), status, TTL_SECONDS)
        )

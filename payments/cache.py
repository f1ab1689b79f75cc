"""The order-status read, cached in the shared cache when `settings.READ_CACHE` is on.

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

from .exceptions import OrderNotFound
from .models import VipOrder, effective_status

TTL_SECONDS = 300
FIELDS = ("order_number", "user_id", "status", "amount", "expire_time")


@dataclass(frozen=True, slots=True)
class CachedOrderStatus:
    order_number: str
    user_id: int
    status: int
    amount: Decimal
    expire_time: datetime

    def effective_status(self) -> int:
        return effective_status(self.status, self.expire_time)


def cache_key(order_number: str) -> str:
    return f"order-status:v1:{order_number}"


def _load(order_number: str) -> CachedOrderStatus | None:
    row = VipOrder.objects.filter(order_number=order_number).values(*FIELDS).first()
    return CachedOrderStatus(**row) if row else None


def order_status_get(order_number: str) -> CachedOrderStatus:
    if settings.READ_CACHE:
        cached = cache.get(cache_key(order_number))
        if cached is not None:
            return cached
    view = _load(order_number)
    if view is None:
        raise OrderNotFound()
    if settings.READ_CACHE:
        cache.add(cache_key(order_number), view, TTL_SECONDS)
    return view


def order_status_changed(order: VipOrder) -> None:
    """Call inside the transaction that changes the order's status, holding its row lock."""
    if settings.READ_CACHE:
        view = CachedOrderStatus(**{field: getattr(order, field) for field in FIELDS})
        transaction.on_commit(lambda: cache.set(cache_key(view.order_number), view, TTL_SECONDS))

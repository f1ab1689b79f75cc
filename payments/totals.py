"""The daily order totals (`OrderDay`, `OrderDayTotal`) that statistics and the overview read.

Each day before today is counted once by the totals job, by stored status, plan, payment method
and day of payment; what a reader needs beyond them (today's orders, orders of a day not yet
counted, orders without a creation time) it counts live, so the numbers are exact whenever the
totals are current (`payments.selectors.order_statistics`).

They stay current so: the job counts each new day and counts yesterday again every few minutes
(late payments); the services that change an older order's status count its day again when
they commit (`order_day_changed`); and the job counts every day again each night, for what the
site's other programs write into old orders with their own SQL.
"""

import logging
from datetime import date, datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import Count, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from vipplatform.times import day_start

from .models import OrderDay, OrderDayTotal, VipOrder

logger = logging.getLogger(__name__)


def counted_through() -> date | None:
    """The last day the totals hold (every day before it is held too), or None."""
    return OrderDay.objects.order_by("-day").values_list("day", flat=True).first()


def uncounted_q(through: date | None) -> Q:
    """The orders the totals through `through` do not hold: created after it, or at an
    unknown time (some of the site's old orders)."""
    if through is None:
        return Q()
    return Q(create_time__gte=day_start(through + timedelta(days=1))) | Q(create_time__isnull=True)


def _grouped(orders) -> list[dict]:
    """The `OrderDayTotal` rows of `orders`: one GROUP BY. (The sums are named apart from the
    order's own columns while they are computed: a filter on `refunded_amount` would
    otherwise read the sum.)"""
    rows = (
        orders.annotate(pay_day=TruncDate("pay_time"))
        .values("status", "plan_id", "payment_method", "pay_day")
        .annotate(
            orders=Count("id"),
            amount=Sum("amount"),
            refunded=Sum("refunded_amount"),
            with_refunds=Count("id", filter=Q(refunded_amount__gt=0)),
            late=Count("id", filter=Q(paid_after_close=True)),
        )
        .order_by()
    )
    return [
        {
            **{key: row[key] for key in ("status", "plan_id", "payment_method", "pay_day")},
            "orders": row["orders"],
            "amount": row["amount"],
            "refunded_amount": row["refunded"],
            "refunded_orders": row["with_refunds"],
            "paid_after_close": row["late"],
        }
        for row in rows
    ]


def totals_count_day(day: date) -> int:
    """Count `day`'s orders again, replacing what the totals held for it; answers the rows
    kept. Two counts of one day take turns on its row."""
    with transaction.atomic():
        OrderDay.objects.get_or_create(day=day)
        record = OrderDay.objects.select_for_update().get(day=day)
        record.totals.all().delete()
        orders = VipOrder.objects.filter(
            create_time__gte=day_start(day), create_time__lt=day_start(day + timedelta(days=1))
        )
        rows = [OrderDayTotal(day=record, **row) for row in _grouped(orders)]
        OrderDayTotal.objects.bulk_create(rows)
        record.refreshed_at = timezone.now()
        record.save(update_fields=["refreshed_at"])
    return len(rows)


def totals_refresh(*, everything: bool = False, today: date | None = None) -> int:
    """Count the days not yet counted, up to yesterday, and yesterday again (its orders are
    paid until their deadline passes); `everything`: every day since the first order. Answers
    how many days were counted."""
    today = today or timezone.localdate()
    yesterday = today - timedelta(days=1)
    if everything:
        first = VipOrder.objects.filter(create_time__isnull=False).aggregate(
            first=Min("create_time")
        )["first"]
        start = timezone.localdate(first) if first else yesterday
    else:
        through = counted_through()
        start = min(through + timedelta(days=1), yesterday) if through else None
        if start is None:  # never counted: everything
            return totals_refresh(everything=True, today=today)
    days = [start + timedelta(days=n) for n in range((yesterday - start).days + 1)]
    for day in days:
        totals_count_day(day)
    return len(days)


def order_day_changed(created: datetime | None) -> None:
    """An order created at `created` changed status, or was refunded: when the transaction
    commits, count its day again if the totals hold it already (today's orders are counted live)."""
    if created is None:
        return
    day = timezone.localdate(created)
    if day >= timezone.localdate():
        return

    def recount() -> None:
        if not OrderDay.objects.filter(day=day).exists():
            return
        try:
            totals_count_day(day)
        except DatabaseError:  # the job counts the day again within minutes
            logger.exception("could not count the orders of %s again", day)

    transaction.on_commit(recount)

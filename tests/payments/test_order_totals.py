"""The daily order totals (`payments.totals`): statistics and the overview read them instead of
scanning the orders, and their numbers equal a scan's."""

import itertools
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from payments import selectors, services, totals
from payments.models import (
    OrderDay,
    OrderStatus,
    PaymentMethod,
    PlanCode,
    VipOrder,
    status_seen_as,
)
from tests.factories import VipOrderFactory

pytestmark = pytest.mark.django_db


def scanned_statistics() -> dict:
    """The statistics as a scan of every order computes them."""
    now = timezone.now()
    zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))
    stats = VipOrder.objects.aggregate(
        totalOrders=Count("pk"),
        **{
            f"{name}Orders": Count("pk", filter=status_seen_as(code, now=now))
            for name, code in [
                ("pending", OrderStatus.PENDING),
                ("paid", OrderStatus.PAID),
                ("cancelled", OrderStatus.CANCELLED),
                ("expired", OrderStatus.EXPIRED),
            ]
        },
        totalAmount=Coalesce(Sum("amount"), zero),
        paidAmount=Coalesce(Sum("amount", filter=Q(status=OrderStatus.PAID)), zero),
        wechatOrders=Count("pk", filter=Q(payment_method=PaymentMethod.WECHAT)),
        alipayOrders=Count("pk", filter=Q(payment_method=PaymentMethod.ALIPAY)),
        bankCardOrders=Count("pk", filter=Q(payment_method=PaymentMethod.BANK_CARD)),
        monthlyOrders=Count("pk", filter=Q(plan_id=PlanCode.MONTHLY)),
        quarterlyOrders=Count("pk", filter=Q(plan_id=PlanCode.QUARTERLY)),
        yearlyOrders=Count("pk", filter=Q(plan_id=PlanCode.YEARLY)),
        refundedOrders=Count("pk", filter=Q(refunded_amount__gt=0)),
        refundedAmount=Coalesce(Sum("refunded_amount"), zero),
        paidAfterCloseOrders=Count("pk", filter=Q(paid_after_close=True)),
    )
    stats["netAmount"] = stats["paidAmount"] - stats["refundedAmount"]
    total = stats["totalOrders"]
    stats["paymentRate"] = (
        (Decimal(stats["paidOrders"] * 100) / total).quantize(Decimal("0.01"))
        if total
        else Decimal("0.00")
    )
    return stats


def scanned_sales(since) -> list[tuple]:
    return [
        (row["day"], row["orders"], row["sales"], row["refunded"])
        for row in VipOrder.objects.filter(status=OrderStatus.PAID, pay_time__gte=since)
        .annotate(day=TruncDate("pay_time"))
        .values("day")
        .annotate(orders=Count("id"), sales=Sum("amount"), refunded=Sum("refunded_amount"))
        .order_by("day")
    ]


@pytest.fixture
def history(plans):
    plans = list(plans.values())
    """Forty days of orders in every status, plan and payment method, and the odd ones: an old
    order still open for payment, one past its deadline never marked, one paid after
    midnight, one without a creation time."""
    now = timezone.now()
    statuses = itertools.cycle(OrderStatus.values)
    methods = itertools.cycle(PaymentMethod.values)
    made = []
    for days_ago in range(40):
        for plan in plans:
            created = now - timedelta(days=days_ago, hours=plan.pk)
            status = next(statuses)
            paid = status == OrderStatus.PAID
            made.append(
                VipOrderFactory(
                    plan=plan,
                    status=status,
                    payment_method=next(methods),
                    create_time=created,
                    pay_time=created + timedelta(minutes=3) if paid else None,
                    # some paid orders refunded in full or in part, some paid after they closed
                    refunded_amount=plan.price / (1 + days_ago % 3) if paid and days_ago % 2 else 0,
                    paid_after_close=paid and days_ago % 5 == 0,
                )
            )
    VipOrderFactory(
        plan=plans[0], create_time=now - timedelta(days=3), expire_time=now + timedelta(days=1)
    )
    VipOrderFactory(plan=plans[1], create_time=now - timedelta(days=5))  # pending, overdue
    late = now.replace(hour=0, minute=10) - timedelta(days=1)
    VipOrderFactory(
        plan=plans[2],
        status=OrderStatus.PAID,
        create_time=late - timedelta(minutes=20),
        pay_time=late,
    )
    VipOrderFactory(plan=plans[0], create_time=None, expire_time=None, payment_method=None)
    return made


def test_statistics_read_from_the_totals_equal_a_scan(history):
    first = timezone.localdate(min(o.create_time for o in history))
    days = (timezone.localdate() - first).days  # each day before today
    assert totals.totals_refresh() == days
    assert OrderDay.objects.count() == days
    assert totals.totals_refresh() == 1  # then yesterday again
    assert selectors.order_statistics() == scanned_statistics()


def test_statistics_are_exact_before_the_first_count_too(history):
    assert not OrderDay.objects.exists()
    assert selectors.order_statistics() == scanned_statistics()


def test_the_totals_are_read_not_the_orders(history):
    totals.totals_refresh()
    # Rows the totals hold change nothing a scan of the orders since would see:
    VipOrder.objects.filter(create_time__lt=timezone.now() - timedelta(days=2)).delete()
    assert selectors.order_statistics()["totalOrders"] > scanned_statistics()["totalOrders"]


def test_a_late_payment_of_an_old_order_counts_at_once(history, django_capture_on_commit_callbacks):
    totals.totals_refresh()
    old = VipOrder.objects.filter(
        status=OrderStatus.EXPIRED, create_time__lt=timezone.now() - timedelta(days=9)
    ).first()
    with django_capture_on_commit_callbacks(execute=True):
        services.order_mark_paid(order_number=old.order_number)
    assert selectors.order_statistics() == scanned_statistics()
    since = timezone.now() - timedelta(days=30)
    sales = selectors.sales_by_day(since=since)
    assert [(r["day"], r["orders"], r["sales"], r["refunded"]) for r in sales] == scanned_sales(
        since
    )


def test_another_programs_change_counts_at_the_nightly_recount(history):
    totals.totals_refresh()
    old = VipOrder.objects.filter(create_time__lt=timezone.now() - timedelta(days=9)).first()
    with connection.cursor() as cursor:  # as the site's other programs write
        cursor.execute("UPDATE vip_order SET amount = amount + 1 WHERE id = %s", [old.pk])
    assert selectors.order_statistics() != scanned_statistics()
    call_command("count_orders", "--all")
    assert selectors.order_statistics() == scanned_statistics()


def test_the_overview_reads_the_totals_and_equals_a_scan(history):
    totals.totals_refresh()
    first_day = timezone.localdate() - timedelta(days=29)
    since = totals.day_start(first_day)
    sales = selectors.sales_by_day(since=since)
    assert [(r["day"], r["orders"], r["sales"], r["refunded"]) for r in sales] == scanned_sales(
        since
    )
    scanned = {
        row["payment_method"]: (row["created"], row["paid"])
        for row in VipOrder.objects.filter(create_time__gte=since)
        .values("payment_method")
        .annotate(created=Count("id"), paid=Count("id", filter=Q(status=OrderStatus.PAID)))
    }
    read = {
        row["payment_method"]: (row["created"], row["paid"])
        for row in selectors.conversion_by_method(since=first_day)
    }
    assert read == scanned


def test_counting_a_day_again_replaces_it(history):
    totals.totals_refresh()
    rows = OrderDay.objects.get(day=timezone.localdate() - timedelta(days=3)).totals.count()
    day = timezone.localdate() - timedelta(days=3)
    totals.totals_count_day(day)
    totals.totals_count_day(day)
    assert OrderDay.objects.get(day=day).totals.count() == rows
    assert selectors.order_statistics() == scanned_statistics()

"""Read-only order queries shared by the API, the pages and the admin."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from vipplatform.times import day_start

from . import totals
from .charges import china_day, next_charge_day
from .exceptions import AgreementNotFound, OrderNotFound
from .gateways import agreement_methods
from .models import (
    Agreement,
    AgreementState,
    CancelledBy,
    NotificationOutcome,
    OrderDayTotal,
    OrderStatus,
    PaymentMethod,
    PaymentNotification,
    PlanCode,
    Refund,
    RenewalCharge,
    VipOrder,
    VipPlan,
)


def order_get(*, order_number: str | None = None, pk: int | None = None) -> VipOrder:
    lookup = {"order_number": order_number} if order_number is not None else {"pk": pk}
    try:
        return VipOrder.objects.get(**lookup)
    except VipOrder.DoesNotExist:
        raise OrderNotFound() from None


def order_list_for_user(*, user_id: int) -> QuerySet[VipOrder]:
    """A user's orders, newest first (served by the (user_id, create_time) index)."""
    return VipOrder.objects.filter(user_id=user_id).order_by("-create_time", "-id")


def order_search(
    *,
    ordering: list[str],
    user_id: int | None = None,
    order_number: str | None = None,
    plan_id: int | None = None,
    payment_method: int | None = None,
    status: int | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> QuerySet[VipOrder]:
    """The staff search: every filter given applies; `order_number` matches the numbers that
    start with it (the unique index; a substring is a scan of every order, 2.4 s over a
    million), `status` as users read it, the creation times are inclusive."""
    exact = {"user_id": user_id, "plan_id": plan_id, "payment_method": payment_method}
    orders = VipOrder.objects.filter(**{k: v for k, v in exact.items() if v is not None})
    if order_number is not None:
        orders = orders.filter(order_number__istartswith=order_number)
    if status is not None:
        orders = orders.with_status(status)
    if created_from is not None:
        orders = orders.filter(create_time__gte=created_from)
    if created_to is not None:
        orders = orders.filter(create_time__lte=created_to)
    return orders.order_by(*ordering)


def _order_counts(rows, *, totals: bool) -> dict:
    """The statistics' sums over `rows` (orders, or with `totals` the daily totals, whose
    columns hold the counts and sums), by stored status, in one aggregate query."""
    zero = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))
    count = "orders" if totals else Value(1)

    def number(condition=None):
        return Coalesce(Sum(count, filter=condition), 0)

    def orders_with(column: str, condition: Q):  # a column of the totals, or a live count
        return Coalesce(Sum(column), 0) if totals else number(condition)

    return rows.aggregate(
        refundedAmount=Coalesce(Sum("refunded_amount"), zero),
        refundedOrders=orders_with("refunded_orders", Q(refunded_amount__gt=0)),
        paidAfterCloseOrders=orders_with("paid_after_close", Q(paid_after_close=True)),
        totalOrders=number(),
        storedPending=number(Q(status=OrderStatus.PENDING)),
        paidOrders=number(Q(status=OrderStatus.PAID)),
        cancelledOrders=number(Q(status=OrderStatus.CANCELLED)),
        storedExpired=number(Q(status=OrderStatus.EXPIRED)),
        totalAmount=Coalesce(Sum("amount"), zero),
        paidAmount=Coalesce(Sum("amount", filter=Q(status=OrderStatus.PAID)), zero),
        wechatOrders=number(Q(payment_method=PaymentMethod.WECHAT)),
        alipayOrders=number(Q(payment_method=PaymentMethod.ALIPAY)),
        bankCardOrders=number(Q(payment_method=PaymentMethod.BANK_CARD)),
        monthlyOrders=number(Q(plan_id=PlanCode.MONTHLY)),
        quarterlyOrders=number(Q(plan_id=PlanCode.QUARTERLY)),
        yearlyOrders=number(Q(plan_id=PlanCode.YEARLY)),
    )


def order_statistics() -> dict:
    """Counts and sums over all orders: the daily totals (`payments.totals`) plus the orders
    they do not hold yet, each summed by the database; the orders open for payment now are
    counted live (the status index), so a pending order past its deadline counts as expired
    whenever it was counted."""
    now = timezone.now()
    through = totals.counted_through()
    counted = _order_counts(OrderDayTotal.objects.all(), totals=True) if through else {}
    live = VipOrder.objects.filter(totals.uncounted_q(through))
    stats = _order_counts(live, totals=False)
    for key, value in counted.items():
        stats[key] += value
    stored_pending = stats.pop("storedPending")
    stats["pendingOrders"] = VipOrder.objects.with_status(OrderStatus.PENDING, now=now).count()
    stats["expiredOrders"] = stats.pop("storedExpired") + stored_pending - stats["pendingOrders"]
    total = stats["totalOrders"]
    stats["paymentRate"] = (
        (Decimal(stats["paidOrders"] * 100) / total).quantize(Decimal("0.01"))
        if total
        else Decimal("0.00")
    )
    stats["netAmount"] = stats["paidAmount"] - stats["refundedAmount"]
    return stats


def plans_for_sale() -> list[VipPlan]:
    """Active plans, each with `saving`: what it saves against buying its days monthly
    (at the shortest plan's price per day)."""
    plans = list(VipPlan.objects.for_sale().order_by("days", "id"))
    if plans:
        base = plans[0]
        for plan in plans:
            at_base_rate = base.price * plan.days / base.days
            plan.saving = max(at_base_rate - plan.price, Decimal("0")).quantize(Decimal("0.01"))
    return plans


def renewing_plans(*, now: datetime | None = None) -> list[VipPlan]:
    """The 连续包月 plans members may sign, each with its terms: `payment_methods` (those whose
    provider signs agreements; none: the plan is not offered), `first_period_price` (charged
    at the signing) and `second_charge_day` (if signed now)."""
    methods = agreement_methods()
    if not methods:
        return []
    today = china_day(now or timezone.now())
    plans = list(VipPlan.objects.renewing().order_by("days", "id"))
    for plan in plans:
        plan.payment_methods = methods
        plan.first_period_price = plan.price_of_period(1)
        plan.second_charge_day = next_charge_day(today, plan.days)
    return plans


def renewal_summary(*, since: datetime) -> dict:
    """连续包月 for the overview: agreements in force, signed and ended since `since` (by
    whom: the member here or in the app, staff, or suspended after failed charges), the
    period's churn (ended / (in force + ended)), and the charges' tries paid and failed. Three
    aggregate queries."""
    active = Agreement.objects.filter(state=AgreementState.ACTIVE).count()
    ended = dict(
        Agreement.objects.filter(ended_at__gte=since)
        .values_list("cancelled_by")  # "" for a suspended one
        .annotate(count=Count("pk"))
        .order_by()
    )
    signed = Agreement.objects.filter(signed_at__gte=since).count()
    tries = dict(
        RenewalCharge.objects.filter(settled_at__gte=since)
        .values_list("state")
        .annotate(count=Count("pk"))
        .order_by()
    )
    ended_count = sum(ended.values())
    return {
        "active": active,
        "signed": signed,
        "ended": ended_count,
        "cancelled_by_member": ended.get(CancelledBy.MEMBER, 0) + ended.get(CancelledBy.APP, 0),
        "cancelled_by_staff": ended.get(CancelledBy.STAFF, 0),
        "suspended": ended.get("", 0),
        "churn": round(100 * ended_count / (active + ended_count), 1) if ended_count else 0,
        "charges_paid": tries.get(RenewalCharge.State.PAID, 0),
        "charges_failed": tries.get(RenewalCharge.State.FAILED, 0),
    }


def agreements_of(*, user_id: int):
    """A member's agreements, newest first (ended ones too: the history)."""
    return Agreement.objects.filter(user_id=user_id).order_by("-create_time", "-id")


def agreement_get(*, agreement_number: str) -> Agreement:
    agreement = Agreement.objects.filter(agreement_number=agreement_number[:40]).first()
    if agreement is None:
        raise AgreementNotFound()
    return agreement


def orders_to_reconcile(
    *,
    min_age: timedelta = timedelta(minutes=5),
    max_age: timedelta = timedelta(days=2),
    now: datetime | None = None,
) -> QuerySet[VipOrder]:
    """Unpaid orders whose notification may have been lost: still pending (or expired), at
    least `min_age` old (younger ones wait for their notification) and at most `max_age`."""
    now = now or timezone.now()
    return VipOrder.objects.filter(
        status__in=[OrderStatus.PENDING, OrderStatus.EXPIRED],
        create_time__lte=now - min_age,
        create_time__gte=now - max_age,
    ).order_by("create_time")


def sales_by_day(*, since: datetime) -> list[dict]:
    """Paid orders, their takings and what went back of them (counted with the order) per day
    of payment (site time) since `since`: the daily totals' and the uncounted orders'
    (`payments.totals`), each one GROUP BY."""
    through = totals.counted_through()
    by_day: dict = {}
    parts = [
        VipOrder.objects.filter(totals.uncounted_q(through), status=OrderStatus.PAID)
        .filter(pay_time__gte=since)
        .annotate(day=TruncDate("pay_time"))
        .values("day")
        .annotate(orders=Count("id"), sales=Sum("amount"), refunded=Sum("refunded_amount"))
    ]
    if through:
        parts.append(
            OrderDayTotal.objects.filter(
                status=OrderStatus.PAID, pay_day__gte=timezone.localdate(since)
            )
            .values("pay_day")
            .annotate(orders=Sum("orders"), sales=Sum("amount"), refunded=Sum("refunded_amount"))
        )
    for part in parts:
        for row in part.order_by():
            key = row.get("day", row.get("pay_day"))
            day = by_day.setdefault(key, {"day": key, "orders": 0, "sales": 0, "refunded": 0})
            day["orders"] += row["orders"]
            day["sales"] += row["sales"]
            day["refunded"] += row["refunded"]
    return [by_day[day] for day in sorted(by_day)]


def paid_after_close_count() -> int:
    """How many orders were paid after they had closed (each a refund a buyer may ask for):
    the daily totals' and the uncounted orders'."""
    through = totals.counted_through()
    live = VipOrder.objects.filter(totals.uncounted_q(through), paid_after_close=True).count()
    if through is None:
        return live
    return live + OrderDayTotal.objects.aggregate(n=Coalesce(Sum("paid_after_close"), 0))["n"]


def conversion_by_method(*, since: date) -> list[dict]:
    """Orders created since the day `since` and how many of them were paid, per payment
    method: the daily totals' and the uncounted orders'."""
    through = totals.counted_through()
    by_method: dict = {}
    parts = [
        VipOrder.objects.filter(totals.uncounted_q(through))
        .filter(create_time__gte=day_start(since))
        .values("payment_method")
        .annotate(created=Count("id"), paid=Count("id", filter=Q(status=OrderStatus.PAID)))
    ]
    if through:
        parts.append(
            OrderDayTotal.objects.filter(day__gte=since)
            .values("payment_method")
            .annotate(created=Sum("orders"), paid=Sum("orders", filter=Q(status=OrderStatus.PAID)))
        )
    for part in parts:
        for row in part.order_by():
            method = by_method.setdefault(
                row["payment_method"],
                {"payment_method": row["payment_method"], "created": 0, "paid": 0},
            )
            method["created"] += row["created"]
            method["paid"] += row["paid"] or 0
    return sorted(
        by_method.values(),
        key=lambda row: (row["payment_method"] is None, row["payment_method"] or 0),
    )


def grant_failures_recent(*, limit: int = 10) -> list[VipOrder]:
    return list(
        VipOrder.objects.grant_failing()
        .order_by("-grant_failed_at")
        .only("order_number", "user_id", "grant_failed_at", "grant_error")[:limit]
    )


def refused_notifications_by_day(*, since: datetime) -> list[dict]:
    return list(
        PaymentNotification.objects.filter(
            outcome=NotificationOutcome.REFUSED, received_at__gte=since
        )
        .annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(refused=Count("id"))
        .order_by("day")
    )


def refused_notifications_recent(*, limit: int = 10) -> list[PaymentNotification]:
    return list(
        PaymentNotification.objects.filter(outcome=NotificationOutcome.REFUSED)
        .order_by("-received_at")
        .only("received_at", "provider", "remote_addr", "order_number", "detail")[:limit]
    )


def refunds_of(*, order_id: int):
    """An order's refunds, newest first, with who asked."""
    return Refund.objects.filter(order_id=order_id).select_related("order", "requested_by")

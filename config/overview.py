"""The staff overview in the admin (`/admin/overview/`): the last 30 days' sales and refunds,
conversion by payment method, members over time, and what went wrong lately, drawn with
Chart.js (served by the project). A fixed number of aggregate queries, however many orders
there are."""

from datetime import timedelta
from decimal import Decimal

from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.shortcuts import render
from django.utils import timezone

from payments import selectors as payments
from payments.models import PaymentMethod
from users import selectors as users
from vipplatform import health
from vipplatform.times import day_start

DAYS = 30
# No job succeeding for this long: no worker (the NoWorkerAlive alert's threshold).
WORKERS_LATE = timedelta(minutes=5)


STATE = {True: "正常", False: "无法连接", None: None}


def _background() -> dict:
    """The workers (their last job's success), the broker and the cache, as the alerts see
    them (`vipplatform.health`)."""
    last_job = health.last_job_success()
    return {
        "last_job": last_job,
        "workers_late": last_job is None or timezone.now() - last_job > WORKERS_LATE,
        "broker": STATE[health.broker_up()] or "未配置（任务在进程内立即执行）",
        "cache": STATE[health.cache_up()] or "未配置（各进程内存）",
    }


@permission_required("payments.view_viporder", raise_exception=True)
def overview(request):
    today = timezone.localdate()
    first_day = today - timedelta(days=DAYS - 1)
    since = day_start(first_day)
    days = [first_day + timedelta(days=n) for n in range(DAYS)]

    sales = {row["day"]: row for row in payments.sales_by_day(since=since)}
    refused = {
        row["day"]: row["refused"] for row in payments.refused_notifications_by_day(since=since)
    }
    snapshots = {s.day: s.active_members for s in users.membership_snapshots(since=first_day)}
    snapshots[today] = users.active_member_count()
    conversion = [
        {
            "method": PaymentMethod(row["payment_method"]).label
            if row["payment_method"] is not None
            else "未记录",
            "created": row["created"],
            "paid": row["paid"],
            "rate": round(100 * row["paid"] / row["created"], 1) if row["created"] else 0,
        }
        for row in payments.conversion_by_method(since=first_day)
    ]
    charts = {
        "days": [day.strftime("%m-%d") for day in days],
        "sales": [str(sales.get(day, {}).get("sales") or Decimal("0.00")) for day in days],
        "refunded": [str(sales.get(day, {}).get("refunded") or Decimal("0.00")) for day in days],
        "paidOrders": [sales.get(day, {}).get("orders", 0) for day in days],
        "members": [snapshots.get(day) for day in days],
        "refused": [refused.get(day, 0) for day in days],
        "conversion": conversion,
    }
    context = {
        **admin.site.each_context(request),
        "title": "运营概览",
        "charts": charts,
        "total_sales": sum((Decimal(v) for v in charts["sales"]), Decimal("0.00")),
        "total_refunded": sum((Decimal(v) for v in charts["refunded"]), Decimal("0.00")),
        "paid_after_close": payments.paid_after_close_count(),
        "total_paid": sum(charts["paidOrders"]),
        "active_members": snapshots[today],
        "conversion": conversion,
        "renewals": payments.renewal_summary(since=since),
        "grant_failures": payments.grant_failures_recent(),
        "refused_notifications": payments.refused_notifications_recent(),
        "days": DAYS,
        "background": _background(),
    }
    return render(request, "admin/overview.html", context)

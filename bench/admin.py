"""Time the admin's list pages on a large database, as staff open them all day.

    .venv/bin/python bench/admin.py --users 100000 --orders 1000000 [--keep]

Uses its own database, vipplatform_bench_admin, seeded by `bench/seed.py`, plus a ledger row
and a notification for each paid order (skipped when it already holds them, with --keep).
Each page is requested through Django's test client as a superuser, three times; prints the
median milliseconds and the SQL statements of each.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import environment  # noqa: E402

ORDERS = "/admin/payments/viporder/"
U = "/admin/users/user/"
L = "/admin/users/vipledgerentry/"
N = "/admin/payments/paymentnotification/"
E = "/admin/users/memberemail/"
SEARCH = "/api/payment/orders/search"

# (name, path) for a GET; (name, path, body) for a POST of JSON. Every filter, sort and search
# each list offers, its last page, and the staff API's calls.
PAGES = [
    ("orders", ORDERS),
    ("orders, status 待支付", ORDERS + "?status=0"),
    ("orders, status 已支付", ORDERS + "?status=1"),
    ("orders, status 已取消", ORDERS + "?status=2"),
    ("orders, status 已过期", ORDERS + "?status=3"),
    ("orders, grant failed", ORDERS + "?grant=failed"),
    ("orders, plan 季度", ORDERS + "?plan__id__exact=2"),
    ("orders, method 支付宝", ORDERS + "?payment_method__exact=1"),
    (
        "orders, 已过期 + 银行卡 + 季度 (none)",
        ORDERS + "?status=3&payment_method__exact=2&plan__id__exact=2",
    ),
    (
        "orders, 待支付 + 微信 + 月度",
        ORDERS + "?status=0&payment_method__exact=0&plan__id__exact=1",
    ),
    ("orders, today", ORDERS + "?create_time__gte={today}"),
    ("orders, this month", ORDERS + "?create_time__gte={month}"),
    ("orders, 已支付 this month", ORDERS + "?status=1&create_time__gte={month}"),
    ("orders, sort number", ORDERS + "?o=1"),
    ("orders, sort number desc", ORDERS + "?o=-1"),
    ("orders, sort created asc", ORDERS + "?o=6"),
    ("orders, last page", ORDERS + "?p={orders_last}"),
    ("orders, search number prefix", ORDERS + "?q={number}"),
    ("orders, search username", ORDERS + "?q=bench4242"),
    ("an order", ORDERS + "{pk}/change/"),
    ("users", U),
    ("users, VIP 有效", U + "?vip=active"),
    ("users, VIP 已过期", U + "?vip=expired"),
    ("users, VIP 无", U + "?vip=never"),
    ("users, staff", U + "?is_staff__exact=1"),
    ("users, sort username", U + "?o=1"),
    ("users, sort VIP expiry", U + "?o=4"),
    ("users, last page", U + "?p={users_last}"),
    ("users, search username", U + "?q=bench4242"),
    ("users, search email", U + "?q=bench4242@example.com"),
    ("a user", U + "{user_pk}/change/"),
    ("ledger", L),
    ("ledger, kind 购买", L + "?kind__exact=purchase"),
    ("ledger, by staff", L + "?actor=staff"),
    ("ledger, this month", L + "?created_at__gte={month}"),
    ("ledger, last page", L + "?p=199"),
    ("ledger, search username", L + "?q=bench4242"),
    ("ledger, search order number", L + "?q={paid_number}"),
    ("notifications", N),
    ("notifications, refused", N + "?outcome__exact=refused"),
    ("notifications, unverified", N + "?verified__exact=0"),
    ("notifications, last page", N + "?p=199"),
    ("notifications, search number", N + "?q={paid_number}"),
    ("emails", E),
    ("emails, 到期提醒", E + "?kind__exact=reminder"),
    ("emails, last page", E + "?p=199"),
    ("emails, search address", E + "?q=bench4242@example.com"),
    ("overview", "/admin/overview/"),
    ("API statistics", "/api/payment/orders/statistics"),
    ("API search", SEARCH, {}),
    ("API search, number start", SEARCH, {"orderNumber": "{number}"}),
    ("API search, full number", SEARCH, {"orderNumber": "{paid_number}"}),
    ("API search, user", SEARCH, {"userId": "{user_pk}"}),
    ("API search, 已支付 by amount", SEARCH, {"status": 1, "sortBy": "amount"}),
    ("API search, by payTime asc", SEARCH, {"sortBy": "payTime", "sortDirection": "ASC"}),
    ("API search, page 9999", SEARCH, {"page": 9999}),
    ("API users list", "/api/users/list?page=0&size=10"),
    ("API users search", "/api/users/search?keyword=bench4242"),
]


def _seed_history(connection) -> None:
    """A ledger row and a notification for every paid order (600,000 of each), a receipt for
    every third and an expiry reminder for every user (300,000 emails): what a quarter of
    payments leaves behind."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM vip_ledger")
        cursor.execute("DELETE FROM payment_notification")
        cursor.execute("DELETE FROM member_email")
        cursor.execute(
            "INSERT INTO member_email (user_id, kind, reference, `to`, sent_at)"
            " SELECT o.user_id, 'receipt', o.order_number, u.email, o.pay_time"
            " FROM vip_order o JOIN `user` u ON u.id = o.user_id"
            " WHERE o.status = 1 AND o.id % 3 = 0"
        )
        cursor.execute(
            "INSERT INTO member_email (user_id, kind, reference, `to`, sent_at)"
            " SELECT id, 'reminder', '2026-01-01T00:00:00+08:00', email,"
            " create_time - INTERVAL id % 7776000 SECOND FROM `user`"
        )
        cursor.execute(
            "INSERT INTO vip_ledger (user_id, kind, order_id, expire_before, expire_after,"
            " reason, created_at)"
            " SELECT user_id, 'purchase', id, NULL, pay_time + INTERVAL plan_days DAY,"
            " '支付成功', pay_time FROM vip_order WHERE status = 1"
        )
        cursor.execute(
            "INSERT INTO payment_notification (received_at, remote_addr, provider, event_id,"
            " headers, body, order_number, verified, outcome, detail, processed_at)"
            " SELECT pay_time, '10.0.0.1', 'contract', '', '{}', CONCAT('{\"orderId\": \"',"
            " order_number, '\", \"status\": \"SUCCESS\"}'), order_number, 1, 'paid', '',"
            " pay_time"
            " FROM vip_order WHERE status = 1"
        )


def _time_export(client) -> dict:
    """「导出CSV」 of every order: time to the first bytes, in all, and the process's peak
    memory growth (a million rows streamed, never held)."""
    import resource

    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get("/admin/payments/viporder/export/")
    lines = first = 0
    for chunk in response.streaming_content:
        if not first:
            first = time.perf_counter()
        lines += chunk.count(b"\n")
    return {
        "rows": lines - 1,
        "first_bytes_ms": round((first - started) * 1000, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "peak_memory_growth_mb": round(
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024, 1
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse the seeded database")
    parser.add_argument("--only", help="time only the pages whose name contains this")
    args = parser.parse_args()

    os.environ.update(environment(cache=False, database="vipplatform_bench_admin"))
    os.environ["DJANGO_DEBUG"] = "true"  # static files without collectstatic; SQL counted
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    subprocess.run([sys.executable, "bin/dbtool.py", "create"], cwd=ROOT, check=True)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.db import connection, reset_queries
    from django.test import Client
    from django.utils import timezone

    from bench import seed
    from payments.models import PaymentNotification, VipOrder
    from users.models import MemberEmail, User

    seeded = {}
    if not (args.keep and VipOrder.objects.count() >= args.orders):
        seed.reset()
        seeded["users_s"] = round(seed.seed_users(args.users), 1)
        seeded["orders_s"] = round(seed.seed_orders(args.orders), 1)
    if not (args.keep and MemberEmail.objects.exists()):
        started = time.perf_counter()
        _seed_history(connection)
        seeded["ledger_and_notifications_s"] = round(time.perf_counter() - started, 1)
    from payments.totals import totals_refresh

    started = time.perf_counter()
    totals_refresh(everything=True)  # what the nightly job does
    seeded["count_orders_all_s"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE TABLE vip_order, `user`, vip_ledger, payment_notification, member_email"
        )
    staff, _ = User.objects.get_or_create(
        username="bench-admin",
        defaults={"email": "bench-admin@example.com", "is_staff": True, "is_superuser": True},
    )
    settings.ALLOWED_HOSTS = ["testserver"]
    client = Client()
    client.force_login(staff)
    sample = VipOrder.objects.order_by("-id").first()
    member = User.objects.get(username="bench4242")
    values = {
        # as the admin's date filters write them: midnight, site time
        "today": quote(f"{timezone.localdate():%Y-%m-%d} 00:00:00+08:00"),
        "month": quote(f"{timezone.localdate().replace(day=1):%Y-%m-%d} 00:00:00+08:00"),
        "number": sample.order_number[:12],
        "pk": sample.pk,
        "user_pk": member.pk,
        "paid_number": PaymentNotification.objects.order_by("-id").first().order_number,
        "orders_last": 10_000 // 50 - 1,
        "users_last": -(-User.objects.count() // 50) - 1,
    }
    results, failed = {}, []
    for name, path, *body in PAGES:
        if args.only and args.only not in name:
            continue
        url = path.format(**values)
        if body:
            data = {k: v.format(**values) if isinstance(v, str) else v for k, v in body[0].items()}
        times = []
        for _ in range(3):
            reset_queries()
            started = time.perf_counter()
            if body:
                response = client.post(url, data, content_type="application/json")
            else:
                response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
            times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            failed.append((name, url, response.status_code))
        results[name] = {
            "ms": round(statistics.median(times), 1),
            "queries": len(connection.queries),
            "url": url,
        }
    export = None if args.only else _time_export(client)
    print(
        json.dumps(
            {
                "seeded": seeded,
                "orders": VipOrder.objects.count(),
                "pages": results,
                "export_all_orders": export,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    slow = [name for name, result in results.items() if result["ms"] >= 300]
    print(f"{len(results)} pages, {len(slow)} at 300 ms or more: {slow}", file=sys.stderr)
    if failed:
        sys.exit(f"not answered 200: {failed}")


if __name__ == "__main__":
    main()

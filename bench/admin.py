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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import environment  # noqa: E402

PAGES = [
    ("orders", "/admin/payments/viporder/"),
    ("orders, status 已过期", "/admin/payments/viporder/?status=3"),
    ("orders, status 已支付", "/admin/payments/viporder/?status=1"),
    ("orders, plan 季度", "/admin/payments/viporder/?plan__id__exact=2"),
    ("orders, method 支付宝", "/admin/payments/viporder/?payment_method__exact=1"),
    ("orders, grant failed", "/admin/payments/viporder/?grant=failed"),
    ("orders, this month", "/admin/payments/viporder/?create_time__gte={month}"),
    ("orders, search number prefix", "/admin/payments/viporder/?q={number}"),
    ("orders, search username", "/admin/payments/viporder/?q=bench4242"),
    ("an order", "/admin/payments/viporder/{pk}/change/"),
    ("users", "/admin/users/user/"),
    ("users, search", "/admin/users/user/?q=bench4242"),
    ("ledger", "/admin/users/vipledgerentry/"),
    ("ledger, kind 购买", "/admin/users/vipledgerentry/?kind__exact=purchase"),
    ("ledger, by staff", "/admin/users/vipledgerentry/?actor=staff"),
    ("ledger, search username", "/admin/users/vipledgerentry/?q=bench4242"),
    ("notifications", "/admin/payments/paymentnotification/"),
    ("notifications, refused", "/admin/payments/paymentnotification/?outcome__exact=refused"),
    ("notifications, search number", "/admin/payments/paymentnotification/?q={paid_number}"),
]


def _seed_history(connection) -> None:
    """A ledger row and a notification for every paid order (600,000 of each): what a year of
    payments leaves behind."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM vip_ledger")
        cursor.execute("DELETE FROM payment_notification")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="reuse the seeded database")
    args = parser.parse_args()

    os.environ.update(environment(cache=False, database="vipplatform_bench_admin"))
    os.environ["DJANGO_DEBUG"] = "true"  # static files without collectstatic; SQL counted
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vipplatform.settings")
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
    from users.models import User

    seeded = {}
    if not (args.keep and VipOrder.objects.count() >= args.orders):
        seed.reset()
        seeded["users_s"] = round(seed.seed_users(args.users), 1)
        seeded["orders_s"] = round(seed.seed_orders(args.orders), 1)
    if not (args.keep and PaymentNotification.objects.exists()):
        started = time.perf_counter()
        _seed_history(connection)
        seeded["ledger_and_notifications_s"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE vip_order, `user`, vip_ledger, payment_notification")
    staff, _ = User.objects.get_or_create(
        username="bench-admin",
        defaults={"email": "bench-admin@example.com", "is_staff": True, "is_superuser": True},
    )
    settings.ALLOWED_HOSTS = ["testserver"]
    client = Client()
    client.force_login(staff)
    sample = VipOrder.objects.order_by("-id").first()
    values = {
        "month": f"{timezone.localdate().replace(day=1):%Y-%m-%d}",
        "number": sample.order_number[:12],
        "pk": sample.pk,
        "paid_number": PaymentNotification.objects.order_by("-id").first().order_number,
    }
    results = {}
    for name, path in PAGES:
        url = path.format(**values)
        times = []
        for _ in range(3):
            reset_queries()
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        results[name] = {
            "ms": round(statistics.median(times), 1),
            "queries": len(connection.queries),
            "url": url,
        }
    print(
        json.dumps(
            {"seeded": seeded, "orders": VipOrder.objects.count(), "pages": results},
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()

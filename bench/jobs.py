"""Time the expiry jobs over many due rows, and count their queries.

    DATABASE_URL=mysql://root@127.0.0.1:3306/vipplatform_bench \\
        .venv/bin/python bench/jobs.py --users 100000 --orders 100000

The database is created if missing and emptied of users and orders first: never point this at
real data. Seeding uses bulk inserts. Prints one JSON object.
"""

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vipplatform.settings")
os.environ.setdefault("DATABASE_URL", "mysql://root@127.0.0.1:3306/vipplatform_bench")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from payments.models import OrderStatus, VipOrder, new_order_number  # noqa: E402
from users.models import User, VipLedgerEntry  # noqa: E402

CHUNK = 10_000


def reset() -> None:
    VipLedgerEntry.objects.all().delete()
    VipOrder.objects.all().delete()
    User.objects.all().delete()


def seed(users: int, orders: int) -> float:
    started = time.perf_counter()
    past = timezone.now() - timedelta(hours=1)
    for offset in range(0, users, CHUNK):
        User.objects.bulk_create(
            User(
                username=f"bench{n}",
                email=f"bench{n}@example.com",
                password="!",
                is_vip=True,
                vip_expire_time=past,
            )
            for n in range(offset, min(offset + CHUNK, users))
        )
    user_ids = list(User.objects.values_list("pk", flat=True)[:1000]) or [
        User.objects.create(username="bench-buyer", password="!").pk
    ]
    for offset in range(0, orders, CHUNK):
        VipOrder.objects.bulk_create(
            VipOrder(
                user_id=user_ids[n % len(user_ids)],
                order_number=new_order_number(),
                plan_id=1,
                amount="29.90",
                payment_method=0,
                status=OrderStatus.PENDING,
                create_time=past,
                expire_time=past + timedelta(minutes=30),
            )
            for n in range(offset, min(offset + CHUNK, orders))
        )
    return time.perf_counter() - started


def timed(command: str) -> dict:
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        call_command(command, verbosity=0)
        seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 2), "queries": len(queries.captured_queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=100_000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    reset()
    result = {
        "due_users": args.users,
        "due_orders": args.orders,
        "seed_seconds": round(seed(args.users, args.orders), 1),
        "expire_orders": timed("expire_orders"),
        "expire_vips": timed("expire_vips"),
    }
    result["expired_orders_check"] = VipOrder.objects.filter(status=OrderStatus.EXPIRED).count()
    result["expired_users_check"] = User.objects.filter(is_vip=False).count()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

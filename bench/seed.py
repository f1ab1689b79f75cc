"""Bulk seeding for the benchmarks: set-based INSERT ... SELECT over MariaDB's SEQUENCE engine
(`seq_1_to_N`), so a million rows take seconds, not an ORM loop. Run inside Django (after
`django.setup()`), on a database made for benchmarking: it empties users and orders first."""

import time

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone

BENCH_PASSWORD = "bench-Passw0rd"


def _now() -> str:
    """SQL for now as the database stores it: wall-clock time in its TIME_ZONE."""
    offset = timezone.now().astimezone(connection.timezone).utcoffset()
    return f"(UTC_TIMESTAMP(6) + INTERVAL {int(offset.total_seconds())} SECOND)"


def _execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def reset() -> None:
    for table in (
        "vip_ledger",
        "payment_notification",
        "sandbox_payment",
        "vip_order",
        "django_session",
        "user",
    ):
        _execute(f"DELETE FROM `{table}`")


def seed_users(count: int, *, lapsed: bool = False) -> float:
    """`count` users named bench1..benchN with one shared password; `lapsed`: all flagged VIP
    with an expiry a minute ago (the expiry job's work)."""
    started = time.perf_counter()
    password = make_password(BENCH_PASSWORD)
    _execute(
        "INSERT INTO `user` (username, password, email, phone, avatar, register_time,"
        " user_status, is_vip, vip_expire_time, is_staff, is_superuser, create_time, update_time)"
        " SELECT CONCAT('bench', seq), %s, CONCAT('bench', seq, '@example.com'), '', '',"
        f" {_now()}, 1, %s, IF(%s, {_now()} - INTERVAL 1 MINUTE, NULL), 0, 0,"
        f" {_now()}, {_now()} FROM seq_1_to_{int(count)}",
        [password, lapsed, lapsed],
    )
    return time.perf_counter() - started


def seed_orders(count: int, *, pending: bool = False, prefix: str = "B") -> float:
    """(`%%` is SQL's modulo here: the statement has parameters.)

    `count` orders spread over all users and the last 90 days: 60% paid, 20% expired,
    10% cancelled, 10% pending past their deadline. `pending`: all pending and payable for a
    day (for the callback benchmark; `make_overdue` moves their deadline into the past)."""
    started = time.perf_counter()
    status = (
        "0"
        if pending
        else "CASE WHEN seq %% 10 < 6 THEN 1 WHEN seq %% 10 < 8 THEN 3 "
        "WHEN seq %% 10 < 9 THEN 2 ELSE 0 END"
    )
    # evenly over the 90 days (7,776,000 s), the newest first in the sequence
    step = 7_776_000 / max(count, 1)
    created = f"{_now()}" if pending else f"{_now()} - INTERVAL FLOOR((seq - 1) * {step}) SECOND"
    expires = f"{_now()} + INTERVAL 1 DAY" if pending else "c.create_time + INTERVAL 30 MINUTE"
    _execute(
        "INSERT INTO vip_order (user_id, order_number, vip_type, plan_name, plan_days, amount,"
        " payment_method, status, create_time, pay_time, expire_time, qr_code_url,"
        " transaction_id, grant_error)"
        " SELECT u.id, c.order_number, c.plan, p.name, p.days, p.price, c.seq %% 3, c.status,"
        f" c.create_time, IF(c.status = 1, c.create_time + INTERVAL 1 MINUTE, NULL), {expires},"
        " '', '', ''"
        " FROM (SELECT seq, CONCAT(%s, LPAD(seq, 10, '0'), LEFT(MD5(CONCAT(%s, seq)), 16))"
        f"   AS order_number, 1 + seq %% 3 AS plan, {status} AS status, {created} AS create_time"
        f"   FROM seq_1_to_{int(count)}) c"
        # the users numbered 0..N-1 (ids may have gaps), order k going to user k mod N
        " JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY id) - 1 AS n FROM `user`) u"
        "   ON u.n = c.seq %% (SELECT COUNT(*) FROM `user`)"
        " JOIN vip_plan p ON p.id = c.plan",
        [prefix, prefix],
    )
    return time.perf_counter() - started


def make_overdue(prefix: str) -> None:
    """Move the deadline of the orders numbered with `prefix` into the past."""
    _execute(
        f"UPDATE vip_order SET expire_time = {_now()} - INTERVAL 1 MINUTE"
        " WHERE order_number LIKE %s",
        [prefix + "%"],
    )


def delete_orders(prefix: str) -> None:
    """Orders numbered with `prefix`, with their grants and notifications."""
    _execute(
        "DELETE l FROM vip_ledger l JOIN vip_order o ON o.id = l.order_id"
        " WHERE o.order_number LIKE %s",
        [prefix + "%"],
    )
    _execute("DELETE FROM vip_order WHERE order_number LIKE %s", [prefix + "%"])

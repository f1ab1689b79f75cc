"""A gunicorn worker is killed (SIGKILL) in the middle of a burst of payment notifications.

Afterwards, SQL over the whole database: no order is half-done, every paid order has exactly
one ledger row (or a recorded failure), and resending what got no answer completes the rest.
"""

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection

from payments.models import NotificationOutcome, OrderStatus, PaymentNotification, VipOrder

from ..factories import UserFactory, VipOrderFactory, VipPlanFactory
from ..helpers import requires_mariadb
from ..servers import wait_until

pytestmark = [requires_mariadb, pytest.mark.faults, pytest.mark.django_db(transaction=True)]

ORDERS = 240
USERS = 40
CLIENTS = 8


def notify(url: str, order_number: str) -> int | None:
    """POST one SUCCESS notification; None if no answer came back."""
    body = json.dumps({"orderId": order_number, "status": "SUCCESS"}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:  # reset, refused, timed out: the gateway would resend
        return None


def rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())


def half_done_orders() -> list[tuple]:
    """Paid orders without their grant and without a recorded failure; grants for orders
    that are not paid; paid orders without a payment time; orders granted twice."""
    return rows(
        """
        SELECT o.id, 'paid, no grant, no failure' FROM vip_order o
          LEFT JOIN vip_ledger l ON l.order_id = o.id
         WHERE o.status = 1 AND l.id IS NULL AND o.grant_failed_at IS NULL
        UNION ALL
        SELECT o.id, 'granted but not paid' FROM vip_order o
          JOIN vip_ledger l ON l.order_id = o.id WHERE o.status <> 1
        UNION ALL
        SELECT o.id, 'paid without pay_time' FROM vip_order o
         WHERE o.status = 1 AND o.pay_time IS NULL
        UNION ALL
        SELECT order_id, 'granted twice' FROM vip_ledger
         WHERE order_id IS NOT NULL GROUP BY order_id HAVING COUNT(*) > 1
        """
    )


def broken_ledger_chains() -> list[tuple]:
    """Each user's grants must chain: a grant starts where the previous one ended, and the
    user's expiry is where the last one ended (no lost or doubled days)."""
    return rows(
        """
        SELECT l.user_id, l.id FROM vip_ledger l
          JOIN vip_ledger p ON p.user_id = l.user_id
           AND p.id = (SELECT MAX(q.id) FROM vip_ledger q
                        WHERE q.user_id = l.user_id AND q.id < l.id)
         WHERE NOT (l.expire_before <=> p.expire_after)
        UNION ALL
        SELECT u.id, NULL FROM user u
          JOIN vip_ledger l ON l.id = (SELECT MAX(id) FROM vip_ledger WHERE user_id = u.id)
         WHERE NOT (u.vip_expire_time <=> l.expire_after)
        """
    )


def test_killing_a_worker_mid_burst_loses_no_payment(start_gunicorn, settings):
    VipPlanFactory(id=1)
    users = UserFactory.create_batch(USERS)
    orders = [VipOrderFactory(user=users[i % USERS]) for i in range(ORDERS)]
    server = start_gunicorn(workers=2)
    callback = f"{server.url}/api/payment/callback"
    victim = server.worker_pids()[0]

    answered = threading.Semaphore(0)

    def send(order):
        status = notify(callback, order.order_number)
        answered.release()
        return order, status

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(send, order) for order in orders]
        for _ in range(ORDERS // 4):  # a quarter of the burst is through: strike
            answered.acquire(timeout=30)
        os.kill(victim, signal.SIGKILL)
        results = [future.result() for future in futures]

    assert wait_until(lambda: len(server.worker_pids()) == 2, timeout=30)
    assert victim not in server.worker_pids()
    unanswered = [order for order, status in results if status != 200]

    assert half_done_orders() == []
    assert broken_ledger_chains() == []
    # a notification cut short by the kill is on record, still "received"
    cut_short = PaymentNotification.objects.filter(outcome=NotificationOutcome.RECEIVED).count()
    assert cut_short <= len(unanswered)

    for order in unanswered:  # the gateway's resend
        assert notify(callback, order.order_number) == 200

    assert VipOrder.objects.exclude(status=OrderStatus.PAID).count() == 0
    assert half_done_orders() == []
    assert broken_ledger_chains() == []
    assert rows("SELECT COUNT(*) FROM vip_ledger WHERE order_id IS NOT NULL") == [(ORDERS,)]
    # every user has exactly the days of their orders: 30 per order after the first grant
    per_user = rows(
        """
        SELECT l.user_id, COUNT(*), MIN(l.expire_after), MAX(l.expire_after), u.vip_expire_time
          FROM vip_ledger l JOIN user u ON u.id = l.user_id
         GROUP BY l.user_id, u.vip_expire_time
        """
    )
    assert len(per_user) == USERS
    for _, grants, first, last, expiry in per_user:
        assert grants == ORDERS // USERS
        assert last - first == timedelta(days=30 * (grants - 1))
        assert expiry == last
    print(
        f"\nworker {victim} killed; {len(unanswered)} of {ORDERS} notifications got no answer, "
        f"{cut_short} cut short on record; after resending: 0 lost"
    )

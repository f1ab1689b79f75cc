"""Races on MariaDB with real threads: the row locks must make every payment count once.

Each thread is a separate Django test client with its own database connection, released
together by a barrier so the requests overlap.
"""

import logging
import threading
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import OrderStatus, VipOrder
from users.models import User, VipLedgerEntry

from ..factories import UserFactory, VipOrderFactory, VipPlanFactory
from ..helpers import post_callback, requires_mariadb

pytestmark = [requires_mariadb, pytest.mark.django_db(transaction=True)]

THREADS = 24


def run_together(jobs) -> list:
    """Run the callables in threads released at the same instant; return their results."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # reported by the assertions on the results
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_simultaneous_copies_of_one_notification_pay_and_grant_once(caplog):
    order = VipOrderFactory(plan=VipPlanFactory(id=1))
    payload = {"orderId": order.order_number, "status": "SUCCESS"}

    with caplog.at_level(logging.INFO, logger="payments.services"):
        responses = run_together([lambda: post_callback(APIClient(), payload)] * THREADS)

    assert [r.status_code for r in responses] == [HTTPStatus.OK] * THREADS
    assert {r.json()["status"] for r in responses} == {OrderStatus.PAID}
    paid_lines = [r for r in caplog.records if r.getMessage().startswith("order paid")]
    assert len(paid_lines) == 1, "exactly one notification may move the order to paid"
    assert VipLedgerEntry.objects.filter(order=order).count() == 1
    user = User.objects.get(pk=order.user_id)
    assert abs(user.vip_expire_time - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)


def test_simultaneous_payments_of_one_user_add_up(caplog):
    plans = [VipPlanFactory(id=pk) for pk in (1, 2, 3)]
    user = UserFactory()
    start = timezone.now() + timedelta(days=5)
    User.objects.filter(pk=user.pk).update(is_vip=True, vip_expire_time=start)
    orders = [
        VipOrderFactory(user=user, plan=plans[i % 3], amount=plans[i % 3].price)
        for i in range(THREADS)
    ]

    responses = run_together(
        [
            (
                lambda number: (
                    lambda: post_callback(APIClient(), {"orderId": number, "status": "SUCCESS"})
                )
            )(order.order_number)
            for order in orders
        ]
    )

    assert [r.status_code for r in responses] == [HTTPStatus.OK] * THREADS
    assert VipOrder.objects.filter(user=user, status=OrderStatus.PAID).count() == THREADS
    user.refresh_from_db()
    total_days = sum(order.plan.days for order in orders)
    assert user.vip_expire_time == start + timedelta(days=total_days)
    assert VipLedgerEntry.objects.filter(user=user).count() == THREADS


def test_simultaneous_orders_are_all_created(client_for):
    VipPlanFactory(id=1)
    user = UserFactory()
    payload = {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0}

    def create():
        return client_for(user).post("/api/payment/generate-qrcode", payload, format="json")

    responses = run_together([create] * 10)
    assert [r.status_code for r in responses] == [HTTPStatus.OK] * 10
    assert VipOrder.objects.filter(user=user).count() == 10

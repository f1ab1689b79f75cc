"""The periodic jobs' work, run by hand through their management commands: expire orders,
expire memberships, retry failed grants (`test_tasks.py` runs them as Celery tasks)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from payments.models import OrderStatus, VipOrder
from users.models import User, VipChangeKind, VipLedgerEntry

from .factories import UserFactory, VipOrderFactory
from .helpers import post_callback

pytestmark = pytest.mark.django_db


def command(name: str, **options) -> str:
    out = StringIO()
    call_command(name, stdout=out, **options)
    return out.getvalue().strip()


def make_overdue_orders(count: int, user) -> None:
    created = timezone.now() - timedelta(hours=1)
    VipOrder.objects.bulk_create(
        VipOrderFactory.build(
            user=user, plan_id=1, create_time=created, expire_time=created + timedelta(minutes=30)
        )
        for _ in range(count)
    )


def make_lapsed_members(count: int) -> list[User]:
    users = UserFactory.create_batch(count)
    User.objects.filter(pk__in=[u.pk for u in users]).update(
        is_vip=True, vip_expire_time=timezone.now() - timedelta(minutes=1)
    )
    return users


class TestExpireOrders:
    def test_overdue_pending_orders_become_expired_and_nothing_else_moves(self, plans, user):
        make_overdue_orders(3, user)
        payable = VipOrderFactory(user=user)
        paid_late = VipOrderFactory(
            user=user,
            status=OrderStatus.PAID,
            create_time=timezone.now() - timedelta(hours=2),
            expire_time=timezone.now() - timedelta(hours=1),
        )
        assert command("expire_orders") == "expired 3 orders"
        assert VipOrder.objects.filter(status=OrderStatus.EXPIRED).count() == 3
        for order, status in [(payable, OrderStatus.PENDING), (paid_late, OrderStatus.PAID)]:
            order.refresh_from_db()
            assert order.status == status
        assert command("expire_orders") == "expired 0 orders"

    def test_works_in_batches(self, plans, user):
        make_overdue_orders(25, user)
        with CaptureQueriesContext(connection) as queries:
            assert command("expire_orders", batch_size=10) == "expired 25 orders"
        updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
        assert len(updates) == 3

    def test_query_count_does_not_grow_with_the_rows_in_a_batch(self, plans, user):
        make_overdue_orders(5, user)
        with CaptureQueriesContext(connection) as few:
            command("expire_orders", batch_size=1000)
        make_overdue_orders(500, user)
        with CaptureQueriesContext(connection) as many:
            assert command("expire_orders", batch_size=1000) == "expired 500 orders"
        assert len(many.captured_queries) == len(few.captured_queries) == 3


class TestExpireVips:
    def test_lapsed_members_are_switched_off_with_a_ledger_row_each(self):
        lapsed = make_lapsed_members(3)
        member = UserFactory()
        expiry = timezone.now() + timedelta(days=3)
        User.objects.filter(pk=member.pk).update(is_vip=True, vip_expire_time=expiry)

        assert command("expire_vips") == "expired 3 memberships"
        for user in lapsed:
            user.refresh_from_db()
            assert user.is_vip is False
            assert user.vip_expire_time is not None  # kept: "expired on <date>"
            entry = VipLedgerEntry.objects.get(user=user)
            assert (entry.kind, entry.actor, entry.expire_after) == (
                VipChangeKind.EXPIRED,
                None,
                user.vip_expire_time,
            )
        member.refresh_from_db()
        assert (member.is_vip, member.vip_expire_time) == (True, expiry)

    def test_running_twice_changes_nothing_the_second_time(self):
        make_lapsed_members(4)
        assert command("expire_vips") == "expired 4 memberships"
        assert command("expire_vips") == "expired 0 memberships"
        assert VipLedgerEntry.objects.count() == 4

    def test_query_count_does_not_grow_with_the_rows_in_a_batch(self):
        make_lapsed_members(3)
        with CaptureQueriesContext(connection) as few:
            command("expire_vips", batch_size=1000)
        make_lapsed_members(300)
        with CaptureQueriesContext(connection) as many:
            assert command("expire_vips", batch_size=1000) == "expired 300 memberships"
        assert len(many.captured_queries) == len(few.captured_queries)

    def test_works_in_batches(self):
        make_lapsed_members(25)
        assert command("expire_vips", batch_size=10) == "expired 25 memberships"
        assert not User.objects.filter(is_vip=True).exists()


class TestRetryVipGrants:
    def test_a_failed_grant_is_retried_once_and_marked_done(self, plans, monkeypatch):
        order = VipOrderFactory()
        with monkeypatch.context() as patched:
            patched.setattr("users.receivers.vip_extend", lambda **kwargs: 1 / 0)
            post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
        order.refresh_from_db()
        assert order.grant_failed_at is not None

        assert command("retry_vip_grants") == "granted 1, still failing 0"
        order.refresh_from_db()
        assert (order.grant_failed_at, order.grant_error) == (None, "")
        assert VipLedgerEntry.objects.filter(order=order).count() == 1
        order.user.refresh_from_db()
        assert order.user.vip_active()

        assert command("retry_vip_grants") == "granted 0, still failing 0"
        assert VipLedgerEntry.objects.filter(order=order).count() == 1

    def test_a_grant_that_still_fails_stays_recorded(self, plans, monkeypatch):
        order = VipOrderFactory()
        monkeypatch.setattr("users.receivers.vip_extend", lambda **kwargs: 1 / 0)
        post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
        assert command("retry_vip_grants") == "granted 0, still failing 1"
        order.refresh_from_db()
        assert order.grant_error.startswith("ZeroDivisionError")

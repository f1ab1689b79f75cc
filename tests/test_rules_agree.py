"""A rule the database applies to many rows and Python to one row is written twice, side by
side in one module: these check that both forms answer alike on every kind of row, including
the site's own (no deadline, no expiry) and the boundary (exactly now)."""

from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from payments.models import OrderStatus, VipOrder, status_seen_as
from users.models import User, vip_active_q

from .factories import UserFactory, VipOrderFactory

pytestmark = pytest.mark.django_db


def moments(now):
    return [None, now - timedelta(days=1), now, now + timedelta(seconds=1)]


def test_an_orders_status_as_seen_is_one_rule_in_python_and_in_sql():
    now = timezone.now()
    orders = [
        VipOrderFactory(status=status, expire_time=deadline)
        for status, deadline in product(OrderStatus.values, moments(now))
    ]
    for code in OrderStatus.values:
        by_sql = set(
            VipOrder.objects.filter(status_seen_as(code, now=now)).values_list("pk", flat=True)
        )
        by_python = {order.pk for order in orders if order.effective_status(now=now) == code}
        assert by_sql == by_python, OrderStatus(code).label
    assert by_python  # the last code, 已过期, has rows on both sides


def test_a_membership_in_force_is_one_rule_in_python_and_in_sql():
    now = timezone.now()
    users = [
        UserFactory(is_vip=flag, vip_expire_time=expiry)
        for flag, expiry in product((True, False), moments(now))
    ]
    by_sql = set(User.objects.filter(vip_active_q(now=now)).values_list("pk", flat=True))
    by_python = {user.pk for user in users if user.vip_active(now=now)}
    assert by_sql == by_python
    assert len(by_python) == 2  # no end, and an end a second ahead

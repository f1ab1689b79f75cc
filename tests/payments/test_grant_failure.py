"""A grant that fails must not lose the payment (the seed's rule)."""

import logging
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from payments.models import OrderStatus
from users.models import User, VipLedgerEntry

from ..factories import VipOrderFactory
from ..helpers import post_callback

pytestmark = pytest.mark.django_db


def test_a_failed_grant_keeps_the_order_paid_and_is_recorded(plans, monkeypatch, caplog):
    order = VipOrderFactory()

    def half_done_grant(*, user_id, **kwargs):
        # Partial work before the failure: the savepoint must undo it.
        User.objects.filter(pk=user_id).update(is_vip=True)
        raise RuntimeError("user service exploded")

    monkeypatch.setattr("users.receivers.vip_extend", half_done_grant)
    with caplog.at_level(logging.ERROR):
        response = post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == OrderStatus.PAID
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.grant_failed_at is not None
    assert order.grant_error == "RuntimeError: user service exploded"
    order.user.refresh_from_db()
    assert order.user.is_vip is False
    assert not VipLedgerEntry.objects.exists()
    failure_logs = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        order.order_number in line and f"user={order.user_id}" in line for line in failure_logs
    )


def test_a_resend_after_a_failed_grant_is_a_duplicate_not_a_second_try(plans, monkeypatch):
    order = VipOrderFactory()
    calls = []
    monkeypatch.setattr(
        "users.receivers.vip_extend", lambda **kwargs: calls.append(kwargs) or 1 / 0
    )
    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    assert len(calls) == 1

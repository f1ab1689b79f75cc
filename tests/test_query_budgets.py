"""Query budgets of the hot paths: a regression here costs every request."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from .factories import VipOrderFactory
from .helpers import post_callback

pytestmark = pytest.mark.django_db

# session + user; the order's status columns
STATUS_BUDGET = 3
# session + user
CURRENT_USER_BUDGET = 2
# session + user; plan; insert (no transaction, no lookup of the requester)
GENERATE_QRCODE_BUDGET = 4
# 9 statements: the notification stored, then (in the payment's transaction) its outcome;
# order FOR UPDATE, order update; plan; user FOR UPDATE, ledger check, user update, ledger
# insert. Plus 2 savepoints opened and released: the payment's transaction inside the test's
# (in production, the transaction itself) and the signal's; the services take none.
CALLBACK_BUDGET = 13


def test_order_status(api, user, plans, django_assert_max_num_queries):
    order = VipOrderFactory(user=user)
    with django_assert_max_num_queries(STATUS_BUDGET):
        assert api.get(f"/api/payment/status/{order.order_number}").status_code == HTTPStatus.OK


def test_current_user(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(CURRENT_USER_BUDGET):
        assert api.get("/api/users/current").status_code == HTTPStatus.OK


def test_generate_qrcode(api, user, plans, django_assert_max_num_queries):
    payload = {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0}
    with django_assert_max_num_queries(GENERATE_QRCODE_BUDGET):
        response = api.post("/api/payment/generate-qrcode", payload, format="json")
    assert response.status_code == HTTPStatus.OK


def test_callback(plans, django_assert_max_num_queries):
    order = VipOrderFactory()
    with django_assert_max_num_queries(CALLBACK_BUDGET):
        response = post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    assert response.json()["status"] == 1


def test_a_page_of_orders_costs_the_same_for_ten_as_for_one(
    api, user, plans, django_assert_max_num_queries
):
    VipOrderFactory.create_batch(10, user=user)
    # session + user; count; the page with plans joined
    with django_assert_max_num_queries(4):
        body = api.get(f"/api/payment/users/{user.pk}/orders?size=10").json()
    assert body["numberOfElements"] == 10

"""Query budgets of the hot paths: a regression here costs every request."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from .factories import UserFactory, VipOrderFactory
from .helpers import post_callback

pytestmark = pytest.mark.django_db

# What a throttle's count costs when it lives in the database (no CACHE_URL, as in the tests):
# one read and one write (an upsert). With the shared Redis cache, none.
THROTTLE = 2
# session + user; the order's status columns
STATUS_BUDGET = 3
# session + user
CURRENT_USER_BUDGET = 2
# session + user; the throttle; plan; the provider call's record; insert (no transaction, no
# lookup of the requester)
GENERATE_QRCODE_BUDGET = 5 + THROTTLE
# 9 statements: the notification stored, then (in the payment's transaction) its outcome;
# order FOR UPDATE, order update; whether it is a 连续包月 period's charge (by its unique order
# column); user FOR UPDATE, ledger check, user update, ledger insert (the days come with the
# order, not from its plan). Plus 2 savepoints opened and released: the payment's transaction
# inside the test's (in production, the transaction itself) and the signal's; the services
# take none.
CALLBACK_BUDGET = 13
# session + user; count; the page
PAGE_BUDGET = 4
# a staff page also reads the requester's permissions (their own, their groups')
STAFF_PAGE_BUDGET = PAGE_BUDGET + 2


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
    with django_assert_max_num_queries(PAGE_BUDGET):
        body = api.get(f"/api/payment/users/{user.pk}/orders?size=10").json()
    assert body["numberOfElements"] == 10


def test_the_last_page_needs_no_count(api, user, plans, django_assert_num_queries):
    VipOrderFactory.create_batch(3, user=user)
    # session + user; the page (its three rows are the total)
    with django_assert_num_queries(PAGE_BUDGET - 1):
        body = api.get(f"/api/payment/users/{user.pk}/orders?size=10").json()
    assert (body["numberOfElements"], body["totalElements"], body["last"]) == (3, 3, True)


def test_the_staff_search_reads_no_other_table(
    staff_api, user, plans, django_assert_max_num_queries
):
    VipOrderFactory.create_batch(10, user=user)
    with django_assert_max_num_queries(STAFF_PAGE_BUDGET) as queries:
        response = staff_api.post(
            "/api/payment/orders/search", {"userId": user.pk, "size": 10}, format="json"
        )
    assert response.json()["numberOfElements"] == 10
    # A join with vip_plan (three rows) makes MariaDB sort the whole order table into a
    # temporary table before the LIMIT: seconds over a million orders.
    order_sql = [q["sql"] for q in queries.captured_queries if "vip_order" in q["sql"]]
    assert len(order_sql) == 2
    assert not any("vip_plan" in sql for sql in order_sql)


def test_a_page_of_users_costs_the_same_for_ten_as_for_one(
    staff_api, django_assert_max_num_queries
):
    UserFactory.create_batch(15)
    with django_assert_max_num_queries(STAFF_PAGE_BUDGET):
        body = staff_api.get("/api/users/search?keyword=user&size=10").json()["data"]
    assert (body["numberOfElements"], body["totalElements"]) == (10, 15)


def test_the_username_check_is_one_query_and_its_throttle(db, django_assert_num_queries):
    with django_assert_num_queries(1 + THROTTLE):
        assert APIClient().get("/api/users/check-username?username=newbie").json()["data"]


# session + user; the e-mail change's two throttles (account, address); the user FOR UPDATE,
# the email check, the update; a savepoint opened and released (the service's transaction
# inside the test's)
PROFILE_BUDGET = 7 + 2 * THROTTLE


def test_profile_update(api, django_assert_max_num_queries):
    with django_assert_max_num_queries(PROFILE_BUDGET):
        response = api.put("/api/users/profile", {"email": "x@example.com"}, format="json")
    assert response.json()["code"] == HTTPStatus.OK

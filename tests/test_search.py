"""The one search box (`config.search`): the admin's /admin/search/ and GET /api/search."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from payments.models import OrderStatus
from tests.factories import StaffFactory, UserFactory, VipOrderFactory

pytestmark = pytest.mark.django_db

SEARCH = "/api/search"


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def labels(response) -> list[tuple[str, str, bool]]:
    return [(hit["kind"], hit["label"], hit["exact"]) for hit in response.json()["results"]]


def test_each_kind_of_term_finds_its_row(plans):
    member = UserFactory(username="lin", email="lin@example.com", phone="13800138000")
    order = VipOrderFactory(user=member, status=OrderStatus.PAID, transaction_id="4200001234")
    staff = api_for(StaffFactory())
    for term in ["lin", "LIN@example.com", "13800138000"]:
        assert labels(staff.get(SEARCH, {"q": term}))[0] == ("user", "lin", True), term
    for term in [order.order_number, "4200001234"]:
        assert labels(staff.get(SEARCH, {"q": term})) == [("order", order.order_number, True)]
    assert labels(staff.get(SEARCH, {"q": order.order_number[:10]})) == [
        ("order", order.order_number, False)
    ]
    # not a substring: that would scan every order
    assert labels(staff.get(SEARCH, {"q": order.order_number[5:15]})) == []


def test_the_exact_match_comes_first(plans):
    UserFactory(username="wang1")
    UserFactory(username="wang10")
    UserFactory(username="wang")
    found = labels(api_for(StaffFactory()).get(SEARCH, {"q": "wang"}))
    assert found == [("user", "wang", True), ("user", "wang1", False), ("user", "wang10", False)]


def test_only_what_the_searcher_may_read(plans):
    member = UserFactory(username="order-and-user")
    order = VipOrderFactory(user=member, order_number="order-and-user-1")
    may_read_orders = StaffFactory(rights=())
    may_read_orders.user_permissions.add(Permission.objects.get(codename="view_viporder"))
    found = labels(api_for(may_read_orders).get(SEARCH, {"q": "order-and-user"}))
    assert found == [("order", order.order_number, False)]
    nobody = api_for(StaffFactory(rights=()))
    assert nobody.get(SEARCH, {"q": "order-and-user"}).status_code == HTTPStatus.FORBIDDEN
    assert api_for(member).get(SEARCH, {"q": "x"}).status_code == HTTPStatus.FORBIDDEN
    assert APIClient().get(SEARCH, {"q": "x"}).status_code in (401, 403)


def test_bad_terms_are_refused_in_the_payment_format(plans):
    staff = api_for(StaffFactory())
    for params in [{}, {"q": ""}, {"q": "x" * 101}]:
        response = staff.get(SEARCH, params)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "q" in response.json()["fields"]


def test_the_admin_box_opens_a_single_exact_match(admin_client, plans):
    order = VipOrderFactory(transaction_id="4200009999")
    index = admin_client.get("/admin/").content.decode()
    assert 'id="staff-search"' in index
    opened = admin_client.get("/admin/search/", {"q": "4200009999"})
    assert opened.status_code == HTTPStatus.FOUND
    assert opened["Location"] == f"/admin/payments/viporder/{order.pk}/change/"
    listed = admin_client.get("/admin/search/", {"q": order.order_number[:8]}).content.decode()
    assert order.order_number in listed and "开头" in listed
    none = admin_client.get("/admin/search/", {"q": "nothing-like-it"}).content.decode()
    assert 'id="search-none"' in none


def test_a_search_costs_the_same_queries_for_any_number_of_rows(
    plans, django_assert_max_num_queries
):
    staff = api_for(StaffFactory())
    for n in range(1, 4):
        UserFactory(username=f"zz{n}")
    staff.get(SEARCH, {"q": "zz"})
    with CaptureQueriesContext(connection) as few:
        staff.get(SEARCH, {"q": "zz"})
    for n in range(4, 30):
        UserFactory(username=f"zz{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(staff.get(SEARCH, {"q": "zz"}).json()["results"]) == 20

"""Who may do what: owners, other users, staff and anonymous visitors."""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from payments.models import VipOrder
from users.models import User

from .factories import UserFactory, VipOrderFactory
from .helpers import envelope_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def mallory(client_for):
    return client_for(UserFactory(username="mallory"))


@pytest.fixture
def victims_order(plans, user):
    return VipOrderFactory(user=user)


def test_another_users_order_is_not_found_like_a_missing_one(mallory, victims_order):
    """A 403 would tell which order numbers and ids exist."""
    for path in (
        f"/api/payment/status/{victims_order.order_number}",
        f"/api/payment/orders/{victims_order.pk}",
        f"/api/payment/orders/by-number/{victims_order.order_number}",
    ):
        response = mallory.get(path)
        missing = mallory.get(
            path.replace(str(victims_order.order_number), "nope0000000000").replace(
                f"/{victims_order.pk}", "/999999"
            )
        )
        assert response.status_code == missing.status_code == HTTPStatus.NOT_FOUND, path
        assert response.json()["error"] == missing.json()["error"]
    cancel = mallory.put(f"/api/payment/orders/{victims_order.pk}/cancel")
    assert cancel.status_code == HTTPStatus.NOT_FOUND
    victims_order.refresh_from_db()
    assert victims_order.status == 0


def test_a_user_cannot_list_another_users_orders(mallory, victims_order):
    response = mallory.get(f"/api/payment/users/{victims_order.user_id}/orders")
    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_user_cannot_create_an_order_for_another(mallory, user, plans):
    response = mallory.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0},
        format="json",
    )
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not VipOrder.objects.exists()


def test_a_user_reads_only_the_public_profile_of_another(mallory, user):
    """What a comment shows; nothing private (test_staff_rights has the whole rule)."""
    assert set(mallory.get(f"/api/users/{user.pk}").json()["data"]) == {
        "id",
        "username",
        "avatar",
        "isVip",
    }
    assert envelope_error(mallory.get("/api/users/999999")) == (404, "用户不存在")


def test_the_owner_reads_their_own_order_and_list(api, victims_order):
    assert api.get(f"/api/payment/status/{victims_order.order_number}").status_code == 200
    listed = api.get(f"/api/payment/users/{victims_order.user_id}/orders")
    assert [o["orderNumber"] for o in listed.json()["content"]] == [victims_order.order_number]


def test_staff_read_and_buy_for_anyone(staff_api, user, victims_order):
    assert staff_api.get(f"/api/payment/status/{victims_order.order_number}").status_code == 200
    assert staff_api.get(f"/api/payment/users/{user.pk}/orders").json()["totalElements"] == 1
    assert staff_api.get(f"/api/users/{user.pk}").json()["data"]["id"] == user.pk
    created = staff_api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 1},
        format="json",
    )
    assert created.status_code == HTTPStatus.OK
    assert VipOrder.objects.get(order_number=created.json()["orderId"]).user == user


def test_staff_ordering_for_a_user_who_does_not_exist_is_404(staff_api, plans):
    response = staff_api.post(
        "/api/payment/generate-qrcode",
        {"userId": 999999, "planId": 1, "amount": "29.90", "paymentMethod": 1},
        format="json",
    )
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["fields"] == {"userId": "用户不存在"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/payment/generate-qrcode"),
        ("get", "/api/payment/status/{order}"),
        ("get", "/api/payment/users/{user}/orders"),
    ],
)
def test_anonymous_visitors_get_401_on_payment_paths(victims_order, method, path):
    url = path.format(order=victims_order.order_number, user=victims_order.user_id)
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["status"] == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/users/current"),
        ("get", "/api/users/{user}"),
        ("put", "/api/users/profile"),
        ("put", "/api/users/password?oldPassword=a&newPassword=b"),
        ("get", "/api/users/list"),
        ("get", "/api/users/search?keyword=a"),
        ("delete", "/api/users/{user}"),
        ("put", "/api/users/{user}/vip"),
        ("put", "/api/users/{user}/vip/params?vipType=1&vipExpireTime=2099-01-01T00:00:00"),
        ("delete", "/api/users/{user}/vip"),
    ],
)
def test_anonymous_visitors_get_code_401_in_the_envelope(user, method, path):
    response = getattr(APIClient(), method)(path.format(user=user.pk), {}, format="json")
    assert envelope_error(response) == (401, "未登录")
    assert User.objects.filter(pk=user.pk, user_status=1).exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/users/list"),
        ("get", "/api/users/search?keyword=user"),
        ("delete", "/api/users/{user}"),
        ("put", "/api/users/{user}/vip"),
        ("put", "/api/users/{user}/vip/params?vipType=1&vipExpireTime=2099-12-31T23:59:59"),
        ("delete", "/api/users/{user}/vip"),
    ],
)
def test_only_staff_may_list_delete_and_change_vip(client_for, user, plans, method, path):
    other = UserFactory()
    response = getattr(client_for(other), method)(
        path.format(user=user.pk),
        {"vipType": 1, "vipExpireTime": "2099-12-31T23:59:59"},
        format="json",
    )
    assert envelope_error(response) == (403, "禁止访问")
    user.refresh_from_db()
    assert (user.is_vip, user.is_active) == (False, True)


def test_no_response_ever_contains_the_password_or_its_hash(plans):
    client = APIClient()
    password = "Sekr1t-Passw0rd"
    responses = [
        client.post(
            "/api/users/register",
            {"username": "carol", "password": password, "email": "carol@example.com"},
            format="json",
        ),
        client.post("/api/users/login", {"username": "carol", "password": password}, format="json"),
        client.get("/api/users/current"),
    ]
    user_id = responses[0].json()["data"]["id"]
    responses.append(client.get(f"/api/users/{user_id}"))
    stored_hash = User.objects.get(pk=user_id).password
    for response in responses:
        assert response.status_code == HTTPStatus.OK
        text = response.content.decode()
        assert "password" not in text
        assert password not in text
        assert stored_hash not in text

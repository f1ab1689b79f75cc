"""Limits on abuse: order creation per user, login attempts per address and per username."""

from http import HTTPStatus

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from users.models import User

from .factories import PASSWORD, UserFactory, VipOrderFactory
from .helpers import envelope_error, post_callback, requires_mariadb

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tight_rates(monkeypatch):
    # DRF reads the rates once, at import: patch the class attribute.
    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {
            "order_create": "3/min",
            "login_address": "5/min",
            "login_username": "3/min",
            "check_username": "3/min",
            "password_change": "2/min",
            "register": "2/min",
            "email_change": "3/min",
            "notification_refused": "3/min",
        },
    )


def create_order(client, user):
    return client.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0},
        format="json",
    )


def test_order_creation_is_limited_per_user(client_for, user, plans):
    client = client_for(user)
    assert [create_order(client, user).status_code for _ in range(3)] == [HTTPStatus.OK] * 3
    refused = create_order(client, user)
    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert int(refused["Retry-After"]) > 0
    assert refused.json()["status"] == HTTPStatus.TOO_MANY_REQUESTS
    assert {"error", "timestamp"} <= set(refused.json())

    other = UserFactory()
    assert create_order(client_for(other), other).status_code == HTTPStatus.OK


def login(username, address="10.0.0.1"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/users/login", {"username": username, "password": "wrong"}, format="json"
    )


def test_login_attempts_are_limited_per_username_across_addresses(user):
    codes = [login(user.username, f"10.0.0.{i}").json()["code"] for i in range(4)]
    assert codes == [1006] * 3 + [HTTPStatus.TOO_MANY_REQUESTS]
    refused = login(user.username, "10.0.0.99")
    code, message = envelope_error(refused)
    assert code == HTTPStatus.TOO_MANY_REQUESTS
    assert message.startswith("请求过于频繁")
    assert int(refused["Retry-After"]) > 0
    # the right password does not get through either while the limit holds
    right = APIClient().post(
        "/api/users/login", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert right.json()["code"] == HTTPStatus.TOO_MANY_REQUESTS


def test_login_attempts_are_limited_per_address_across_usernames(db):
    codes = [login(f"nobody{i}").json()["code"] for i in range(6)]
    assert codes == [1006] * 5 + [HTTPStatus.TOO_MANY_REQUESTS]
    assert login("nobody-else", address="10.9.9.9").json()["code"] == 1006


def test_the_gateway_callback_is_never_throttled(plans):
    order = VipOrderFactory()
    gateway = APIClient()
    codes = {
        post_callback(gateway, {"orderId": order.order_number, "status": "SUCCESS"}).status_code
        for _ in range(30)
    }
    assert codes == {HTTPStatus.OK}


def test_the_username_check_is_limited_per_address(db):
    def check(name, address="10.0.0.1"):
        client = APIClient(REMOTE_ADDR=address)
        return client.get("/api/users/check-username", {"username": name}).json()["code"]

    assert [check(f"name{i}") for i in range(4)] == [HTTPStatus.OK] * 3 + [429]
    assert check("name9", address="10.0.0.2") == HTTPStatus.OK


def test_password_guesses_through_the_change_form_are_limited_per_user(api, user):
    def change(old):
        body = {"oldPassword": old, "newPassword": "Fresh-pass-9"}
        return api.put("/api/users/password", body, format="json")

    codes = [change("guess-one").json()["code"], change("guess-two").json()["code"]]
    assert codes == [1007, 1007]
    assert envelope_error(change(PASSWORD))[0] == HTTPStatus.TOO_MANY_REQUESTS
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def form_login(client, path: str, username: str, password: str):
    return client.post(path, {"username": username, "password": password})


@pytest.mark.parametrize("path", ["/accounts/login/", "/api-auth/login/", "/admin/login/"])
def test_one_login_allowance_for_every_way_to_log_in(path):
    bob = UserFactory(username="bob", is_staff=True)
    guesses = [form_login(Client(), path, "bob", f"guess-{i}") for i in range(3)]
    assert all(r.status_code == HTTPStatus.OK for r in guesses)  # the form again, with an error
    # The allowance is spent: the right password is refused on every path, the form says why.
    for other in ("/accounts/login/", "/api-auth/login/", "/admin/login/"):
        client = Client()
        page = form_login(client, other, "bob", PASSWORD)
        assert page.status_code == HTTPStatus.OK
        assert "登录尝试过于频繁" in page.content.decode()
        assert "_auth_user_id" not in client.session
    api = login_right(bob)
    assert envelope_error(api)[0] == HTTPStatus.TOO_MANY_REQUESTS
    assert int(api["Retry-After"]) > 0


def login_right(user, address="10.0.0.7"):
    return APIClient(REMOTE_ADDR=address).post(
        "/api/users/login", {"username": user.username, "password": PASSWORD}, format="json"
    )


@requires_mariadb
@pytest.mark.parametrize("spelling", ["bob ", "BOB", "böb", "ｂｏｂ", "b\u200bob"])
def test_spellings_the_database_takes_for_the_same_name_share_its_allowance(spelling):
    bob = UserFactory(username="bob")
    for i in range(3):
        login("bob", f"10.0.1.{i}")
    response = APIClient(REMOTE_ADDR="10.0.2.1").post(
        "/api/users/login", {"username": spelling, "password": PASSWORD}, format="json"
    )
    assert envelope_error(response)[0] == HTTPStatus.TOO_MANY_REQUESTS
    assert login_right(bob).json()["code"] == HTTPStatus.TOO_MANY_REQUESTS


def test_registration_is_limited_per_address(settings, db):
    def register(i, address="10.0.3.1"):
        body = {"username": f"newbie{i}", "password": "N3w-member!", "email": f"n{i}@example.com"}
        return APIClient(REMOTE_ADDR=address).post("/api/users/register", body, format="json")

    codes = [register(i).json()["code"] for i in range(3)]
    assert codes == [200, 200, HTTPStatus.TOO_MANY_REQUESTS]
    assert register(9, address="10.0.3.2").json()["code"] == 200


def test_the_sign_up_page_shares_the_registration_limit(client):
    for i in range(2):
        APIClient().post(
            "/api/users/register",
            {"username": f"api{i}", "password": "N3w-member!", "email": f"a{i}@example.com"},
            format="json",
        )
    page = client.post(
        "/accounts/register/",
        {
            "username": "pageuser",
            "email": "p@example.com",
            "password1": "N3w-member!",
            "password2": "N3w-member!",
        },
    )
    assert "注册过于频繁" in page.content.decode()
    assert not User.objects.filter(username="pageuser").exists()


def test_email_changes_are_limited_like_registration(client_for, user):
    """The probe: `PUT /api/users/profile {"email": …}` told 40 times in 1.5 s whether an
    address is registered."""
    UserFactory(email="taken@example.com")
    api = client_for(user)
    answers = [
        api.put("/api/users/profile", {"email": email}, format="json").json()["code"]
        for email in ("a1@example.com", "taken@example.com", "a3@example.com", "a4@example.com")
    ]
    assert answers == [200, 1002, 200, HTTPStatus.TOO_MANY_REQUESTS]
    user.refresh_from_db()
    assert user.email == "a3@example.com"
    # The other fields stay changeable, and keeping one's own address is no attempt.
    same = api.put("/api/users/profile", {"email": user.email, "phone": "13800138000"})
    assert same.json()["code"] == 200


def test_email_changes_are_limited_per_address_across_accounts(db):
    def change(i):
        client = APIClient(REMOTE_ADDR="10.0.4.1")
        client.force_login(UserFactory())
        return client.put("/api/users/profile", {"email": f"probe{i}@example.com"}, format="json")

    codes = [change(i).json()["code"] for i in range(4)]
    assert codes == [200, 200, 200, HTTPStatus.TOO_MANY_REQUESTS]

"""The old front end's flows, replayed with its HTTP rules (`tests/oldclient.py`), counting the
requests each flow sends: no retries of a refused request, no logout loop, the right message."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from payments.models import OrderStatus, VipOrder
from users.models import User

from .factories import PASSWORD, StaffFactory, UserFactory
from .oldclient import OldFrontEnd

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    front = OldFrontEnd()
    front.get("/api/users/login-status")  # the app's first call: it also sets XSRF-TOKEN
    front.sent.clear()
    return front


@pytest.fixture
def member(browser, user):
    assert browser.login(user.username, PASSWORD).ok
    browser.sent.clear()
    return browser


NEW_USER = {"username": "newbie", "password": "N3w-member!", "email": "newbie@example.com"}


def test_register_checks_the_name_then_signs_up(browser):
    outcome = browser.register(**NEW_USER, phone="13800138000")
    assert outcome.ok and outcome.data["username"] == "newbie"
    assert browser.sent == ["GET /api/users/check-username", "POST /api/users/register"]
    assert User.objects.get(username="newbie").check_password(NEW_USER["password"])


def test_register_with_a_taken_name_stops_at_the_name_check(browser):
    UserFactory(username="newbie")
    assert browser.check_username("newbie").data is False
    outcome = browser.register(**NEW_USER)
    assert (outcome.ok, outcome.shown) == (False, "用户名已存在")
    assert browser.sent == ["GET /api/users/check-username"] * 2


def test_register_with_a_name_taken_meanwhile_shows_the_message_once(browser):
    UserFactory(username="newbie")
    outcome = browser.post("/api/users/register", NEW_USER)
    assert (outcome.ok, outcome.shown) == (False, "用户名已存在")
    assert browser.sent == ["POST /api/users/register"]


def test_register_with_a_taken_email_shows_the_message_once(browser):
    UserFactory(email="newbie@example.com")
    outcome = browser.register(**NEW_USER)
    assert (outcome.ok, outcome.shown) == (False, "邮箱已被注册")
    assert browser.sent == ["GET /api/users/check-username", "POST /api/users/register"]
    assert not User.objects.filter(username="newbie").exists()


def test_a_wrong_password_is_one_request_and_no_logout(browser, user):
    outcome = browser.login(user.username, "not-the-password")
    assert (outcome.ok, outcome.shown) == (False, "用户名或密码错误")
    assert browser.sent == ["POST /api/users/login"]
    assert browser.logouts == 0


@pytest.mark.parametrize(
    "path", ["/api/users/current", "/api/payment/users/{user}/orders?page=0&size=10"]
)
def test_an_expired_session_logs_out_once(member, user, path):
    Session.objects.all().delete()
    outcome = member.get(path.format(user=user.pk))
    assert not outcome.ok
    assert member.logouts == 1
    assert member.sent == [
        f"GET {path.split('?')[0].format(user=user.pk)}",
        "POST /api/users/logout",
    ]
    assert member.page == "/user/login"


def test_profile_update_stores_the_returned_user(member, user):
    outcome = member.put(
        "/api/users/profile",
        {"email": "new@example.com", "phone": "13912345678", "avatar": "default_avatar.jpg"},
    )
    assert outcome.ok
    assert (outcome.data["email"], outcome.data["phone"]) == ("new@example.com", "13912345678")
    assert member.sent == ["PUT /api/users/profile"]
    user.refresh_from_db()
    assert (user.email, user.phone, user.avatar) == (
        "new@example.com",
        "13912345678",
        "default_avatar.jpg",
    )


def test_profile_with_a_taken_email_shows_the_message_once(member, user):
    UserFactory(email="taken@example.com")
    outcome = member.put("/api/users/profile", {"email": "taken@example.com", "phone": None})
    assert (outcome.ok, outcome.shown) == (False, "邮箱已被注册")
    assert member.sent == ["PUT /api/users/profile"]
    user.refresh_from_db()
    assert user.email != "taken@example.com"


def test_password_change_then_login_with_the_new_one(member, user):
    # axios sends `params` URL-encoded (this password holds an "&")
    query = urlencode({"oldPassword": PASSWORD, "newPassword": "Fresh-pass-9"})
    changed = member.put(f"/api/users/password?{query}")
    assert changed.ok
    assert member.get("/api/users/current").ok  # the session stays valid
    assert member.post("/api/users/logout").ok

    assert member.login(user.username, PASSWORD).shown == "用户名或密码错误"
    assert member.login(user.username, "Fresh-pass-9").ok
    assert member.sent == [
        "PUT /api/users/password",
        "GET /api/users/current",
        "POST /api/users/logout",
        "POST /api/users/login",
        "POST /api/users/login",
    ]
    assert member.logouts == 0


def test_password_change_with_a_wrong_old_password_shows_the_message_once(member, user):
    outcome = member.put("/api/users/password?oldPassword=wrong-old&newPassword=Fresh-pass-9")
    assert (outcome.ok, outcome.shown) == (False, "原密码错误")
    assert member.sent == ["PUT /api/users/password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_buying_a_plan_shows_the_new_membership(member, user, plans):
    before = timezone.now()
    created = member.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 2, "amount": 88, "paymentMethod": 0},
    )
    assert created.ok
    order_number = created.data["orderId"]
    assert member.get(f"/api/payment/status/{order_number}").data["status"] == 0
    assert member.post("/api/payment/callback", {"orderId": order_number, "status": "SUCCESS"}).ok
    assert member.get(f"/api/payment/status/{order_number}").data["status"] == 1
    current = member.get("/api/users/current").data
    assert current["isVip"] == 1
    expiry = timezone.datetime.fromisoformat(current["vipExpireTime"])
    assert before + timedelta(days=90) <= expiry <= timezone.now() + timedelta(days=90)
    assert VipOrder.objects.get(order_number=order_number).status == OrderStatus.PAID
    assert len(member.sent) == 5


def test_staff_list_and_search_users(browser):
    staff = StaffFactory(username="boss")
    UserFactory(username="alice", phone="13800000001")
    UserFactory(username="bob")
    assert browser.login(staff.username, PASSWORD).ok
    browser.sent.clear()

    page = browser.get("/api/users/list?page=0&size=2&sort=username&direction=asc").data
    assert [u["username"] for u in page["content"]] == ["alice", "bob"]
    assert (page["totalElements"], page["totalPages"], page["last"]) == (3, 2, False)

    found = browser.get("/api/users/search?keyword=0000001&page=0&size=10").data
    assert [u["username"] for u in found["content"]] == ["alice"]
    assert browser.sent == ["GET /api/users/list", "GET /api/users/search"]


def test_a_member_on_the_staff_list_is_refused_once(member):
    outcome = member.get("/api/users/list?page=0&size=10")
    assert (outcome.ok, outcome.shown) == (False, "禁止访问")
    assert member.sent == ["GET /api/users/list"]


def test_the_comment_list_shows_every_author_without_private_data(member, user):
    """Once the comment service serves comments again, the page reads each author's record: it
    must show every name (not 未知用户) and raise no toast, and a member must learn nothing
    private about another (the old service answered the whole record)."""
    authors = [UserFactory(phone="13912345678"), UserFactory(), user]
    shown = member.comment_authors([author.pk for author in authors])
    assert shown == [author.username for author in authors]
    assert member.sent == [f"GET /api/users/{author.pk}" for author in authors]
    assert member.logouts == 0
    other = member.get(f"/api/users/{authors[0].pk}").data
    assert other == {
        "id": authors[0].pk,
        "username": authors[0].username,
        "avatar": authors[0].avatar,
        "isVip": 0,
    }
    assert member.get(f"/api/users/{user.pk}").data["email"] == user.email  # oneself: all

"""`/api/users/...`: the envelope, registration, sessions with CSRF, and the VIP admin paths."""

from datetime import datetime, timedelta
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.hashers import check_password
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from users.models import User, VipChangeKind, VipLedgerEntry

from ..factories import PASSWORD, UserFactory
from ..helpers import envelope_error

pytestmark = pytest.mark.django_db


def register(client, **fields):
    payload = {"username": "bob", "password": PASSWORD, "email": "bob@example.com", **fields}
    return client.post("/api/users/register", payload, format="json")


def test_registration_answers_the_user_in_the_envelope_and_hashes_the_password():
    response = register(APIClient(), phone="13800000000")
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert (body["code"], body["message"]) == (200, "注册成功")
    assert set(body["data"]) == {
        "id", "username", "email", "phone", "avatar", "registerTime", "lastLoginTime",
        "userStatus", "isVip", "vipExpireTime", "createTime", "updateTime",
    }  # fmt: skip
    assert body["data"]["phone"] == "13800000000"
    stored = User.objects.get(username="bob")
    assert stored.password != PASSWORD
    assert check_password(PASSWORD, stored.password)


def test_a_taken_username_is_code_1001():
    UserFactory(username="bob")
    assert envelope_error(register(APIClient())) == (1001, "用户名已存在")
    assert User.objects.count() == 1


def test_a_taken_email_is_code_1002_whatever_its_case():
    UserFactory(username="alice", email="bob@example.com")
    response = register(APIClient(), email="BOB@example.com")
    assert envelope_error(response) == (1002, "邮箱已被注册")
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"username": "ab"}, "用户名长度必须在3-20之间"),
        ({"username": "a" * 21}, "用户名长度必须在3-20之间"),
        ({"password": "12345"}, "密码长度必须在6-20之间"),
        ({"password": "x" * 21}, "密码长度必须在6-20之间"),
        ({"email": "not-an-email"}, "邮箱格式不正确"),
        ({"email": ""}, "邮箱不能为空"),
        ({"username": "bad name!"}, "用户名只能包含字母、数字和 @/./+/-/_"),
        ({"phone": "12345678901"}, "手机号格式不正确"),
        ({"avatar": "javascript:alert(1)"}, "头像地址格式不正确"),
    ],
)
def test_bad_registrations_are_code_400_in_the_envelope(fields, message):
    response = register(APIClient(), **fields)
    assert envelope_error(response) == (400, message)
    assert not User.objects.exists()


def test_a_common_password_is_refused():
    response = register(APIClient(), password="password")
    assert envelope_error(response)[0] == 400
    assert not User.objects.exists()


def test_login_answers_the_session_and_a_fresh_csrf_cookie(user):
    client = APIClient()
    before = client.get("/api/users/login-status")
    assert before.json()["data"] is False
    old_token = before.cookies["XSRF-TOKEN"].value

    response = client.post(
        "/api/users/login", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert response.status_code == HTTPStatus.OK
    data = response.json()["data"]
    assert data["sessionId"] and client.session.session_key
    assert data["sessionId"] != client.session.session_key  # the HttpOnly cookie stays secret
    assert data["user"]["username"] == user.username
    assert data["maxInactiveInterval"] == 1800
    assert parse_datetime(data["loginTime"]).tzinfo is not None
    new_token = response.cookies["XSRF-TOKEN"].value
    assert new_token and new_token != old_token
    assert client.get("/api/users/login-status").json()["data"] is True


def test_a_wrong_password_is_code_1006(user):
    response = APIClient().post(
        "/api/users/login", {"username": user.username, "password": "wrong-one"}, format="json"
    )
    assert envelope_error(response) == (1006, "用户名或密码错误")


def test_an_unknown_username_is_code_1006_too():
    response = APIClient().post(
        "/api/users/login", {"username": "nobody", "password": PASSWORD}, format="json"
    )
    assert envelope_error(response) == (1006, "用户名或密码错误")


def test_a_disabled_user_cannot_log_in(user):
    user.is_active = False
    user.save()
    client = APIClient()
    response = client.post(
        "/api/users/login", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert envelope_error(response) == (1005, "账号已被禁用")
    assert client.get("/api/users/login-status").json()["data"] is False
    # Only the right password learns that the account exists and is disabled.
    guess = client.post(
        "/api/users/login", {"username": user.username, "password": "wrong-one"}, format="json"
    )
    assert envelope_error(guess) == (1006, "用户名或密码错误")


def test_unsafe_requests_need_the_axios_csrf_header(user):
    client = APIClient(enforce_csrf_checks=True)
    login = client.post(
        "/api/users/login", {"username": user.username, "password": PASSWORD}, format="json"
    )
    token = login.cookies["XSRF-TOKEN"].value

    change = {"phone": "13900000000"}
    refused = client.put("/api/users/profile", change, format="json")
    assert envelope_error(refused) == (403, "禁止访问")
    user.refresh_from_db()
    assert user.phone is None

    accepted = client.put(
        "/api/users/profile", change, format="json", headers={"X-XSRF-TOKEN": token}
    )
    assert accepted.json()["code"] == HTTPStatus.OK
    user.refresh_from_db()
    assert user.phone == "13900000000"


def test_current_user_is_401_for_visitors_and_the_user_otherwise(api, user):
    assert envelope_error(APIClient().get("/api/users/current")) == (401, "未登录")
    assert api.get("/api/users/current").json()["data"]["id"] == user.pk


def test_is_vip_reads_0_once_the_expiry_has_passed(api, user):
    User.objects.filter(pk=user.pk).update(
        is_vip=True, vip_expire_time=timezone.now() - timedelta(seconds=1)
    )
    assert api.get("/api/users/current").json()["data"]["isVip"] == 0
    User.objects.filter(pk=user.pk).update(vip_expire_time=timezone.now() + timedelta(days=1))
    assert api.get("/api/users/current").json()["data"]["isVip"] == 1


def test_an_unknown_user_is_code_404_for_staff(staff_api):
    assert envelope_error(staff_api.get("/api/users/999999")) == (404, "用户不存在")


def test_an_unknown_path_under_the_api_is_a_json_404(api):
    response = api.get("/api/users/nothing/here")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["code"] == HTTPStatus.NOT_FOUND
    assert api.get("/api/payment/nothing").json()["status"] == HTTPStatus.NOT_FOUND


def test_staff_set_an_exact_expiry_read_in_the_site_time_zone(staff_api, staff, user, plans):
    response = staff_api.put(
        f"/api/users/{user.pk}/vip",
        {"vipType": 2, "vipExpireTime": "2099-12-31T23:59:59"},
        format="json",
    )
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"code": 200, "message": "VIP状态更新成功", "data": None}
    user.refresh_from_db()
    assert user.vip_expire_time == datetime(
        2099, 12, 31, 23, 59, 59, tzinfo=ZoneInfo("Asia/Shanghai")
    )
    entry = VipLedgerEntry.objects.get(user=user)
    assert (entry.kind, entry.actor, entry.expire_before) == (VipChangeKind.ADMIN_SET, staff, None)


def test_an_expiry_with_an_offset_is_kept(staff_api, user, plans):
    staff_api.put(
        f"/api/users/{user.pk}/vip",
        {"vipType": 1, "vipExpireTime": "2099-01-01T00:00:00Z"},
        format="json",
    )
    user.refresh_from_db()
    assert user.vip_expire_time == datetime(2099, 1, 1, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"vipType": 1, "vipExpireTime": "2000-01-01T00:00:00"}, "VIP到期时间必须晚于当前时间"),
        ({"vipType": 1}, "VIP到期时间不能为空"),
        ({"vipType": 42, "vipExpireTime": "2099-01-01T00:00:00"}, "VIP类型不存在"),
        ({"vipType": 1, "vipExpireTime": "tomorrow"}, None),
    ],
)
def test_bad_vip_updates_are_code_400_and_change_nothing(staff_api, user, plans, payload, message):
    response = staff_api.put(f"/api/users/{user.pk}/vip", payload, format="json")
    code, text = envelope_error(response)
    assert code == 400
    if message:
        assert text == message
    user.refresh_from_db()
    assert (user.is_vip, user.vip_expire_time) == (False, None)
    assert not VipLedgerEntry.objects.exists()


def test_staff_revoke_vip(staff_api, staff, user):
    expiry = timezone.now() + timedelta(days=10)
    User.objects.filter(pk=user.pk).update(is_vip=True, vip_expire_time=expiry)
    response = staff_api.delete(f"/api/users/{user.pk}/vip")
    assert response.json() == {"code": 200, "message": "VIP状态已取消", "data": None}
    user.refresh_from_db()
    assert (user.is_vip, user.vip_expire_time) == (False, None)
    entry = VipLedgerEntry.objects.get(user=user)
    assert (entry.kind, entry.actor, entry.expire_before, entry.expire_after) == (
        VipChangeKind.ADMIN_REVOKE,
        staff,
        expiry,
        None,
    )


def test_vip_changes_for_an_unknown_user_are_404(staff_api, plans):
    assert envelope_error(staff_api.delete("/api/users/999999/vip"))[0] == 404

"""The user service's other paths: the name check, profile, password, the staff lists, account
deletion, VIP by query parameters, logout, and the protocol's codes for faults."""

import logging
from datetime import datetime
from http import HTTPStatus
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from payments.models import VipOrder
from users.models import User, VipLedgerEntry
from vipplatform.logging import RedactSecretsFilter

from ..factories import PASSWORD, StaffFactory, UserFactory, VipOrderFactory
from ..helpers import envelope_error

pytestmark = pytest.mark.django_db


def check(name: str):
    return APIClient().get("/api/users/check-username", {"username": name})


def test_check_username_answers_whether_the_name_is_free(user):
    assert check("someone-new").json() == {"code": 200, "message": "用户名可用", "data": True}
    taken = check(user.username).json()
    assert (taken["code"], taken["data"]) == (200, False)


@pytest.mark.parametrize(
    ("name", "message"), [("", "用户名不能为空"), ("ab", "用户名长度必须在3-20之间")]
)
def test_check_username_refuses_a_name_registration_would_refuse(name, message):
    assert envelope_error(check(name)) == (400, message)


def test_profile_ignores_fields_a_member_may_not_change(api, user):
    response = api.put(
        "/api/users/profile",
        {"username": "hacker", "isVip": 1, "userStatus": 0, "phone": "13712345678"},
        format="json",
    )
    assert response.json()["message"] == "更新成功"
    user.refresh_from_db()
    assert (user.username, user.is_vip, user.is_active, user.phone) == (
        user.username,
        False,
        True,
        "13712345678",
    )
    assert user.username != "hacker"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phone": "12345678901"}, "手机号格式不正确"),
        ({"phone": "1381234567"}, "手机号格式不正确"),
        ({"email": ""}, "邮箱不能为空"),
        ({"email": "nope"}, "邮箱格式不正确"),
        ({"avatar": "javascript:alert(1)"}, "头像地址格式不正确"),
    ],
)
def test_bad_profile_changes_are_code_400_and_change_nothing(api, user, change, message):
    before = (user.email, user.phone, user.avatar)
    assert envelope_error(api.put("/api/users/profile", change, format="json")) == (400, message)
    user.refresh_from_db()
    assert (user.email, user.phone, user.avatar) == before


def test_profile_clears_the_phone_with_null(api, user):
    User.objects.filter(pk=user.pk).update(phone="13800000000")
    assert api.put("/api/users/profile", {"phone": None}, format="json").json()["code"] == 200
    user.refresh_from_db()
    assert user.phone is None


def test_keeping_ones_own_email_in_another_case_is_not_taken(api, user):
    response = api.put("/api/users/profile", {"email": user.email.upper()}, format="json")
    assert response.json()["code"] == 200


def test_password_change_reads_a_json_body_too(api, user):
    body = {"oldPassword": PASSWORD, "newPassword": "Fresh-pass-9"}
    assert api.put("/api/users/password", body, format="json").json()["code"] == 200
    user.refresh_from_db()
    assert user.check_password("Fresh-pass-9")


@pytest.mark.parametrize(
    ("new", "message"),
    [("12345", "密码长度必须在6-20之间"), ("password", None), ("", "新密码不能为空")],
)
def test_password_change_applies_the_password_rules(api, user, new, message):
    query = urlencode({"oldPassword": PASSWORD, "newPassword": new})
    code, text = envelope_error(api.put(f"/api/users/password?{query}"))
    assert code == 400
    if message:
        assert text == message
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_ends_the_users_other_sessions(client_for, user):
    here, elsewhere = client_for(user), client_for(user)
    query = urlencode({"oldPassword": PASSWORD, "newPassword": "Fresh-pass-9"})
    assert here.put(f"/api/users/password?{query}").json()["code"] == 200
    assert here.get("/api/users/current").json()["code"] == 200
    assert envelope_error(elsewhere.get("/api/users/current")) == (401, "未登录")


def test_password_query_parameters_never_reach_a_log_line():
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1,
        '"PUT /api/users/password?oldPassword=s3cret&newPassword=n3w HTTP/1.1" 200', None, None,
    )  # fmt: skip
    RedactSecretsFilter().filter(record)
    assert "s3cret" not in record.getMessage()
    assert "n3w" not in record.getMessage()


def test_staff_list_users_newest_first_by_default(staff_api, staff):
    first, second = UserFactory(), UserFactory()
    page = staff_api.get("/api/users/list").json()["data"]
    assert [u["id"] for u in page["content"]] == [second.pk, first.pk, staff.pk]
    assert (page["number"], page["size"], page["first"], page["empty"]) == (0, 10, True, False)


def test_staff_search_matches_username_email_or_phone(staff_api):
    by_name = UserFactory(username="zed-one")
    by_email = UserFactory(email="zed@corp.example")
    by_phone = UserFactory(phone="13900001234")
    UserFactory(username="other")
    found = {
        keyword: {u["id"] for u in staff_api.get("/api/users/search", {"keyword": keyword})
                  .json()["data"]["content"]}
        for keyword in ("zed", "00001234")
    }  # fmt: skip
    assert found == {"zed": {by_name.pk, by_email.pk}, "00001234": {by_phone.pk}}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"sort": "password"}, "不支持的排序字段：password"),
        ({"direction": "sideways"}, "排序方向只能是 asc 或 desc"),
        ({"page": "99999999999999999999"}, "page不能大于10000000"),
        ({"page": "-1"}, "page不能小于0"),
        ({"size": "abc"}, "size必须是整数"),
    ],
)
def test_bad_list_queries_are_code_400(staff_api, query, message):
    assert envelope_error(staff_api.get("/api/users/list", query)) == (400, message)


def test_list_pages_are_capped_at_100(staff_api):
    assert staff_api.get("/api/users/list", {"size": 5000}).json()["data"]["size"] == 100


def test_staff_delete_a_user_without_payments(staff_api):
    doomed = UserFactory()
    response = staff_api.delete(f"/api/users/{doomed.pk}")
    assert response.json() == {"code": 200, "message": "账户删除成功", "data": None}
    assert not User.objects.filter(pk=doomed.pk).exists()


def test_a_user_with_payments_is_disabled_not_deleted(staff_api, plans):
    order = VipOrderFactory()
    response = staff_api.delete(f"/api/users/{order.user_id}")
    assert response.json()["code"] == 200
    assert "已禁用" in response.json()["message"]
    kept = User.objects.get(pk=order.user_id)
    assert not kept.is_active
    assert VipOrder.objects.filter(pk=order.pk).exists()
    login = APIClient().post(
        "/api/users/login", {"username": kept.username, "password": PASSWORD}, format="json"
    )
    assert envelope_error(login) == (1005, "账号已被禁用")


def test_a_user_with_vip_history_is_disabled_not_deleted(staff_api, staff, user, plans):
    staff_api.put(
        f"/api/users/{user.pk}/vip",
        {"vipType": 1, "vipExpireTime": "2099-01-01T00:00:00"},
        format="json",
    )
    staff_api.delete(f"/api/users/{user.pk}")
    assert User.objects.filter(pk=user.pk, user_status=0).exists()
    assert VipLedgerEntry.objects.filter(user=user).count() == 1


def test_staff_cannot_delete_themselves(staff_api, staff):
    assert envelope_error(staff_api.delete(f"/api/users/{staff.pk}"))[0] == HTTPStatus.CONFLICT
    assert User.objects.filter(pk=staff.pk, user_status=1).exists()


def test_only_a_superuser_deletes_a_superuser(staff_api, client_for):
    root = StaffFactory(is_superuser=True)
    assert envelope_error(staff_api.delete(f"/api/users/{root.pk}"))[0] == HTTPStatus.FORBIDDEN
    assert User.objects.filter(pk=root.pk).exists()
    other_root = client_for(StaffFactory(is_superuser=True))
    assert other_root.delete(f"/api/users/{root.pk}").json()["code"] == 200


def test_deleting_an_unknown_user_is_code_404(staff_api):
    assert envelope_error(staff_api.delete("/api/users/999999"))[0] == HTTPStatus.NOT_FOUND


def test_staff_set_vip_with_query_parameters(staff_api, user, plans):
    response = staff_api.put(
        f"/api/users/{user.pk}/vip/params?vipType=3&vipExpireTime=2099-06-30T12:00:00"
    )
    assert response.json() == {"code": 200, "message": "VIP状态更新成功", "data": None}
    user.refresh_from_db()
    assert user.vip_expire_time == datetime(2099, 6, 30, 12, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_vip_by_query_parameters_needs_them(staff_api, user, plans):
    code, message = envelope_error(staff_api.put(f"/api/users/{user.pk}/vip/params?vipType=1"))
    assert (code, message) == (400, "VIP到期时间不能为空")


def test_logout_answers_200_with_or_without_a_session(user):
    assert APIClient().post("/api/users/logout").json() == {
        "code": 200,
        "message": "登出成功",
        "data": None,
    }
    client = APIClient(enforce_csrf_checks=True)
    client.post(
        "/api/users/login", {"username": user.username, "password": PASSWORD}, format="json"
    )
    assert client.get("/api/users/login-status").json()["data"] is True
    assert client.post("/api/users/logout").json()["code"] == 200  # no CSRF token needed
    assert client.get("/api/users/login-status").json()["data"] is False


def test_a_server_fault_on_a_user_path_is_code_500_over_http_200(api, user, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("users.selectors.user_get", broken)
    api.raise_request_exception = False
    response = api.get(f"/api/users/{user.pk}")
    assert envelope_error(response) == (500, "系统异常，请稍后重试")

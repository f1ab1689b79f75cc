"""Rows as the site's other programs leave them: passwords as typed, memberships without an
end, orders without times or a plan snapshot."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone

from payments.models import OrderStatus, VipOrder
from users import services
from users.models import User, VipChangeKind, VipLedgerEntry

from ..factories import StaffFactory, UserFactory, VipOrderFactory
from ..helpers import post_callback

pytestmark = pytest.mark.django_db


def _plain(user: User, password: str) -> None:
    User.objects.filter(pk=user.pk).update(password=password)  # as another program writes it


def test_a_password_stored_as_typed_logs_in_once_and_is_hashed_at_once(anon, user):
    _plain(user, "typed-pass-1")
    wrong = anon.post(
        "/api/users/login", {"username": user.username, "password": "typed-pass-2"}, format="json"
    )
    assert wrong.json()["code"] == 1006
    ok = anon.post(
        "/api/users/login", {"username": user.username, "password": "typed-pass-1"}, format="json"
    )
    assert ok.json()["code"] == HTTPStatus.OK
    user.refresh_from_db()
    assert user.password != "typed-pass-1" and user.check_password("typed-pass-1")


def test_the_job_hashes_every_password_stored_as_typed(user, settings):
    # The job hashes as the takeover does (PBKDF2); the tests' own fast hasher comes first.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    other = UserFactory()
    _plain(user, "typed-pass-1")
    _plain(other, "typed-pass-2")
    unusable = UserFactory()
    unusable.set_unusable_password()
    unusable.save()
    assert services.passwords_hash_plain() == 2
    assert services.passwords_hash_plain() == 0
    for member, password in ((user, "typed-pass-1"), (other, "typed-pass-2")):
        member.refresh_from_db()
        assert member.password.startswith("pbkdf2_sha256$10000$")
        assert member.check_password(password)
    unusable.refresh_from_db()
    assert not unusable.has_usable_password()  # never taken for plain text


@pytest.fixture
def member_without_end(user):
    User.objects.filter(pk=user.pk).update(is_vip=True, vip_expire_time=None)
    user.refresh_from_db()
    return user


def test_a_membership_without_an_end_is_in_force_and_outlives_the_expiry_job(
    member_without_end, api
):
    assert member_without_end.vip_active()
    assert services.vip_expire_due() == 0
    member_without_end.refresh_from_db()
    assert member_without_end.is_vip
    body = api.get("/api/users/current").json()["data"]
    assert (body["isVip"], body["vipExpireTime"]) == (1, None)
    assert "长期有效" in api.get("/vip/").content.decode()


def test_a_member_without_an_end_is_not_sold_days_that_add_nothing(member_without_end, api, plans):
    answer = api.post(
        "/api/payment/generate-qrcode",
        {"userId": member_without_end.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0},
        format="json",
    )
    assert answer.status_code == HTTPStatus.CONFLICT
    assert answer.json()["error"] == "您已是长期会员（无到期时间），无需购买"
    assert not VipOrder.objects.exists()


def test_a_paid_grant_keeps_a_membership_without_an_end(member_without_end, plans, anon):
    order = VipOrderFactory(user=member_without_end)  # bought before, or by another program
    post_callback(anon, {"orderId": order.order_number, "status": "SUCCESS"})
    member_without_end.refresh_from_db()
    assert (member_without_end.is_vip, member_without_end.vip_expire_time) == (True, None)
    assert VipLedgerEntry.objects.get(order=order).kind == VipChangeKind.PURCHASE


def test_the_admin_shows_it_and_marks_setting_an_end_as_shortening(member_without_end, client):
    client.force_login(StaffFactory(is_superuser=True))
    listed = client.get("/admin/users/user/?vip=no_end").content.decode()
    assert member_without_end.username in listed and "长期（无到期时间）" in listed
    never = client.get("/admin/users/user/?vip=never").content.decode()
    assert member_without_end.username not in never
    from users.admin import _shortens

    assert _shortens(member_without_end, timezone.now() + timedelta(days=30), timezone.now())


def test_an_order_another_program_inserted_grants_its_plans_days(user, plans, anon):
    order = VipOrderFactory(user=user, plan=plans[2])
    VipOrder.objects.filter(pk=order.pk).update(plan_name="", plan_days=0)  # not set
    post_callback(anon, {"orderId": order.order_number, "status": "SUCCESS"})
    entry = VipLedgerEntry.objects.get(order=order)
    assert (entry.expire_after - entry.created_at).days in (89, 90)
    assert "季度会员" in entry.reason


def test_an_order_without_a_deadline_reads_expired_and_cannot_be_paid_in_the_sandbox(user, plans):
    order = VipOrderFactory(user=user)
    VipOrder.objects.filter(pk=order.pk).update(expire_time=None, create_time=None)
    order.refresh_from_db()
    assert order.effective_status() == OrderStatus.EXPIRED
    assert list(VipOrder.objects.with_status(OrderStatus.EXPIRED)) == [order]
    assert not VipOrder.objects.with_status(OrderStatus.PENDING).exists()
    assert list(VipOrder.objects.overdue()) == [order]


def test_the_platforms_own_delete_still_keeps_vip_history_with_its_user(staff_api, user):
    services.vip_extend(user_id=user.pk, days=30, reason="赠送")
    answer = staff_api.delete(f"/api/users/{user.pk}").json()
    assert answer["message"] == "该用户有订单记录，账户已禁用，订单保留"
    user.refresh_from_db()
    assert not user.is_active

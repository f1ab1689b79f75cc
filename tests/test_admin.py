"""The Django admin: VIP grants and revokes with a reason, orders, plans, the ledger."""

from datetime import datetime, timedelta
from decimal import Decimal
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments.models import NotificationOutcome, OrderStatus, PaymentNotification, VipPlan
from users.models import User, VipChangeKind, VipLedgerEntry
from users.services import vip_extend

from .factories import StaffFactory, UserFactory, VipOrderFactory

pytestmark = pytest.mark.django_db

USERS = "/admin/users/user/"
ORDERS = "/admin/payments/viporder/"


@pytest.fixture
def admin_user(db):
    return StaffFactory(username="boss", is_superuser=True)


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def act(client, url, action, objects, **form):
    data = {"action": action, ACTION_CHECKBOX_NAME: [o.pk for o in objects], **form}
    return client.post(url, data)


def confirmed(client, action, users, **form):
    """Submit the action's form, check the confirmation page, confirm."""
    preview = act(client, USERS, action, users, apply="1", **form)
    assert preview.status_code == HTTPStatus.OK
    assert "确认变更" in preview.content.decode(), preview.content.decode()
    return act(client, USERS, action, users, apply="1", confirm="1", **form)


def shown_messages(response) -> list[str]:
    return [f"{m.level_tag}: {m}" for m in response.wsgi_request._messages]


class TestGrantVip:
    def test_the_action_first_asks_for_days_or_expiry_and_a_reason(self, admin_client, user, plans):
        response = act(admin_client, USERS, "grant_vip", [user])
        assert response.status_code == HTTPStatus.OK
        page = response.content.decode()
        assert "季度会员（90天）" in page
        assert 'name="reason"' in page
        assert 'name="expire_time_0"' in page and 'class="vDateField' in page  # admin widgets
        assert not VipLedgerEntry.objects.exists()

    def test_granting_a_plans_days_is_confirmed_then_in_the_ledger_and_history(
        self, admin_client, admin_user, user, plans
    ):
        preview = act(admin_client, USERS, "grant_vip", [user], apply="1", days="90", reason="补偿")
        assert not VipLedgerEntry.objects.exists()  # nothing before the confirmation
        expected = timezone.localtime(timezone.now() + timedelta(days=90))
        assert f"{expected:%Y-%m-%d}" in preview.content.decode()
        response = act(
            admin_client,
            USERS,
            "grant_vip",
            [user],
            apply="1",
            confirm="1",
            days="90",
            reason="补偿",
        )
        assert response.status_code == HTTPStatus.FOUND
        user.refresh_from_db()
        assert abs(user.vip_expire_time - (timezone.now() + timedelta(days=90))) < timedelta(
            minutes=1
        )
        entry = VipLedgerEntry.objects.get(user=user)
        assert (entry.kind, entry.actor, entry.reason) == (
            VipChangeKind.ADMIN_GRANT,
            admin_user,
            "补偿",
        )
        history = LogEntry.objects.get(object_id=str(user.pk))
        assert history.change_message.startswith("开通/延长VIP：无 → ")
        assert shown_messages(response) == ["success: 开通/延长VIP：已变更 1 个用户。"]

    def test_granting_an_exact_expiry(self, admin_client, user, plans):
        confirmed(
            admin_client,
            "grant_vip",
            [user],
            expire_time_0="2099-06-01",
            expire_time_1="12:00:00",
            reason="合作",
        )
        user.refresh_from_db()
        assert user.vip_expire_time == datetime(2099, 6, 1, 12, tzinfo=ZoneInfo("Asia/Shanghai"))
        assert VipLedgerEntry.objects.get(user=user).kind == VipChangeKind.ADMIN_SET

    def test_a_change_that_shortens_a_membership_is_marked_before_it_is_made(
        self, admin_client, user, plans
    ):
        User.objects.filter(pk=user.pk).update(
            is_vip=True, vip_expire_time=datetime(2099, 12, 26, tzinfo=ZoneInfo("Asia/Shanghai"))
        )
        preview = act(
            admin_client,
            USERS,
            "grant_vip",
            [user],
            apply="1",
            expire_time_0="2099-12-01",
            expire_time_1="00:00:00",
            reason="x",
        ).content.decode()
        assert "缩短会员期限" in preview
        assert "2099-12-26 00:00" in preview and "2099-12-01 00:00" in preview
        user.refresh_from_db()
        assert user.vip_expire_time.day == 26

    @pytest.mark.parametrize(
        "form",
        [
            {"days": "90"},  # no reason
            {"reason": "x"},  # neither days nor expiry
            {"days": "90", "expire_time_0": "2099-06-01", "expire_time_1": "12:00", "reason": "x"},
            {"days": "7", "reason": "x"},  # not a plan
            {"expire_time_0": "2099-06-01", "reason": "x"},  # a date without a time
        ],
    )
    def test_an_incomplete_form_is_shown_again_and_changes_nothing(
        self, admin_client, user, plans, form
    ):
        response = act(admin_client, USERS, "grant_vip", [user], apply="1", confirm="1", **form)
        assert response.status_code == HTTPStatus.OK
        assert "errorlist" in response.content.decode() or "errornote" in response.content.decode()
        user.refresh_from_db()
        assert not user.is_vip
        assert not VipLedgerEntry.objects.exists()

    def test_an_expiry_in_the_past_is_an_error_on_the_form_with_the_input_kept(
        self, admin_client, user, plans
    ):
        response = act(
            admin_client,
            USERS,
            "grant_vip",
            [user],
            apply="1",
            expire_time_0="2000-01-01",
            expire_time_1="08:00:00",
            reason="留着",
        )
        page = response.content.decode()
        assert "到期时间必须晚于当前时间" in page
        assert 'value="2000-01-01"' in page and 'value="留着"' in page
        assert shown_messages(response) == []  # no green message beside the error
        assert not VipLedgerEntry.objects.exists()


class TestRevokeVip:
    def test_revoking_needs_a_reason_and_is_in_the_ledger(self, admin_client, admin_user, user):
        User.objects.filter(pk=user.pk).update(
            is_vip=True, vip_expire_time=timezone.now() + timedelta(days=5)
        )
        asked = act(admin_client, USERS, "revoke_vip", [user], apply="1")
        assert "errorlist" in asked.content.decode()
        confirmed(admin_client, "revoke_vip", [user], reason="退款")
        user.refresh_from_db()
        assert (user.is_vip, user.vip_expire_time) == (False, None)
        entry = VipLedgerEntry.objects.get(user=user)
        assert (entry.kind, entry.actor, entry.reason) == (
            VipChangeKind.ADMIN_REVOKE,
            admin_user,
            "退款",
        )

    def test_revoking_a_user_who_is_not_vip_warns_and_records_nothing(self, admin_client, user):
        response = confirmed(admin_client, "revoke_vip", [user], reason="误操作")
        assert shown_messages(response) == [
            "warning: 取消VIP：1 个用户没有变化（已是该状态），未记录。"
        ]
        assert not VipLedgerEntry.objects.exists()
        assert not LogEntry.objects.exists()


def test_the_vip_columns_cannot_be_edited_in_the_change_form(admin_client, user):
    page = admin_client.get(f"{USERS}{user.pk}/change/").content.decode()
    assert 'name="vip_expire_time"' not in page
    assert 'name="is_vip"' not in page


def test_the_user_list_shows_effective_vip_and_filters_by_state(admin_client, plans):
    active, lapsed, never = UserFactory.create_batch(3)
    User.objects.filter(pk=active.pk).update(
        is_vip=True, vip_expire_time=timezone.now() + timedelta(days=1)
    )
    User.objects.filter(pk=lapsed.pk).update(
        is_vip=True, vip_expire_time=timezone.now() - timedelta(days=1)
    )
    everyone = {active.username, lapsed.username, never.username}
    for state, expected in [("active", active), ("expired", lapsed), ("never", never)]:
        page = admin_client.get(USERS, {"vip": state}).content.decode()
        shown = {name for name in everyone if f">{name}<" in page}
        assert shown == {expected.username}


class TestOrdersAdmin:
    def test_cancel_pending_orders_after_a_confirmation(self, admin_client, plans):
        pending, paid = VipOrderFactory(), VipOrderFactory(status=OrderStatus.PAID)
        confirm = act(admin_client, ORDERS, "cancel_pending", [pending, paid])
        page = confirm.content.decode()
        assert "确认取消 1 个订单" in page and pending.order_number in page
        assert "另有 1 个订单不是待支付状态" in page
        pending.refresh_from_db()
        assert pending.status == OrderStatus.PENDING  # nothing before the confirmation
        act(admin_client, ORDERS, "cancel_pending", [pending, paid], confirm="1")
        pending.refresh_from_db()
        paid.refresh_from_db()
        assert (pending.status, paid.status) == (OrderStatus.CANCELLED, OrderStatus.PAID)
        assert LogEntry.objects.get(object_id=str(pending.pk)).change_message == "取消订单"

    def test_failed_grants_are_listed_and_retried(self, admin_client, plans):
        failed = VipOrderFactory(
            status=OrderStatus.PAID,
            pay_time=timezone.now(),
            grant_failed_at=timezone.now(),
            grant_error="RuntimeError: boom",
        )
        fine = VipOrderFactory(status=OrderStatus.PAID)
        page = admin_client.get(ORDERS, {"grant": "failed"}).content.decode()
        assert failed.order_number in page
        assert fine.order_number not in page

        act(admin_client, ORDERS, "retry_grant", [failed])
        failed.refresh_from_db()
        assert failed.grant_failed_at is None
        assert VipLedgerEntry.objects.get(order=failed).kind == VipChangeKind.PURCHASE

    def test_money_and_status_are_read_only(self, admin_client, plans):
        order = VipOrderFactory()
        page = admin_client.get(f"{ORDERS}{order.pk}/change/").content.decode()
        for field in ("amount", "status", "user", "plan", "pay_time"):
            assert f'name="{field}"' not in page

    def test_orders_are_searched_by_number_and_username(self, admin_client, plans):
        order = VipOrderFactory(user=UserFactory(username="searchme"))
        other = VipOrderFactory()
        for term in (order.order_number[:20], "searchme"):
            page = admin_client.get(ORDERS, {"q": term}).content.decode()
            assert order.order_number in page
            assert other.order_number not in page


def test_a_plan_price_change_never_changes_existing_orders(admin_client, plans, api, user):
    order = VipOrderFactory(plan=plans[1])
    change = {"name": "月度会员", "days": "30", "price": "19.90", "is_active": "on"}
    # The old front end sends 29.90 for plan 1: the change asks for a confirmation first.
    warned = admin_client.post("/admin/payments/vipplan/1/change/", change)
    assert warned.status_code == HTTPStatus.OK
    assert "固定提交 ¥29.90" in warned.content.decode()
    assert VipPlan.objects.get(pk=1).price == Decimal("29.90")
    response = admin_client.post(
        "/admin/payments/vipplan/1/change/", {**change, "confirm_price": "on"}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert VipPlan.objects.get(pk=1).price == Decimal("19.90")
    order.refresh_from_db()
    assert order.amount == Decimal("29.90")
    # as the warning says: the old front end's purchase is refused
    bought = api.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": 1, "amount": 29.90, "paymentMethod": 0},
        format="json",
    )
    assert bought.status_code == HTTPStatus.BAD_REQUEST
    assert "amount" in bought.json()["fields"]
    # a plan the old front end does not sell changes without a question
    extra = VipPlan.objects.create(name="周卡", days=7, price=Decimal("9.90"))
    answer = admin_client.post(
        f"/admin/payments/vipplan/{extra.pk}/change/",
        {"name": "周卡", "days": "7", "price": "8.80", "is_active": "on"},
    )
    assert answer.status_code == HTTPStatus.FOUND


def test_the_ledger_is_read_only_and_filterable(admin_client, admin_user, user):
    vip_extend(user_id=user.pk, days=30, actor=admin_user, reason="by hand")
    entry = VipLedgerEntry.objects.get()
    page = admin_client.get("/admin/users/vipledgerentry/", {"actor": "staff"}).content.decode()
    assert "by hand" in page
    page = admin_client.get("/admin/users/vipledgerentry/", {"actor": "system"}).content.decode()
    assert "by hand" not in page
    change = admin_client.get(f"/admin/users/vipledgerentry/{entry.pk}/change/")
    assert 'name="reason"' not in change.content.decode()
    assert admin_client.get("/admin/users/vipledgerentry/add/").status_code == 403


@pytest.mark.parametrize(
    ("url", "make"),
    [
        (USERS, lambda n: UserFactory.create_batch(n)),
        (ORDERS, lambda n: VipOrderFactory.create_batch(n, user=UserFactory())),
        ("/admin/users/vipledgerentry/", None),
    ],
)
def test_a_list_page_costs_the_same_queries_for_ten_rows_as_for_hundreds(
    admin_client, plans, url, make, django_assert_max_num_queries
):
    def rows(n):
        if make:
            make(n)
        else:
            users = UserFactory.create_batch(n)
            VipLedgerEntry.objects.bulk_create(
                VipLedgerEntry(user=u, kind=VipChangeKind.EXPIRED, reason="x") for u in users
            )

    rows(10)
    admin_client.get(url)  # warm the content-type and permission caches
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(url).status_code == HTTPStatus.OK
    rows(300)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert admin_client.get(url).status_code == HTTPStatus.OK


def test_an_overdue_pending_order_is_expired_everywhere_staff_look(admin_client, staff_api, plans):
    """One definition of the status users see: the admin's filter and list, the API search and
    the statistics agree on a pending order past its deadline (no job has run)."""
    overdue = VipOrderFactory(expire_time=timezone.now() - timedelta(minutes=1))
    expired = admin_client.get(ORDERS, {"status": "3"}).content.decode()
    pending = admin_client.get(ORDERS, {"status": "0"}).content.decode()
    assert overdue.order_number in expired and "已过期" in expired
    assert overdue.order_number not in pending
    searched = staff_api.post("/api/payment/orders/search", {"status": 3}, format="json").json()
    assert [o["orderNumber"] for o in searched["content"]] == [overdue.order_number]
    stats = staff_api.get("/api/payment/orders/statistics").json()
    assert (stats["expiredOrders"], stats["pendingOrders"]) == (1, 0)


def test_a_plan_with_a_bad_price_or_days_is_refused(admin_client, plans):
    for price, days in (("-1", "30"), ("0", "30"), ("9.999", "30"), ("29.90", "0")):
        page = admin_client.post(
            "/admin/payments/vipplan/1/change/",
            {"name": "月度会员", "days": days, "price": price, "is_active": "on"},
        )
        assert page.status_code == HTTPStatus.OK, (price, days)
        assert "errorlist" in page.content.decode()
    plan = VipPlan.objects.get(pk=1)
    assert (plan.price, plan.days) == (Decimal("29.90"), 30)


def test_the_vip_page_stands_whatever_is_in_the_plans_table(client_for, user, plans):
    VipPlan.objects.filter(pk=1).update(price=Decimal("-1"), days=0)
    VipPlan.objects.create(id=9, name="坏套餐", days=0, price=Decimal("0"))
    page = client_for(user).get("/vip/")
    assert page.status_code == HTTPStatus.OK
    text = page.content.decode()
    assert "季度会员" in text and "坏套餐" not in text


# --- What an operator hit on real data (issue 27's first findings).


def test_the_ledger_is_searched_by_order_number_on_mariadb(admin_client, plans, user):
    """MariaDB refused the search's `IN (... LIMIT 1)` subquery: HTTP 500 for every search
    that was not an exact username, the order page's own link included."""
    order = VipOrderFactory(user=user, status=OrderStatus.PAID)
    vip_extend(user_id=user.pk, days=30, order_id=order.pk, reason="paid")
    found = admin_client.get("/admin/users/vipledgerentry/", {"q": order.order_number})
    assert found.status_code == 200
    assert [entry.order_id for entry in found.context["cl"].result_list] == [order.pk]
    nothing = admin_client.get("/admin/users/vipledgerentry/", {"q": "no-such-thing"})
    assert nothing.status_code == 200
    assert list(nothing.context["cl"].result_list) == []


@pytest.mark.parametrize(
    "url", [ORDERS, USERS, "/admin/users/vipledgerentry/", "/admin/payments/paymentnotification/"]
)
def test_the_big_lists_offer_no_facet_counts(admin_client, url):
    """「显示计数」 counted every filter choice over a million orders: the worker was killed."""
    page = admin_client.get(url, {"_facets": "True"})
    assert page.status_code == 200
    assert page.context["cl"].add_facets is False
    assert "显示计数" not in page.content.decode()


def test_reprocessing_says_what_it_skipped_and_why(admin_client, plans):
    refused = PaymentNotification.objects.create(
        verified=False, outcome=NotificationOutcome.REFUSED, body="{}"
    )
    answer = admin_client.post(
        "/admin/payments/paymentnotification/",
        {"action": "reprocess", ACTION_CHECKBOX_NAME: [refused.pk]},
        follow=True,
    )
    shown = [(m.level_tag, m.message) for m in answer.context["messages"]]
    assert shown == [
        (
            "warning",
            "重新处理 0 条成功，0 条失败。跳过 1 条：只重新处理签名有效、处理出错的回调"
            "（被拒绝、已处理的回调不会重新处理）。",
        )
    ]


def test_two_plans_on_sale_cannot_share_a_name(admin_client, plans):
    answer = admin_client.post(
        "/admin/payments/vipplan/2/change/",
        {"name": "月度会员", "days": 90, "price": "88.00", "is_active": "on"},
    )
    assert answer.status_code == 200
    assert "在售套餐中已有同名套餐" in answer.content.decode()
    assert VipPlan.objects.get(pk=2).name == "季度会员"
    off_sale = admin_client.post(
        "/admin/payments/vipplan/2/change/",
        {"name": "月度会员", "days": 90, "price": "88.00"},  # not on sale: allowed
    )
    assert off_sale.status_code == 302


def test_staff_disable_accounts_with_an_action_and_their_sessions_end(
    admin_client, admin_user, client_for, plans
):
    """The API disabled users with orders; the admin had no 「禁用」 for them."""
    member = UserFactory()
    VipOrderFactory(user=member, status=OrderStatus.PAID)
    session = client_for(member)
    assert session.get("/api/users/current").json()["code"] == 200
    answer = act(admin_client, USERS, "disable_users", [member, admin_user])
    assert answer.status_code == 302
    shown = [m.message for m in answer.wsgi_request._messages]
    assert f"{admin_user.username}: 不能禁用当前登录的账户" in shown
    assert "已禁用 1 个账户。" in shown
    member.refresh_from_db()
    assert not member.is_active and member.vip_orders.count() == 1  # orders kept
    assert session.get("/api/users/current").json()["code"] == 401
    assert LogEntry.objects.filter(object_id=str(member.pk), change_message="禁用账户").exists()


def test_notifications_name_their_channel_as_staff_know_it(admin_client):
    PaymentNotification.objects.create(provider="alipay", body="x", order_number="o1")
    PaymentNotification.objects.create(provider="wechat", body="x", order_number="o2")
    page = admin_client.get("/admin/payments/paymentnotification/").content.decode()
    assert "支付宝" in page and "微信支付" in page

"""Refunds (`payments.refunds`): full and partial, through the staff API and the provider (the
sandbox here; WeChat Pay and Alipay in test_refund_providers.py), with the membership following
the money through the users service layer and the ledger."""

import threading
import time
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY

from payments import refunds, totals
from payments.exceptions import GatewayUnavailable
from payments.gateways.sandbox import SandboxProvider
from payments.models import OrderStatus, Refund, RefundState, SandboxPayment, VipOrder
from users.models import VipChangeKind, VipLedgerEntry

from ..factories import StaffFactory, VipOrderFactory
from ..helpers import post_callback, requires_mariadb

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def paid_order(user, plans, *, plan: int = 1, paid_days_ago: int = 0) -> VipOrder:
    """An order paid through the sandbox (booked there, as a payer's button does), its VIP
    granted; `paid_days_ago` moves the grant into the past, days the member has used."""
    order = VipOrderFactory(user=user, plan=plans[plan], payment_method=0)
    SandboxPayment.objects.create(
        order_number=order.order_number,
        result="SUCCESS",
        amount=order.amount,
        transaction_id=f"SANDBOX{order.pk}",
    )
    from rest_framework.test import APIClient

    answer = post_callback(
        APIClient(),
        {"orderId": order.order_number, "status": "SUCCESS", "amount": str(order.amount)},
    )
    assert answer.status_code == HTTPStatus.OK, answer.content
    if paid_days_ago:
        shift = paid_days_ago * DAY
        grant = VipLedgerEntry.objects.get(order=order)
        VipLedgerEntry.objects.filter(pk=grant.pk).update(
            expire_before=grant.expire_before and grant.expire_before - shift,
            expire_after=grant.expire_after - shift,
        )
        user.refresh_from_db()
        user.vip_expire_time -= shift
        user.save(update_fields=["vip_expire_time"])
    order.refresh_from_db()
    return order


def about(actual: timedelta, expected: timedelta) -> bool:
    return expected - timedelta(seconds=5) < actual <= expected


def refund(client, order, **body):
    return client.post(f"/api/payment/orders/{order.order_number}/refunds", body, format="json")


def test_a_full_refund_takes_the_orders_days_back(
    staff_api, user, plans, django_capture_on_commit_callbacks, admin_client
):
    order = paid_order(user, plans)
    user.refresh_from_db()
    granted = user.vip_expire_time
    labels = {"provider": "sandbox", "outcome": "succeeded", "origin": "platform"}
    counted = REGISTRY.get_sample_value("vip_refunds_total", labels) or 0
    with django_capture_on_commit_callbacks(execute=True):  # the notice goes after commit
        answer = refund(staff_api, order, reason="七天无理由")
    assert answer.status_code == HTTPStatus.OK, answer.content
    body = answer.json()
    assert (body["amount"], body["state"], body["stateName"]) == (29.9, "succeeded", "退款成功")
    assert body["requestedBy"].startswith("staff")
    order.refresh_from_db()
    user.refresh_from_db()
    assert order.refunded_amount == Decimal("29.90") and order.status == OrderStatus.PAID
    assert not user.is_vip
    assert user.vip_expire_time <= timezone.now() < granted
    entry = VipLedgerEntry.objects.get(refund__order=order)
    assert (entry.kind, entry.expire_before) == (VipChangeKind.REFUND, granted)
    assert SandboxPayment.objects.get(order_number=order.order_number).refunded_amount == Decimal(
        "29.90"
    )
    listed = staff_api.get(f"/api/payment/orders/by-number/{order.order_number}").json()
    assert listed["statusName"] == "已退款" and listed["status"] == 1
    assert listed["refundedAmount"] == 29.9
    assert [m.subject for m in mail.outbox][-1] == "退款成功：月度会员 ¥29.90"
    assert "已结束" in mail.outbox[-1].body
    assert REGISTRY.get_sample_value("vip_refunds_total", labels) == counted + 1
    story = admin_client.get(f"/admin/payments/viporder/{order.pk}/change/").content.decode()
    for step in ("退款¥29.90：退款成功", "VIP变更：退款", "邮件：退款通知"):
        assert step in story


def test_a_partial_refund_takes_its_share_rounded_down_to_the_second(
    staff_api, user, plans, client_for
):
    order = paid_order(user, plans)
    user.refresh_from_db()
    granted = user.vip_expire_time
    answer = refund(staff_api, order, amount="10.00", reason="重复购买")
    assert answer.json()["amount"] == 10.0
    user.refresh_from_db()
    taken = granted - user.vip_expire_time
    # 10.00 / 29.90 of 30 days = 866,889.63... seconds: the member keeps the fraction
    assert taken == timedelta(seconds=866_889)
    assert user.is_vip
    detail = staff_api.get(f"/api/payment/orders/by-number/{order.order_number}").json()
    assert (detail["statusName"], detail["refundedAmount"]) == ("部分退款", 10.0)
    page = client_for(user).get("/vip/").content.decode()  # the member's own page says so too
    assert f"<td>{order.order_number}</td><td>月度会员</td><td>¥29.90</td><td>部分退款</td>" in page
    # the rest, by default
    rest = refund(staff_api, order, reason="全部退回").json()
    assert rest["amount"] == 19.9
    user.refresh_from_db()
    assert not user.is_vip


def test_days_used_and_days_of_other_orders_stay(staff_api, user, plans):
    used = paid_order(user, plans, paid_days_ago=20)  # 10 of its 30 days left
    later = paid_order(user, plans)  # 30 more, after them
    user.refresh_from_db()
    before = user.vip_expire_time
    refund(staff_api, used, reason="投诉")
    user.refresh_from_db()
    # only what was left of its own (less the moments the test took)
    assert about(before - user.vip_expire_time, 10 * DAY)
    refund(staff_api, later, amount="14.95", reason="半价")
    user.refresh_from_db()
    assert about(before - user.vip_expire_time, 25 * DAY)  # and half of the other's 30


def test_more_than_is_left_is_refused_and_changes_nothing(staff_api, user, plans):
    order = paid_order(user, plans)
    refund(staff_api, order, amount="20.00", reason="一")
    answer = refund(staff_api, order, amount="10.00", reason="二")
    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert answer.json()["fields"]["amount"] == "退款金额必须在0.01到9.90元之间（订单剩余可退金额）"
    assert Refund.objects.filter(order=order).count() == 1
    for body, field in (({"amount": "0", "reason": "x"}, "amount"), ({"amount": "5"}, "reason")):
        answer = refund(staff_api, order, **body)
        assert answer.status_code == HTTPStatus.BAD_REQUEST
        assert field in answer.json()["fields"]


def test_an_order_paid_by_the_callback_alone_is_refunded_too(staff_api, user, plans):
    order = VipOrderFactory(user=user, plan=plans[1], payment_method=0)
    from rest_framework.test import APIClient

    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    body = refund(staff_api, order, amount="10.00", reason="curl").json()
    assert (body["state"], body["providerRefundId"]) == (
        "succeeded",
        f"LOCAL-{body['refundNumber']}",
    )


def test_only_paid_orders_are_refunded(staff_api, user, plans):
    pending = VipOrderFactory(user=user, plan=plans[1])
    answer = refund(staff_api, pending, reason="x")
    assert answer.status_code == HTTPStatus.CONFLICT
    assert not Refund.objects.exists()


def test_refunding_is_a_right_of_its_own(client_for, user, plans):
    order = paid_order(user, plans)
    without = client_for(
        StaffFactory(rights=["payments.view_viporder", "payments.change_viporder"])
    )
    assert refund(without, order, reason="x").status_code == HTTPStatus.FORBIDDEN
    assert without.get(f"/api/payment/orders/{order.order_number}/refunds").status_code == 403
    assert (
        client_for(user).get(f"/api/payment/orders/{order.order_number}/refunds").status_code == 403
    )
    holder = client_for(StaffFactory(rights=["payments.refund_viporder"]))
    assert refund(holder, order, amount="1.00", reason="x").status_code == HTTPStatus.OK
    listed = holder.get(f"/api/payment/orders/{order.order_number}/refunds").json()
    assert [r["amount"] for r in listed] == [1.0]


def test_a_provider_that_does_not_answer_leaves_it_processing_until_the_job(
    staff_api, user, plans, monkeypatch
):
    order = paid_order(user, plans)
    user.refresh_from_db()
    granted = user.vip_expire_time

    def down(self, order, refund):
        raise GatewayUnavailable()

    real = SandboxProvider.refund
    monkeypatch.setattr(SandboxProvider, "refund", down)
    body = refund(staff_api, order, reason="超时").json()
    assert body["state"] == "processing"
    user.refresh_from_db()
    assert user.vip_expire_time == granted  # nothing moved yet
    # still counted against what is left
    assert refund(staff_api, order, amount="0.01", reason="x").status_code == 400
    monkeypatch.setattr(SandboxProvider, "refund", real)
    assert refunds.refunds_complete(older_than_seconds=0) == 1
    assert refunds.refunds_complete(older_than_seconds=0) == 0  # never twice
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("29.90")
    assert VipLedgerEntry.objects.filter(kind=VipChangeKind.REFUND).count() == 1
    kinds = list(order.refunds.get().order.refunds.values_list("state", flat=True))
    assert kinds == [RefundState.SUCCEEDED]


def test_an_order_paid_after_it_closed_is_marked(user, plans, admin_client):
    order = VipOrderFactory(user=user, plan=plans[1], status=OrderStatus.CANCELLED)
    from rest_framework.test import APIClient

    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    order.refresh_from_db()
    assert (order.status, order.paid_after_close) == (OrderStatus.PAID, True)
    listed = admin_client.get("/admin/payments/viporder/?money=paid_after_close").content.decode()
    assert order.order_number in listed
    page = admin_client.get(f"/admin/payments/viporder/{order.pk}/change/").content.decode()
    assert 'id="refund-link"' in page


@requires_mariadb
@pytest.mark.django_db(transaction=True)
def test_two_refunds_at_once_never_exceed_the_amount(user, plans, monkeypatch):
    order = paid_order(user, plans)
    staff = StaffFactory()
    counted = refunds.refundable_left

    def slow(order):
        left = counted(order)
        time.sleep(0.3)  # both would pass this check at once without the order's lock
        return left

    monkeypatch.setattr(refunds, "refundable_left", slow)
    outcomes = []

    def ask():
        try:
            refunds.refund_request(
                order_number=order.order_number, amount=Decimal("20.00"), reason="并发", actor=staff
            )
            outcomes.append("made")
        except Exception as exc:  # the refusal
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["RefundTooLarge", "made"]
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("20.00")
    assert Refund.objects.filter(order=order).count() == 1


def test_a_refund_of_an_order_the_totals_hold_counts_at_once(
    staff_api, user, plans, django_capture_on_commit_callbacks
):
    order = paid_order(user, plans)
    VipOrder.objects.filter(pk=order.pk).update(create_time=timezone.now() - 3 * DAY)
    totals.totals_refresh()
    with django_capture_on_commit_callbacks(execute=True):
        refund(staff_api, order, amount="9.90", reason="x")
    stats = staff_api.get("/api/payment/orders/statistics").json()
    assert (stats["refundedOrders"], stats["refundedAmount"], stats["netAmount"]) == (1, 9.9, 20.0)


def test_the_admin_refunds_only_the_amount_it_previewed(admin_client, user, plans):
    order = paid_order(user, plans)
    url = f"/admin/payments/viporder/{order.pk}/refund/"
    page = admin_client.post(url, {"amount": "10.00", "reason": "x", "preview": "1"})
    assert "确认退款¥10.00" in page.content.decode()
    # the amount changed after the preview: shown again, not refunded
    again = admin_client.post(
        url, {"amount": "20.00", "reason": "x", "previewed": "10.00", "confirm": "1"}
    )
    assert "确认退款¥20.00" in again.content.decode()
    assert not Refund.objects.exists()
    done = admin_client.post(
        url, {"amount": "20.00", "reason": "x", "previewed": "20.00", "confirm": "1"}
    )
    assert done.status_code == 302
    assert Refund.objects.get().amount == Decimal("20.00")

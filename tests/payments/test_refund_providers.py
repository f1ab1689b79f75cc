"""Refunds through WeChat Pay and Alipay, against the local fakes that speak their protocols
(devtools.fakes): the refund calls, WeChat's refund notifications (genuine, forged, replayed),
Alipay's refund notifications (partial and full) confirmed by its refund query, and a refund
made in Alipay's console found and followed by the membership."""

from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from payments import refunds
from payments.models import NotificationOutcome, PaymentNotification, Refund, RefundState, VipOrder
from users.models import VipChangeKind, VipLedgerEntry

from .test_providers import ALIPAY, WECHAT, buy, notify

pytestmark = pytest.mark.django_db

QUARTER = timedelta(days=90)


def expiry(user):
    user.refresh_from_db()
    return user.vip_expire_time


def refund(client, order, **body):
    return client.post(f"/api/payment/orders/{order.order_number}/refunds", body, format="json")


@pytest.mark.parametrize("method", [WECHAT, ALIPAY])
def test_full_and_partial_refunds_through_the_provider(staff_api, user, paid, providers, method):
    order, trade = paid(method)
    granted = expiry(user)
    first = refund(staff_api, order, amount="22.00", reason="部分退款").json()
    assert (first["state"], first["provider"]) == ("succeeded", order.refunds.get().provider)
    assert trade.refunds[first["refundNumber"]]["amount"] == Decimal("22.00")  # the fake's book
    assert granted - expiry(user) == QUARTER / 4  # 22 / 88 of 90 days
    rest = refund(staff_api, order, reason="全部退回").json()
    assert (rest["amount"], rest["state"]) == (66.0, "succeeded")
    assert trade.refunded() == Decimal("88.00")
    user.refresh_from_db()
    assert not user.is_vip
    kinds = VipLedgerEntry.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    assert list(kinds) == [VipChangeKind.PURCHASE, VipChangeKind.REFUND, VipChangeKind.REFUND]


def test_a_wechat_refund_still_processing_is_completed_by_its_notification_once(
    staff_api, user, paid, providers
):
    order, trade = paid(WECHAT)
    granted = expiry(user)
    providers.wechat.refund_status = "PROCESSING"
    try:
        body = refund(staff_api, order, reason="银行卡退款").json()
    finally:
        providers.wechat.refund_status = "SUCCESS"
    assert body["state"] == "processing"
    assert expiry(user) == granted
    providers.wechat.settle_refunds(trade)
    note, headers = providers.wechat.refund_notification(trade, body["refundNumber"])
    for _ in range(2):  # WeChat resends until answered: the second is a repeat
        answer = notify("wechat", note, dict(headers))
        assert answer.status_code == HTTPStatus.NO_CONTENT, answer.content
    outcomes = PaymentNotification.objects.order_by("-pk").values_list("outcome", flat=True)[:2]
    assert list(outcomes) == [NotificationOutcome.DUPLICATE, NotificationOutcome.REFUNDED]
    refund_row = Refund.objects.get(refund_number=body["refundNumber"])
    assert refund_row.state == RefundState.SUCCEEDED and refund_row.provider_refund_id
    assert VipLedgerEntry.objects.filter(kind=VipChangeKind.REFUND).count() == 1
    assert expiry(user) < granted


def test_a_forged_wechat_refund_notification_is_refused(staff_api, user, paid, providers):
    order, trade = paid(WECHAT)
    providers.wechat.refund_status = "PROCESSING"
    try:
        body = refund(staff_api, order, reason="x").json()
    finally:
        providers.wechat.refund_status = "SUCCESS"
    note, headers = providers.wechat.refund_notification(trade, body["refundNumber"])
    forged = dict(headers, **{"Wechatpay-Signature": headers["Wechatpay-Signature"][::-1]})
    assert notify("wechat", note, forged).status_code == HTTPStatus.UNAUTHORIZED
    other, other_headers = providers.wechat.refund_notification(
        trade, body["refundNumber"], mchid="1900000999"
    )
    assert notify("wechat", other, dict(other_headers)).status_code == HTTPStatus.BAD_REQUEST
    assert Refund.objects.get().state == RefundState.PROCESSING


def test_a_wechat_refund_the_provider_never_got_is_asked_again_by_the_job(
    staff_api, user, paid, providers
):
    order, trade = paid(WECHAT)
    providers.wechat.fail_next = 500
    body = refund(staff_api, order, amount="8.80", reason="x").json()
    assert body["state"] == "processing" and not trade.refunds
    assert refunds.refunds_complete(older_than_seconds=0) == 1  # query: none, so it asks
    assert list(trade.refunds) == [body["refundNumber"]]
    assert refunds.refunds_complete(older_than_seconds=0) == 0
    assert trade.refunded() == Decimal("8.80")


def test_an_alipay_partial_refund_notification_is_a_hint_the_query_confirms(
    staff_api, user, paid, providers
):
    order, trade = paid(ALIPAY)
    body = refund(staff_api, order, amount="44.00", reason="半价").json()
    assert body["state"] == "succeeded"
    # Alipay's notification of our own refund: recorded once already, so a repeat
    note, headers = providers.alipay.notification(
        trade, extra={"refund_fee": "44.00", "out_biz_no": body["refundNumber"]}
    )
    answer = notify("alipay", note, dict(headers))
    assert answer.content == b"success"
    assert PaymentNotification.objects.latest("pk").outcome == NotificationOutcome.DUPLICATE
    assert Refund.objects.count() == 1


def test_a_refund_in_alipays_console_is_found_and_the_membership_follows(user, paid, providers):
    order, trade = paid(ALIPAY)
    granted = expiry(user)
    note, headers = providers.alipay.console_refund(order.order_number, Decimal("22.00"))
    assert notify("alipay", note, dict(headers)).content == b"success"
    found = Refund.objects.get(order=order)
    assert (found.at_provider, found.amount, found.state) == (True, Decimal("22.00"), "succeeded")
    assert granted - expiry(user) == QUARTER / 4
    # then the rest, in full: TRADE_CLOSED with no request number, confirmed by the query
    note, headers = providers.alipay.console_refund(order.order_number, Decimal("66.00"))
    assert notify("alipay", note, dict(headers)).content == b"success"
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("88.00")
    assert Refund.objects.filter(order=order, at_provider=True).count() == 2
    user.refresh_from_db()
    assert not user.is_vip
    # a forged one changes nothing
    note, headers = providers.alipay.notification(trade, trade_status="TRADE_CLOSED", forged=True)
    assert notify("alipay", note, dict(headers)).status_code == HTTPStatus.UNAUTHORIZED


def test_an_alipay_closed_notice_for_an_unpaid_order_still_cancels_it(api, user, plans, providers):
    order = VipOrder.objects.get(order_number=buy(api, user, ALIPAY).json()["orderId"])
    trade = providers.alipay.trades[order.order_number]
    note, headers = providers.alipay.notification(trade, trade_status="TRADE_CLOSED")
    assert APIClient() and notify("alipay", note, dict(headers)).content == b"success"
    order.refresh_from_db()
    assert order.status == 2 and not Refund.objects.exists()


@pytest.mark.parametrize("method", [WECHAT, ALIPAY])
def test_a_provider_answering_slowly_leaves_the_refund_processing_and_never_twice(
    staff_api, user, paid, providers, method
):
    order, trade = paid(method)
    granted = expiry(user)
    fake = providers.wechat if method == WECHAT else providers.alipay
    fake.fail_next = "trickle"  # the answer's headers at once, its body a byte every 0.25 s
    body = refund(staff_api, order, amount="44.00", reason="慢").json()
    assert body["state"] == "processing"
    # the provider made the refund; the platform did not hear it in time
    assert trade.refunded() == Decimal("44.00")
    assert expiry(user) == granted
    assert refunds.refunds_complete(older_than_seconds=0) == 1  # its query finds it
    assert refunds.refunds_complete(older_than_seconds=0) == 0
    assert trade.refunded() == Decimal("44.00")  # not refunded twice
    assert granted - expiry(user) == QUARTER / 2
    assert Refund.objects.get().state == RefundState.SUCCEEDED

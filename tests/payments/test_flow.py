"""The main path through HTTP, as the old front end and the gateway drive it."""

import logging
import re
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
import segno
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from payments import links
from payments.models import OrderStatus, VipOrder
from users.models import User, VipChangeKind, VipLedgerEntry

from ..factories import PASSWORD, VipOrderFactory
from ..helpers import post_callback

pytestmark = pytest.mark.django_db


def buy(client, user, plan_id=1, amount="29.90", method=0):
    return client.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": plan_id, "amount": amount, "paymentMethod": method},
        format="json",
    )


def test_a_new_user_buys_a_month_and_becomes_vip_for_30_days(plans):
    client = APIClient()
    registered = client.post(
        "/api/users/register",
        {"username": "alice", "password": PASSWORD, "email": "alice@example.com"},
        format="json",
    )
    assert registered.status_code == HTTPStatus.OK
    assert registered.json()["data"]["isVip"] == 0
    logged_in = client.post(
        "/api/users/login", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert logged_in.status_code == HTTPStatus.OK
    user = User.objects.get(username="alice")

    created = buy(client, user, amount=29.9)
    assert created.status_code == HTTPStatus.OK
    order_number = created.json()["orderId"]
    assert created.json()["amount"] == 29.9
    assert client.get(f"/api/payment/status/{order_number}").json() == {
        "orderId": order_number,
        "status": OrderStatus.PENDING,
        "amount": 29.9,
    }

    paid = post_callback(APIClient(), {"orderId": order_number, "status": "SUCCESS"})
    assert paid.status_code == HTTPStatus.OK
    assert paid.json() == {"orderId": order_number, "status": OrderStatus.PAID}
    assert client.get(f"/api/payment/status/{order_number}").json()["status"] == OrderStatus.PAID

    me = client.get("/api/users/current").json()["data"]
    assert me["isVip"] == 1
    expiry = parse_datetime(me["vipExpireTime"])
    assert abs(expiry - (timezone.now() + timedelta(days=30))) < timedelta(seconds=30)
    order = VipOrder.objects.get(order_number=order_number)
    assert order.pay_time is not None
    assert order.vip_grant.kind == VipChangeKind.PURCHASE


def test_order_response_carries_a_real_qr_code_of_the_payment_link(api, user, plans):
    body = buy(api, user).json()
    number = body["orderId"]
    assert body["qrCodeUrl"] == links.with_token(
        f"http://testserver/api/payment/qrcode/{number}.svg", number
    )
    assert len(body["orderId"]) <= 32
    deadline = parse_datetime(body["expireTime"])
    assert timedelta(minutes=29) < deadline - timezone.now() <= timedelta(minutes=30)

    image = APIClient().get(body["qrCodeUrl"])
    assert image.status_code == HTTPStatus.OK
    assert image["Content-Type"] == "image/svg+xml"
    link = links.with_token(f"http://testserver/pay/{number}/", number)
    expected = segno.make(link, error="m")
    assert image.content.startswith(b"<svg")
    # The image's modules are those of the link's QR code: the same path data.
    modules = re.compile(r' d="([^"]+)"')
    assert modules.findall(image.content.decode()) == modules.findall(
        expected.svg_inline(scale=6, border=2)
    )
    assert APIClient().get(link).status_code == HTTPStatus.OK


def test_order_numbers_are_unguessable(api, user, plans):
    numbers = {buy(api, user).json()["orderId"] for _ in range(5)}
    assert len(numbers) == 5
    # The creation second for staff, then 64 random bits: not a counter.
    assert all(re.fullmatch(r"\d{14}[0-9a-f]{16}", number) for number in numbers)
    assert len({number[14:] for number in numbers}) == 5


def test_a_repeated_success_notification_grants_nothing_more(plans):
    order = VipOrderFactory()
    gateway = APIClient()
    for _ in range(3):
        response = post_callback(gateway, {"orderId": order.order_number, "status": "SUCCESS"})
        assert response.status_code == HTTPStatus.OK
        assert response.json()["status"] == OrderStatus.PAID
    order.user.refresh_from_db()
    assert VipLedgerEntry.objects.filter(user=order.user).count() == 1
    assert abs(order.user.vip_expire_time - (timezone.now() + timedelta(days=30))) < timedelta(
        seconds=30
    )


def test_an_early_renewal_stacks_on_the_current_expiry(plans):
    first = VipOrderFactory(plan=plans[1])
    second = VipOrderFactory(user=first.user, plan=plans[2], amount=plans[2].price)
    post_callback(APIClient(), {"orderId": first.order_number, "status": "SUCCESS"})
    first.user.refresh_from_db()
    after_first = first.user.vip_expire_time

    post_callback(APIClient(), {"orderId": second.order_number, "status": "SUCCESS"})
    first.user.refresh_from_db()
    assert first.user.vip_expire_time == after_first + timedelta(days=90)


def test_a_lapsed_member_renews_from_now(plans, user):
    User.objects.filter(pk=user.pk).update(
        is_vip=True, vip_expire_time=timezone.now() - timedelta(days=3)
    )
    order = VipOrderFactory(user=user)
    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    user.refresh_from_db()
    assert abs(user.vip_expire_time - (timezone.now() + timedelta(days=30))) < timedelta(seconds=30)


def test_a_failed_notification_cancels_a_pending_order(plans):
    order = VipOrderFactory()
    response = post_callback(APIClient(), {"orderId": order.order_number, "status": "FAILED"})
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == OrderStatus.CANCELLED
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert not VipLedgerEntry.objects.exists()


def test_a_failed_notification_never_undoes_a_payment(plans):
    order = VipOrderFactory()
    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    response = post_callback(APIClient(), {"orderId": order.order_number, "status": "FAILED"})
    assert response.json()["status"] == OrderStatus.PAID
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    order.user.refresh_from_db()
    assert order.user.vip_active()


@pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.EXPIRED])
def test_a_payment_for_a_closed_order_is_honoured_and_logged(plans, status, caplog):
    order = VipOrderFactory(status=status)
    with caplog.at_level(logging.WARNING, logger="payments.services"):
        response = post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    assert response.json()["status"] == OrderStatus.PAID
    order.user.refresh_from_db()
    assert order.user.vip_active()
    assert any(
        order.order_number in record.getMessage() and record.levelno == logging.WARNING
        for record in caplog.records
    )


def test_a_payment_after_the_deadline_is_honoured(plans):
    created = timezone.now() - timedelta(hours=1)
    order = VipOrderFactory(create_time=created, expire_time=created + timedelta(minutes=30))
    post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_the_transaction_id_is_stored(plans):
    order = VipOrderFactory()
    post_callback(
        APIClient(),
        {"orderId": order.order_number, "status": "SUCCESS", "transactionId": "4200001234"},
    )
    order.refresh_from_db()
    assert order.transaction_id == "4200001234"


def test_unknown_orders_are_404(api, plans):
    response = post_callback(APIClient(), {"orderId": "nope", "status": "SUCCESS"})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["status"] == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "订单不存在"
    assert api.get("/api/payment/status/nope").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("userId", "用户ID不能为空"),
        ("planId", "套餐ID不能为空"),
        ("amount", "支付金额不能为空"),
        ("paymentMethod", "支付方式不能为空"),
    ],
)
def test_missing_fields_are_refused_with_the_old_messages(api, user, plans, missing, message):
    payload = {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0}
    del payload[missing]
    response = api.post("/api/payment/generate-qrcode", payload, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = response.json()
    assert body["error"] == message
    assert body["fields"] == {missing: message}
    assert body["status"] == HTTPStatus.BAD_REQUEST
    assert parse_datetime(body["timestamp"]).tzinfo is not None
    assert not VipOrder.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", "0.01"),
        ("amount", "88.00"),
        ("amount", "abc"),
        ("amount", "29.901"),
        ("planId", 99),
        ("planId", "x"),
        ("paymentMethod", 7),
        ("userId", -1),
        ("userId", 10**30),
    ],
)
def test_bad_order_input_is_400_and_creates_nothing(api, user, plans, field, value):
    payload = {"userId": user.pk, "planId": 1, "amount": "29.90", "paymentMethod": 0}
    payload[field] = value
    response = api.post("/api/payment/generate-qrcode", payload, format="json")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["fields"]
    assert not VipOrder.objects.exists()


def test_an_inactive_plan_cannot_be_bought(api, user, plans):
    plans[3].is_active = False
    plans[3].save()
    response = buy(api, user, plan_id=3, amount="328.00")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["fields"] == {"planId": "套餐不存在或已下架"}


def test_the_price_comes_from_the_plan(api, user, plans):
    plans[2].price = Decimal("80.00")
    plans[2].save()
    assert buy(api, user, plan_id=2, amount="88.00").status_code == HTTPStatus.BAD_REQUEST
    created = buy(api, user, plan_id=2, amount="80")
    assert created.json()["amount"] == 80.0
    assert VipOrder.objects.get().amount == Decimal("80.00")


def test_a_callback_amount_that_differs_changes_nothing(plans, caplog):
    order = VipOrderFactory()
    with caplog.at_level(logging.WARNING):
        response = post_callback(
            APIClient(), {"orderId": order.order_number, "status": "SUCCESS", "amount": "0.01"}
        )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not VipLedgerEntry.objects.exists()
    assert any("SECURITY" in record.getMessage() for record in caplog.records)


def test_a_matching_callback_amount_is_accepted(plans):
    order = VipOrderFactory()
    response = post_callback(
        APIClient(), {"orderId": order.order_number, "status": "SUCCESS", "amount": 29.9}
    )
    assert response.json()["status"] == OrderStatus.PAID


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"orderId": "x"},
        {"orderId": "x", "status": "PAID"},
        {"orderId": "x" * 51, "status": "SUCCESS"},
        {"orderId": ["x"], "status": "SUCCESS"},
    ],
)
def test_malformed_callbacks_are_400(plans, payload):
    response = post_callback(APIClient(), payload)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "fields" in response.json()


def test_a_callback_that_is_not_json_is_400(plans):
    response = APIClient().post(
        "/api/payment/callback", data=b"{oops", content_type="application/json"
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["status"] == HTTPStatus.BAD_REQUEST


def test_a_pending_order_past_its_deadline_reads_as_expired(api, user, plans):
    created = timezone.now() - timedelta(minutes=31)
    order = VipOrderFactory(
        user=user, create_time=created, expire_time=created + timedelta(minutes=30)
    )
    assert api.get(f"/api/payment/status/{order.order_number}").json()["status"] == 3
    listed = api.get(f"/api/payment/users/{user.pk}/orders").json()
    assert listed["content"][0]["status"] == OrderStatus.EXPIRED
    assert listed["content"][0]["statusName"] == "已过期"


def test_an_order_grants_and_shows_the_plan_as_bought_not_as_edited_since(staff_api, plans):
    api = APIClient()
    user = User.objects.create_user(username="buyer", password=PASSWORD)
    api.force_login(user)
    order_number = buy(api, user).json()["orderId"]
    plans[1].name, plans[1].days = "月度会员（新版）", 31
    plans[1].save()

    post_callback(APIClient(), {"orderId": order_number, "status": "SUCCESS"})

    user.refresh_from_db()
    assert abs(user.vip_expire_time - (timezone.now() + timedelta(days=30))) < timedelta(seconds=30)
    granted = VipLedgerEntry.objects.get(order__order_number=order_number)
    assert "购买月度会员（订单" in granted.reason
    shown = staff_api.get(f"/api/payment/orders/by-number/{order_number}").json()
    assert shown["vipTypeName"] == "月度会员"

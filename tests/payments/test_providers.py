"""WeChat Pay (API v3, Native) and Alipay (precreate) against their local fakes: orders open a
payment at the provider, the providers' genuine notifications pay once, anything not genuine
or not ours is refused and changes nothing, and a provider that fails leaves no order."""

import re
import time
from decimal import Decimal
from http import HTTPStatus

import pytest
import segno
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from rest_framework.test import APIClient

from payments import services
from payments.models import (
    NotificationOutcome,
    OrderStatus,
    PaymentMethod,
    PaymentNotification,
    VipOrder,
)
from users.models import VipLedgerEntry

from ..factories import StaffFactory
from ..helpers import post_callback

pytestmark = pytest.mark.django_db

WECHAT, ALIPAY = PaymentMethod.WECHAT, PaymentMethod.ALIPAY


def buy(client, user, method, plan_id=2, amount="88.00"):
    return client.post(
        "/api/payment/generate-qrcode",
        {"userId": user.pk, "planId": plan_id, "amount": amount, "paymentMethod": method},
        format="json",
    )


def notify(name: str, body: bytes, headers: dict):
    return APIClient().generic(
        "POST",
        f"/api/payment/notify/{name}",
        body,
        content_type=headers.pop("Content-Type"),
        headers=headers,
    )


@pytest.fixture
def wechat_order(api, user, plans, providers):
    body = buy(api, user, WECHAT).json()
    order = VipOrder.objects.get(order_number=body["orderId"])
    return order, providers.wechat.trades[order.order_number]


@pytest.fixture
def alipay_order(api, user, plans, providers):
    body = buy(api, user, ALIPAY).json()
    order = VipOrder.objects.get(order_number=body["orderId"])
    return order, providers.alipay.trades[order.order_number]


def assert_unchanged(order):
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert not VipLedgerEntry.objects.exists()


class TestCreating:
    @pytest.mark.parametrize(
        ("method", "prefix"),
        [(WECHAT, "weixin://wxpay/bizpayurl?pr="), (ALIPAY, "https://qr.alipay.com/bax")],
    )
    def test_the_qr_code_is_the_providers_code(self, api, user, plans, providers, method, prefix):
        body = buy(api, user, method).json()
        order = VipOrder.objects.get(order_number=body["orderId"])
        trade = providers.trade(order.order_number)
        assert order.payment_code == trade.code and trade.code.startswith(prefix)
        assert (trade.amount, trade.subject) == (Decimal("88.00"), "季度会员")
        assert trade.notify_url == f"http://testserver/api/payment/notify/{trade.provider}"
        image = APIClient().get(body["qrCodeUrl"]).content.decode()
        modules = re.compile(r' d="([^"]+)"')
        expected = segno.make(trade.code, error="m").svg_inline(scale=6, border=2)
        assert modules.findall(image) == modules.findall(expected)

    @pytest.mark.parametrize("method", [WECHAT, ALIPAY])
    @pytest.mark.parametrize("failure", ["timeout", "trickle", 500, 400, "bad-signature"])
    def test_a_provider_that_fails_gives_a_clear_error_and_no_order(
        self, api, user, plans, providers, method, failure
    ):
        fake = providers.wechat if method == WECHAT else providers.alipay
        fake.fail_next = failure
        started = time.monotonic()
        response = buy(api, user, method)
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert response.json()["error"] in (
            "支付服务暂时不可用，请稍后重试",
            "支付平台应答无法验证，请稍后重试",
            "微信支付拒绝了请求（SYSTEM_ERROR），请稍后重试",
        )
        assert not VipOrder.objects.exists()
        # The timeout is 1 s here, for the whole call: "trickle" answers at once, then a byte
        # every 0.25 s (each read on time, the whole answer far too slow).
        assert time.monotonic() - started < 2.5

    def test_an_unconfigured_method_is_refused_and_not_offered(self, api, user, plans, settings):
        settings.PAYMENT_SANDBOX, settings.PAYMENT_CALLBACK_SECRET = False, ""
        response = buy(api, user, WECHAT)
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert response.json()["error"] == "该支付方式暂未开通，请选择其他支付方式"
        assert not VipOrder.objects.exists()
        page = api.get("/vip/").content.decode()
        assert 'name="method"' not in page

    def test_the_page_offers_the_configured_providers(self, api, plans, settings, providers):
        settings.PAYMENT_SANDBOX, settings.PAYMENT_CALLBACK_SECRET = False, ""
        page = api.get("/vip/").content.decode()
        assert re.findall(r'name="method" value="(\d)"', page) == ["0", "1"]


class TestWeChatPayNotifications:
    def test_a_genuine_notification_pays_once_and_resends_are_duplicates(
        self, wechat_order, providers
    ):
        order, trade = wechat_order
        body, headers = providers.wechat.notification(trade)
        first = notify("wechat", body, dict(headers))
        again = notify("wechat", body, dict(headers))
        assert (first.status_code, first.content) == (HTTPStatus.NO_CONTENT, b"")
        assert again.status_code == HTTPStatus.NO_CONTENT
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert order.transaction_id.startswith("42000")
        assert VipLedgerEntry.objects.filter(order=order).count() == 1
        outcomes = list(
            PaymentNotification.objects.order_by("pk").values_list("provider", "outcome")
        )
        assert outcomes == [("wechat", NotificationOutcome.PAID), ("wechat", "duplicate")]
        assert PaymentNotification.objects.first().order_number == order.order_number
        assert PaymentNotification.objects.first().event_id

    @pytest.mark.parametrize(
        ("change", "status"),
        [
            ("signature", HTTPStatus.UNAUTHORIZED),
            ("stale timestamp", HTTPStatus.UNAUTHORIZED),
            ("serial", HTTPStatus.UNAUTHORIZED),
            ("tampered ciphertext", HTTPStatus.BAD_REQUEST),
            ("another merchant", HTTPStatus.BAD_REQUEST),
            ("wrong amount", HTTPStatus.BAD_REQUEST),
        ],
    )
    def test_anything_not_genuine_or_not_ours_is_refused(
        self, wechat_order, providers, change, status
    ):
        order, trade = wechat_order
        fake = providers.wechat
        body, headers = {
            "signature": lambda: fake.notification(trade),
            "stale timestamp": lambda: fake.notification(trade, timestamp=int(time.time()) - 300),
            "serial": lambda: fake.notification(trade),
            "tampered ciphertext": lambda: fake.notification(trade, tamper=True),
            "another merchant": lambda: fake.notification(trade, mchid="1900000999"),
            "wrong amount": lambda: fake.notification(trade, total=1),
        }[change]()
        if change == "signature":
            headers["Wechatpay-Signature"] = fake.signed_headers(b"{}")["Wechatpay-Signature"]
        if change == "serial":
            headers["Wechatpay-Serial"] = "PUB_KEY_ID_SOMEONE_ELSE"
        response = notify("wechat", body, headers)
        assert response.status_code == status
        assert response.json()["code"] == "FAIL"
        assert_unchanged(order)
        record = PaymentNotification.objects.get()
        assert record.outcome == NotificationOutcome.REFUSED
        # Linked to its order whenever the order number can be read (decrypted with our key).
        readable = change not in ("tampered ciphertext",)
        assert record.order_number == (order.order_number if readable else "")


class TestAlipayNotifications:
    @pytest.mark.parametrize("charset", ["utf-8", "gbk"])
    def test_a_genuine_notification_pays_once_and_resends_are_duplicates(
        self, alipay_order, providers, charset
    ):
        """In the charset the merchant's account uses: Alipay signs the bytes of that charset
        (the subject 季度会员 differs between them) and form-encodes in it."""
        order, trade = alipay_order
        body, headers = providers.alipay.notification(trade, charset=charset)
        assert f"charset={charset}".encode() in body
        first = notify("alipay", body, dict(headers))
        again = notify("alipay", body, dict(headers))
        assert (first.status_code, first.content) == (HTTPStatus.OK, b"success")
        assert (again.status_code, again.content) == (HTTPStatus.OK, b"success")
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert VipLedgerEntry.objects.filter(order=order).count() == 1
        outcomes = list(
            PaymentNotification.objects.order_by("pk").values_list("outcome", flat=True)
        )
        assert outcomes == [NotificationOutcome.PAID, NotificationOutcome.DUPLICATE]

    @pytest.mark.parametrize(
        "change",
        ["forged signature", "tampered amount", "another app", "wrong amount", "charset lie"],
    )
    def test_anything_not_genuine_or_not_ours_is_refused(self, alipay_order, providers, change):
        order, trade = alipay_order
        fake = providers.alipay
        body, headers = {
            "forged signature": lambda: fake.notification(trade, forged=True),
            "tampered amount": lambda: fake.notification(trade),
            "another app": lambda: fake.notification(trade, app_id="2021000999999999"),
            "wrong amount": lambda: fake.notification(trade, total_amount="0.01"),
            "charset lie": lambda: fake.notification(trade, charset="gbk"),
        }[change]()
        if change == "charset lie":  # signed over GBK bytes, then said to be UTF-8
            body = body.replace(b"charset=gbk", b"charset=utf-8")
        if change == "tampered amount":
            body = body.replace(b"total_amount=88.00", b"total_amount=0.01")
        response = notify("alipay", body, headers)
        assert response.status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.BAD_REQUEST)
        assert response.content == b"fail"
        assert_unchanged(order)

    def test_a_closed_trade_cancels_a_pending_order(self, alipay_order, providers):
        order, trade = alipay_order
        body, headers = providers.alipay.notification(trade, trade_status="TRADE_CLOSED")
        assert notify("alipay", body, headers).content == b"success"
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED


@pytest.mark.parametrize("which", ["wechat_order", "alipay_order"])
class TestQueryAndClose:
    def test_reconciliation_asks_the_orders_own_provider(self, request, which, providers):
        order, trade = request.getfixturevalue(which)
        assert services.order_reconcile(order_id=order.pk) is None  # not paid yet
        trade.state, trade.transaction_id = "SUCCESS", "T-PAID-WITHOUT-NOTIFICATION"
        assert services.order_reconcile(order_id=order.pk) == NotificationOutcome.PAID
        order.refresh_from_db()
        assert (order.status, order.transaction_id) == (OrderStatus.PAID, trade.transaction_id)

    def test_a_cancelled_order_is_closed_at_the_provider(
        self, request, which, api, django_capture_on_commit_callbacks
    ):
        order, trade = request.getfixturevalue(which)
        with django_capture_on_commit_callbacks(execute=True):
            assert api.put(f"/api/payment/orders/{order.pk}/cancel").status_code == HTTPStatus.OK
        assert trade.state == "CLOSED"

    def test_an_expired_order_is_closed_at_the_provider(
        self, request, which, django_capture_on_commit_callbacks
    ):
        order, trade = request.getfixturevalue(which)
        VipOrder.objects.filter(pk=order.pk).update(expire_time=order.create_time)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.order_expire_overdue() == 1
        assert trade.state == "CLOSED"

    def test_an_order_paid_as_it_closes_is_completed(self, request, which):
        order, trade = request.getfixturevalue(which)
        trade.state, trade.transaction_id = "SUCCESS", "T-PAID-JUST-NOW"
        VipOrder.objects.filter(pk=order.pk).update(status=OrderStatus.EXPIRED)
        assert services.order_close_at_provider(order_id=order.pk) is True
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert VipLedgerEntry.objects.filter(order=order).count() == 1


class TestDeployChecks:
    def check(self, settings):
        settings.DEBUG = False
        with pytest.raises(SystemCheckError) as failed:
            call_command("check", "--deploy", "--fail-level", "ERROR", tags=["security"])
        return str(failed.value)

    def test_a_half_configured_provider_fails(self, settings, providers):
        settings.WECHATPAY_PRIVATE_KEY = ""
        assert "payments.E010" in self.check(settings)

    def test_a_missing_key_file_fails(self, settings, providers, tmp_path):
        settings.ALIPAY_PUBLIC_KEY = str(tmp_path / "nowhere.pem")
        assert "payments.E011" in self.check(settings)

    def test_an_apiv3_key_that_is_not_32_bytes_fails(self, settings, providers):
        settings.WECHATPAY_APIV3_KEY = "x" * 31
        assert "payments.E013" in self.check(settings)


def test_a_key_file_gone_at_run_time_is_a_503_not_a_crash(api, user, plans, providers, settings):
    settings.WECHATPAY_PRIVATE_KEY = "/nowhere/apiclient_key.pem"
    response = buy(api, user, WECHAT)
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert "/nowhere" not in response.content.decode()  # the path stays in the log
    assert not VipOrder.objects.exists()


class TestOnlyTheOrdersOwnProvider:
    """The probe: a correctly signed contract callback paid an order created for Alipay."""

    def test_a_signed_contract_callback_cannot_pay_an_alipay_order(
        self, alipay_order, providers, settings
    ):
        settings.PAYMENT_SANDBOX, settings.PAYMENT_CALLBACK_SECRET = False, "gw-secret-123456"
        order, _ = alipay_order
        answer = post_callback(
            APIClient(),
            {"orderId": order.order_number, "status": "SUCCESS", "amount": "88.00"},
            secret=settings.PAYMENT_CALLBACK_SECRET,
        )
        assert answer.status_code == HTTPStatus.CONFLICT
        assert answer.json()["error"] == "该订单不由此支付渠道收款"
        assert_unchanged(order)
        record = PaymentNotification.objects.get()
        assert (record.provider, record.verified, record.outcome) == (
            "contract",
            True,
            NotificationOutcome.REFUSED,
        )
        assert record.order_number == order.order_number  # visible from the order
        admin = APIClient()
        admin.force_login(StaffFactory(is_superuser=True))
        listed = admin.get(f"/admin/payments/paymentnotification/?q={order.order_number}")
        assert [row.pk for row in listed.context["cl"].result_list] == [record.pk]

    def test_the_sandbox_cannot_pay_a_wechat_order_but_pays_its_own(self, api, user, providers):
        wechat, _ = TestOnlyTheOrdersOwnProvider._order(api, user, WECHAT)
        refused = post_callback(APIClient(), {"orderId": wechat.order_number, "status": "SUCCESS"})
        assert refused.status_code == HTTPStatus.CONFLICT
        assert_unchanged(wechat)
        # The bank card is served by the sandbox: its deliveries (the old front end's
        # 模拟支付成功 too) keep working for it.
        card, _ = TestOnlyTheOrdersOwnProvider._order(api, user, PaymentMethod.BANK_CARD)
        paid = post_callback(APIClient(), {"orderId": card.order_number, "status": "SUCCESS"})
        assert paid.json() == {"orderId": card.order_number, "status": OrderStatus.PAID}

    def test_wechat_cannot_pay_an_alipay_order(self, alipay_order, providers):
        order, trade = alipay_order
        trade.provider = "wechat"
        body, headers = providers.wechat.notification(trade)
        answer = notify("wechat", body, headers)
        assert answer.status_code == HTTPStatus.CONFLICT
        assert_unchanged(order)
        assert PaymentNotification.objects.get().order_number == order.order_number

    @staticmethod
    def _order(client, user, method):
        body = buy(client, user, method).json()
        return VipOrder.objects.get(order_number=body["orderId"]), body

"""Every gateway notification on record, and reconciliation when one never arrives."""

import time
from datetime import timedelta
from http import HTTPStatus
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from payments import links, services
from payments.gateways.sandbox import SandboxProvider
from payments.models import NotificationOutcome, OrderStatus, PaymentNotification, SandboxPayment
from users.models import VipLedgerEntry

from ..factories import StaffFactory, VipOrderFactory, VipPlanFactory
from ..helpers import post_callback, requires_mariadb

pytestmark = pytest.mark.django_db


def only_notification() -> PaymentNotification:
    return PaymentNotification.objects.get()


class TestOnRecord:
    def test_a_payment_is_recorded_with_its_outcome(self, plans, signed):
        order = VipOrderFactory()
        post_callback(
            APIClient(),
            {"orderId": order.order_number, "status": "SUCCESS"},
            secret=signed,
            **{"User-Agent": "gateway/1.0"},
        )
        record = only_notification()
        assert (record.order_number, record.verified, record.outcome) == (
            order.order_number,
            True,
            NotificationOutcome.PAID,
        )
        assert record.remote_addr == "127.0.0.1"
        assert order.order_number in record.body
        assert record.headers["User-Agent"] == "gateway/1.0"
        assert "X-Pay-Signature" in record.headers
        assert record.processed_at is not None

    def test_secrets_and_cookies_are_not_kept(self, plans, signed, client_for, user):
        order = VipOrderFactory()
        client = client_for(user)  # carries a session cookie
        post_callback(client, {"orderId": order.order_number, "status": "SUCCESS"}, secret=signed)
        record = only_notification()
        assert "Cookie" not in record.headers
        assert signed not in str(record.headers) + record.body

    def test_a_resend_is_recorded_as_a_duplicate(self, plans):
        order = VipOrderFactory()
        for _ in range(2):
            post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
        outcomes = list(
            PaymentNotification.objects.order_by("id").values_list("outcome", flat=True)
        )
        assert outcomes == [NotificationOutcome.PAID, NotificationOutcome.DUPLICATE]

    def test_a_bad_signature_is_refused_and_says_why(self, plans, signed):
        order = VipOrderFactory()
        post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
        record = only_notification()
        assert (record.verified, record.outcome, record.detail) == (
            False,
            NotificationOutcome.REFUSED,
            "缺少回调签名",
        )

    @pytest.mark.parametrize(
        ("payload", "detail"),
        [
            ({"orderId": "nope", "status": "SUCCESS"}, "订单不存在"),
            ({"orderId": "x", "status": "MAYBE"}, "status"),
        ],
    )
    def test_refusals_are_recorded(self, plans, payload, detail):
        post_callback(APIClient(), payload)
        record = only_notification()
        assert record.outcome == NotificationOutcome.REFUSED
        assert detail in record.detail

    def test_a_body_that_is_not_json_is_kept_as_sent(self, plans):
        APIClient().post(
            "/api/payment/callback", data=b"\xff{oops", content_type="application/json"
        )
        record = only_notification()
        assert record.outcome == NotificationOutcome.REFUSED
        assert record.body.endswith("{oops")

    def test_an_error_is_recorded_with_its_traceback_and_survives_the_rollback(
        self, plans, monkeypatch
    ):
        order = VipOrderFactory()
        original = services.order_mark_paid

        def explode(**kwargs):
            original(**kwargs)  # the order is marked paid, then the transaction fails
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(services, "order_mark_paid", explode)
        client = APIClient(raise_request_exception=False)
        response = post_callback(client, {"orderId": order.order_number, "status": "SUCCESS"})
        assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
        assert response.json()["status"] == HTTPStatus.INTERNAL_SERVER_ERROR
        record = only_notification()
        assert record.outcome == NotificationOutcome.ERROR
        assert "RuntimeError: disk on fire" in record.detail
        assert "Traceback" in record.detail

    def test_staff_reprocess_an_errored_notification(self, plans, monkeypatch, signed):
        order = VipOrderFactory()
        with monkeypatch.context() as patched:
            patched.setattr(services, "order_mark_paid", lambda **kwargs: 1 / 0)
            post_callback(
                APIClient(raise_request_exception=False),
                {"orderId": order.order_number, "status": "SUCCESS"},
                secret=signed,
            )
        record = only_notification()
        assert (record.outcome, record.verified) == (NotificationOutcome.ERROR, True)

        admin = Client()
        admin.force_login(StaffFactory(is_superuser=True))
        admin.post(
            "/admin/payments/paymentnotification/",
            {"action": "reprocess", ACTION_CHECKBOX_NAME: [record.pk]},
        )
        record.refresh_from_db()
        assert record.outcome == NotificationOutcome.PAID
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert VipLedgerEntry.objects.filter(order=order).count() == 1

    def test_the_admin_list_filters_and_searches(self, plans, staff):
        order = VipOrderFactory()
        post_callback(APIClient(), {"orderId": order.order_number, "status": "SUCCESS"})
        post_callback(APIClient(), {"orderId": "unknown-order", "status": "SUCCESS"})
        admin = Client()
        admin.force_login(StaffFactory(is_superuser=True))
        url = "/admin/payments/paymentnotification/"
        page = admin.get(url, {"outcome": "refused"}).content.decode()
        assert "unknown-order" in page
        assert order.order_number not in page
        page = admin.get(url, {"q": order.order_number}).content.decode()
        assert order.order_number in page
        assert "unknown-order" not in page


class TestReconciliation:
    def pay_without_delivery(self, order, settings, result="SUCCESS"):
        settings.PAYMENT_SANDBOX_DELIVERY = False
        SandboxProvider().pay(
            order_number=order.order_number, result=result, notify_url="http://unused/"
        )

    def test_a_paid_order_whose_notification_never_came_ends_paid_with_its_vip(
        self, plans, settings
    ):
        order = VipOrderFactory(create_time=timezone.now() - timedelta(minutes=10))
        self.pay_without_delivery(order, settings)
        order.refresh_from_db()
        assert order.status == OrderStatus.PENDING
        assert not PaymentNotification.objects.exists()

        assert services.orders_reconcile() == {"checked": 1, "paid": 1, "failed": 0, "errors": 0}
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID
        assert order.transaction_id == SandboxPayment.objects.get().transaction_id
        order.user.refresh_from_db()
        assert order.user.vip_active()
        assert services.orders_reconcile() == {"checked": 0, "paid": 0, "failed": 0, "errors": 0}
        assert VipLedgerEntry.objects.filter(order=order).count() == 1

    def test_a_payment_found_after_the_order_expired_is_honoured(self, plans, settings):
        created = timezone.now() - timedelta(minutes=40)
        order = VipOrderFactory(create_time=created, expire_time=created + timedelta(minutes=30))
        SandboxPayment.objects.create(
            order_number=order.order_number,
            result="SUCCESS",
            amount=order.amount,
            transaction_id="T",
        )
        call_command("expire_orders")
        out = self.command()
        assert out == "checked 1, paid 1, failed 0, errors 0"
        order.refresh_from_db()
        assert order.status == OrderStatus.PAID

    def test_a_reported_failure_cancels(self, plans, settings):
        order = VipOrderFactory(create_time=timezone.now() - timedelta(minutes=10))
        self.pay_without_delivery(order, settings, result="FAILED")
        assert self.command() == "checked 1, paid 0, failed 1, errors 0"
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED

    def test_young_orders_are_left_to_their_callback(self, plans, settings):
        order = VipOrderFactory()
        self.pay_without_delivery(order, settings)
        assert self.command() == "checked 0, paid 0, failed 0, errors 0"

    def command(self) -> str:
        out = StringIO()
        call_command("reconcile_payments", stdout=out)
        return out.getvalue().strip()


@requires_mariadb
@pytest.mark.django_db(transaction=True)
def test_the_sandbox_delivers_a_signed_notification_over_http(live_server, settings, client_for):
    VipPlanFactory(id=1)
    settings.PAYMENT_CALLBACK_SECRET = "live-secret"
    settings.PAYMENT_SANDBOX = True
    settings.PAYMENT_SANDBOX_NOTIFY_URL = f"{live_server.url}/api/payment/callback"
    order = VipOrderFactory()

    response = Client().post(
        links.with_token(f"/pay/{order.order_number}/simulate", order.order_number),
        {"status": "SUCCESS"},
        content_type="application/json",
    )
    assert response.status_code == HTTPStatus.OK

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        order.refresh_from_db()
        if order.status == OrderStatus.PAID:
            break
        time.sleep(0.1)
    assert order.status == OrderStatus.PAID
    record = PaymentNotification.objects.get()
    assert (record.verified, record.outcome) == (True, NotificationOutcome.PAID)
    payment = SandboxPayment.objects.get()
    assert payment.delivered_at is not None
    assert payment.delivery_attempts == 1

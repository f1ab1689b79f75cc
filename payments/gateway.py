"""The payment gateway: what the services need from a payment provider, and the sandbox one.

A provider is a `PaymentGateway`: it makes the payment link of an order (what the QR code
encodes), verifies a notification, and answers what it knows of an order's payment. The class in
`settings.PAYMENT_GATEWAY` is used; a real provider (WeChat Pay v3, Alipay) is one more class.

`SandboxGateway` speaks the contract's notification format: a JSON body
`{orderId, status, amount, transactionId}` signed as lowercase hex
HMAC-SHA256(secret, "<timestamp>.<raw body>") in X-Pay-Signature, with X-Pay-Timestamp in unix
seconds. Without a secret it accepts unsigned notifications (sandbox mode). It keeps its own
book of payments and, like a real gateway, delivers each one to our callback URL over HTTP,
retrying a few times.
"""

import hashlib
import hmac
import io
import json
import logging
import secrets
import threading
import time
import urllib.request
from functools import cache

import segno
from django.conf import settings
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from vipplatform.links import site_url

from .exceptions import InvalidSignature, OrderNotFound, OrderNotPending
from .models import OrderStatus, SandboxPayment, VipOrder

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Pay-Signature"
TIMESTAMP_HEADER = "X-Pay-Timestamp"


def sign(*, secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, body: bytes, secret: str | None = None, timestamp: int | None = None):
    """The headers a gateway sends with `body`."""
    secret = settings.PAYMENT_CALLBACK_SECRET if secret is None else secret
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, body=body),
    }


def qr_code_svg(data: str) -> bytes:
    """An SVG image of a QR code that encodes `data`."""
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False)
    return out.getvalue()


class PaymentGateway:
    """What the platform needs from a payment provider."""

    def payment_link(self, order: VipOrder) -> str:
        """The link the payer's phone opens (the QR code's content)."""
        raise NotImplementedError

    def verify_notification(self, *, body: bytes, headers) -> bool | None:
        """Raise `InvalidSignature` unless the notification comes from the provider. Answers
        True when a signature was checked, None when the mode needs none (sandbox)."""
        raise NotImplementedError

    def query_payment(self, order: VipOrder) -> dict | None:
        """What the provider knows of the order's payment: None if nothing, else a notification
        payload (`orderId`, `status`, `amount`, `transactionId`)."""
        raise NotImplementedError


class SandboxGateway(PaymentGateway):
    def payment_link(self, order: VipOrder) -> str:
        return site_url(reverse("sandbox-checkout", args=[order.order_number]))

    def verify_notification(self, *, body: bytes, headers, now: float | None = None) -> bool | None:
        secret = settings.PAYMENT_CALLBACK_SECRET
        if not secret:
            if settings.PAYMENT_SANDBOX:
                return None  # the sandbox accepts unsigned callbacks
            raise InvalidSignature("未配置回调密钥，拒绝所有回调")
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not timestamp or not signature:
            raise InvalidSignature("缺少回调签名")
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise InvalidSignature("回调时间戳无效")
        now = time.time() if now is None else now
        if abs(now - int(timestamp)) > settings.PAYMENT_CALLBACK_MAX_SKEW_SECONDS:
            raise InvalidSignature("回调时间戳已过期")
        expected = sign(secret=secret, timestamp=timestamp, body=body)
        if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "replace")):
            raise InvalidSignature()
        return True

    def query_payment(self, order: VipOrder) -> dict | None:
        payment = SandboxPayment.objects.filter(order_number=order.order_number).first()
        return _notification(payment) if payment else None

    # --- the sandbox's own side: a payer pressing pay ------------------------------------

    @transaction.atomic
    def pay(self, *, order_number: str, result: str, notify_url: str) -> SandboxPayment:
        """A payer pays (or fails to pay) an order in the sandbox.

        The payment is booked once per order; after commit it is delivered to `notify_url`
        unless `PAYMENT_SANDBOX_DELIVERY` is off (then only reconciliation finds it).
        """
        order = VipOrder.objects.filter(order_number=order_number).first()
        if order is None:
            raise OrderNotFound()
        payment = SandboxPayment.objects.select_for_update().filter(order_number=order_number)
        payment = payment.first()
        if payment is None:
            if order.effective_status() != OrderStatus.PENDING:
                raise OrderNotPending("订单已关闭，无法支付")
            payment = SandboxPayment.objects.create(
                order_number=order_number,
                result=result,
                amount=order.amount,
                transaction_id=f"SANDBOX{secrets.token_hex(12)}",
            )
            logger.info("sandbox payment %s order=%s user=%s", result, order_number, order.user_id)
        if settings.PAYMENT_SANDBOX_DELIVERY:
            transaction.on_commit(lambda: _deliver_in_background(payment.pk, notify_url))
        return payment


def _notification(payment: SandboxPayment) -> dict:
    return {
        "orderId": payment.order_number,
        "status": payment.result,
        "amount": str(payment.amount),
        "transactionId": payment.transaction_id,
    }


DELIVERY_DELAYS = (0, 1, 2, 4)  # seconds before each attempt


def _deliver_in_background(payment_id: int, notify_url: str) -> None:
    threading.Thread(
        target=deliver, args=(payment_id, notify_url), name="sandbox-notify", daemon=True
    ).start()


def deliver(payment_id: int, notify_url: str, *, delays=DELIVERY_DELAYS) -> bool:
    """POST the payment's notification to our callback, as a gateway would, until it answers
    200 or the attempts run out. Answers whether it was delivered."""
    if not notify_url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {notify_url!r}")
    try:
        payment = SandboxPayment.objects.get(pk=payment_id)
        body = json.dumps(_notification(payment)).encode()
        for delay in delays:
            time.sleep(delay)
            headers = {"Content-Type": "application/json"}
            if settings.PAYMENT_CALLBACK_SECRET:
                headers.update(signed_headers(body=body))
            # http(s) only: the URL is our own callback (see `deliver`'s callers).
            request = urllib.request.Request(notify_url, data=body, headers=headers)  # noqa: S310
            payment.delivery_attempts += 1
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    delivered = response.status == 200
                    payment.last_delivery_error = "" if delivered else f"HTTP {response.status}"
            except OSError as exc:  # URLError, HTTPError, timeouts
                delivered, payment.last_delivery_error = False, str(exc)[:255]
            if delivered:
                payment.delivered_at = timezone.now()
            payment.save(update_fields=["delivery_attempts", "delivered_at", "last_delivery_error"])
            if delivered:
                return True
            logger.warning(
                "sandbox notification not delivered order=%s: %s",
                payment.order_number,
                payment.last_delivery_error,
            )
        return False
    finally:
        connections.close_all()  # this thread's own connections


@cache
def _gateway_class(path: str) -> type[PaymentGateway]:
    return import_string(path)


def get_gateway() -> PaymentGateway:
    return _gateway_class(settings.PAYMENT_GATEWAY)()

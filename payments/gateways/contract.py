"""The contract's own notification: the HMAC-signed `{orderId, status, amount, transactionId}`
that `POST /api/payment/callback` takes (the old payment service's contract), from whatever
gateway speaks it; that view writes the answer.

Signed as lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw body>") in X-Pay-Signature, with
X-Pay-Timestamp in unix seconds, at most PAYMENT_CALLBACK_MAX_SKEW_SECONDS away. Without a
secret it accepts unsigned notifications in sandbox mode and refuses all otherwise. Payments
are made at our own checkout page (`/pay/<order>`), which the sandbox serves.
"""

import hashlib
import hmac
import json
import time

from django.conf import settings
from rest_framework.exceptions import ParseError

from ..exceptions import InvalidSignature
from ..links import checkout_url
from ..models import PaymentMethod, RefundState, VipOrder
from .base import Notification, PaymentReport, Provider, RefundReport, timestamp_problem

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


class ContractProvider(Provider):
    """Always there to read the contract's callback (refusing every notification without a
    secret); it serves orders only when PAYMENT_CALLBACK_SECRET is set."""

    name = "contract"
    display_name = "支付网关（回调接口）"
    settings_hint = "PAYMENT_CALLBACK_SECRET"
    reads_callback = True
    kept_headers = (TIMESTAMP_HEADER, SIGNATURE_HEADER)
    # The contract has no refund call: a refund is booked here, and the money goes back
    # through the gateway's own console (its operators are told by the refund's record).
    refunds = True

    @classmethod
    def from_settings(cls) -> "ContractProvider":
        return cls()

    def serves(self, method: int) -> bool:
        return bool(settings.PAYMENT_CALLBACK_SECRET) and method in PaymentMethod.values

    def create_payment(self, order: VipOrder) -> str:
        return checkout_url(order.order_number)

    def refund(self, order: VipOrder, refund) -> RefundReport:
        return RefundReport(
            RefundState.SUCCEEDED, provider_refund_id=f"LOCAL-{refund.refund_number}", code="BOOKED"
        )

    def query_refund(self, order: VipOrder, refund) -> RefundReport | None:
        return None  # nothing was asked of anybody: `refund` books it

    @property
    def checks_signatures(self) -> bool:
        return bool(settings.PAYMENT_CALLBACK_SECRET) or not settings.PAYMENT_SANDBOX

    def verify(self, *, body: bytes, headers, now: float | None = None) -> None:
        secret = settings.PAYMENT_CALLBACK_SECRET
        if not self.checks_signatures:
            return  # the sandbox accepts unsigned callbacks
        if not secret:
            raise InvalidSignature("未配置回调密钥，拒绝所有回调")
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        signature = headers.get(SIGNATURE_HEADER, "")
        if not timestamp or not signature:
            raise InvalidSignature("缺少回调签名")
        problem = timestamp_problem(
            timestamp, max_skew=settings.PAYMENT_CALLBACK_MAX_SKEW_SECONDS, now=now
        )
        if problem:
            raise InvalidSignature(
                {"invalid": "回调时间戳无效", "stale": "回调时间戳已过期"}[problem]
            )
        expected = sign(secret=secret, timestamp=timestamp, body=body)
        if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "replace")):
            raise InvalidSignature()

    def parse(self, body: bytes) -> Notification:
        from ..serializers import CallbackInput

        params = CallbackInput(data=_json(body))
        params.is_valid(raise_exception=True)
        data = params.validated_data
        return Notification(
            order_number=data["orderId"],
            result=data["status"],
            amount=data.get("amount"),
            transaction_id=data.get("transactionId", ""),
        )

    def order_number_of(self, body: bytes) -> str:
        try:
            order_number = json.loads(body).get("orderId")
        except (ValueError, AttributeError, RecursionError):
            return ""
        return order_number[:64] if isinstance(order_number, str) else ""

    def query_payment(self, order: VipOrder) -> PaymentReport | None:
        return None  # the contract has no query: its gateway's notifications are all we hear


def _json(body: bytes):
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ParseError(f"JSON 解析错误 - {exc}") from None
    except RecursionError:
        raise ParseError("JSON 嵌套层级过深") from None

"""A payment provider that exists only in the tests: 银行卡 through a bank's gateway. It is the
whole of what adding a provider takes (with its dotted path in PAYMENT_PROVIDERS and its
settings): nothing else in the product names it (tests/payments/test_provider_plugin.py)."""

import hmac
import json
from decimal import Decimal

from django.conf import settings
from django.core.checks import Error
from django.http import HttpResponse

from payments.exceptions import InvalidSignature, NotificationInvalid
from payments.gateways import Notification, Provider
from payments.models import GatewayResult, PaymentMethod

TOKEN_HEADER = "X-Bank-Token"


class BankCardProvider(Provider):
    name = "bank"
    display_name = "银行卡网关"
    settings_hint = "BANK_GATEWAY_TOKEN"
    methods = (PaymentMethod.BANK_CARD,)
    notify_route = True
    kept_headers = (TOKEN_HEADER,)

    @classmethod
    def from_settings(cls) -> "BankCardProvider | None":
        return cls() if getattr(settings, "BANK_GATEWAY_TOKEN", "") else None

    @classmethod
    def check_settings(cls) -> list:
        token = getattr(settings, "BANK_GATEWAY_TOKEN", "")
        if token and len(token) < 16:
            return [Error("BANK_GATEWAY_TOKEN is shorter than 16 characters.", id="bank.E001")]
        return []

    def create_payment(self, order) -> str:
        return f"bank://pay/{order.order_number}"

    def verify(self, *, body: bytes, headers) -> None:
        if not hmac.compare_digest(headers.get(TOKEN_HEADER, ""), settings.BANK_GATEWAY_TOKEN):
            raise InvalidSignature()

    def parse(self, body: bytes) -> Notification:
        try:
            data = json.loads(body)
            return Notification(
                order_number=data["order"],
                result=GatewayResult.SUCCESS if data["paid"] else GatewayResult.FAILED,
                amount=Decimal(data["amount"]),
                transaction_id=data.get("serial", ""),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise NotificationInvalid() from exc

    def order_number_of(self, body: bytes) -> str:
        try:
            return str(json.loads(body).get("order", ""))[:64]
        except (ValueError, AttributeError):
            return ""

    def acknowledge(self, order) -> HttpResponse:
        return HttpResponse("OK", content_type="text/plain")

    def query_payment(self, order):
        return None

    def close_payment(self, order) -> None:
        return None

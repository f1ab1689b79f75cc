"""What the platform needs from a payment provider, and the typed results it answers with.

A provider owns its protocol end to end: it creates a payment for an order (what the QR code
encodes), verifies and parses its own notifications, writes its own acknowledgement, queries a
payment and closes an unpaid one. Everything after parsing (locking the order, checking the
amount, marking it paid, the signal, the notification record) is the one shared path in
`payments.services` and `payments.notifications`.
"""

from dataclasses import dataclass
from decimal import Decimal

import httpx
from django.http import HttpResponse, JsonResponse

from ..models import GatewayResult, VipOrder


@dataclass(frozen=True)
class Notification:
    """A verified notification, parsed. `result` None: an event that changes no order (a
    refund's, a trade still waiting for the buyer)."""

    order_number: str
    result: GatewayResult | None
    amount: Decimal | None
    transaction_id: str = ""
    event_id: str = ""  # the provider's own id of this notification


@dataclass(frozen=True)
class PaymentReport:
    """What a provider knows of an order's payment: paid (SUCCESS) or closed unpaid (FAILED)."""

    result: GatewayResult
    amount: Decimal
    transaction_id: str = ""


def http_client(timeout: float, **options) -> httpx.Client:
    """A provider's HTTP client: `timeout` seconds for an answer, at most 3 to connect; its
    connections are kept for the next call."""
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)), **options)


class PaymentAlreadyMade(Exception):
    """A provider refused to close a payment because the buyer has paid it."""


class Provider:
    """One payment provider. `name` is the path of its notifications
    (`/api/payment/notify/<name>`) and what the notification records say."""

    name: str
    # Whether an unpaid payment is open at the provider, to close when the order ends.
    closes_payments = False

    def create_payment(self, order: VipOrder) -> str:
        """Open the payment of a new (unsaved) order; answers what its QR code encodes.
        `GatewayUnavailable` when the provider does not answer, or not as it should."""
        raise NotImplementedError

    @property
    def checks_signatures(self) -> bool:
        """Whether `verify` checks a signature (False only for the sandbox without a secret,
        which takes unsigned notifications)."""
        return True

    def verify(self, *, body: bytes, headers) -> None:
        """Raise `InvalidSignature` unless the notification comes from the provider."""
        raise NotImplementedError

    def parse(self, body: bytes) -> Notification:
        """A verified notification's content, checked (ours, well-formed); raises
        `NotificationInvalid` or a validation error otherwise."""
        raise NotImplementedError

    def order_number_of(self, body: bytes) -> str:
        """The order number a notification names, before it is verified (for the record)."""
        return ""

    def acknowledge(self, order: VipOrder | None) -> HttpResponse:
        """The answer that tells the provider the notification was taken."""
        raise NotImplementedError

    def refuse(self, status: int, message: str) -> HttpResponse:
        """The answer to a notification that was not taken (the provider sends it again)."""
        return JsonResponse({"code": "FAIL", "message": message}, status=status)

    def query_payment(self, order: VipOrder) -> PaymentReport | None:
        """What the provider knows of the order's payment; None when nothing is final.
        `GatewayUnavailable` when it does not answer."""
        raise NotImplementedError

    def close_payment(self, order: VipOrder) -> None:
        """Close an unpaid payment so it can no longer be paid. `PaymentAlreadyMade` if the
        buyer paid it meanwhile."""

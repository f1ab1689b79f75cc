"""The sandbox: a pretend provider for the quick start and the tests (PAYMENT_SANDBOX=true).

The QR code opens our own checkout page (`/pay/<order>`), whose buttons stand for a payer
paying or failing to pay. The sandbox books the payment once per order and, like a real
provider, delivers it to our callback over HTTP in the contract's format (`contract.py`),
retrying a few times; reconciliation can ask it about a payment, too.

连续包月 in the sandbox: the signing QR code opens our own page standing for the provider's
signing page (`/pay/agreement/<number>/`), whose buttons sign, or unsign "in the app", and
tell the platform at once, as the provider's notification would; a charge is booked and
answered paid at once, unless the page's 「余额不足」 made the next ones fail.
"""

import json
import logging
import secrets
import threading
import time
import urllib.request
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connections, transaction
from django.urls import reverse
from django.utils import timezone

from vipplatform.links import site_url

from ...exceptions import OrderNotFound, OrderNotPending
from ...models import (
    GatewayResult,
    OrderStatus,
    PaymentMethod,
    RefundState,
    SandboxPayment,
    VipOrder,
)
from ..base import PaymentReport, RefundReport
from ..contract import ContractProvider, signed_headers

logger = logging.getLogger(__name__)

DELIVERY_DELAYS = (0, 1, 2, 4)  # seconds before each attempt


class SandboxProvider(ContractProvider):
    name = "sandbox"
    display_name = "沙箱"
    simulated = True
    urls = "payments.gateways.sandbox.urls"  # the checkout page and its buttons
    agreements = True

    @classmethod
    def from_settings(cls) -> "SandboxProvider | None":
        return cls() if settings.PAYMENT_SANDBOX else None

    def serves(self, method: int) -> bool:
        return method in PaymentMethod.values

    def query_payment(self, order: VipOrder) -> PaymentReport | None:
        payment = SandboxPayment.objects.filter(order_number=order.order_number).first()
        if payment is None:
            return None
        return PaymentReport(
            result=GatewayResult(payment.result),
            amount=Decimal(payment.amount),
            transaction_id=payment.transaction_id,
        )

    def refund(self, order: VipOrder, refund) -> RefundReport:
        """The sandbox books the refund on its payment, once per refund number. An order
        paid through the contract's callback (a test's curl), not at the sandbox, is booked
        here as the contract's gateway books it."""
        with transaction.atomic():
            payment = (
                SandboxPayment.objects.select_for_update()
                .filter(order_number=order.order_number, result=GatewayResult.SUCCESS)
                .first()
            )
            if payment is None:
                return super().refund(order, refund)
            if refund.refund_number not in payment.refunds:
                if payment.refunded_amount + refund.amount > payment.amount:
                    return RefundReport(RefundState.FAILED, code="NOT_ENOUGH_BALANCE")
                payment.refunds[refund.refund_number] = str(refund.amount)
                payment.save(update_fields=["refunds"])
        return self._report(payment, refund)

    def query_refund(self, order: VipOrder, refund) -> RefundReport | None:
        payment = SandboxPayment.objects.filter(order_number=order.order_number).first()
        if payment is None or refund.refund_number not in payment.refunds:
            return None
        return self._report(payment, refund)

    @staticmethod
    def _report(payment: SandboxPayment, refund) -> RefundReport:
        return RefundReport(
            RefundState.SUCCEEDED,
            provider_refund_id=f"SANDBOX-{refund.refund_number}",
            refund_number=refund.refund_number,
            amount=Decimal(payment.refunds[refund.refund_number]),
            code="SUCCESS",
        )

    def sign_agreement(self, agreement) -> str:
        return site_url(reverse("sandbox-agreement", args=[agreement.agreement_number]))

    def charge(self, agreement, order: VipOrder) -> PaymentReport:
        short = _short_balance(agreement.agreement_number)
        payment = SandboxPayment.objects.create(
            order_number=order.order_number,
            result=GatewayResult.FAILED if short else GatewayResult.SUCCESS,
            amount=order.amount,
            transaction_id=f"SANDBOX{secrets.token_hex(12)}",
        )
        return PaymentReport(
            GatewayResult(payment.result),
            payment.amount,
            payment.transaction_id,
            failure="余额不足（沙箱）" if short else "",
        )

    def unsign(self, agreement) -> None:
        return None  # the sandbox keeps no agreements of its own

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


def notification_body(payment: SandboxPayment) -> bytes:
    return json.dumps(
        {
            "orderId": payment.order_number,
            "status": payment.result,
            "amount": str(payment.amount),
            "transactionId": payment.transaction_id,
        }
    ).encode()


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
        body = notification_body(payment)
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
            # An update by id, not a save: a book emptied meanwhile (a test's flush) is no error.
            SandboxPayment.objects.filter(pk=payment.pk).update(
                delivery_attempts=payment.delivery_attempts,
                delivered_at=payment.delivered_at,
                last_delivery_error=payment.last_delivery_error,
            )
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


SHORT_BALANCE_KEY = "sandbox:short-balance:{}"


def set_short_balance(agreement_number: str, charges: int) -> None:
    """The next `charges` charges of the agreement fail (the member's balance is short)."""
    cache.set(SHORT_BALANCE_KEY.format(agreement_number), charges, timeout=90 * 86400)


def _short_balance(agreement_number: str) -> bool:
    key = SHORT_BALANCE_KEY.format(agreement_number)
    left = cache.get(key) or 0
    if left > 0:
        cache.set(key, left - 1, timeout=90 * 86400)
    return left > 0

"""Refunds: money going back to the buyer of a paid order, in full or in part.

A refund staff start is reserved first, under the order's row lock: refunds still processing
count as made, so two staff pressing the button at once, or a retried request, can never add up
to more than the order's amount. The provider is then asked outside any transaction, with the
refund's number as its idempotency key (asking again never refunds twice). Its answer settles
the refund under the order's lock, once: a refund that succeeds adds to the order's
`refunded_amount` and sends `refund_succeeded` in the same transaction, and the users app takes
the membership's share back (users.services.vip_take_back). A provider that does not answer
leaves the refund processing: its notification or the `complete_refunds` job settles it.

Refunds made at the provider (its console) are found by its notifications and recorded as
refunds `at_provider`; the membership follows the same way.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from . import metrics, totals
from .calls import provider_call
from .exceptions import (
    GatewayUnavailable,
    OrderNotRefundable,
    RefundsUnsupported,
    RefundTooLarge,
)
from .gateways import RefundReport, provider_for, provider_named
from .models import OrderStatus, ProviderCall, Refund, RefundState, VipOrder, new_refund_number
from .services import lock_order
from .signals import refund_succeeded

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
# What counts against what is left to refund.
COMMITTED = (RefundState.PROCESSING, RefundState.SUCCEEDED)


def paid_order(order_number: str) -> VipOrder | None:
    """The order, if it is paid (a refund concerns nothing else)."""
    return VipOrder.objects.filter(order_number=order_number, status=OrderStatus.PAID).first()


def _refunds_total(order: VipOrder, *states: str) -> Decimal:
    total = Refund.objects.filter(order=order, state__in=states).aggregate(total=Sum("amount"))
    return total["total"] or ZERO


def refundable_left(order: VipOrder) -> Decimal:
    """The order's amount less its refunds processing or made (hold its row lock to rely on it)."""
    return order.amount - _refunds_total(order, *COMMITTED)


@transaction.atomic
def _reserve(*, order_number: str, amount: Decimal | None, reason: str, actor) -> Refund:
    order = lock_order(order_number=order_number)
    if order.status != OrderStatus.PAID:
        raise OrderNotRefundable()
    provider = provider_for(order.payment_method) if order.payment_method is not None else None
    if provider is None or not provider.refunds:
        raise RefundsUnsupported()
    left = refundable_left(order)
    amount = left if amount is None else amount
    if amount <= ZERO or amount > left:
        raise RefundTooLarge(left)
    refund = Refund.objects.create(
        order=order, amount=amount, reason=reason, provider=provider.name, requested_by=actor
    )
    logger.info(
        "refund requested order=%s refund=%s amount=%s by %s",
        order_number, refund.refund_number, amount, actor,
    )  # fmt: skip
    return refund


def refund_request(
    *, order_number: str, amount: Decimal | None = None, reason: str, actor=None
) -> Refund:
    """Refund `amount` of a paid order (None: all that is left), and ask its provider. Answers
    the refund as it stands: succeeded, or processing when the provider has not finished (or
    did not answer: it is asked again later). `OrderNotRefundable`, `RefundTooLarge` (more than
    is left), `RefundsUnsupported` (its provider cannot refund)."""
    refund = _reserve(order_number=order_number, amount=amount, reason=reason, actor=actor)
    return refund_ask(refund_id=refund.pk)


def refund_ask(*, refund_id: int, query_first: bool = False) -> Refund:
    """Ask the provider for a refund still processing (again: the same refund number never
    refunds twice), or, with `query_first`, ask what it knows of it and ask for it only if it
    has none. Settles what the answer says; a provider that does not answer leaves it as it is."""
    refund = Refund.objects.select_related("order").get(pk=refund_id)
    if refund.state != RefundState.PROCESSING:
        return refund
    provider = provider_named(refund.provider)
    if provider is None:
        logger.warning("refund %s: provider %s not configured", refund, refund.provider)
        return refund
    order = refund.order
    try:
        report = None
        if query_first:
            with provider_call(
                provider, ProviderCall.Kind.REFUND_QUERY, order.order_number
            ) as call:
                report = provider.query_refund(order, refund)
                call.code = report.code if report else "NOT_FOUND"
        if report is None:
            with provider_call(provider, ProviderCall.Kind.REFUND, order.order_number) as call:
                report = provider.refund(order, refund)
                call.code = report.code
    except GatewayUnavailable as exc:
        logger.warning("refund %s stays processing: %s", refund, exc.message)
        refund.detail = str(exc.message)[:255]
        Refund.objects.filter(pk=refund.pk, state=RefundState.PROCESSING).update(
            detail=refund.detail
        )
        return refund
    return refund_settle(refund_id=refund.pk, report=report)


@transaction.atomic
def refund_settle(*, refund_id: int, report: RefundReport) -> Refund:
    """Record what the provider says of a refund, once: a refund that is no longer processing
    is left as it is (a repeated notification, a late answer)."""
    order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
    order = lock_order(pk=order_id)  # the order first, as `_reserve` does: no deadlock
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    if refund.state != RefundState.PROCESSING:
        return refund
    refund.provider_refund_id = report.provider_refund_id or refund.provider_refund_id
    refund.detail = report.code[:255]
    if report.state == RefundState.PROCESSING:
        refund.save(update_fields=["provider_refund_id", "detail"])
        return refund
    refund.state = report.state
    refund.completed_at = timezone.now()
    refund.save(update_fields=["provider_refund_id", "detail", "state", "completed_at"])
    if refund.state == RefundState.SUCCEEDED:
        _refunded(order, refund)
    metrics.REFUNDS.labels(
        refund.provider, refund.state, "provider" if refund.at_provider else "platform"
    ).inc()
    logger.info(
        "refund %s order=%s amount=%s: %s", refund, order.order_number, refund.amount, refund.state
    )
    return refund


def _refunded(order: VipOrder, refund: Refund) -> None:
    order.refunded_amount += refund.amount
    order.save(update_fields=["refunded_amount"])
    totals.order_day_changed(order.create_time)
    refund_succeeded.send(sender=Refund, refund=refund, order=order)


@transaction.atomic
def refund_found(*, order_number: str, provider: str, report: RefundReport) -> Refund | None:
    """A refund the provider reports on its own (a notification, a query): ours settles; one
    made at the provider (its console) is recorded as made there, and the membership follows.
    `report.refunded_total` (all refunded so far) makes a refund of what is not yet recorded;
    else `report.amount`. None when it adds nothing (already recorded)."""
    order = lock_order(order_number=order_number)
    if report.refund_number:
        ours = Refund.objects.filter(order=order, refund_number=report.refund_number).first()
    elif report.provider_refund_id:
        ours = Refund.objects.filter(
            order=order, provider_refund_id=report.provider_refund_id
        ).first()
    else:
        ours = None
    if ours is not None:
        if ours.state != RefundState.PROCESSING:
            return None  # recorded already: a repeat
        return refund_settle(refund_id=ours.pk, report=report)
    if report.state != RefundState.SUCCEEDED or order.status != OrderStatus.PAID:
        return None
    if report.refunded_total is not None:
        # Ours still processing are the provider's too: settle them by asking, not by guessing.
        amount = (
            report.refunded_total
            - order.refunded_amount
            - _refunds_total(order, RefundState.PROCESSING)
        )
    else:
        amount = report.amount or ZERO
    amount = min(amount, refundable_left(order))
    if amount <= ZERO:
        return None
    refund = Refund.objects.create(
        order=order,
        amount=amount,
        reason="在支付平台退款",
        provider=provider,
        provider_refund_id=report.provider_refund_id,
        refund_number=report.refund_number or new_refund_number(),
        at_provider=True,
    )
    logger.warning(
        "refund made at the provider found order=%s amount=%s provider refund=%s",
        order_number, amount, report.provider_refund_id,
    )  # fmt: skip
    return refund_settle(refund_id=refund.pk, report=report)


def refunds_complete(*, older_than_seconds: int = 60, limit: int = 200) -> int:
    """Ask the providers about refunds still processing (the `complete_refunds` job): each is
    settled by what its provider says, or asked for again when the provider has none (the
    request never reached it). Answers how many were settled."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    settled = 0
    for refund_id in Refund.objects.filter(
        state=RefundState.PROCESSING, created_at__lte=cutoff
    ).values_list("pk", flat=True)[:limit]:
        if refund_ask(refund_id=refund_id, query_first=True).state != RefundState.PROCESSING:
            settled += 1
    return settled

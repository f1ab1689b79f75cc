"""Orders: creation, and the gateway's verdicts on them.

Payment state changes lock the order row first (`select_for_update`), so a gateway's resends and
races between them act once. A paid order is announced with `payment_succeeded` inside the same
transaction; the `users` app grants the membership in response.
"""

import logging
from datetime import timedelta
from decimal import Decimal

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import DatabaseError, transaction
from django.utils import timezone

from vipplatform.background import later

from . import charges, links, metrics, selectors, status_cache, totals
from .calls import provider_call
from .exceptions import (
    AmountMismatch,
    GatewayUnavailable,
    MemberWithoutEnd,
    OrderNotFound,
    OrderNotPending,
    PaymentMethodUnavailable,
    PlanUnavailable,
    WrongProvider,
)
from .gateways import PaymentAlreadyMade, provider_for
from .models import (
    GatewayResult,
    NotificationOutcome,
    OrderStatus,
    ProviderCall,
    VipOrder,
    VipPlan,
)
from .signals import payment_succeeded

logger = logging.getLogger(__name__)


def order_create(
    *,
    user: AbstractBaseUser,
    plan_id: int,
    amount: Decimal,
    payment_method: int,
) -> VipOrder:
    """Open a pending order for a plan at the plan's price, for an existing `user`, with its
    payment opened at the provider that serves `payment_method`.

    `amount` is what the buyer was shown; it must equal the plan's price, so a stale page or a
    tampered request cannot buy at another price. The provider is asked first and the order
    inserted after (one INSERT, no transaction of its own): a provider that fails or times out
    leaves no order behind (`GatewayUnavailable`), and a payment opened at the provider for an
    order we then fail to insert lapses there unpaid. The QR code's link is absolute on the
    configured public origin (`SITE_URL`), never on the request's Host.
    """
    if getattr(user, "vip_without_end", False):
        raise MemberWithoutEnd()
    plan = VipPlan.objects.for_sale().filter(pk=plan_id).first()
    if plan is None:
        raise PlanUnavailable()
    if amount != plan.price:
        raise AmountMismatch("支付金额与套餐价格不符")
    provider = provider_for(payment_method)
    if provider is None:
        raise PaymentMethodUnavailable()

    now = timezone.now()
    order = VipOrder(
        user_id=user.pk,
        plan=plan,
        plan_name=plan.name,
        plan_days=plan.days,
        amount=plan.price,
        payment_method=payment_method,
        create_time=now,
        expire_time=now + settings.PAYMENT_DEADLINE,
    )
    order.qr_code_url = links.qr_code_url(order.order_number)
    with provider_call(provider, ProviderCall.Kind.CREATE, order.order_number):
        order.payment_code = provider.create_payment(order)
    order.save()
    metrics.ORDERS_CREATED.labels(plan=plan.pk, payment_method=payment_method).inc()
    logger.info(
        "order created order=%s user=%s plan=%s amount=%s provider=%s",
        order.order_number,
        user.pk,
        plan.pk,
        order.amount,
        provider.name,
    )
    return order


def lock_order(*, order_number: str | None = None, pk: int | None = None) -> VipOrder:
    lookup = {"order_number": order_number} if order_number is not None else {"pk": pk}
    try:
        # No join here: FOR UPDATE would lock the plan row too, and serialise every payment
        # of that plan behind it.
        return VipOrder.objects.select_for_update().get(**lookup)
    except VipOrder.DoesNotExist:
        raise OrderNotFound() from None


def check_provider(order: VipOrder, provider: str | None) -> None:
    """A verdict named as coming from `provider` counts only from the provider that serves the
    order (its payment method's, `provider_for`); None: the caller asked that provider."""
    if provider is None:
        return
    serving = provider_for(order.payment_method)
    if serving is None or serving.name != provider:
        logger.warning(
            "SECURITY notification from %s for order=%s user=%s, which %s serves",
            provider,
            order.order_number,
            order.user_id,
            serving.name if serving else "no provider",
        )
        raise WrongProvider()


def _check_amount(order: VipOrder, amount: Decimal | None) -> None:
    if amount is not None and amount != order.amount:
        logger.warning(
            "SECURITY gateway amount mismatch order=%s user=%s notified=%s expected=%s",
            order.order_number,
            order.user_id,
            amount,
            order.amount,
        )
        raise AmountMismatch()


@transaction.atomic(savepoint=False)
def order_mark_paid(
    *,
    order_number: str,
    amount: Decimal | None = None,
    transaction_id: str = "",
    provider: str | None = None,
) -> tuple[VipOrder, NotificationOutcome]:
    """Record the gateway's SUCCESS: the order becomes paid once, and the VIP is granted.

    A repeated notification changes nothing. A cancelled or expired order is still marked paid,
    because the buyer's money was taken. `provider` names who says so, refused unless it serves
    the order (`WrongProvider`). Inside a caller's transaction it takes no savepoint of its
    own: an error rolls the caller's transaction back too.
    """
    order = lock_order(order_number=order_number)
    check_provider(order, provider)
    _check_amount(order, amount)
    if order.status == OrderStatus.PAID:
        logger.info("payment notification repeated order=%s user=%s", order_number, order.user_id)
        return order, NotificationOutcome.DUPLICATE

    now = timezone.now()
    if order.effective_status(now=now) != OrderStatus.PENDING:
        # Money taken for an order already closed (an old QR code paid): honoured, and marked
        # for staff, who may offer the refund (the admin's 「关闭后支付」 filter, the overview).
        logger.warning(
            "payment for a %s order honoured order=%s user=%s",
            OrderStatus(order.effective_status(now=now)).label,
            order_number,
            order.user_id,
        )
        order.paid_after_close = True
    order.status = OrderStatus.PAID
    order.pay_time = now
    order.transaction_id = transaction_id or order.transaction_id
    order.save(update_fields=["status", "pay_time", "transaction_id", "paid_after_close"])
    _status_changed(order)
    logger.info("order paid order=%s user=%s amount=%s", order_number, order.user_id, order.amount)
    renewal = charges.charge_settled(order, paid=True)
    if not _announce_payment(order, renewal=renewal):
        _retry_grant_later(order)
    return order, NotificationOutcome.PAID


def _announce_payment(order: VipOrder, *, renewal=None) -> bool:
    """Send `payment_succeeded` inside a savepoint.

    If a receiver fails for a reason a retry cannot fix, the savepoint rolls back its partial
    work alone: the order stays paid, the failure is stored on the order for staff to see and
    retry, and the payment commits. Database errors (lost connection, lock timeout, deadlock)
    may have ended the whole transaction, so they propagate and the gateway resends later.
    Answers whether the receivers succeeded. `renewal`: the agreement whose period the order
    paid, if any.
    """
    try:
        with transaction.atomic():
            payment_succeeded.send(sender=VipOrder, order=order, renewal=renewal)
    except DatabaseError:
        raise
    except Exception as exc:
        logger.exception(
            "vip grant failed order=%s user=%s: %s", order.order_number, order.user_id, exc
        )
        metrics.GRANT_FAILURES.inc()
        order.grant_failed_at = timezone.now()
        order.grant_error = f"{type(exc).__name__}: {exc}"
        order.save(update_fields=["grant_failed_at", "grant_error"])
        return False
    if order.grant_failed_at is not None:
        order.grant_failed_at, order.grant_error = None, ""
        order.save(update_fields=["grant_failed_at", "grant_error"])
    return True


def _retry_grant_later(order: VipOrder) -> None:
    """After commit, start the failed grant's own retries (`tasks.retry_vip_grant`: 1, 2, 4 ...
    minutes apart; in eager mode, with no broker to wait in, the hourly sweep and staff's retry
    action in the admin take it up). A broker that is down must not fail the payment's answer
    (the sweep retries)."""
    later("payments.tasks.retry_vip_grant", order.pk, countdown=grant_retry_delay(0))


def grant_retry_delay(retries: int) -> int:
    """Seconds before a failed grant's next try: VIP_GRANT_RETRY_BASE_SECONDS, doubling with
    each try, at most VIP_GRANT_RETRY_MAX_SECONDS."""
    return get_exponential_backoff_interval(
        factor=settings.VIP_GRANT_RETRY_BASE_SECONDS,
        retries=retries,
        maximum=settings.VIP_GRANT_RETRY_MAX_SECONDS,
        full_jitter=False,
    )


@transaction.atomic(savepoint=False)
def order_mark_failed(
    *,
    order_number: str,
    amount: Decimal | None = None,
    transaction_id: str = "",
    provider: str | None = None,
    reason: str = "",
) -> tuple[VipOrder, NotificationOutcome]:
    """Record the gateway's FAILED: a pending order is cancelled; a payment is never undone.
    `provider` as for `order_mark_paid`; `reason`, the provider's words (a renewal's charge
    tells the member)."""
    order = lock_order(order_number=order_number)
    check_provider(order, provider)
    _check_amount(order, amount)
    if order.status != OrderStatus.PENDING:
        logger.info(
            "payment failure ignored for a %s order order=%s user=%s",
            order.get_status_display(),
            order_number,
            order.user_id,
        )
        return order, NotificationOutcome.IGNORED
    order.status = OrderStatus.CANCELLED
    order.transaction_id = transaction_id or order.transaction_id
    order.save(update_fields=["status", "transaction_id"])
    _status_changed(order)
    charges.charge_settled(order, paid=False, failure=reason)
    logger.info("payment failed, order cancelled order=%s user=%s", order_number, order.user_id)
    return order, NotificationOutcome.FAILED


def order_mark_result(
    result: GatewayResult,
    *,
    order_number: str,
    amount: Decimal | None = None,
    transaction_id: str = "",
    provider: str | None = None,
    failure: str = "",
) -> tuple[VipOrder, NotificationOutcome]:
    """A provider's final word on an order's payment (a notification's, a query's, a charge's
    answer): `order_mark_paid` for SUCCESS, `order_mark_failed` (with the provider's words for
    why) for FAILED."""
    if result == GatewayResult.SUCCESS:
        return order_mark_paid(
            order_number=order_number, amount=amount, transaction_id=transaction_id,
            provider=provider,
        )  # fmt: skip
    return order_mark_failed(
        order_number=order_number, amount=amount, transaction_id=transaction_id,
        provider=provider, reason=failure,
    )  # fmt: skip


def _status_changed(order: VipOrder) -> None:
    """After an order's status is saved: its cached status and its day's totals follow when
    the transaction commits."""
    status_cache.order_changed(order)
    totals.order_day_changed(order.create_time)


@transaction.atomic
def order_cancel(*, order_id: int) -> VipOrder:
    """The buyer (or staff) gives up a pending order; anything else is a conflict."""
    order = lock_order(pk=order_id)
    if order.effective_status() != OrderStatus.PENDING:
        raise OrderNotPending()
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status"])
    _status_changed(order)
    _close_at_provider_later([order.pk], [order.payment_method])
    logger.info("order cancelled order=%s user=%s", order.order_number, order.user_id)
    return order


def order_expire_overdue(*, batch_size: int = 1000) -> int:
    """Pending orders past their deadline become expired, one set-based UPDATE per batch.

    The UPDATE repeats the pending condition, so an order paid meanwhile is left alone.
    Answers how many orders it expired.
    """
    now = timezone.now()
    expired = 0
    while True:
        batch = list(
            VipOrder.objects.overdue(now=now)
            .order_by()
            .values_list("pk", "payment_method")[:batch_size]
        )
        if not batch:
            break
        order_ids, methods = zip(*batch, strict=True)
        expired += VipOrder.objects.filter(pk__in=order_ids, status=OrderStatus.PENDING).update(
            status=OrderStatus.EXPIRED
        )
        _close_at_provider_later(list(order_ids), methods)
    if expired:
        logger.info("expired %s overdue orders", expired)
    return expired


@transaction.atomic
def order_retry_grant(*, order_id: int) -> bool:
    """Announce a paid order's payment again after its grant failed.

    Answers whether the grant is now done. An order whose grant already succeeded (by another
    retry, say) is left as it is, so a grant is never made twice.
    """
    order = lock_order(pk=order_id)
    if order.status != OrderStatus.PAID or order.grant_failed_at is None:
        return order.status == OrderStatus.PAID
    logger.info("retrying vip grant order=%s user=%s", order.order_number, order.user_id)
    granted = _announce_payment(order, renewal=charges.agreement_of(order))
    metrics.GRANT_RETRIES.labels(result="granted" if granted else "failing").inc()
    return granted


def order_retry_failed_grants(*, limit: int = 500) -> tuple[int, int]:
    """Retry the oldest recorded grant failures; answers (now granted, still failing)."""
    failed = list(
        VipOrder.objects.grant_failing()
        .order_by("grant_failed_at")
        .values_list("pk", flat=True)[:limit]
    )
    granted = sum(order_retry_grant(order_id=order_id) for order_id in failed)
    return granted, len(failed) - granted


def orders_reconcile(
    *, min_age: timedelta = timedelta(minutes=5), max_age: timedelta = timedelta(days=2)
) -> dict[str, int]:
    """Reconcile, one after the other, the orders `selectors.orders_to_reconcile` names (the
    command; the periodic job gives each order its own task). One order's trouble (an amount
    that does not match, the gateway failing to answer about it) is logged and counted, and
    the run goes on. Answers counts by outcome."""
    counts = {"checked": 0, "paid": 0, "failed": 0, "errors": 0}
    orders = selectors.orders_to_reconcile(min_age=min_age, max_age=max_age)
    for order_id, order_number, user_id in orders.values_list("pk", "order_number", "user_id"):
        counts["checked"] += 1
        try:
            outcome = order_reconcile(order_id=order_id)
        except Exception:
            counts["errors"] += 1
            logger.exception("reconciling order=%s user=%s failed", order_number, user_id)
            continue
        if outcome in (NotificationOutcome.PAID, NotificationOutcome.FAILED):
            counts[outcome] += 1
    return counts


def order_reconcile(*, order_id: int) -> NotificationOutcome | None:
    """Ask the order's provider about an unpaid order whose notification may have been lost.

    A payment the provider reports is completed through `order_mark_paid`, exactly as its
    notification would have been (so once, with the VIP granted); a failure it reports cancels
    a pending order. None when the provider knows of no final payment, or none serves the
    order's method now. `GatewayUnavailable` when it does not answer (the task retries).
    """
    order = selectors.order_get(pk=order_id)
    provider = provider_for(order.payment_method)
    if provider is None:
        return None
    try:
        with provider_call(provider, ProviderCall.Kind.QUERY, order.order_number) as call:
            report = provider.query_payment(order)
            call.code = str(report.result) if report else "无最终结果"
    except GatewayUnavailable:
        metrics.RECONCILIATIONS.labels(provider=provider.name, result="unavailable").inc()
        raise
    if report is None:
        metrics.RECONCILIATIONS.labels(provider=provider.name, result="nothing").inc()
        return None
    _, outcome = order_mark_result(
        report.result,
        order_number=order.order_number,
        amount=report.amount,
        transaction_id=report.transaction_id,
        failure=report.failure,
    )
    metrics.RECONCILIATIONS.labels(provider=provider.name, result=str(outcome)).inc()
    if outcome == NotificationOutcome.PAID:
        metrics.PAYMENTS.labels(provider=provider.name, via="reconciliation").inc()
    if outcome in (NotificationOutcome.PAID, NotificationOutcome.FAILED):
        logger.warning(
            "reconciled order=%s user=%s: %s without a notification",
            order.order_number,
            order.user_id,
            outcome,
        )
    return outcome


def order_close_at_provider(*, order_id: int) -> bool:
    """Close an order that ended unpaid (cancelled, expired) at its provider, so it can no
    longer be paid there. If the buyer paid meanwhile, the payment is completed as its
    notification would have been. Answers whether the provider was asked."""
    order = selectors.order_get(pk=order_id)
    provider = provider_for(order.payment_method)
    if provider is None or not provider.closes_payments or order.status == OrderStatus.PAID:
        return False
    try:
        with provider_call(provider, ProviderCall.Kind.CLOSE, order.order_number):
            provider.close_payment(order)
    except PaymentAlreadyMade:
        metrics.CLOSES.labels(provider=provider.name, result="paid").inc()
        logger.warning(
            "order=%s user=%s was paid at %s as it closed", order.order_number, order.user_id,
            provider.name,
        )  # fmt: skip
        order_reconcile(order_id=order_id)
        return True
    metrics.CLOSES.labels(provider=provider.name, result="closed").inc()
    logger.info("order closed at %s order=%s user=%s", provider.name, order.order_number,
                order.user_id)  # fmt: skip
    return True


def _close_at_provider_later(order_ids: list[int], payment_methods) -> None:
    """After commit, a task per order whose provider keeps payments open, to close it there."""
    closing = {
        method
        for method in set(payment_methods)
        if (provider := provider_for(method)) is not None and provider.closes_payments
    }
    ids = [pk for pk, method in zip(order_ids, payment_methods, strict=True) if method in closing]
    if not ids:
        return
    for order_id in ids:
        later("payments.tasks.close_order_at_provider", order_id)

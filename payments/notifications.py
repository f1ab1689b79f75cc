"""Providers' notifications: each one is stored before it is processed, then processed through
`payments.services`, and its outcome recorded, whatever happens. One path for every provider:
the provider verifies and parses (`payments.gateways`); everything after is shared.

The record is written in its own (auto-committed) statement, outside the processing's
transaction, so it survives when the processing rolls back.
"""

import json
import logging
import traceback
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from rest_framework.exceptions import ParseError, ValidationError

from vipplatform.exceptions import DomainError

from . import metrics, refunds, renewals, services
from .exceptions import InvalidSignature, NotificationTooLarge
from .gateways import Provider, provider_named
from .models import NotificationOutcome, PaymentNotification, VipOrder

logger = logging.getLogger(__name__)

# What is kept of a refused notification's body: enough to see what was tried.
REFUSED_BODY_KEPT = 1_000
# What is worth keeping of a notification's headers, with those its provider names
# (`Provider.kept_headers`); never cookies or credentials. Signatures prove nothing elsewhere
# and reveal no secret.
KEPT_HEADERS = ("Content-Type", "Content-Length", "User-Agent", "X-Forwarded-For", "X-Request-Id")


def notification_receive(
    provider: Provider,
    *,
    body: bytes,
    headers,
    remote_addr: str,
    may_record_refusal: Callable[[], bool],
) -> PaymentNotification:
    """Verify a notification's signature, then record it.

    What a real provider sends is always kept whole: it is verified (or, in sandbox mode,
    unsigned and accepted), a few kilobytes, and stored before it is processed. An anonymous
    sender cannot grow the table without bound:
    - a body over `PAYMENT_NOTIFICATION_MAX_BYTES` is refused (413) and not stored;
    - a refused one (bad or missing signature) keeps only the first `REFUSED_BODY_KEPT`
      characters of its body, and only while `may_record_refusal()` allows (a limit per
      address); past it, the refusal is logged, not stored;
    - refused records are deleted after `PAYMENT_NOTIFICATION_RETENTION_DAYS`
      (`prune_notifications`).
    Raises `InvalidSignature` for a refused one.
    """
    if len(body) > settings.PAYMENT_NOTIFICATION_MAX_BYTES:
        logger.warning(
            "notification of %s bytes from %s refused, not stored", len(body), remote_addr
        )
        metrics.NOTIFICATIONS.labels(provider.name, "refused", "too_large").inc()
        raise NotificationTooLarge()
    text = body.decode("utf-8", "replace")
    record = {
        "provider": provider.name,
        "remote_addr": (remote_addr or "")[:64],
        "headers": {
            name: headers[name][:500]
            for name in (*KEPT_HEADERS, *provider.kept_headers)
            if name in headers
        },
        "order_number": provider.order_number_of(body),
    }
    try:
        provider.verify(body=body, headers=headers)
    except InvalidSignature as exc:
        logger.warning(
            "%s notification from %s refused: %s", provider.name, remote_addr, exc.message
        )
        metrics.NOTIFICATIONS.labels(provider.name, "refused", "signature").inc()
        if may_record_refusal():
            PaymentNotification.objects.create(
                **record,
                body=text[:REFUSED_BODY_KEPT],
                verified=False,
                outcome=NotificationOutcome.REFUSED,
                detail=exc.message,
                processed_at=timezone.now(),
            )
        else:
            logger.warning("refused notification from %s not stored: over the limit", remote_addr)
        raise
    # Verified, or (the sandbox without a secret) taken unsigned: null.
    verified = True if provider.checks_signatures else None
    return PaymentNotification.objects.create(**record, body=text, verified=verified)


def notification_handle(
    provider: Provider,
    *,
    body: bytes,
    headers,
    remote_addr: str,
    may_record_refusal: Callable[[], bool],
) -> tuple[VipOrder | None, NotificationOutcome]:
    """A notification as it arrives: recorded and verified, then processed (what every
    notification view calls)."""
    notification = notification_receive(
        provider,
        body=body,
        headers=headers,
        remote_addr=remote_addr,
        may_record_refusal=may_record_refusal,
    )
    return notification_process(notification, body=body, provider=provider)


def notification_process(
    notification: PaymentNotification, *, body: bytes, provider: Provider | None = None
) -> tuple[VipOrder | None, NotificationOutcome]:
    """Parse and apply a stored (verified) notification with its provider's rules.

    Raises what the notification is answered with (a validation error, a domain error) after
    recording the refusal; anything unexpected is recorded as an error, with its traceback,
    and raised again. The order is None for an event that concerns no order's payment.
    """
    provider = provider or provider_named(notification.provider or "contract")
    fields = {}
    try:
        if provider is None:
            raise DomainError(f"支付渠道 {notification.provider} 未配置")
        parsed = provider.parse(body)
        fields = {"order_number": parsed.order_number, "event_id": parsed.event_id}
        if parsed.agreement is not None:
            outcome = renewals.agreement_noticed(provider, parsed.agreement)
            _record(notification, outcome, "", **fields)
            metrics.NOTIFICATIONS.labels(provider.name, str(outcome), "").inc()
            return None, outcome
        paid = refunds.paid_order(parsed.order_number) if parsed.refund is not None else None
        if paid is not None:
            outcome = _refund_noticed(provider, paid, parsed.refund)
            _record(notification, outcome, "", **fields)
            metrics.NOTIFICATIONS.labels(provider.name, str(outcome), "").inc()
            return None, outcome
        if parsed.result is None:
            _record(notification, NotificationOutcome.IGNORED, "", **fields)
            metrics.NOTIFICATIONS.labels(provider.name, "ignored", "").inc()
            return None, NotificationOutcome.IGNORED
        # The outcome commits with the payment: one commit less on the hottest write path.
        with transaction.atomic():
            order, outcome = services.order_mark_result(
                parsed.result,
                order_number=parsed.order_number,
                amount=parsed.amount,
                transaction_id=parsed.transaction_id,
                provider=provider.name,
                failure=parsed.failure,
            )
            _save_outcome(notification, outcome, "", **fields)
    except (DomainError, ValidationError, ParseError) as exc:
        detail = (
            exc.message
            if isinstance(exc, DomainError)
            else json.dumps(exc.detail, ensure_ascii=False)
        )
        # Refused after parsing: linked to the order it names, for staff to find from it.
        _record(notification, NotificationOutcome.REFUSED, detail, **fields)
        metrics.NOTIFICATIONS.labels(
            _provider_name(provider, notification), "refused", metrics.refusal_reason(exc)
        ).inc()
        raise
    except Exception:
        _record(notification, NotificationOutcome.ERROR, traceback.format_exc())
        metrics.NOTIFICATIONS.labels(_provider_name(provider, notification), "error", "").inc()
        raise
    metrics.NOTIFICATIONS.labels(provider.name, str(outcome), "").inc()
    if outcome == NotificationOutcome.PAID:
        metrics.PAYMENTS.labels(provider=provider.name, via="notification").inc()
        elapsed = (timezone.now() - notification.received_at).total_seconds()
        metrics.NOTIFICATION_TO_GRANT.labels(provider=provider.name).observe(elapsed)
    return order, outcome


def _refund_noticed(provider: Provider, order: VipOrder, notified) -> NotificationOutcome:
    """Money went back from a paid order (at our request, or in the provider's console): the
    refund as the provider confirms it is recorded once; a repeat changes nothing."""
    services.check_provider(order, provider.name)
    report = provider.confirm_refund(order, notified)
    refund = refunds.refund_found(
        order_number=order.order_number, provider=provider.name, report=report
    )
    return NotificationOutcome.REFUNDED if refund is not None else NotificationOutcome.DUPLICATE


def _provider_name(provider: Provider | None, notification: PaymentNotification) -> str:
    return provider.name if provider else notification.provider or "contract"


def _save_outcome(notification: PaymentNotification, outcome, detail: str, **fields) -> None:
    fields.update(
        outcome=outcome,
        detail=detail,
        processed_at=timezone.now(),
    )
    PaymentNotification.objects.filter(pk=notification.pk).update(**fields)
    for name, value in fields.items():
        setattr(notification, name, value)


def _record(notification: PaymentNotification, outcome, detail: str, **fields) -> None:
    """Save the outcome on its own, after the processing rolled back."""
    try:
        _save_outcome(notification, outcome, detail, **fields)
    except DatabaseError as exc:  # the database is down: the provider will resend
        logger.error(
            "could not record notification %s outcome %s: %s", notification.pk, outcome, exc
        )


def notifications_prune() -> int:
    """Delete refused notifications (failed signature checks) past their retention; answers
    how many. Verified notifications are the record of real payments and stay."""
    cutoff = timezone.now() - timedelta(days=settings.PAYMENT_NOTIFICATION_RETENTION_DAYS)
    deleted, _ = PaymentNotification.objects.filter(verified=False, received_at__lt=cutoff).delete()
    if deleted:
        logger.info("deleted %s refused notifications older than %s", deleted, cutoff)
    return deleted

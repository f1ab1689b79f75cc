"""Gateway notifications: each one is stored before it is processed, then processed through
`payments.services`, and its outcome recorded, whatever happens.

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

from . import services
from .exceptions import InvalidSignature, NotificationTooLarge
from .gateway import SIGNATURE_HEADER, TIMESTAMP_HEADER, get_gateway
from .models import GatewayResult, NotificationOutcome, PaymentNotification, VipOrder
from .serializers import CallbackInput

logger = logging.getLogger(__name__)

# What is kept of a refused notification's body: enough to see what was tried.
REFUSED_BODY_KEPT = 1_000
# What is worth keeping of a notification's headers; never cookies or credentials.
KEPT_HEADERS = (
    "Content-Type",
    "Content-Length",
    "User-Agent",
    "X-Forwarded-For",
    "X-Request-Id",
    TIMESTAMP_HEADER,
    SIGNATURE_HEADER,  # an HMAC of this body: proves nothing elsewhere, reveals no secret
)


def notification_receive(
    *, body: bytes, headers, remote_addr: str, may_record_refusal: Callable[[], bool]
) -> PaymentNotification:
    """Verify a notification's signature, then record it.

    What a real gateway sends is always kept whole: it is verified (or, in sandbox mode,
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
        raise NotificationTooLarge()
    text = body.decode("utf-8", "replace")
    record = {
        "remote_addr": (remote_addr or "")[:64],
        "headers": {name: headers[name][:500] for name in KEPT_HEADERS if name in headers},
        "order_number": _order_number_of(text),
    }
    try:
        verified = get_gateway().verify_notification(body=body, headers=headers)
    except InvalidSignature as exc:
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
    return PaymentNotification.objects.create(**record, body=text, verified=verified)


def _order_number_of(text: str) -> str:
    """The order number, if the body says one, for searching; the body may be anything."""
    try:
        order_number = json.loads(text).get("orderId")
    except (ValueError, AttributeError, RecursionError):
        return ""
    return order_number[:64] if isinstance(order_number, str) else ""


def notification_process(
    notification: PaymentNotification, *, body: bytes
) -> tuple[VipOrder, NotificationOutcome]:
    """Parse and apply a stored (verified) notification.

    Raises what the callback answers with (a validation error, a domain error) after recording
    the refusal; anything unexpected is recorded as an error, with its traceback, and raised
    again.
    """
    try:
        params = CallbackInput(data=_parse(body))
        params.is_valid(raise_exception=True)
        data = params.validated_data
        mark = (
            services.order_mark_paid
            if data["status"] == GatewayResult.SUCCESS
            else services.order_mark_failed
        )
        # The outcome commits with the payment: one commit less on the hottest write path.
        with transaction.atomic():
            order, outcome = mark(
                order_number=data["orderId"],
                amount=data.get("amount"),
                transaction_id=data.get("transactionId", ""),
            )
            _save_outcome(notification, outcome, "")
    except (DomainError, ValidationError, ParseError) as exc:
        detail = (
            exc.message
            if isinstance(exc, DomainError)
            else json.dumps(exc.detail, ensure_ascii=False)
        )
        _record(notification, NotificationOutcome.REFUSED, detail)
        raise
    except Exception:
        _record(notification, NotificationOutcome.ERROR, traceback.format_exc())
        raise
    return order, outcome


def _parse(body: bytes):
    try:
        return json.loads(body)
    except ValueError as exc:
        raise ParseError(f"JSON 解析错误 - {exc}") from None
    except RecursionError:
        raise ParseError("JSON 嵌套层级过深") from None


def _save_outcome(
    notification: PaymentNotification, outcome, detail: str, *, verified: bool | None = None
) -> None:
    fields = {
        "outcome": outcome,
        "detail": detail,
        "processed_at": timezone.now(),
        "verified": notification.verified if verified is None else verified,
    }
    PaymentNotification.objects.filter(pk=notification.pk).update(**fields)
    for name, value in fields.items():
        setattr(notification, name, value)


def _record(notification: PaymentNotification, outcome, detail: str, **kwargs) -> None:
    """Save the outcome on its own, after the processing rolled back."""
    try:
        _save_outcome(notification, outcome, detail, **kwargs)
    except DatabaseError as exc:  # the database is down: the gateway will resend
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

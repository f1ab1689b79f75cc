"""Gateway notifications: each one is stored before it is processed, then processed through
`payments.services`, and its outcome recorded, whatever happens.

The record is written in its own (auto-committed) statement, outside the processing's
transaction, so it survives when the processing rolls back.
"""

import json
import logging
import traceback

from django.db import DatabaseError, transaction
from django.utils import timezone
from rest_framework.exceptions import ParseError, ValidationError

from vipplatform.exceptions import DomainError

from . import services
from .exceptions import InvalidSignature
from .gateway import SIGNATURE_HEADER, TIMESTAMP_HEADER, get_gateway
from .models import NotificationOutcome, PaymentNotification, VipOrder
from .serializers import CallbackInput

logger = logging.getLogger(__name__)

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


def notification_receive(*, body: bytes, headers, remote_addr: str) -> PaymentNotification:
    text = body.decode("utf-8", "replace")
    return PaymentNotification.objects.create(
        remote_addr=(remote_addr or "")[:64],
        headers={name: headers[name][:500] for name in KEPT_HEADERS if name in headers},
        body=text,
        order_number=_order_number_of(text),
    )


def _order_number_of(text: str) -> str:
    """The order number, if the body says one, for searching; the body may be anything."""
    try:
        order_number = json.loads(text).get("orderId")
    except (ValueError, AttributeError):
        return ""
    return order_number[:64] if isinstance(order_number, str) else ""


def notification_process(
    notification: PaymentNotification, *, body: bytes, headers=None
) -> tuple[VipOrder, NotificationOutcome]:
    """Verify (when `headers` are given), parse and apply a stored notification.

    Raises what the callback answers with (`InvalidSignature`, a validation error, a domain
    error) after recording the refusal; anything unexpected is recorded as an error, with its
    traceback, and raised again.
    """
    try:
        if headers is not None:
            notification.verified = get_gateway().verify_notification(body=body, headers=headers)
        params = CallbackInput(data=_parse(body))
        params.is_valid(raise_exception=True)
        data = params.validated_data
        mark = (
            services.order_mark_paid
            if data["status"] == CallbackInput.SUCCESS
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
    except InvalidSignature as exc:
        _record(notification, NotificationOutcome.REFUSED, exc.message, verified=False)
        raise
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
        raise ParseError(f"JSON parse error - {exc}") from None


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

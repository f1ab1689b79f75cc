"""The payment gateway's side of things: notification signatures and the payment QR code.

A notification is signed as lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw body>") in the
headers X-Pay-Signature and X-Pay-Timestamp (unix seconds). Without a secret configured the
platform is in sandbox mode and accepts unsigned notifications.
"""

import hashlib
import hmac
import io
import time

import segno
from django.conf import settings

from .exceptions import InvalidSignature

SIGNATURE_HEADER = "X-Pay-Signature"
TIMESTAMP_HEADER = "X-Pay-Timestamp"


def sign(*, secret: str, timestamp: int | str, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, body: bytes, secret: str | None = None, timestamp: int | None = None):
    """The headers a gateway sends with `body` (used by the sandbox and by tests)."""
    secret = settings.PAYMENT_CALLBACK_SECRET if secret is None else secret
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, body=body),
    }


def verify_notification(*, body: bytes, headers, now: float | None = None) -> None:
    """Raise `InvalidSignature` unless the notification is signed with our secret, recently.

    In sandbox mode (no secret) every notification passes.
    """
    secret = settings.PAYMENT_CALLBACK_SECRET
    if not secret:
        return
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        raise InvalidSignature("缺少回调签名")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise InvalidSignature("回调时间戳无效")
    sent_at = int(timestamp)
    now = time.time() if now is None else now
    if abs(now - sent_at) > settings.PAYMENT_CALLBACK_MAX_SKEW_SECONDS:
        raise InvalidSignature("回调时间戳已过期")
    expected = sign(secret=secret, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "replace")):
        raise InvalidSignature()


def qr_code_svg(data: str) -> bytes:
    """An SVG image of a QR code that encodes `data`."""
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind="svg", scale=6, border=2, xmldecl=False)
    return out.getvalue()

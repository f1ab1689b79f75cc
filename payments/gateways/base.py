"""What the platform needs from a payment provider, and the typed results it answers with.

A provider owns its protocol end to end: it creates a payment for an order (what the QR code
encodes), verifies and parses its own notifications, writes its own acknowledgement, queries a
payment and closes an unpaid one. Everything after parsing (locking the order, checking the
amount, marking it paid, the signal, the notification record) is the one shared path in
`payments.services` and `payments.notifications`.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal

import httpcore
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
    """A provider's HTTP client: at most 3 seconds to connect, and each call made inside
    `deadline(timeout)` ends within `timeout` seconds however the provider answers; its
    connections are kept for the next call."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        transport=DeadlineTransport(),
        **options,
    )


_call_ends: ContextVar[float | None] = ContextVar("provider_call_ends", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """The HTTP calls inside end within `seconds` from now, all told: connecting, sending and
    every read of the answer (`httpx.TimeoutException` past it)."""
    token = _call_ends.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _call_ends.reset(token)


def _within_deadline(timeout: float | None, error: type[Exception]) -> float | None:
    """A socket operation's timeout, cut to what remains of the call's deadline."""
    ends = _call_ends.get()
    if ends is None:
        return timeout
    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise error("the provider call's deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self.stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        return self.stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self.backend = backend

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        stream = self.backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        timeout = _within_deadline(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self.backend.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport whose sockets keep `deadline`.

    httpx's timeouts apply to each socket operation: a provider that sends its answer a byte
    every few seconds would hold the worker until gunicorn killed it. Each read and write here
    gets what remains of the call's deadline instead. httpx builds its httpcore pool without a
    way to pass a network backend, so the pool's backend is wrapped after it is built (the
    slow-provider tests fail if a new httpx moves it)."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self._pool._network_backend = _DeadlineBackend(self._pool._network_backend)


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

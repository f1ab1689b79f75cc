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
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import httpcore
import httpx
from django.http import HttpResponse, JsonResponse

from ..models import GatewayResult, VipOrder


@dataclass(frozen=True)
class RefundReport:
    """What a provider says of a refund: its state (a `RefundState` value), its own id of it,
    and, when it names them, our refund number and the amounts."""

    state: str
    provider_refund_id: str = ""
    refund_number: str = ""
    amount: Decimal | None = None  # this refund's
    refunded_total: Decimal | None = None  # all of the order's so far (Alipay's `refund_fee`)
    code: str = ""  # the provider's word for the state, for the call's record


@dataclass(frozen=True)
class BillEntry:
    """One line of a provider's daily bill: a payment (`refund_number` empty) or a refund."""

    order_number: str
    amount: Decimal
    refund_number: str = ""
    transaction_id: str = ""
    fee: Decimal = Decimal("0.00")  # charged by the provider; negative when given back
    occurred_at: datetime | None = None

    @property
    def is_refund(self) -> bool:
        return bool(self.refund_number)


@dataclass(frozen=True)
class AgreementReport:
    """What a provider says of an agreement: signed (with its own id of it) or ended, and by
    whom when it ended (`by_member`: the member unsigned in the provider's app)."""

    agreement_number: str  # ours
    signed: bool
    provider_agreement_id: str = ""
    by_member: bool = False


@dataclass(frozen=True)
class Notification:
    """A verified notification, parsed. `result` None and no `refund`: an event that changes
    no order (a trade still waiting for the buyer)."""

    order_number: str
    result: GatewayResult | None
    amount: Decimal | None
    transaction_id: str = ""
    event_id: str = ""  # the provider's own id of this notification
    refund: RefundReport | None = None  # money went back (at our request or at the provider)
    agreement: AgreementReport | None = None  # an agreement signed or ended (no order)
    failure: str = ""  # why a payment failed, in the provider's words (a renewal's charge)


@dataclass(frozen=True)
class PaymentReport:
    """What a provider knows of an order's payment: paid (SUCCESS) or closed unpaid (FAILED)."""

    result: GatewayResult
    amount: Decimal
    transaction_id: str = ""
    failure: str = ""  # why it failed, in the provider's words


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


# The providers' own clock: WeChat Pay's and Alipay's times are China Standard Time.
CHINA_TIME = dt_timezone(timedelta(hours=8))


def timestamp_problem(timestamp: str, *, max_skew: float, now: float | None = None) -> str:
    """What is wrong with a notification's unix timestamp (digits, as sent): "invalid",
    "stale" when it is `max_skew` seconds or more from now either way, or "" (the one window
    every provider's signature check keeps)."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "invalid"
    stale = abs((time.time() if now is None else now) - int(timestamp)) >= max_skew
    return "stale" if stale else ""


def notify_url(name: str) -> str:
    """Where a provider with its own route sends its notifications."""
    from django.conf import settings

    return settings.PAYMENT_NOTIFY_BASE_URL.rstrip("/") + f"/api/payment/notify/{name}"


def check_all_or_none(display: str, values: list[str], key_files: dict[str, str]) -> list:
    """A provider's settings are all set or not at all (a half-set one would take orders it
    cannot serve, or refuse the notifications of payments it took); its key files load; and
    the provider can reach the platform back over https."""
    from django.conf import settings
    from django.core.checks import Error

    from . import keys

    names = [*values, *key_files]
    if not any(getattr(settings, name) for name in names):
        return []
    errors = []
    missing = [name for name in names if not getattr(settings, name)]
    if missing:
        errors.append(
            Error(
                f"{display} is half configured: {', '.join(missing)} not set.",
                hint=f"Set all of {', '.join(names)}, or none.",
                id="payments.E010",
            )
        )
    for name, kind in key_files.items():
        path = getattr(settings, name)
        if not path:
            continue
        try:
            (keys.private_key if kind == "private" else keys.public_key)(path)
        except keys.KeyFileError as exc:
            errors.append(Error(f"{name}: {exc}", id="payments.E011"))
    if not settings.PAYMENT_NOTIFY_BASE_URL.startswith("https://"):
        errors.append(
            Error(
                f"{display} is configured but PAYMENT_NOTIFY_BASE_URL is not an https "
                "origin: the provider cannot call back.",
                hint="Set PAYMENT_NOTIFY_BASE_URL=https://vip.example.com",
                id="payments.E012",
            )
        )
    return errors


class PaymentAlreadyMade(Exception):
    """A provider refused to close a payment because the buyer has paid it."""


class Provider:
    """One payment provider, declaring everything about itself; the registry
    (`payments.gateways`, from `settings.PAYMENT_PROVIDERS`) finds it, and nothing else names
    it. To add a provider: a subclass in a module of its own, its settings, and its dotted path
    in PAYMENT_PROVIDERS (tests/bank_provider.py is one)."""

    # Its identifier: its notification path (`/api/payment/notify/<name>`) and what the
    # notification records say.
    name: str
    # How staff and buyers know it.
    display_name: str
    # Its settings, as an operator is told to set them ("WECHATPAY_*").
    settings_hint: str = ""
    # The payment methods whose orders it serves, when configured (the first configured
    # provider in PAYMENT_PROVIDERS that serves a method takes its orders).
    methods: tuple[int, ...] = ()
    # Its notifications arrive at `/api/payment/notify/<name>`; else at the contract's
    # `/api/payment/callback` (`reads_callback`).
    notify_route = False
    reads_callback = False
    # A pretend provider: the pages offer to simulate a payment.
    simulated = False
    # Whether an unpaid payment is open at the provider, to close when the order ends.
    closes_payments = False
    # Whether it can give money back (`refund`, `query_refund`).
    refunds = False
    # Whether it keeps a daily bill to reconcile against (`bill`).
    bills = False
    # The request headers of its notifications worth keeping with the record (no secrets).
    kept_headers: tuple[str, ...] = ()
    # The module of the pages it serves payers, if any, mounted at the site's root.
    urls: str = ""
    # Whether it signs agreements and charges them (连续包月: `sign_agreement`, `charge`,
    # `unsign`), and whether each charge needs a notice to the member through it first
    # (`notify_before_charge`: WeChat Pay's 预扣费通知).
    agreements = False
    notices_before_charge = False

    @classmethod
    def from_settings(cls) -> "Provider | None":
        """The provider as the settings configure it; None when they do not."""
        raise NotImplementedError

    @classmethod
    def check_settings(cls) -> list:
        """Its deploy checks (`manage.py check --deploy`): Django check messages."""
        return []

    def serves(self, method: int) -> bool:
        return method in self.methods

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
        """The answer that tells the provider the notification was taken (a provider with a
        route of its own; the contract's callback view writes its own)."""
        raise NotImplementedError

    def refuse(self, status: int, message: str) -> HttpResponse:
        """The answer to a notification that was not taken (the provider sends it again)."""
        return JsonResponse({"code": "FAIL", "message": message}, status=status)

    def query_payment(self, order: VipOrder) -> PaymentReport | None:
        """What the provider knows of the order's payment; None when nothing is final.
        `GatewayUnavailable` when it does not answer."""
        raise NotImplementedError

    def refund(self, order: VipOrder, refund) -> RefundReport:
        """Ask for `refund` (a `Refund`: its amount, reason and `refund_number`, the
        idempotency key: the same number again never refunds twice). `GatewayUnavailable` when
        the provider does not answer, or refuses."""
        raise NotImplementedError

    def query_refund(self, order: VipOrder, refund) -> RefundReport | None:
        """What the provider knows of `refund`; None when it has no such refund (the request
        never reached it). `GatewayUnavailable` when it does not answer."""
        raise NotImplementedError

    def confirm_refund(self, order: VipOrder, report: RefundReport) -> RefundReport:
        """A notification's refund, as the provider confirms it (Alipay asks its refund
        query); as notified by default."""
        return report

    def bill(self, day: date) -> list[BillEntry]:
        """The provider's bill of `day` (its own calendar day, China time): every payment and
        refund. `BillNotReady` before the provider has made it; `GatewayUnavailable` when it
        does not answer or the file does not check."""
        raise NotImplementedError

    def sign_agreement(self, agreement) -> str:
        """Open the signing of `agreement` (an `Agreement`: our number, the member, the plan's
        terms); answers what the member's QR code encodes. `GatewayUnavailable` as ever."""
        raise NotImplementedError

    def notify_before_charge(self, agreement, amount: Decimal) -> None:
        """Tell the member, through the provider, of the coming charge of `amount` (only where
        `notices_before_charge`)."""

    def pre_debit_window(self, noticed: date) -> tuple[date, date]:
        """The first and last days a charge may be made after a pre-debit notice given on
        `noticed` (China time)."""
        raise NotImplementedError

    def charge(self, agreement, order: VipOrder) -> PaymentReport | None:
        """Charge `order` (a renewal's, pending) on the signed `agreement`. The report when
        the provider answers with the result; None when it took the charge and will notify
        the result. `GatewayUnavailable` when it does not answer (the order's payment query
        settles it)."""
        raise NotImplementedError

    def unsign(self, agreement) -> None:
        """End the agreement at the provider (done already counts as done)."""
        raise NotImplementedError

    def close_payment(self, order: VipOrder) -> None:
        """Close an unpaid payment so it can no longer be paid. `PaymentAlreadyMade` if the
        buyer paid it meanwhile."""
